"""Operating a deployed cluster: the runbook, doctor checks against AWS and PostgreSQL, backups, insights."""
