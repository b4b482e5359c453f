"""What a security scanner (Checkov) says about a rendered module, known from the spec.

The module carries an inline ``checkov:skip`` with a one-line reason for each check
that cannot apply to it; every other check the spec's settings leave failing is
listed in the module's README. ``tests/test_security.py`` runs Checkov on every
example and holds both lists to the scan.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfgen.spec.model import Spec


@dataclass(frozen=True)
class Finding:
    """A Checkov check about one resource of the module."""

    check_id: str
    resource: str
    """Address inside the module, e.g. ``aws_rds_cluster.this``."""
    reason: str


def skips(spec: Spec) -> list[Finding]:
    """Checks that cannot apply to this module, each skipped inline with its reason."""
    found = [
        Finding(
            "CKV2_AWS_8",
            "aws_rds_cluster.this",
            "AWS Backup plans are organisation-wide resources outside this module; "
            "automated backups are kept backup_retention_period days",
        )
    ]
    if not spec.is_v2:
        found.append(
            Finding("CKV_AWS_162", "aws_rds_cluster.this", "Aurora Serverless v1 does not support IAM authentication")
        )
        found.append(
            Finding("CKV_AWS_324", "aws_rds_cluster.this", "Aurora Serverless v1 cannot export logs to CloudWatch Logs")
        )
    if spec.is_v2 and spec.engine_minor_pinned:
        found.append(
            Finding(
                "CKV_AWS_226",
                "aws_rds_cluster_instance.this",
                "engine_version pins a minor: after an automatic upgrade the next plan would ask for a downgrade "
                "AWS refuses; give a major to keep automatic minor upgrades",
            )
        )
    if spec.credential_source == "write_only":
        found.append(
            Finding(
                "CKV2_AWS_57",
                "aws_secretsmanager_secret.master",
                "rotated by increasing var.master_password_version; a rotation Lambda would leave the cluster behind",
            )
        )
    return found


def skips_for(spec: Spec, resource: str) -> list[Finding]:
    """The inline skips of one resource."""
    return [finding for finding in skips(spec) if finding.resource == resource]


def expected_failures(spec: Spec) -> list[Finding]:
    """Checks the spec's own choices leave failing (none for examples/production.yaml)."""
    found: list[Finding] = []
    if not spec.deletion_protection:
        found.append(Finding("CKV_AWS_139", "aws_rds_cluster.this", "deletion_protection is false"))
    if spec.is_v2:
        if not spec.iam_auth_enabled:
            found.append(Finding("CKV_AWS_162", "aws_rds_cluster.this", "iam_database_authentication is false"))
        if not spec.log_export_enabled:
            found.append(Finding("CKV_AWS_324", "aws_rds_cluster.this", "logs.export is false"))
        instance = "aws_rds_cluster_instance.this"
        if not spec.performance_insights_enabled:
            found.append(Finding("CKV_AWS_353", instance, "performance_insights is false"))
        if spec.effective_monitoring_interval == 0:
            found.append(Finding("CKV_AWS_118", instance, "monitoring_interval is 0"))
    if spec.log_group_managed and spec.logs.retention_days < 365:
        found.append(Finding("CKV_AWS_338", "aws_cloudwatch_log_group.postgresql", "logs.retention_days is below 365"))
    return found
