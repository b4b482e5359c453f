"""The spec's field types: each shared rule declared once, as an annotated type with its validator.

A field type is ``Annotated[base, constraint or validator, ...]``; :mod:`tfgen.spec.model`
declares the records' fields with them. A validator returns the value or raises
:class:`~tfgen.spec.record.Invalid` with a message that names no field (the location
is added when the problem is worded).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from tfgen import facts
from tfgen.spec.record import AfterValidator, Field, Invalid


def _fail(message: str) -> Invalid:
    return Invalid(message)


_IDENTIFIER = re.compile(r"[a-z][a-z0-9-]*")


def _cluster_identifier(value: str) -> str:
    if not 1 <= len(value) <= 63:
        raise _fail("must be 1 to 63 characters")
    if not _IDENTIFIER.fullmatch(value):
        raise _fail("must start with a lowercase letter and contain only lowercase letters, digits and hyphens")
    if "--" in value or value.endswith("-"):
        raise _fail("must not contain two consecutive hyphens or end with a hyphen")
    # the module names its security group and its DB subnet group after the cluster
    rules = facts.raw()["naming"]["cluster_name"]
    if value.startswith(rules["security_group_forbidden_prefix"]):
        raise _fail(
            f"must not start with {rules['security_group_forbidden_prefix']}: it names the cluster's security group, "
            "and AWS refuses security group names that look like ids"
        )
    if value in rules["subnet_group_forbidden"]:
        raise _fail(f"must not be {value}: it names the cluster's DB subnet group, and AWS reserves that name")
    return value


def _pattern(regex: str, what: str) -> AfterValidator:
    compiled = re.compile(regex, re.ASCII)  # \d must not match other scripts' digits

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise _fail(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def _cidr(value: str, open_world: str = "opens the database port to the whole internet") -> str:
    address, slash, prefix = value.partition("/")
    try:
        ip = ipaddress.ip_address(address) if "%" not in address else None  # no IPv6 scope ids
        # ipaddress also takes netmasks (10.0.0.0/255.255.0.0); AWS and Terraform take prefix lengths only
        network = ipaddress.ip_network(value, strict=False) if prefix.isascii() and prefix.isdigit() else None
    except ValueError:
        ip = network = None
    if ip is not None and not slash:
        raise _fail(f"{value!r} has no prefix length; write {value}/{ip.max_prefixlen} for one address")
    if ip is None or network is None:
        raise _fail(f"{value!r} is not a CIDR block such as 10.0.0.0/16")
    if network.prefixlen == 0:
        raise _fail(f"{value!r} {open_world}; name the networks that need it")
    if network.network_address != ip:
        raise _fail(f"{value!r} has host bits set; write {network}")
    return value


def _egress_cidr(value: str) -> str:
    return _cidr(value, "lets the database reach the whole internet")


def _db_subnet_group_name(value: str) -> str:
    rules = facts.raw()["naming"]["db_subnet_group_name"]
    if not 1 <= len(value) <= rules["max_length"]:
        raise _fail(f"must be 1 to {rules['max_length']} characters")
    if not re.fullmatch(rules["pattern"], value, re.ASCII):
        raise _fail(
            "must start with a letter and contain only letters, digits, periods, underscores, spaces and hyphens"
        )
    if value != value.lower():
        raise _fail(
            f"AWS stores DB subnet group names in lowercase; write {value.lower()!r} (another case would "
            "read back as a change that replaces the cluster)"
        )
    if value in rules["forbidden"]:
        raise _fail(f"{value!r} is AWS's reserved name, not a DB subnet group you can name")
    return value


def _pg_identifier(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", value):
        raise _fail("must start with a letter and contain only letters, digits and underscores (at most 63)")
    return value


RESERVED_DATABASES = frozenset({"postgres", "rdsadmin", "template0", "template1"})


def _master_username(value: str) -> str:
    rules = facts.raw()["naming"]["master_username"]
    if not (rules["min_length"] <= len(value) <= rules["max_length"] and re.fullmatch(rules["pattern"], value)):
        raise _fail(
            f"must be {rules['min_length']} to {rules['max_length']} letters or digits, starting with a letter "
            "(Aurora's rule for the master user)"
        )
    if value.lower() in rules["reserved"]:
        raise _fail(f"{value!r} is reserved by Aurora PostgreSQL; choose another name")
    return value


def _password_length(value: int) -> int:
    rules = facts.raw()["naming"]["master_password"]
    if value > rules["max_length"]:
        raise _fail(f"must be at most {rules['max_length']}: Aurora refuses longer master passwords")
    return value


def _database_name(value: str) -> str:
    _pg_identifier(value)
    if value.lower() in RESERVED_DATABASES:
        raise _fail(f"{value!r} is reserved by Aurora PostgreSQL; choose another name")
    return value


def _half_steps(value: float) -> float:
    if value * 2 != int(value * 2):
        raise _fail("must be a multiple of 0.5")
    return value


V1_CAPACITIES = (2, 4, 8, 16, 32, 64, 192, 384)


def _v1_capacity(value: int) -> int:
    if value not in V1_CAPACITIES:
        allowed = ", ".join(str(v) for v in V1_CAPACITIES)
        raise _fail(f"must be one of {allowed} (Aurora Serverless v1 PostgreSQL)")
    return value


def _tag_key(value: str) -> str:
    if value.lower().startswith("aws:"):
        raise _fail("must not start with 'aws:' (reserved by AWS)")
    return value


ClusterName = Annotated[str, AfterValidator(_cluster_identifier)]
Region = Annotated[str, _pattern(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d", "an AWS region such as eu-west-1")]
AvailabilityZone = Annotated[
    str, _pattern(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d[a-z]", "an availability zone such as eu-west-1a")
]
VpcId = Annotated[str, _pattern(r"vpc-[0-9a-f]{8,17}", "a VPC id such as vpc-0abc12345def67890")]
SubnetId = Annotated[str, _pattern(r"subnet-[0-9a-f]{8,17}", "a subnet id such as subnet-0abc12345def67890")]
SecurityGroupId = Annotated[str, _pattern(r"sg-[0-9a-f]{8,17}", "a security group id such as sg-0abc12345def67890")]
KmsKeyArn = Annotated[str, _pattern(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+", "a KMS key ARN")]
SnsArn = Annotated[str, _pattern(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}", "an SNS topic ARN")]
Cidr = Annotated[str, AfterValidator(_cidr)]
EgressCidr = Annotated[str, AfterValidator(_egress_cidr)]
DbSubnetGroupName = Annotated[str, AfterValidator(_db_subnet_group_name)]
EngineVersion = Annotated[
    str, _pattern(r"\d{2}(\.\d{1,2})?", "an aurora-postgresql version: a major such as 17, or a minor such as 16.8")
]
AutoPauseSeconds = Annotated[int, Field(ge=300, le=86_400)]
V2Capacity = Annotated[float, Field(ge=0, le=256), AfterValidator(_half_steps)]
V1Capacity = Annotated[int, AfterValidator(_v1_capacity)]
TagKey = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_tag_key)]
TagValue = Annotated[str, Field(max_length=256)]
Description = Annotated[str, Field(min_length=1, max_length=255)]
DatabaseName = Annotated[str, AfterValidator(_database_name)]
MasterUsername = Annotated[str, AfterValidator(_master_username)]
PasswordLength = Annotated[int, Field(ge=16), AfterValidator(_password_length)]
"""Length of the master password tfgen generates: 16 at least (tfgen's choice), Aurora's maximum at most."""


def _rotation_days(value: int) -> int:
    rules = facts.raw()["rotation"]["rds_managed"]
    if not rules["min_days"] <= value <= rules["max_days"]:
        raise _fail(f"must be {rules['min_days']} to {rules['max_days']} days (Secrets Manager's rotation schedule)")
    return value


RotationDays = Annotated[int, AfterValidator(_rotation_days)]
"""Days between rotations of the secret RDS manages (``[rotation.rds_managed]`` in ``tfgen/facts/aws.toml``)."""
AlarmName = Annotated[str, _pattern(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", "an alarm name (letters, digits, _ and -)")]
Statistic = Literal["Average", "Sum", "Minimum", "Maximum", "SampleCount"]
Comparison = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
MissingData = Literal["missing", "ignore", "breaching", "notBreaching"]
Period = Annotated[int, Field(ge=10)]

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
MANAGED_PARAMETERS = {
    "log_min_duration_statement": "slow_query_ms",
    "log_statement": "the module (ddl)",
    "shared_preload_libraries": "preload_libraries (the module loads pg_stat_statements)",
}


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise _fail(f"must be one of CloudWatch Logs' retention periods: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return value


def _monitoring_interval(value: int) -> int:
    if value not in MONITORING_INTERVALS:
        raise _fail(f"must be one of {', '.join(map(str, MONITORING_INTERVALS))} (seconds; 0 turns it off)")
    return value


def _parameter_name(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_.]{0,127}", value, flags=re.ASCII):
        raise _fail(f"{value!r} is not a PostgreSQL parameter name")
    if value in MANAGED_PARAMETERS:
        raise _fail(f"{value} is set by {MANAGED_PARAMETERS[value]}; it cannot be overridden here")
    return value


def _preload_library(value: str) -> str:
    rules = facts.raw()["preload_libraries"]
    if value == rules["always"]:
        raise _fail(f"{value} is always loaded by the module; leave it out")
    if value not in rules["allowed"]:
        raise _fail(f"{value!r} is not a library Aurora PostgreSQL preloads; one of {', '.join(rules['allowed'])}")
    return value


LogRetentionDays = Annotated[int, AfterValidator(_log_retention)]
PreloadLibrary = Annotated[str, AfterValidator(_preload_library)]
MonitoringInterval = Annotated[int, AfterValidator(_monitoring_interval)]
ParameterName = Annotated[str, AfterValidator(_parameter_name)]


BucketName = Annotated[
    str,
    _pattern(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)"),
]
StateKey = Annotated[
    str,
    Field(min_length=1, max_length=1024),
    _pattern(r"(?!/)(?!.*//)[^\x00-\x1f]*(?<!/)", "an S3 object key (no leading or trailing / and no //)"),
]


def _environment_name(value: str) -> str:
    if len(value) > 20 or not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", value, re.ASCII):
        raise _fail("must be at most 20 lowercase letters, digits and single hyphens, starting with a letter")
    return value


EnvironmentName = Annotated[str, AfterValidator(_environment_name)]
HcpName = Annotated[
    str, _pattern(r"[A-Za-z0-9_-]{1,90}", "an HCP Terraform name (letters, digits, - and _, at most 90)")
]
Hostname = Annotated[str, _pattern(r"[a-z0-9.-]+(:\d+)?", "a host name such as app.terraform.io")]


def _ca_certificate(value: str) -> str:
    identifiers = facts.raw()["ca_certificates"]["identifiers"]
    if value not in identifiers:
        raise _fail(f"{value!r} is not a certificate authority RDS offers; one of {', '.join(identifiers)}")
    return value


def _retention_values() -> list[int]:
    rules = facts.raw()["performance_insights_retention"]
    first, last = rules["months"]
    months = [month * rules["month_days"] for month in range(first, last + 1)]
    return [rules["free_days"], *months, rules["max_days"]]


def _pi_retention(value: int) -> int:
    if value not in _retention_values():
        rules = facts.raw()["performance_insights_retention"]
        raise _fail(
            f"must be {rules['free_days']} (free), a multiple of {rules['month_days']} from "
            f"{rules['month_days']} to {rules['month_days'] * rules['months'][1]} (months), or {rules['max_days']}"
        )
    return value


# values tfgen/facts/aws.toml records with their source (tests hold them and the spec's Literals equal)
EngineLifecycleSupport = Literal["open-source-rds-extended-support", "open-source-rds-extended-support-disabled"]
CaCertificate = Annotated[str, AfterValidator(_ca_certificate)]
PerformanceInsightsRetention = Annotated[int, AfterValidator(_pi_retention)]
