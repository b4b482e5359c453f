"""Cross-field rules and warnings: what one field cannot say about a valid :class:`Spec`.

A rule finds a problem that makes the spec invalid (an engine version without
Serverless v2, two parameters of the same name, overlapping windows); a warning finds
something valid that deserves the user's attention. Each is a location in the spec and
a message, worded with its line by :mod:`tfgen.spec.messages`.
"""

from __future__ import annotations

import re

from tfgen.spec.model import CloudBackend, S3Backend, ServerlessV2, Spec
from tfgen.spec.yaml_source import Loc

V1_MAJORS = (11, 13)
# Lowest minor of each major that supports Serverless v2, and that can auto-pause (min 0 ACU).
V2_MINIMUM = {13: 6, 14: 3, 15: 2, 16: 1, 17: 4}
V2_PAUSE_MINIMUM = {13: 15, 14: 12, 15: 7, 16: 3, 17: 0}
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


def rule_problems(spec: Spec) -> list[Problem]:
    """Problems that make a spec whose every field is valid invalid as a whole."""
    problems: list[Problem] = []
    version = spec.effective_engine_version
    major, minor = (int(part) for part in version.split("."))
    server = spec.serverless
    if isinstance(server, ServerlessV2):
        if major not in V2_MINIMUM or minor < V2_MINIMUM[major]:
            supported = ", ".join(f"{m}.{n}+" for m, n in V2_MINIMUM.items())
            problems.append((("engine_version",), f"{version} does not support Serverless v2 (needs {supported})"))
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
            if major in V2_PAUSE_MINIMUM and minor < V2_PAUSE_MINIMUM[major]:
                problems.append(
                    (
                        ("serverless", "min_capacity"),
                        f"0 (auto-pause) needs aurora-postgresql 13.15+, 14.12+, 15.7+, 16.3+ or 17; engine_version is {version}",
                    )
                )
        elif server.seconds_until_auto_pause is not None:
            problems.append(
                (("serverless", "seconds_until_auto_pause"), "only applies when serverless.min_capacity is 0")
            )
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
        if spec.logs.export:
            problems.append((("logs", "export"), "Aurora Serverless v1 cannot export logs to CloudWatch Logs"))
        if spec.monitoring_interval:
            problems.append((("monitoring_interval",), "Aurora Serverless v1 has no instances to monitor"))
        if spec.master_password.source == "rds_managed":
            problems.append(
                (("master_password", "source"), "rds_managed is not supported by Aurora Serverless v1; use write_only")
            )
        if major not in V1_MAJORS:
            problems.append((("engine_version",), f"{version} is not available for Serverless v1 (11.x or 13.x)"))
        if server.min_capacity > server.max_capacity:
            problems.append(
                (("serverless", "min_capacity"), f"{server.min_capacity} is above max_capacity {server.max_capacity}")
            )
    lists: list[tuple[Loc, list[str]]] = [
        (("subnet_ids",), spec.subnet_ids),
        (("network", "allowed_cidr_blocks"), spec.network.allowed_cidr_blocks),
        (("network", "allowed_security_group_ids"), spec.network.allowed_security_group_ids),
    ]
    for loc, values in lists:
        for index, value in enumerate(values):
            if value in values[:index]:
                problems.append(((*loc, index), f"duplicate {value}"))
    if spec.create_kms_key and spec.kms_key_id is not None:
        problems.append((("create_kms_key",), "give kms_key_id or create_kms_key: true, not both"))
    parameter_names = [parameter.name for parameter in spec.parameters]
    for index, name in enumerate(parameter_names):
        if name in parameter_names[:index]:
            problems.append((("parameters", index, "name"), f"duplicate parameter {name}"))
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
    backend = spec.backend
    if isinstance(backend, CloudBackend) and backend.workspace and backend.tags:
        problems.append((("backend", "tags"), "give backend.workspace or backend.tags, not both"))
    return problems


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
    elif b_len >= 30:
        maint_minutes = {(m_start + i) % _WEEK for i in range(m_len)}
        for day in range(7):
            if any((day * 1440 + b_start + i) % _WEEK in maint_minutes for i in range(b_len)):
                problems.append((("preferred_maintenance_window",), "must not overlap preferred_backup_window"))
                break
    return problems


def warnings_for(spec: Spec) -> list[Problem]:
    """Things that are valid but deserve the user's attention."""
    found: list[Problem] = []
    if not spec.is_v2:
        found.append((("serverless", "version"), V1_WARNING))
    if not spec.network.allowed_cidr_blocks and not spec.network.allowed_security_group_ids:
        found.append((("network",), "no allowed_cidr_blocks or allowed_security_group_ids: nothing can connect"))
    if isinstance(spec.backend, S3Backend) and not spec.backend.use_lockfile:
        found.append((("backend", "use_lockfile"), "the state is not locked: two applies at once can corrupt it"))
    return found
