"""The module view: values derived from a spec that only the module's templates read.

The spec (:class:`~tfgen.spec.model.Spec`) says what the user wrote and what other
layers need from it; names and HCL expressions that exist only in the rendered module
(the log group, IAM name prefixes, the managed parameters, which key encrypts) are
derived here, once, from the spec. The templates read them as ``module.<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfgen import facts
from tfgen.render import hcl
from tfgen.spec.model import AlarmDef, Spec

DERIVED_THRESHOLDS = {
    "connections": "max(1, floor(local.max_connections * 0.8))",
    "capacity": "floor(var.max_capacity * 9) / 10",
}
"""Alarm thresholds the module derives from its capacity variables (v2), as :class:`Spec` does from the spec."""


@dataclass(frozen=True)
class AlarmView:
    """One automated alarm as ``alarms.tf`` declares it: HCL expressions for what follows the variables."""

    alarm: AlarmDef
    threshold: str
    """HCL: the variable, or a local derived from the capacity variables unless the variable is set."""
    description: str
    """HCL string: what the alarm watches, with the live figures."""

    @property
    def dimensions(self) -> str:
        return f"local.alarm_{'writer' if self.alarm.role == 'WRITER' else 'cluster'}_dimensions"


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
    alarms: list[AlarmView]
    """The automated alarms (none when ``alarms.enabled`` is false)."""
    max_connections_table: str
    """HCL: AWS's Serverless v2 table, ``[[max ACU, max_connections], ...]`` (empty for v1)."""
    max_connections: str
    """HCL: ``max_connections`` at the maximum capacity, from the capacity variables (AWS's table)."""
    derived_thresholds: dict[str, str]
    """HCL of each threshold that follows the capacity variables unless its variable is set, by alarm key."""
    capacity_override: tuple[float, dict[str, float]] | None
    """For the module's own test: another ``max_capacity`` and the thresholds the alarms must then have
    (the alarms whose threshold follows the capacity); None when no alarm does."""
    final_snapshot_triggers: list[str]
    """``triggers_replace`` lines of ``terraform_data.final_snapshot_suffix``: every argument the module
    sets on ``aws_rds_cluster`` that replaces the cluster (``[provider.force_new]`` in ``tfgen/facts/aws.toml``),
    with the cluster's own expression, so that each new cluster gets a final snapshot name of its own."""
    db_subnet_group: str
    """HCL: the cluster's DB subnet group, the module's own or ``var.db_subnet_group_name`` (an existing one)."""
    security_group_ids: str
    """HCL: the cluster's security groups, the module's own and/or ``var.security_group_ids`` (existing ones)."""
    restore_to_point_in_time: list[str]
    """The attribute lines of the ``restore_to_point_in_time`` block (empty unless the spec restores to a point in time)."""
    cluster_parameters: list[tuple[str, str, str]]
    """The parameter group's managed parameters: (name, value expression, apply method).

    The value is an HCL expression; ``log_min_duration_statement`` follows the
    module variable ``slow_query_ms``.
    """
    upgrade_targets: tuple[int, ...] = ()
    """The majors AWS upgrades this cluster's major to in place (``[major_upgrade]``), for the runbook."""

    @classmethod
    def of(cls, spec: Spec) -> ModuleView:
        """The view of ``spec``'s module."""
        managed = [
            ("log_min_duration_statement", "tostring(var.slow_query_ms)", "immediate"),
            ("log_statement", '"ddl"', "immediate"),
        ]
        if spec.is_v2:
            # Serverless v1 does not let shared_preload_libraries be changed
            libraries = [facts.raw()["preload_libraries"]["always"], *spec.preload_libraries]
            managed.append(("shared_preload_libraries", hcl.string(",".join(libraries)), "pending-reboot"))
        derived = _derived_thresholds(spec)
        # written out at each use (not through a local) so that scanners such as Checkov see it
        kms_key = "aws_kms_key.this.arn" if spec.create_kms_key else "var.kms_key_id"
        subnet_group = db_subnet_group(spec)
        return cls(
            alarms=[_alarm_view(alarm, spec, derived) for alarm in spec.builtin_alarms],
            max_connections_table=(
                "[" + ", ".join(f"[{acu:g}, {value}]" for acu, value in facts.max_connections_rows()) + "]"
                if spec.is_v2
                else ""
            ),
            max_connections=_max_connections(spec),
            derived_thresholds=derived,
            capacity_override=_capacity_override(spec),
            log_group_name=spec.log_group_name,
            iam_name_prefix=f"{spec.name[:24].rstrip('-')}-",
            uses_cmk=spec.create_kms_key or spec.kms_key_id is not None,
            kms_key=kms_key,
            final_snapshot_triggers=_final_snapshot_triggers(spec, kms_key, subnet_group),
            db_subnet_group=subnet_group,
            security_group_ids=security_group_ids(spec),
            restore_to_point_in_time=_point_in_time_lines(spec),
            cluster_parameters=managed,
            upgrade_targets=facts.upgrade_targets(spec.engine_major),
        )


def db_subnet_group(spec: Spec) -> str:
    """HCL: the cluster's DB subnet group, the module's own or an existing one."""
    return "var.db_subnet_group_name" if spec.network.db_subnet_group_name else "aws_db_subnet_group.this.name"


def security_group_ids(spec: Spec) -> str:
    """HCL: the cluster's security groups, the module's own first, then the existing ones."""
    network = spec.network
    if not network.security_group_ids:
        return "[aws_security_group.this.id]"
    if network.create_security_group:
        return "concat([aws_security_group.this.id], var.security_group_ids)"
    return "var.security_group_ids"


def _point_in_time_lines(spec: Spec) -> list[str]:
    point = spec.restore.point_in_time if spec.restore is not None else None
    if point is None:
        return []
    entries = [("source_cluster_identifier", hcl.string(point.source_cluster_identifier))]
    if point.restore_to_time is not None:
        entries.append(("restore_to_time", hcl.string(point.restore_to_time)))
    else:
        entries.append(("use_latest_restorable_time", "true"))
    entries.append(("restore_type", hcl.string(point.restore_type)))
    return hcl.align(entries)


def _final_snapshot_triggers(spec: Spec, kms_key: str, subnet_group: str) -> list[str]:
    """The replacing arguments ``main.tf`` sets on the cluster, with the same expressions (a test compares them).

    A restored cluster takes its database and master user from the backup (the module sets
    neither), and ignores changes to the restore arguments: none of them replaces it.
    """
    set_by_module = {
        "cluster_identifier": hcl.string(spec.name),
        "engine": hcl.string("aurora-postgresql"),
        "engine_mode": hcl.string(spec.engine_mode),
        "database_name": hcl.string(spec.database_name),
        "master_username": hcl.string(spec.master_username),
        "db_subnet_group_name": subnet_group,
        "storage_encrypted": "true",
        "kms_key_id": kms_key,
    }
    if spec.restore is not None or spec.credential_source == "primary":  # from the backup / the primary
        del set_by_module["database_name"], set_by_module["master_username"]
    replacing = facts.force_new("aws_rds_cluster")
    return hcl.align([(name, value) for name, value in set_by_module.items() if name in replacing])


def _derived_thresholds(spec: Spec) -> dict[str, str]:
    if not spec.is_v2:
        return {"connections": DERIVED_THRESHOLDS["connections"], "capacity": "var.max_capacity"}
    return dict(DERIVED_THRESHOLDS)


def _alarm_view(alarm: AlarmDef, spec: Spec, derived: dict[str, str]) -> AlarmView:
    threshold = f"local.alarm_thresholds.{alarm.key}" if alarm.key in derived else f"var.{alarm.variable}"
    who = "Writer" if spec.is_v2 else "Cluster"
    if alarm.key == "connections":
        description = (
            f'"{who} connections near max_connections (${{local.max_connections}} at ${{var.max_capacity}} ACU)"'
        )
    elif alarm.key == "capacity":
        description = f'"{who} capacity (ACU) is close to the maximum of ${{var.max_capacity}}"'
    else:
        description = hcl.string(alarm.description)
    return AlarmView(alarm, threshold, description)


def _max_connections(spec: Spec) -> str:
    """``max_connections`` as an HCL expression of the capacity variables (see :func:`tfgen.facts.max_connections`)."""
    if not spec.is_v2:
        table = ", ".join(f'"{acu}" = {value}' for acu, value in facts.raw()["max_connections_v1"]["rows"])
        return f"lookup({{ {table} }}, tostring(var.max_capacity), 5000)"
    rules = facts.raw()["max_connections"]
    return (
        f"min(var.min_capacity <= {rules['low_minimum_at_most']:g} ? {rules['low_minimum_cap']} : {rules['ceiling']}, "
        f"floor(length(local.max_connections_by_row) > 0 ? local.max_connections_by_row[0] : {rules['ceiling']}))"
    )


def _capacity_override(spec: Spec) -> tuple[float, dict[str, float]] | None:
    """Another maximum capacity (as a vendoring repository may set) and the thresholds it implies."""
    following = [alarm.key for alarm in spec.builtin_alarms if alarm.follows_capacity]
    server = spec.serverless
    other = 32 if server.max_capacity != 32 else 64
    if not following or server.min_capacity > other:
        return None
    overridden = spec.model_copy(update={"serverless": server.model_copy(update={"max_capacity": other})})
    figures = {"connections": float(overridden.connections_threshold), "capacity": overridden.capacity_threshold}
    return float(other), {key: figures[key] for key in following}
