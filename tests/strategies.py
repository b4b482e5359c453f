"""Hypothesis strategies for tfgen specs: valid ones, and the ways a spec file goes wrong.

Valid specs are plain data (what ``yaml.safe_load`` returns) built field by field from the
documented rules: only the fields listed here are generated, so optional fields added to
the model later keep their defaults. Invalid inputs are a valid spec with one known
mistake (:class:`Broken` says which field to expect in the message), or whole files that
cannot be a spec at all (broken YAML, binary garbage, huge files, alias bombs).
"""

from __future__ import annotations

import ipaddress
import string
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import strategies as st

from tfgen import facts
from tfgen.spec.fields import V1_CAPACITIES

Data = dict[str, Any]

LOWER_DIGITS = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUILTIN_ALARM_NAMES = frozenset({"cpu", "connections", "capacity", "acu_utilization", "acu-utilization"})
RESERVED_PG_NAMES = frozenset(
    {"postgres", "rdsadmin", "rds_superuser", "rds_replication", "rds_iam", "admin", "public", "template0", "template1"}
)

# --------------------------------------------------------------------------- small values


def _aws_id(prefix: str) -> st.SearchStrategy[str]:
    return st.text(HEX, min_size=8, max_size=17).map(lambda tail: f"{prefix}-{tail}")


def _aws_ids(prefix: str, min_size: int, max_size: int) -> st.SearchStrategy[list[str]]:
    """Distinct ids: the last two hex digits number them (a unique filter would retry a lot)."""
    return st.lists(st.text(HEX, min_size=8, max_size=17), min_size=min_size, max_size=max_size).map(
        lambda tails: [f"{prefix}-{tail[:-2]}{index:02x}" for index, tail in enumerate(tails)]
    )


def cluster_names(max_size: int) -> st.SearchStrategy[str]:
    """DB cluster identifiers: a letter, then lowercase letters/digits in hyphen-separated runs."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        first = draw(st.sampled_from(string.ascii_lowercase))
        runs = draw(st.lists(st.text(LOWER_DIGITS, min_size=1, max_size=20), max_size=8))
        head = first + draw(st.text(LOWER_DIGITS, max_size=10))
        return "-".join([head, *runs])[:max_size].rstrip("-")

    # the security group and DB subnet group carry the name: AWS refuses sg-... and default
    return build().filter(lambda name: not name.startswith("sg-") and name != "default")


regions = st.one_of(
    st.sampled_from(["eu-west-1", "us-east-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "eu-central-2"]),
    st.builds(
        lambda cc, part, area, digit: f"{cc}{part}-{area}-{digit}",
        st.text(string.ascii_lowercase, min_size=2, max_size=2),
        st.sampled_from(["", "-gov", "-iso", "-isob"]),
        st.text(string.ascii_lowercase, min_size=1, max_size=10),
        st.integers(0, 9),
    ),
)

pg_identifiers = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(string.ascii_letters),
    st.text(string.ascii_letters + string.digits + "_", max_size=62),
).filter(lambda name: name.lower() not in RESERVED_PG_NAMES)

master_usernames = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(string.ascii_letters),
    st.text(string.ascii_letters + string.digits, max_size=15),
).filter(lambda name: name.lower() not in RESERVED_PG_NAMES)


def _cidr(version: int) -> st.SearchStrategy[str]:
    bits = 32 if version == 4 else 128
    network = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    return st.builds(
        lambda address, prefix: str(network((address, prefix), strict=False)),
        st.integers(0, 2**bits - 1),
        st.integers(1, bits),
    )


cidrs = st.one_of(_cidr(4), _cidr(4), _cidr(6))

account_ids = st.text(string.digits, min_size=12, max_size=12)
partitions = st.sampled_from(["aws", "aws-us-gov", "aws-cn"])
kms_arns = st.builds(
    lambda partition, region, account, key: f"arn:{partition}:kms:{region}:{account}:key/{key}",
    partitions,
    st.sampled_from(["eu-west-1", "us-east-1"]),
    account_ids,
    st.uuids().map(str),
)
sns_arns = st.builds(
    lambda partition, account, topic: f"arn:{partition}:sns:eu-west-1:{account}:{topic}",
    partitions,
    account_ids,
    st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=60),
)

# Any text YAML can carry; PyYAML cannot represent lone surrogates.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)

# Map keys: any character YAML can carry, grapheme-joining ones included (combining marks,
# joiners, flags, jamo, skin tones): tfgen.render.hcl.align must line up "=" by grapheme clusters,
# as terraform fmt does. Unassigned code points are left out: Python and Go may know
# different Unicode versions, so the two need not agree on how those join.
key_chars = st.characters(exclude_categories=("Cs", "Cn"))


def _half_steps(low: int, high: int) -> st.SearchStrategy[float | int]:
    """Multiples of 0.5 in [low/2, high/2], integral ones sometimes as YAML ints."""
    return st.tuples(st.integers(low, high), st.booleans()).map(
        lambda pair: pair[0] // 2 if pair[0] % 2 == 0 and pair[1] else pair[0] / 2
    )


# --------------------------------------------------------------------------- sections


@st.composite
def _windows(draw: st.DrawFn) -> tuple[str, str]:
    """A daily backup window and a weekly maintenance window that never overlap it.

    The maintenance window lies in the daily gap after the backup window ends.
    """
    b_start = draw(st.integers(0, 1439))
    b_len = draw(st.integers(30, 300))
    gap = draw(st.integers(0, 120))
    m_len = draw(st.integers(30, 1440 - b_len - gap))
    day = draw(st.integers(0, 6))
    m_start = day * 1440 + b_start + b_len + gap

    def hhmm(minute: int) -> str:
        minute %= 1440
        return f"{minute // 60:02d}:{minute % 60:02d}"

    def dhhmm(minute: int) -> str:
        minute %= 7 * 1440
        return f"{DAYS[minute // 1440]}:{hhmm(minute)}"

    return f"{hhmm(b_start)}-{hhmm(b_start + b_len)}", f"{dhhmm(m_start)}-{dhhmm(m_start + m_len)}"


@st.composite
def _serverless_v2(draw: st.DrawFn) -> tuple[Data, str | None]:
    section: Data = {}
    if draw(st.booleans()):
        section["version"] = "v2"
    max_half = draw(st.integers(2, 512))
    pause = draw(st.integers(0, 3)) == 0
    if draw(st.booleans()) or pause:
        section["max_capacity"] = max_half // 2 if max_half % 2 == 0 and draw(st.booleans()) else max_half / 2
    else:
        max_half = 16  # the default, 8 ACUs
    if pause:
        section["min_capacity"] = draw(st.sampled_from([0, 0.0]))
        section["seconds_until_auto_pause"] = draw(st.integers(300, 86_400))
    elif draw(st.booleans()):
        section["min_capacity"] = draw(_half_steps(1, max_half))
    if draw(st.booleans()):
        section["instances"] = draw(st.integers(1, 15))
    # engine version: a major alone, or a minor from the major's lowest v2 minor (higher when the
    # cluster pauses) that AWS has not retired
    version: str | None = None
    if pause or draw(st.booleans()):
        row = draw(st.sampled_from(list(facts.engine_majors().values())))
        lowest = max(row.serverless_v2_minimum, row.pause_minimum) if pause else row.serverless_v2_minimum
        version = draw(
            st.just(str(row.major))
            | st.integers(lowest[1], 99)
            .map(lambda minor: f"{row.major}.{minor}")
            .filter(lambda v: v not in row.retired)
        )
    return section, version


@st.composite
def _serverless_v1(draw: st.DrawFn) -> tuple[Data, str | None]:
    low, high = sorted(draw(st.lists(st.sampled_from(V1_CAPACITIES), min_size=2, max_size=2)))
    section: Data = {"version": "v1", "min_capacity": low, "max_capacity": high}
    optional = {
        "auto_pause": st.booleans(),
        "seconds_until_auto_pause": st.integers(300, 86_400),
        "seconds_before_timeout": st.integers(60, 600),
        "timeout_action": st.sampled_from(["RollbackCapacityChange", "ForceApplyCapacityChange"]),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            section[key] = draw(values)
    v1_majors = facts.raw()["serverless_v1"]["majors"]
    version = f"{draw(st.sampled_from(v1_majors))}.{draw(st.integers(0, 99))}" if draw(st.booleans()) else None
    return section, version


def _custom_alarm_names() -> st.SearchStrategy[str]:
    return st.builds(
        lambda first, rest: first + rest,
        st.sampled_from(string.ascii_letters + string.digits),
        st.text(string.ascii_letters + string.digits + "_-", max_size=63),
    ).filter(lambda name: name not in BUILTIN_ALARM_NAMES)


def _custom_alarm(name: str) -> st.SearchStrategy[Data]:
    return st.fixed_dictionaries(
        {
            "name": st.just(name),
            "metric": st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60),
            "threshold": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**12), 10**12)),
        },
        optional={
            "namespace": st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40),
            "statistic": st.sampled_from(["Average", "Sum", "Minimum", "Maximum", "SampleCount"]),
            "comparison": st.sampled_from(
                [
                    "GreaterThanOrEqualToThreshold",
                    "GreaterThanThreshold",
                    "LessThanThreshold",
                    "LessThanOrEqualToThreshold",
                ]
            ),
            "period": st.integers(10, 86_400),
            "evaluation_periods": st.integers(1, 100),
            "dimensions": st.none() | st.dictionaries(st.text(key_chars, min_size=1, max_size=30), any_text),
            "treat_missing_data": st.sampled_from(["missing", "ignore", "breaching", "notBreaching"]),
            "description": st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=80),
        },
    )


@st.composite
def _alarms(draw: st.DrawFn) -> Data:
    names = draw(st.lists(_custom_alarm_names(), max_size=3, unique=True))
    optional = {
        "enabled": st.booleans(),
        "cpu_threshold": st.floats(min_value=0, max_value=100, exclude_min=True),
        "connections_threshold": st.none() | st.integers(1, 100_000),
        "capacity_threshold": st.none() | st.floats(min_value=0, max_value=384, exclude_min=True),
        "acu_utilization_threshold": st.integers(1, 100),
        "period": st.integers(10, 86_400),
        "evaluation_periods": st.integers(1, 100),
        "alarm_actions": st.lists(sns_arns, max_size=2, unique=True),
        "ok_actions": st.lists(sns_arns, max_size=2, unique=True),
        "custom": st.tuples(*(_custom_alarm(name) for name in names)).map(list),
    }
    section: Data = {}
    for key, values in optional.items():
        if draw(st.booleans()):
            section[key] = draw(values)
    return section


_tag_keys = st.text(key_chars, min_size=1, max_size=40).filter(lambda key: not key.lower().startswith("aws:"))


# --------------------------------------------------------------------------- whole specs


@st.composite
def valid_specs(draw: st.DrawFn) -> Data:
    """A valid spec as plain data; optional fields are present or absent at random."""
    v1 = draw(st.integers(0, 4)) == 0
    serverless, version = draw(_serverless_v1() if v1 else _serverless_v2())
    spec: Data = {
        "name": draw(cluster_names(63 if v1 else 60)),
        "region": draw(regions),
        "vpc_id": draw(_aws_id("vpc")),
        "subnet_ids": draw(_aws_ids("subnet", 2, 6)),
    }
    if serverless or draw(st.booleans()):
        spec["serverless"] = serverless
    if version is not None:
        spec["engine_version"] = version
    sources = ["random", "write_only"] if v1 else ["random", "rds_managed", "write_only"]
    backup_window, maintenance_window = draw(_windows())
    optional: dict[str, st.SearchStrategy[Any]] = {
        "database_name": pg_identifiers,
        "master_username": master_usernames,
        "port": st.integers(1150, 65535),
        "master_password": st.fixed_dictionaries(
            {}, optional={"source": st.sampled_from(sources), "length": st.integers(16, 41)}
        ),
        "network": st.fixed_dictionaries(
            {},
            optional={
                "allowed_cidr_blocks": st.lists(cidrs, max_size=4, unique=True),
                "allowed_security_group_ids": _aws_ids("sg", 0, 3),
            },
        ),
        "storage_encrypted": st.just(True),
        "kms_key_id": st.none() | kms_arns,
        "copy_tags_to_snapshot": st.booleans(),
        "skip_final_snapshot": st.booleans(),
        "deletion_protection": st.booleans(),
        "backup_retention_period": st.integers(1, 35),
        "preferred_backup_window": st.just(backup_window),
        "preferred_maintenance_window": st.just(maintenance_window),
        "apply_immediately": st.booleans(),
        "performance_insights": st.just(False) if v1 else st.booleans(),
        "tags": st.dictionaries(_tag_keys, st.text(st.characters(exclude_categories=("Cs",)), max_size=60), max_size=4),
        "alarms": _alarms(),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            spec[key] = draw(values)
    if draw(st.integers(0, 3)) == 0:
        _bring_own_network(draw, spec)
    if "preferred_maintenance_window" in spec and "preferred_backup_window" not in spec:
        spec["preferred_backup_window"] = backup_window  # the pair is non-overlapping only together
    if "preferred_backup_window" in spec and "preferred_maintenance_window" not in spec:
        spec["preferred_maintenance_window"] = maintenance_window
    return spec


_subnet_group_names = st.from_regex(r"[a-z][a-z0-9._ -]{0,40}", fullmatch=True).filter(lambda n: n != "default")
_egress_rules = st.lists(
    st.fixed_dictionaries(
        {"cidr": cidrs, "port": st.integers(1, 65535)},
        optional={"description": st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)},
    ),
    max_size=3,
    unique_by=lambda rule: (rule["cidr"], rule["port"]),
)


def _bring_own_network(draw: st.DrawFn, spec: Data) -> None:
    """Existing network pieces in ``spec``: a DB subnet group, security groups (besides or instead of its own)."""
    network = dict(spec.get("network", {}))
    if draw(st.booleans()):
        network["db_subnet_group_name"] = draw(_subnet_group_names)
        del spec["subnet_ids"]
    groups = draw(_aws_ids("sg", 0, 4))
    if groups:
        network["security_group_ids"] = groups
    if groups and draw(st.booleans()):
        network["create_security_group"] = False
        network.pop("allowed_cidr_blocks", None)
        network.pop("allowed_security_group_ids", None)
        del spec["vpc_id"]
    elif draw(st.booleans()):
        network["egress"] = draw(_egress_rules)
    spec["network"] = network


@st.composite
def yaml_dumps(draw: st.DrawFn, data: Any) -> str:
    """``data`` as YAML text in one of several styles."""
    return yaml.safe_dump(
        data,
        sort_keys=draw(st.booleans()),
        allow_unicode=draw(st.booleans()),
        default_flow_style=draw(st.sampled_from([False, None, True])),
        indent=draw(st.sampled_from([2, 4])),
        width=draw(st.sampled_from([80, 10_000])),
    )


# --------------------------------------------------------------------------- one mistake in a valid spec


@dataclass(frozen=True)
class Broken:
    """A spec with one known mistake."""

    data: Data
    field: str
    """Dotted path the error message must name."""
    kind: str


def _set(data: Data, path: tuple[str, ...], value: Any) -> Data:
    """A copy of ``data`` with ``path`` set to ``value`` (missing sections created)."""
    copy = dict(data)
    if len(path) == 1:
        copy[path[0]] = value
        return copy
    section = copy.get(path[0])
    copy[path[0]] = _set(section if isinstance(section, dict) else {}, path[1:], value)
    return copy


_not_str = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from("abc"), st.integers(), min_size=1, max_size=2),
)
_not_int = st.one_of(
    st.text(max_size=10),
    st.integers().map(str),
    st.floats(allow_nan=False).filter(lambda x: not float(x).is_integer()),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.none(),
)
_not_number = st.one_of(st.text(max_size=10), st.booleans(), st.lists(st.integers(), max_size=2), st.none())
_not_bool = st.one_of(
    st.integers(), st.sampled_from(["true", "false", "yes", "on", "1"]), st.floats(allow_nan=False), st.none()
)
_not_list = st.one_of(st.text(max_size=10), st.integers(), st.dictionaries(st.sampled_from("ab"), st.integers()))
_not_mapping = st.one_of(st.text(max_size=10), st.integers(), st.lists(st.integers(), max_size=2), st.booleans())

_TYPED_FIELDS: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("name",): _not_str | st.none(),
    ("region",): _not_str | st.none(),
    ("vpc_id",): _not_str | st.none(),
    ("database_name",): _not_str | st.none(),
    ("master_username",): _not_str | st.none(),
    ("preferred_backup_window",): _not_str | st.none(),
    ("port",): _not_int,
    ("backup_retention_period",): _not_int,
    ("deletion_protection",): _not_bool,
    ("skip_final_snapshot",): _not_bool,
    ("copy_tags_to_snapshot",): _not_bool,
    ("apply_immediately",): _not_bool,
    ("storage_encrypted",): _not_bool | st.just(False),
    ("subnet_ids",): _not_list | st.none(),
    ("network", "allowed_cidr_blocks"): _not_list | st.none(),
    ("alarms", "alarm_actions"): _not_list | st.none(),
    ("network",): _not_mapping | st.none(),
    ("master_password",): _not_mapping | st.none(),
    ("alarms",): _not_mapping | st.none(),
    ("tags",): _not_mapping | st.none(),
    ("master_password", "length"): _not_int,
    ("master_password", "source"): _not_str | st.none() | st.sampled_from(["Random", "secrets", ""]),
    ("alarms", "enabled"): _not_bool,
    ("alarms", "period"): _not_int,
    ("alarms", "cpu_threshold"): _not_number,
}
_TYPED_FIELDS_V2: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("serverless", "min_capacity"): _not_number,
    ("serverless", "max_capacity"): _not_number,
    ("serverless", "instances"): _not_int,
}
_TYPED_FIELDS_V1: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("serverless", "min_capacity"): _not_int,
    ("serverless", "auto_pause"): _not_bool,
    ("serverless", "timeout_action"): _not_str | st.none() | st.just("Rollback"),
}

_v2_out_of_range = st.one_of(
    st.floats(max_value=0, allow_nan=False).filter(lambda value: value < 0),
    st.floats(min_value=256, exclude_min=True),
    st.integers(257, 10**6),
    st.integers(0, 511).map(lambda half: half / 2 + 0.25),
    st.sampled_from([0.1, 1.3, 7.75, float("nan"), float("inf"), float("-inf")]),
)
_RANGE_FIELDS_V2: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("serverless", "min_capacity"): _v2_out_of_range,
    ("serverless", "max_capacity"): _v2_out_of_range | st.sampled_from([0, 0.5]),
    ("serverless", "instances"): st.integers(max_value=0) | st.integers(min_value=16),
}
_v1_capacity = st.integers(-1000, 1000).filter(lambda value: value not in V1_CAPACITIES)
_RANGE_FIELDS_V1: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("serverless", "min_capacity"): _v1_capacity,
    ("serverless", "max_capacity"): _v1_capacity,
    ("serverless", "seconds_until_auto_pause"): st.integers(max_value=299) | st.integers(min_value=86_401),
}
_RANGE_FIELDS: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("port",): st.integers(max_value=1149) | st.integers(min_value=65536),
    ("backup_retention_period",): st.integers(max_value=0) | st.integers(min_value=36),
    ("master_password", "length"): st.integers(max_value=15) | st.integers(min_value=42),
    ("alarms", "cpu_threshold"): st.floats(max_value=0, allow_nan=False) | st.floats(min_value=100, exclude_min=True),
    ("alarms", "evaluation_periods"): st.integers(max_value=0) | st.integers(min_value=101),
}


def _bad_names(max_size: int) -> st.SearchStrategy[str]:
    good = cluster_names(max_size).filter(lambda name: len(name) >= 2)
    return st.one_of(
        st.just(""),
        good.map(str.upper),
        good.map(lambda name: name[0].upper() + name[1:]),
        st.tuples(st.integers(0, 9), good).map(lambda pair: f"{pair[0]}{pair[1]}"),
        good.map(lambda name: f"{name}-"),
        good.map(lambda name: f"{name[0]}--{name[1:]}"),
        st.tuples(good, st.sampled_from(["_", ".", " ", "é", "\n", "/", "ß", "\u0661"])).map(
            lambda pair: pair[0][:1] + pair[1] + pair[0][1:]
        ),
        st.tuples(st.sampled_from(string.ascii_lowercase), st.integers(max_size, 300)).map(
            lambda pair: pair[0] * pair[1]
        ),
    )


def _unknown_key(known: set[str]) -> st.SearchStrategy[str]:
    return st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(lambda key: key not in known)


_NOT_GIVEN_IF_NULL = {("vpc_id",), ("subnet_ids",)}
"""Fields the model declares ``T | None``: required unless the spec names existing network pieces."""


@st.composite
def broken_specs(draw: st.DrawFn, kind: str, known_fields: dict[tuple[str, ...], set[str]]) -> Broken:
    """A valid spec with one mistake of ``kind``: a wrong type ("type"), a value out of range
    ("range"), a bad name ("name"), an unknown key ("unknown"), or a required field removed
    ("missing").

    ``known_fields`` maps a section path to its current field names (read from the model
    at run time, so fields added later are never generated as "unknown").
    """
    data = draw(valid_specs())
    v1 = data.get("serverless", {}).get("version") == "v1"
    if kind == "type":
        table = {**_TYPED_FIELDS, **(_TYPED_FIELDS_V1 if v1 else _TYPED_FIELDS_V2)}
        path = draw(st.sampled_from(sorted(table)))
        wrong = table[path]
        if path in _NOT_GIVEN_IF_NULL and path[0] not in data:
            # not required here (the spec names existing network pieces): null is "not given", no mistake
            wrong = wrong.filter(lambda value: value is not None)
        return Broken(_set(data, path, draw(wrong)), ".".join(path), kind)
    if kind == "range":
        table = {**_RANGE_FIELDS, **(_RANGE_FIELDS_V1 if v1 else _RANGE_FIELDS_V2)}
        path = draw(st.sampled_from(sorted(table)))
        if path[0] == "serverless" and not v1:
            data = _set(data, ("serverless", "version"), "v2")
        return Broken(_set(data, path, draw(table[path])), ".".join(path), kind)
    if kind == "name":
        return Broken(_set(data, ("name",), draw(_bad_names(61 if not v1 else 64))), "name", kind)
    if kind == "unknown":
        sections = [path for path in sorted(known_fields) if path != ("serverless",) or "serverless" in data]
        section = draw(st.sampled_from(sections))
        key = draw(_unknown_key(known_fields[section]))
        path = (*section, key)
        return Broken(_set(data, path, draw(st.integers() | st.text(max_size=5))), ".".join(path), kind)
    # vpc_id and subnet_ids are required unless the spec names existing network pieces instead
    required = draw(st.sampled_from([key for key in ("name", "region", "vpc_id", "subnet_ids") if key in data]))
    return Broken({key: value for key, value in data.items() if key != required}, required, kind)


# --------------------------------------------------------------------------- files that are not specs

_YAML_BREAKERS = [
    "broken: [unclosed, list",
    "broken: {unclosed: mapping",
    'broken: "unterminated string',
    "broken: 'unterminated string",
    "\tbroken: tab indentation",
    "broken: value: another",
    "broken: *undefined_alias",
    "  - list item: out of place",
    "key without a colon",
    "}",
    "]",
    "@reserved: indicator",
    "`backtick: indicator",
    "%YAML 1.1",
    "---\nname: second-document",
    "broken: &anchor",
    "broken: !!binary '???'",
    # values PyYAML resolves but cannot build (ValueError, not a YAMLError)
    "broken: 2025-13-01",
    "broken: 2025-02-30",
    "broken: !!int x",
    "broken: !!int 0x",
    "broken: !!float abc",
    "broken: !unknown tag",
    # control characters PyYAML's reader refuses
    "broken: \x1b[31mred",
    "broken: \x7f",
    "\x0c",
    "? [complex, key]\n: value",
]


@st.composite
def broken_yaml(draw: st.DrawFn) -> str:
    """A valid spec's YAML with a line that breaks it inserted somewhere (may still be valid YAML).

    The random snippets include control characters, which PyYAML's reader refuses.
    """
    lines = draw(yaml_dumps(draw(valid_specs()))).splitlines()
    index = draw(st.integers(0, len(lines)))
    if draw(st.booleans()):
        snippet = draw(st.sampled_from(_YAML_BREAKERS))
    else:
        snippet = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=10))
    return "\n".join([*lines[:index], snippet, *lines[index:]]) + "\n"


@st.composite
def duplicate_keys(draw: st.DrawFn) -> str:
    """A valid spec (block style) with one top-level key repeated: YAML allows it, tfgen must not."""
    data = draw(valid_specs())
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    key = draw(st.sampled_from(sorted(data)))
    return text + yaml.safe_dump({key: data[key]}, default_flow_style=False)


_INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xe2\x82"]


@st.composite
def garbage(draw: st.DrawFn) -> bytes:
    """Bytes that cannot be a spec: random binary, NULs, invalid UTF-8, or random text."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=2000))
    if choice == 3:
        return draw(st.text(max_size=500)).encode("utf-8", "surrogatepass")
    head = draw(yaml_dumps(draw(valid_specs()))).encode() if draw(st.booleans()) else draw(st.binary(max_size=200))
    bad = b"\x00" if choice == 1 else draw(st.sampled_from(_INVALID_UTF8))
    at = draw(st.integers(0, len(head)))
    bom = b"\xef\xbb\xbf" if draw(st.integers(0, 4)) == 0 else b""
    return bom + head[:at] + bad + head[at:]


@st.composite
def huge_files(draw: st.DrawFn, limit: int) -> bytes:
    """A valid spec padded to more than ``limit`` bytes (comment, long value, or many lines)."""
    text = yaml.safe_dump(draw(valid_specs()), sort_keys=False, default_flow_style=False).encode()
    size = draw(st.integers(limit + 1, limit + 200_000))
    style = draw(st.sampled_from(["comment", "lines", "value"]))
    room = max(size - len(text), 1)
    if style == "comment":
        return text + b"#" + b"x" * room
    if style == "lines":
        return text + (b"# padding\n" * (room // 10 + 1))
    return text + b"padding: '" + b"y" * room + b"'\n"


@st.composite
def alias_bombs(draw: st.DrawFn) -> str:
    """Exponential alias expansion, recursive aliases, or deep nesting, in a spec or as the whole file."""
    kind = draw(st.sampled_from(["sequence", "mapping", "recursive", "deep-flow", "deep-block"]))
    if kind in ("sequence", "mapping"):
        fanout = draw(st.integers(2, 12))
        depth = draw(st.integers(2, 12))
        values = ["&lol0 lol"]
        for level in range(1, depth + 1):
            refs = [f"*lol{level - 1}"] * fanout
            if kind == "sequence":
                values.append(f"&lol{level} [" + ", ".join(refs) + "]")
            else:
                values.append(f"&lol{level} {{" + ", ".join(f"k{i}: {ref}" for i, ref in enumerate(refs)) + "}")
    elif kind == "recursive":
        values = [
            draw(st.sampled_from(["&loop [*loop]", "&loop {self: *loop}", "&loop {<<: *loop}", "&loop [[*loop]]"]))
        ]
    else:
        depth = draw(st.integers(51, 600 if kind == "deep-flow" else 200))
        if kind == "deep-flow":
            values = ["[" * depth + "]" * depth]
        else:
            values = ["".join(f"\n{' ' * (2 * level + 4)}k{level}:" for level in range(depth)) + " leaf"]
    where = draw(st.sampled_from(["document", "top", "tags"]))
    if where == "document":
        return "".join(f"- {value}\n" for value in values)
    data = draw(valid_specs())
    data.pop("tags", None)
    spec = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    entries = "".join(f"  key{index}: {value}\n" for index, value in enumerate(values))
    if where == "top":
        return spec + "".join(f"bomb{index}: {value}\n" for index, value in enumerate(values))
    return spec + "tags:\n" + entries
