"""tfgen: Aurora PostgreSQL Serverless Terraform modules from a short YAML spec."""

from pathlib import Path

__version__ = "0.1.0"

DEFAULT_MODULE_DIR = Path("modules/aurora_serverless")
"""Where ``tfgen render`` writes the module unless told otherwise."""
