"""Cross-field rules and warnings: what one field cannot say about a valid :class:`Spec`.

A rule finds a problem that makes the spec invalid (an engine version without
Serverless v2, two parameters of the same name, overlapping windows); a warning finds
something valid that deserves the user's attention. Each is a location in the spec and
a message, worded with its line by :mod:`tfgen.spec.messages`.
"""

from __future__ import annotations

import datetime
import json
import re

from tfgen import facts
from tfgen.spec.backends import CloudBackend, S3Backend
from tfgen.spec.data_api import data_api_problems, data_api_warnings
from tfgen.spec.endpoints import endpoint_problems
from tfgen.spec.global_database import global_problems
from tfgen.spec.integrations import activity_stream_problems, iam_role_problems
from tfgen.spec.model import ServerlessV2, Spec
from tfgen.spec.network import network_problems, network_warnings
from tfgen.spec.readers import reader_problems
from tfgen.spec.restore import restore_problems
from tfgen.spec.yaml_source import Loc

V1_WARNING = (
    "Aurora Serverless v1 reached end of life on 2025-03-31 and AWS stopped creating v1 clusters on "
    "2025-01-08; use it only to manage an existing cluster (serverless.version: v2 is the default)"
)

_BACKUP_WINDOW = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
_MAINT_WINDOW = re.compile(
    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)",
    re.ASCII,
)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEK = 7 * 24 * 60

Problem = tuple[Loc, str]
"""One problem: where it is in the spec, and what is wrong there (no field name)."""


def _window_minutes(start: int, end: int, period: int) -> int:
    return (end - start) % period


def _arcs_overlap(a_start: int, a_len: int, b_start: int, b_len: int, period: int) -> bool:
    """Whether the minutes ``[a_start, a_start + a_len)`` and ``[b_start, b_start + b_len)`` meet on a clock of ``period``."""
    return (b_start - a_start) % period < a_len or (a_start - b_start) % period < b_len


def rule_problems(spec: Spec) -> list[Problem]:
    """Problems that make a spec whose every field is valid invalid as a whole."""
    problems: list[Problem] = _engine_problems(spec)
    version = spec.effective_engine_version
    server = spec.serverless
    if isinstance(server, ServerlessV2):
        if server.min_capacity > server.max_capacity:
            problems.append(
                (
                    ("serverless", "min_capacity"),
                    f"{server.min_capacity:g} is above max_capacity {server.max_capacity:g}",
                )
            )
        if server.min_capacity == 0:
            if server.seconds_until_auto_pause is None:
                problems.append(
                    (
                        ("serverless", "min_capacity"),
                        "0 (auto-pause) needs serverless.seconds_until_auto_pause (300-86400)",
                    )
                )
            row = facts.engine_major(version)
            # with a major, AWS picks its current minor, which can pause
            if row is not None and spec.engine_minor_pinned and _version(version) < row.pause_minimum:
                needs = ", ".join(f"{m.pause_minimum[0]}.{m.pause_minimum[1]}+" for m in facts.engine_majors().values())
                problems.append(
                    (
                        ("serverless", "min_capacity"),
                        f"0 (auto-pause) needs aurora-postgresql {needs}; engine_version is {version}",
                    )
                )
        elif server.seconds_until_auto_pause is not None:
            problems.append(
                (("serverless", "seconds_until_auto_pause"), "only applies when serverless.min_capacity is 0")
            )
        problems.extend(_override_problems(spec, server))
        problems.extend(reader_problems(server))
        # instance identifiers are <name>-<n>, n up to 15 (var.instance_count may grow)
        longest = len(f"{spec.name}-15")
        if longest > 63:
            problems.append(
                (
                    ("name",),
                    f"at most 60 characters with Serverless v2: instance identifiers append -1 to -15 (max 63), got {len(spec.name)}",
                )
            )
    else:
        for field_name, what in (
            ("performance_insights", "Performance Insights"),
            ("iam_database_authentication", "IAM database authentication"),
        ):
            if getattr(spec, field_name):
                problems.append(((field_name,), f"{what} is not available for Aurora Serverless v1"))
        if spec.preload_libraries:
            problems.append(
                (("preload_libraries",), "Aurora Serverless v1 does not let shared_preload_libraries be changed")
            )
        if spec.logs.export:
            problems.append((("logs", "export"), "Aurora Serverless v1 cannot export logs to CloudWatch Logs"))
        if spec.monitoring_interval:
            problems.append((("monitoring_interval",), "Aurora Serverless v1 has no instances to monitor"))
        if spec.master_password.source == "rds_managed":
            problems.append(
                (("master_password", "source"), "rds_managed is not supported by Aurora Serverless v1; use write_only")
            )
        if server.min_capacity > server.max_capacity:
            problems.append(
                (("serverless", "min_capacity"), f"{server.min_capacity} is above max_capacity {server.max_capacity}")
            )
    lists: list[tuple[Loc, list[str]]] = [
        (("subnet_ids",), spec.subnet_ids or []),
        (("preload_libraries",), spec.preload_libraries),
        (("network", "allowed_cidr_blocks"), spec.network.allowed_cidr_blocks),
        (("network", "allowed_security_group_ids"), spec.network.allowed_security_group_ids),
        (("network", "security_group_ids"), spec.network.security_group_ids),
    ]
    for loc, values in lists:
        for index, value in enumerate(values):
            if value in values[:index]:
                problems.append(((*loc, index), f"duplicate {value}"))
    problems.extend(network_problems(spec))
    problems.extend(restore_problems(spec))
    password = spec.master_password
    for field_name in ("rotation_days", "secret_kms_key_id"):
        if getattr(password, field_name) is not None and password.source != "rds_managed":
            problems.append(
                (
                    ("master_password", field_name),
                    f"only applies to the secret RDS manages (source: rds_managed), not to source {password.source}",
                )
            )
    problems.extend(iam_role_problems(spec))
    problems.extend(global_problems(spec))
    problems.extend(activity_stream_problems(spec))
    if spec.restore is not None and spec.global_database is not None and spec.global_database.role == "secondary":
        problems.append(
            (("restore",), "a global database's secondary copies its primary: it cannot be restored from a backup")
        )
    if spec.create_kms_key and spec.kms_key_id is not None:
        problems.append((("create_kms_key",), "give kms_key_id or create_kms_key: true, not both"))
    for section in ("parameters", "instance_parameters"):
        parameter_names = [parameter.name for parameter in getattr(spec, section)]
        for index, name in enumerate(parameter_names):
            if name in parameter_names[:index]:
                problems.append(((section, index, "name"), f"duplicate parameter {name}"))
    names = [alarm.name for alarm in spec.alarms.custom]
    # CloudWatch names: automated "<name>-<key with - for _>", custom "<name>-<custom name>"
    builtin = {alarm.key.replace("_", "-"): alarm.key for alarm in spec.builtin_alarms}
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append((("alarms", "custom", index, "name"), f"duplicate alarm name {name!r}"))
        elif name in builtin.values():
            problems.append((("alarms", "custom", index, "name"), f"{name!r} is the name of an automated alarm"))
        elif name in builtin:
            problems.append(
                (
                    ("alarms", "custom", index, "name"),
                    f"{name!r} clashes with the automated alarm {builtin[name]!r} (both named {spec.name}-{name})",
                )
            )
    problems.extend(_window_problems(spec))
    problems.extend(_storage_and_insights_problems(spec))
    problems.extend(data_api_problems(spec))
    problems.extend(endpoint_problems(spec))
    backend = spec.backend
    if isinstance(backend, CloudBackend) and backend.workspace and backend.tags:
        problems.append((("backend", "tags"), "give backend.workspace or backend.tags, not both"))
    return problems


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def _engine_problems(spec: Spec) -> list[Problem]:
    """The engine version against AWS's versions (``[[engine]]`` in ``tfgen/facts/aws.toml``)."""
    version = spec.effective_engine_version
    loc = ("engine_version",)
    if not spec.is_v2:
        majors = facts.raw()["serverless_v1"]["majors"]
        if _version(version)[0] not in majors:
            listed = " or ".join(f"{major}.x" for major in majors)
            return [(loc, f"{version} is not available for Serverless v1 ({listed})")]
        if not spec.engine_minor_pinned:
            example = facts.default_engine_version("v1")
            return [
                (loc, f"{version}: Serverless v1 needs a minor, such as {example} (AWS does not upgrade v1 clusters)")
            ]
        return []
    row = facts.engine_major(version)
    if row is None or (spec.engine_minor_pinned and _version(version) < row.serverless_v2_minimum):
        supported = ", ".join(f"{m.major}.{m.serverless_v2_minimum[1]}+" for m in facts.engine_majors().values())
        return [(loc, f"{version} does not support Serverless v2 (needs {supported})")]
    if version in row.retired:
        return [
            (
                loc,
                f"{version} is retired: AWS no longer creates clusters with it; use the long-term-support minor "
                f'{row.lts}, or the major "{row.major}" (AWS then picks the minor and upgrades it)',
            )
        ]
    return []


def _override_problems(spec: Spec, server: ServerlessV2) -> list[Problem]:
    """``serverless.instance_overrides``: each names an instance the spec has, once, in the spec's region."""
    problems: list[Problem] = []
    seen: list[int] = []
    for index, override in enumerate(server.instance_overrides):
        loc = ("serverless", "instance_overrides", index)
        if override.instance in seen:
            problems.append(((*loc, "instance"), f"duplicate override of instance {override.instance}"))
        elif override.instance > server.instances:
            problems.append(
                (
                    (*loc, "instance"),
                    f"instance {override.instance} does not exist: serverless.instances is {server.instances}",
                )
            )
        seen.append(override.instance)
        names = [o.identifier or f"{spec.name}-{o.instance}" for o in server.instance_overrides[:index]]
        if override.identifier is not None and override.identifier in names:
            problems.append(((*loc, "identifier"), f"instance identifier {override.identifier} is used twice"))
        zone = override.availability_zone
        if zone is not None and zone[:-1] != spec.region:
            problems.append(((*loc, "availability_zone"), f"{zone} is not a zone of region {spec.region}"))
    return problems


def _storage_and_insights_problems(spec: Spec) -> list[Problem]:
    """Storage type, network type, CA and Database Insights against AWS's rules (``tfgen/facts/aws.toml``)."""
    problems: list[Problem] = []
    rules = facts.raw()
    io_optimized = spec.storage_type == rules["storage_type"]["io_optimized"]
    if not spec.is_v2:
        v1_refused = [
            ("storage_type", io_optimized, "I/O-Optimized storage (aurora-iopt1)"),
            ("network_type", spec.network_type == "DUAL", "dual-stack networking (DUAL)"),
            ("ca_cert_identifier", spec.ca_cert_identifier is not None, "a CA for instances (it has none)"),
            (
                "performance_insights_retention_days",
                spec.performance_insights_retention_days is not None,
                "Performance Insights",
            ),
            ("database_insights_mode", spec.database_insights_mode is not None, "Database Insights"),
            (
                "instance_parameters",
                bool(spec.instance_parameters),
                "an instance parameter group (it has no instances)",
            ),
        ]
        for field_name, refused, what in v1_refused:
            if refused:
                problems.append(((field_name,), f"Aurora Serverless v1 cannot have {what}"))
        return problems
    version = spec.effective_engine_version
    row = facts.engine_major(version)
    if io_optimized and row is not None and spec.engine_minor_pinned and _version(version) < row.io_optimized_minimum:
        needs = ", ".join(
            f"{m.io_optimized_minimum[0]}.{m.io_optimized_minimum[1]}+" for m in facts.engine_majors().values()
        )
        problems.append(
            (
                ("storage_type",),
                f"aurora-iopt1 (I/O-Optimized) needs aurora-postgresql {needs}; engine_version is {version}",
            )
        )
    retention = spec.performance_insights_retention_days
    if retention is not None and not spec.performance_insights_enabled:
        problems.append((("performance_insights_retention_days",), "needs performance_insights: true"))
    minimum = rules["database_insights"]["advanced_min_retention_days"]
    if spec.database_insights_mode == "advanced":
        if not spec.performance_insights_enabled:
            problems.append((("database_insights_mode",), "advanced needs performance_insights: true"))
        elif retention is None or retention < minimum:
            problems.append(
                (
                    ("database_insights_mode",),
                    f"advanced needs at least {minimum} days of Performance Insights retention; "
                    f"set performance_insights_retention_days: {minimum}",
                )
            )
    return problems


def _engine_warnings(spec: Spec, today: datetime.date) -> list[Problem]:
    version = spec.effective_engine_version
    row = facts.engine_major(version)
    if row is None:
        return []
    found: list[Problem] = []
    loc = ("engine_version",)
    if spec.is_v2 and spec.engine_minor_pinned and version != row.lts:
        found.append(
            (
                loc,
                f"{version} is not a long-term-support minor: AWS retires such minors for new clusters within "
                f'about a year; pin {row.lts}, or give the major "{row.major}" (automatic minor upgrades stay on)',
            )
        )
    opted_out = spec.engine_lifecycle_support == facts.raw()["engine_lifecycle_support"]["disabled"]
    if opted_out and today > row.end_of_standard_support:
        found.append(
            (
                ("engine_lifecycle_support",),
                f"aurora-postgresql {row.major} left standard support on {row.end_of_standard_support}: with RDS "
                "Extended Support disabled AWS refuses to create the cluster; upgrade the major version",
            )
        )
    elif spec.is_v2 and today > row.end_of_standard_support:  # v1's own end of life says more
        found.append(
            (
                loc,
                f"aurora-postgresql {row.major} left standard support on {row.end_of_standard_support}: "
                "RDS Extended Support charges apply until you upgrade the major version",
            )
        )
    return found


def _window_problems(spec: Spec) -> list[Problem]:
    problems: list[Problem] = []
    backup = _BACKUP_WINDOW.fullmatch(spec.preferred_backup_window)
    maint = _MAINT_WINDOW.fullmatch(spec.preferred_maintenance_window)
    if backup is None:
        problems.append((("preferred_backup_window",), "must be hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00"))
    if maint is None:
        problems.append(
            (("preferred_maintenance_window",), "must be ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00")
        )
    if backup is None or maint is None:
        return problems
    b_start = int(backup[1]) * 60 + int(backup[2])
    b_len = _window_minutes(b_start, int(backup[3]) * 60 + int(backup[4]), 24 * 60)
    if b_len < 30:
        problems.append((("preferred_backup_window",), "must last at least 30 minutes"))
    m_start = _DAYS.index(maint[1]) * 1440 + int(maint[2]) * 60 + int(maint[3])
    m_end = _DAYS.index(maint[4]) * 1440 + int(maint[5]) * 60 + int(maint[6])
    m_len = _window_minutes(m_start, m_end, _WEEK)
    if m_len < 30:
        problems.append((("preferred_maintenance_window",), "must last at least 30 minutes"))
    elif b_len >= 30 and any(_arcs_overlap(day * 1440 + b_start, b_len, m_start, m_len, _WEEK) for day in range(7)):
        problems.append((("preferred_maintenance_window",), "must not overlap preferred_backup_window"))
    return problems


def warnings_for(spec: Spec, today: datetime.date | None = None) -> list[Problem]:
    """Things that are valid but deserve the user's attention (``today`` decides what support has ended)."""
    found: list[Problem] = []
    if not spec.is_v2:
        found.append((("serverless", "version"), V1_WARNING))
    found.extend(_engine_warnings(spec, today or datetime.datetime.now(datetime.UTC).date()))
    found.extend(network_warnings(spec))
    found.extend(data_api_warnings(spec))
    found.extend(_aws_guidance(spec))
    if isinstance(spec.backend, S3Backend) and not spec.backend.use_lockfile:
        found.append((("backend", "use_lockfile"), "the state is not locked: two applies at once can corrupt it"))
    return found


def _aws_guidance(spec: Spec) -> list[Problem]:
    """What AWS documents as needed or recommended beyond what it refuses outright."""
    found: list[Problem] = []
    minimum = spec.serverless.min_capacity
    recommended = facts.raw()["performance_insights"]["recommended_min_capacity"]
    # only when the spec asks for it: the default (on for v2) with the default 0.5 ACU would warn every spec
    if spec.is_v2 and spec.performance_insights is True and minimum < recommended:
        found.append(
            (
                ("serverless", "min_capacity"),
                f"{minimum:g} ACU with Performance Insights on: AWS recommends at least {recommended} ACU for it; "
                f"set serverless.min_capacity: {recommended} or performance_insights: false",
            )
        )
    if spec.kms_key_id is not None and spec.log_group_managed:
        found.append((("kms_key_id",), kms_logs_warning(spec, spec.kms_key_id)))
    return found


def kms_logs_warning(spec: Spec, key_arn: str) -> str:
    """Why ``key_arn`` must let CloudWatch Logs use it, with the key policy statement to add."""
    rules = facts.raw()["kms_logs"]
    _, partition, _, _, account, _ = key_arn.split(":", 5)
    log_group = rules["log_group_arn"].format(
        partition=partition, region=spec.region, account=account, name=spec.log_group_name
    )
    statement = {
        "Sid": "CloudWatchLogs",
        "Effect": "Allow",
        "Principal": {"Service": rules["principal_service"].format(region=spec.region)},
        "Action": rules["actions"],
        "Resource": "*",
        "Condition": {rules["condition_operator"]: {rules["condition_key"]: log_group}},
    }
    return (
        f"the key also encrypts the log group {spec.log_group_name}: unless its key policy lets CloudWatch Logs "
        f"use it, apply fails; add this statement to the key policy: {json.dumps(statement)}"
    )
