"""The module view: values derived from a spec that only the module's templates read.

The spec (:class:`~tfgen.spec.model.Spec`) says what the user wrote and what other
layers need from it; names and HCL expressions that exist only in the rendered module
(the log group, IAM name prefixes, the managed parameters, which key encrypts) are
derived here, once, from the spec. The templates read them as ``module.<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfgen.spec.model import Spec


@dataclass(frozen=True)
class ModuleView:
    """What the templates read besides the spec itself; build it with :meth:`of`."""

    log_group_name: str
    """The log group RDS writes PostgreSQL logs to (created by the module, with its retention)."""
    iam_name_prefix: str
    """Prefix for IAM role names (name_prefix allows at most 38 characters)."""
    uses_cmk: bool
    """True when a customer-managed KMS key encrypts storage, secrets, logs and Performance Insights."""
    kms_key: str
    """The KMS key ARN as an HCL expression: the module's own key, or ``var.kms_key_id``."""
    cluster_parameters: list[tuple[str, str, str]]
    """The parameter group's managed parameters: (name, value expression, apply method).

    The value is an HCL expression; ``log_min_duration_statement`` follows the
    module variable ``slow_query_ms``.
    """

    @classmethod
    def of(cls, spec: Spec) -> ModuleView:
        """The view of ``spec``'s module."""
        managed = [
            ("log_min_duration_statement", "tostring(var.slow_query_ms)", "immediate"),
            ("log_statement", '"ddl"', "immediate"),
        ]
        if spec.is_v2:
            # Serverless v1 does not let shared_preload_libraries be changed
            managed.append(("shared_preload_libraries", '"pg_stat_statements"', "pending-reboot"))
        return cls(
            log_group_name=f"/aws/rds/cluster/{spec.name}/postgresql",
            iam_name_prefix=f"{spec.name[:24].rstrip('-')}-",
            uses_cmk=spec.create_kms_key or spec.kms_key_id is not None,
            # written out at each use (not through a local) so that scanners such as Checkov see it
            kms_key="aws_kms_key.this.arn" if spec.create_kms_key else "var.kms_key_id",
            cluster_parameters=managed,
        )
