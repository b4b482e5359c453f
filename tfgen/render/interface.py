"""What the rendered module exposes: its input variables (and the types of its outputs).

One list feeds ``variables.tf`` and the README's inputs table (:mod:`tfgen.render.outputs`
does the same for ``outputs.tf``), so they cannot disagree. Tunable values (capacities, thresholds, windows, network ids,
tags) are variables whose defaults come from the spec, so a vendoring repository
can still override them; structural choices (v1/v2, password source) are fixed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from tfgen.render import hcl
from tfgen.spec.model import ServerlessV1, ServerlessV2, Spec


@dataclass(frozen=True)
class Validation:
    """A ``validation`` block of a variable."""

    condition: str
    error_message: str


@dataclass(frozen=True)
class Variable:
    """One input variable of the module."""

    name: str
    type: str
    description: str
    default: Any
    validations: tuple[Validation, ...] = ()
    nullable: bool = True

    @property
    def _default(self) -> str:
        # rendered once for both uses: a value that fits on one line is the same at any indent
        # (kept in the instance's dict by hand: functools.cached_property takes a lock per call)
        text: str | None = self.__dict__.get("_default_text")
        if text is None:
            text = self.__dict__["_default_text"] = hcl.value(self.default, 2)
        return text

    def _entries(self) -> tuple[tuple[str, str], ...]:
        entries = (("description", _quoted(self.description)), ("type", self.type), ("default", self._default))
        return entries if self.nullable else (*entries, ("nullable", "false"))

    def attribute_lines(self) -> list[str]:
        """The block's attribute lines, aligned as ``terraform fmt`` aligns them."""
        return hcl.align(self._entries())

    @property
    def block(self) -> str:
        """The whole ``variable`` block, validations included, in ``terraform fmt`` style."""
        checks = tuple(
            ("validation", (f"condition     = {check.condition}", f"error_message = {hcl.string(check.error_message)}"))
            for check in self.validations
        )
        return hcl.block(f'variable "{self.name}"', self._entries(), checks)

    @property
    def type_text(self) -> str:
        """The type on one line for the README, as terraform reads it (``list(object({a = string, b = number}))``)."""
        return _one_line(self.type)

    @property
    def default_text(self) -> str:
        """The default as one short line for the README."""
        text = self._default
        return text if "\n" not in text else "(see variables.tf)"


@dataclass(frozen=True)
class Output:
    """One output of the module."""

    name: str
    description: str
    value: str
    sensitive: bool = False

    def _entries(self) -> tuple[tuple[str, str], ...]:
        entries = (("description", hcl.string(self.description)), ("value", self.value))
        return (*entries, ("sensitive", "true")) if self.sensitive else entries

    def attribute_lines(self) -> list[str]:
        """The block's attribute lines, aligned as ``terraform fmt`` aligns them."""
        return hcl.align(self._entries())

    @property
    def block(self) -> str:
        """The whole ``output`` block in ``terraform fmt`` style."""
        return hcl.block(f'output "{self.name}"', self._entries())


@functools.lru_cache(maxsize=1024)
def _quoted(description: str) -> str:
    """A description as an HCL string, quoted once: most are a literal (and the result's hash is kept)."""
    return hcl.string(description)


@functools.lru_cache(maxsize=1024)
def _one_line(hcl_type: str) -> str:
    text = ""
    for line in (re.sub(r"\s+=\s+", " = ", line.strip()) for line in hcl_type.splitlines()):
        text += line if not text or text.endswith("{") or line.startswith("}") else f", {line}"
    return text


_ID_LIST = "list(string)"


def _positive(name: str, what: str) -> Validation:
    return Validation(f"var.{name} > 0", f"{what} must be greater than 0.")


CUSTOM_ALARM_TYPE = """map(object({
    metric             = string
    namespace          = optional(string, "AWS/RDS")
    statistic          = optional(string, "Average")
    comparison         = optional(string, "GreaterThanOrEqualToThreshold")
    threshold          = number
    period             = optional(number, 300)
    evaluation_periods = optional(number, 3)
    dimensions         = optional(map(string))
    treat_missing_data = optional(string, "missing")
    description        = optional(string)
  }))"""


PARAMETER_TYPE = """list(object({
    name         = string
    value        = string
    apply_method = optional(string, "pending-reboot")
  }))"""


def variables(spec: Spec) -> list[Variable]:
    """The module's input variables, defaults taken from ``spec``."""
    from tfgen.render.network import network_variables  # it builds on this module's records

    found = network_variables(spec)
    if not spec.create_kms_key:
        found.append(
            Variable(
                "kms_key_id",
                "string",
                "Customer-managed KMS key ARN for storage, secrets, logs and Performance Insights (null: AWS managed keys).",
                spec.kms_key_id,
            )
        )
    found.extend(_scaling_variables(spec))
    found.extend(
        [
            Variable(
                "backup_retention_period",
                "number",
                "Days of automated backups to keep (1-35).",
                spec.backup_retention_period,
                (
                    Validation(
                        "var.backup_retention_period >= 1 && var.backup_retention_period <= 35",
                        "backup_retention_period must be between 1 and 35.",
                    ),
                ),
            ),
            Variable(
                "preferred_backup_window",
                "string",
                "Daily backup window (UTC, hh24:mi-hh24:mi).",
                spec.preferred_backup_window,
            ),
            Variable(
                "preferred_maintenance_window",
                "string",
                "Weekly maintenance window (UTC, ddd:hh24:mi-ddd:hh24:mi).",
                spec.preferred_maintenance_window,
            ),
            Variable(
                "copy_tags_to_snapshot", "bool", "Copy the cluster's tags to its snapshots.", spec.copy_tags_to_snapshot
            ),
            Variable(
                "deletion_protection", "bool", "Refuse to delete the cluster while true.", spec.deletion_protection
            ),
            Variable(
                "skip_final_snapshot",
                "bool",
                "Delete without a final snapshot (faster, but the data is gone).",
                spec.skip_final_snapshot,
            ),
            Variable(
                "apply_immediately",
                "bool",
                "Apply changes now instead of in the maintenance window.",
                spec.apply_immediately,
            ),
        ]
    )
    if spec.is_v2:
        found.extend(
            [
                Variable(
                    "performance_insights_enabled",
                    "bool",
                    "Performance Insights (CloudWatch Database Insights, Standard mode) for the cluster and instances.",
                    spec.performance_insights_enabled,
                ),
                Variable(
                    "iam_database_authentication",
                    "bool",
                    "Allow IAM database authentication (tokens instead of passwords).",
                    spec.iam_auth_enabled,
                ),
                Variable(
                    "monitoring_interval",
                    "number",
                    "Enhanced monitoring interval of the instances in seconds (0 turns it off).",
                    spec.effective_monitoring_interval,
                    (
                        Validation(
                            "contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)",
                            "monitoring_interval must be 0, 1, 5, 10, 15, 30 or 60.",
                        ),
                    ),
                ),
            ]
        )
    # storage, network, TLS, backups, Performance Insights retention: a module of their own, importing this one
    from tfgen.render.cluster_variables import cluster_variables
    from tfgen.render.integrations import integration_variables
    from tfgen.render.reader_variables import reader_variables

    found.extend(cluster_variables(spec))
    found.extend(integration_variables(spec))
    found.extend(reader_variables(spec))
    if spec.log_group_managed:
        found.append(
            Variable(
                "log_retention_days",
                "number",
                "Days CloudWatch Logs keeps the PostgreSQL logs.",
                spec.logs.retention_days,
            )
        )
    found.extend(
        [
            Variable(
                "slow_query_ms",
                "number",
                "Log statements running longer than this many milliseconds (log_min_duration_statement; -1 is off).",
                spec.slow_query_ms,
                (Validation("var.slow_query_ms >= -1", "slow_query_ms must be -1 (off) or more."),),
            ),
            Variable(
                "cluster_parameters",
                PARAMETER_TYPE,
                "Extra parameters of the cluster parameter group.",
                [parameter.model_dump() | {"value": str(parameter.value)} for parameter in spec.parameters],
                nullable=False,
            ),
        ]
    )
    if spec.credential_source == "write_only":
        found.append(
            Variable(
                "master_password_version",
                "number",
                "Increase to generate and set a new master password (write-only: never in the state).",
                1,
                (_positive("master_password_version", "master_password_version"),),
            )
        )
    found.extend(_password_variables(spec))
    found.extend(_alarm_variables(spec))
    found.append(
        Variable("tags", "map(string)", "Tags for every resource (copied to snapshots).", spec.tags, nullable=False)
    )
    return found


def _password_variables(spec: Spec) -> list[Variable]:
    """rds_managed: the rotation schedule and the KMS key of the secret RDS makes, when the spec sets them."""
    password = spec.master_password
    found = []
    if password.rotation_days is not None:
        found.append(
            Variable(
                "master_password_rotation_days",
                "number",
                "Days between RDS's rotations of the master password's secret (1-1000; RDS's default is 7).",
                password.rotation_days,
                (
                    Validation(
                        "var.master_password_rotation_days >= 1 && var.master_password_rotation_days <= 1000",
                        "master_password_rotation_days must be between 1 and 1000.",
                    ),
                ),
                nullable=False,
            )
        )
    if password.secret_kms_key_id is not None:
        found.append(
            Variable(
                "master_user_secret_kms_key_id",
                "string",
                "KMS key ARN of the secret RDS makes for the master password.",
                password.secret_kms_key_id,
                nullable=False,
            )
        )
    return found


def _scaling_variables(spec: Spec) -> list[Variable]:
    server = spec.serverless
    if isinstance(server, ServerlessV2):
        return [
            Variable(
                "min_capacity",
                "number",
                "Minimum capacity in ACUs (0 to 256 in steps of 0.5; 0 pauses the cluster when idle).",
                server.min_capacity,
                (
                    Validation(
                        "var.min_capacity >= 0 && var.min_capacity <= var.max_capacity && floor(var.min_capacity * 2) == var.min_capacity * 2",
                        "min_capacity must be a multiple of 0.5 between 0 and max_capacity.",
                    ),
                ),
            ),
            Variable(
                "max_capacity",
                "number",
                "Maximum capacity in ACUs (1 to 256 in steps of 0.5).",
                server.max_capacity,
                (
                    Validation(
                        "var.max_capacity >= 1 && var.max_capacity <= 256 && floor(var.max_capacity * 2) == var.max_capacity * 2",
                        "max_capacity must be a multiple of 0.5 between 1 and 256.",
                    ),
                ),
            ),
            Variable(
                "seconds_until_auto_pause",
                "number",
                "Idle seconds before pausing when min_capacity is 0 (300-86400).",
                server.seconds_until_auto_pause,
                (
                    Validation(
                        "var.seconds_until_auto_pause == null ? var.min_capacity > 0 : (var.seconds_until_auto_pause >= 300 && var.seconds_until_auto_pause <= 86400)",
                        "seconds_until_auto_pause must be 300-86400, and set when min_capacity is 0.",
                    ),
                ),
            ),
            Variable(
                "instance_count",
                "number",
                "Number of db.serverless instances: the writer plus readers (1-15).",
                server.instances,
                (
                    Validation(
                        "var.instance_count >= 1 && var.instance_count <= 15",
                        "instance_count must be between 1 and 15.",
                    ),
                ),
            ),
        ]
    assert isinstance(server, ServerlessV1)
    allowed = "[2, 4, 8, 16, 32, 64, 192, 384]"
    return [
        Variable(
            "min_capacity",
            "number",
            "Minimum capacity in ACUs (2, 4, 8, 16, 32, 64, 192 or 384).",
            server.min_capacity,
            (
                Validation(
                    f"contains({allowed}, var.min_capacity) && var.min_capacity <= var.max_capacity",
                    "min_capacity must be an allowed v1 capacity, at most max_capacity.",
                ),
            ),
        ),
        Variable(
            "max_capacity",
            "number",
            "Maximum capacity in ACUs (2, 4, 8, 16, 32, 64, 192 or 384).",
            server.max_capacity,
            (Validation(f"contains({allowed}, var.max_capacity)", "max_capacity must be an allowed v1 capacity."),),
        ),
        Variable("auto_pause", "bool", "Pause the cluster when idle.", server.auto_pause),
        Variable(
            "seconds_until_auto_pause",
            "number",
            "Idle seconds before pausing (300-86400).",
            server.seconds_until_auto_pause,
            (
                Validation(
                    "var.seconds_until_auto_pause >= 300 && var.seconds_until_auto_pause <= 86400",
                    "seconds_until_auto_pause must be between 300 and 86400.",
                ),
            ),
        ),
        Variable(
            "seconds_before_timeout",
            "number",
            "Seconds to find a scaling point before timeout_action (60-600).",
            server.seconds_before_timeout,
        ),
        Variable(
            "timeout_action",
            "string",
            "RollbackCapacityChange or ForceApplyCapacityChange.",
            server.timeout_action,
            (
                Validation(
                    'contains(["RollbackCapacityChange", "ForceApplyCapacityChange"], var.timeout_action)',
                    "timeout_action must be RollbackCapacityChange or ForceApplyCapacityChange.",
                ),
            ),
        ),
    ]


_FOLLOWS = {
    "connections": "null: 80% of max_connections at max_capacity (AWS's table)",
    "capacity": "null: 90% of max_capacity",
}
"""What a null threshold means, for the alarms whose threshold follows the capacity variables."""


def _alarm_variables(spec: Spec) -> list[Variable]:
    found = []
    for alarm in spec.builtin_alarms:
        if alarm.key not in _FOLLOWS:
            found.append(
                Variable(
                    alarm.variable,
                    "number",
                    f"Threshold of the {alarm.metric} alarm.",
                    alarm.threshold,
                    (_positive(alarm.variable, alarm.variable),),
                )
            )
            continue
        follows = _FOLLOWS[alarm.key] if spec.is_v2 or alarm.key == "connections" else "null: max_capacity"
        found.append(
            Variable(
                alarm.variable,
                "number",
                f"Threshold of the {alarm.metric} alarm ({follows}).",
                None if alarm.follows_capacity else alarm.threshold,
                (
                    Validation(
                        f"coalesce(var.{alarm.variable}, 1) > 0", f"{alarm.variable} must be null or greater than 0."
                    ),
                ),
            )
        )
    if spec.alarms.enabled:
        found.extend(
            [
                Variable("alarm_period", "number", "Period of the automated alarms, in seconds.", spec.alarms.period),
                Variable(
                    "alarm_evaluation_periods",
                    "number",
                    "Periods over threshold before an alarm fires.",
                    spec.alarms.evaluation_periods,
                ),
            ]
        )
    # custom alarms stay available when the automated ones are switched off
    found.extend(
        [
            Variable(
                "alarm_actions",
                _ID_LIST,
                "SNS topic ARNs notified when an alarm fires.",
                spec.alarms.alarm_actions,
                nullable=False,
            ),
            Variable(
                "ok_actions",
                _ID_LIST,
                "SNS topic ARNs notified when an alarm recovers.",
                spec.alarms.ok_actions,
                nullable=False,
            ),
            Variable(
                "custom_alarms",
                CUSTOM_ALARM_TYPE,
                "Extra CloudWatch alarms, by name; dimensions default to the cluster.",
                {alarm.name: alarm.model_dump(exclude={"name"}, exclude_none=True) for alarm in spec.alarms.custom},
                nullable=False,
            ),
        ]
    )
    return found
