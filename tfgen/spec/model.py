"""The cluster spec: loading, validation, and every value derived from it.

Data flows one way: YAML → :class:`Spec` → render context. Templates never
re-derive what the model knows; derived values (engine mode, parameter group
family, final snapshot prefix, alarm thresholds and dimensions) live here and are
tested here.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from tfgen.errors import SpecError, UsageError
from tfgen.spec import environments
from tfgen.spec import yaml_source as yamlsrc
from tfgen.spec.schema import AfterValidator, BeforeValidator, Field, Invalid, Issue, Record, ValidationError

# --------------------------------------------------------------------------- rules


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
    return value


def _pattern(regex: str, what: str) -> AfterValidator:
    compiled = re.compile(regex, re.ASCII)  # \d must not match other scripts' digits

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise _fail(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def _cidr(value: str) -> str:
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
        raise _fail(f"{value!r} opens the database port to the whole internet; name the networks that need it")
    if network.network_address != ip:
        raise _fail(f"{value!r} has host bits set; write {network}")
    return value


def _pg_identifier(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", value):
        raise _fail("must start with a letter and contain only letters, digits and underscores (at most 63)")
    return value


RESERVED_USERNAMES = frozenset(
    {"postgres", "rdsadmin", "rds_superuser", "rds_replication", "rds_iam", "admin", "public"}
)
RESERVED_DATABASES = frozenset({"postgres", "rdsadmin", "template0", "template1"})


def _master_username(value: str) -> str:
    _pg_identifier(value)
    if value.lower() in RESERVED_USERNAMES:
        raise _fail(f"{value!r} is reserved by Aurora PostgreSQL; choose another name")
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
VpcId = Annotated[str, _pattern(r"vpc-[0-9a-f]{8,17}", "a VPC id such as vpc-0abc12345def67890")]
SubnetId = Annotated[str, _pattern(r"subnet-[0-9a-f]{8,17}", "a subnet id such as subnet-0abc12345def67890")]
SecurityGroupId = Annotated[str, _pattern(r"sg-[0-9a-f]{8,17}", "a security group id such as sg-0abc12345def67890")]
KmsKeyArn = Annotated[str, _pattern(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+", "a KMS key ARN")]
SnsArn = Annotated[str, _pattern(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}", "an SNS topic ARN")]
Cidr = Annotated[str, AfterValidator(_cidr)]
EngineVersion = Annotated[str, _pattern(r"\d{2}\.\d{1,2}", "an aurora-postgresql version such as 16.6")]
AutoPauseSeconds = Annotated[int, Field(ge=300, le=86_400)]
V2Capacity = Annotated[float, Field(ge=0, le=256), AfterValidator(_half_steps)]
V1Capacity = Annotated[int, AfterValidator(_v1_capacity)]
TagKey = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_tag_key)]
TagValue = Annotated[str, Field(max_length=256)]
Description = Annotated[str, Field(min_length=1, max_length=255)]


class _Model(Record):
    """A section of the spec: strict (nothing coerced), unknown fields refused, frozen."""


# --------------------------------------------------------------------------- sections


class ServerlessV2(_Model):
    """Aurora Serverless v2: ``db.serverless`` instances in a provisioned cluster."""

    version: Literal["v2"] = "v2"
    min_capacity: V2Capacity = 0.5
    max_capacity: Annotated[V2Capacity, Field(ge=1)] = 8
    seconds_until_auto_pause: AutoPauseSeconds | None = None
    instances: Annotated[int, Field(ge=1, le=15)] = 1


class ServerlessV1(_Model):
    """Aurora Serverless v1 (``engine_mode = "serverless"``), end of life 2025-03-31."""

    version: Literal["v1"]
    min_capacity: V1Capacity = 2
    max_capacity: V1Capacity = 16
    auto_pause: bool = True
    seconds_until_auto_pause: AutoPauseSeconds = 300
    seconds_before_timeout: Annotated[int, Field(ge=60, le=600)] = 300
    timeout_action: Literal["RollbackCapacityChange", "ForceApplyCapacityChange"] = "RollbackCapacityChange"


def _default_version(value: Any) -> Any:
    if isinstance(value, dict) and "version" not in value:
        return {"version": "v2", **value}
    return value


Serverless = Annotated[ServerlessV2 | ServerlessV1, BeforeValidator(_default_version), Field(discriminator="version")]


class MasterPassword(_Model):
    """Where the master password comes from and where it lives afterwards."""

    source: Literal["random", "rds_managed", "write_only"] = "random"
    length: Annotated[int, Field(ge=16, le=99)] = 32


class Network(_Model):
    """Who may reach the database port."""

    allowed_cidr_blocks: list[Cidr] = []
    allowed_security_group_ids: list[SecurityGroupId] = []


Statistic = Literal["Average", "Sum", "Minimum", "Maximum", "SampleCount"]
Comparison = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
MissingData = Literal["missing", "ignore", "breaching", "notBreaching"]
Period = Annotated[int, Field(ge=10)]


class CustomAlarm(_Model):
    """An extra CloudWatch alarm; dimensions default to the cluster."""

    name: Annotated[str, _pattern(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", "an alarm name (letters, digits, _ and -)")]
    metric: Annotated[str, Field(min_length=1, max_length=255)]
    namespace: Annotated[str, Field(min_length=1, max_length=255)] = "AWS/RDS"
    statistic: Statistic = "Average"
    comparison: Comparison = "GreaterThanOrEqualToThreshold"
    threshold: float
    period: Period = 300
    evaluation_periods: Annotated[int, Field(ge=1, le=100)] = 3
    dimensions: dict[Annotated[str, Field(min_length=1, max_length=255)], str] | None = None
    treat_missing_data: MissingData = "missing"
    description: Description | None = None


class Alarms(_Model):
    """Automated alarms (on by default, thresholds derived from the spec) and custom ones."""

    enabled: bool = True
    cpu_threshold: Annotated[float, Field(gt=0, le=100)] = 80
    connections_threshold: Annotated[int, Field(ge=1)] | None = None
    capacity_threshold: Annotated[float, Field(gt=0, le=384)] | None = None
    acu_utilization_threshold: Annotated[float, Field(gt=0, le=100)] = 90
    period: Period = 300
    evaluation_periods: Annotated[int, Field(ge=1, le=100)] = 3
    alarm_actions: list[SnsArn] = []
    ok_actions: list[SnsArn] = []
    custom: list[CustomAlarm] = []


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
    "shared_preload_libraries": "the module (pg_stat_statements)",
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


class Logs(_Model):
    """PostgreSQL logs exported to CloudWatch Logs (Serverless v2)."""

    export: bool | None = None
    """Default: on for v2; Serverless v1 cannot export logs."""
    retention_days: Annotated[int, AfterValidator(_log_retention)] = 365


class Parameter(_Model):
    """An extra parameter of the cluster parameter group."""

    name: Annotated[str, AfterValidator(_parameter_name)]
    value: Annotated[str, Field(min_length=1, max_length=4096)] | int | float
    apply_method: Literal["immediate", "pending-reboot"] = "pending-reboot"


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


class LocalBackend(_Model):
    """State in the working directory (``terraform.tfstate``): one person, one machine."""

    type: Literal["local"]


class S3Backend(_Model):
    """State in an S3 bucket, encrypted, locked by a lock object next to it (Terraform >= 1.10, no DynamoDB)."""

    type: Literal["s3"]
    bucket: BucketName
    key: StateKey | None = None
    """Default: ``tfgen/<name>.tfstate``, the cluster name differing per environment."""
    region: Region | None = None
    """Default: the spec's region."""
    encrypt: Literal[True] = True
    use_lockfile: bool = True
    kms_key_id: KmsKeyArn | None = None


class CloudBackend(_Model):
    """HCP Terraform (or Terraform Enterprise): the ``cloud {}`` block; credentials come from ``terraform login``."""

    type: Literal["cloud"]
    organization: HcpName
    hostname: Annotated[str, _pattern(r"[a-z0-9.-]+(:\d+)?", "a host name such as app.terraform.io")] | None = None
    project: HcpName | None = None
    workspace: HcpName | None = None
    """Default: the cluster name (unless ``tags`` selects workspaces)."""
    tags: list[HcpName] = []


Backend = Annotated[LocalBackend | S3Backend | CloudBackend, Field(discriminator="type")]
BACKEND_TYPES = ("local", "s3", "cloud")


class Spec(_Model):
    """One Aurora PostgreSQL Serverless cluster, as the user describes it."""

    name: ClusterName
    region: Region
    vpc_id: VpcId
    subnet_ids: Annotated[list[SubnetId], Field(min_length=2)]
    engine_version: EngineVersion | None = None
    database_name: Annotated[str, AfterValidator(_database_name)] = "app"
    master_username: Annotated[str, AfterValidator(_master_username)] = "dbadmin"
    port: Annotated[int, Field(ge=1150, le=65535)] = 5432
    serverless: Serverless = ServerlessV2()
    master_password: MasterPassword = MasterPassword()
    network: Network = Network()
    storage_encrypted: Literal[True] = True
    kms_key_id: KmsKeyArn | None = None
    copy_tags_to_snapshot: bool = True
    skip_final_snapshot: bool = False
    deletion_protection: bool = True
    backup_retention_period: Annotated[int, Field(ge=1, le=35)] = 7
    preferred_backup_window: str = "03:00-04:00"
    preferred_maintenance_window: str = "sun:05:00-sun:06:00"
    apply_immediately: bool = False
    performance_insights: bool | None = None
    """Default: on for v2 (7 days of retention are free); v1 cannot have it."""
    iam_database_authentication: bool | None = None
    """Default: on for v2; v1 cannot have it."""
    create_kms_key: bool = False
    monitoring_interval: Annotated[int, AfterValidator(_monitoring_interval)] | None = None
    """Enhanced monitoring, seconds. Default: 60 for v2; v1 has no instances to monitor."""
    logs: Logs = Logs()
    slow_query_ms: Annotated[int, Field(ge=-1, le=2_147_483_647)] = 1000
    parameters: list[Parameter] = []
    tags: dict[TagKey, TagValue] = {}
    alarms: Alarms = Alarms()
    # Neither changes the rendered module: both stay out of canonical_json() and the digest.
    backend: Backend = Field(default=LocalBackend(type="local"), exclude=True)
    """Where terraform keeps the state: ``local`` (default), ``s3`` or ``cloud``."""
    environments: dict[EnvironmentName, dict[str, Any]] = Field(default={}, exclude=True)
    """Partial specs merged over this one (maps merge, lists replace); see :mod:`tfgen.spec.environments`."""

    # ---------------------------------------------------------------- derived values

    @property
    def is_v2(self) -> bool:
        """True for Serverless v2 (the default)."""
        return isinstance(self.serverless, ServerlessV2)

    @property
    def engine_mode(self) -> str:
        """``provisioned`` for v2 (instances are ``db.serverless``), ``serverless`` for v1."""
        return "provisioned" if self.is_v2 else "serverless"

    @property
    def effective_engine_version(self) -> str:
        """The engine version to deploy: the spec's, or the default for the serverless version."""
        if self.engine_version is not None:
            return self.engine_version
        return DEFAULT_ENGINE_VERSION[self.serverless.version]

    @property
    def engine_major(self) -> int:
        """Major version of the engine, e.g. 16."""
        return int(self.effective_engine_version.split(".")[0])

    @property
    def parameter_group_family(self) -> str:
        """The DB cluster parameter group family, e.g. ``aurora-postgresql16``."""
        return f"aurora-postgresql{self.engine_major}"

    @property
    def final_snapshot_prefix(self) -> str:
        """Prefix of the final snapshot identifier; the module appends the creation time."""
        return f"{self.name}-final"

    @property
    def performance_insights_enabled(self) -> bool:
        """Performance Insights on the cluster and its instances (v2 only)."""
        return self.is_v2 if self.performance_insights is None else self.performance_insights

    @property
    def iam_auth_enabled(self) -> bool:
        """IAM database authentication (v2 only)."""
        return self.is_v2 if self.iam_database_authentication is None else self.iam_database_authentication

    @property
    def log_export_enabled(self) -> bool:
        """PostgreSQL logs exported to a CloudWatch log group the module creates (v2 only)."""
        return self.is_v2 if self.logs.export is None else self.logs.export

    @property
    def effective_monitoring_interval(self) -> int:
        """Enhanced monitoring interval of the instances; 0 is off."""
        if self.monitoring_interval is not None:
            return self.monitoring_interval
        return 60 if self.is_v2 else 0

    @property
    def log_group_name(self) -> str:
        """The log group RDS writes PostgreSQL logs to (created by the module, with its retention)."""
        return f"/aws/rds/cluster/{self.name}/postgresql"

    @property
    def iam_name_prefix(self) -> str:
        """Prefix for IAM role names (name_prefix allows at most 38 characters)."""
        return f"{self.name[:24].rstrip('-')}-"

    @property
    def uses_cmk(self) -> bool:
        """True when a customer-managed KMS key encrypts storage, secrets, logs and Performance Insights."""
        return self.create_kms_key or self.kms_key_id is not None

    @property
    def cluster_parameters(self) -> list[tuple[str, str, str]]:
        """The parameter group's managed parameters: (name, value expression, apply method).

        The value is an HCL expression; ``log_min_duration_statement`` follows the
        module variable ``slow_query_ms``.
        """
        managed = [
            ("log_min_duration_statement", "tostring(var.slow_query_ms)", "immediate"),
            ("log_statement", '"ddl"', "immediate"),
        ]
        if self.is_v2:
            # Serverless v1 does not let shared_preload_libraries be changed
            managed.append(("shared_preload_libraries", '"pg_stat_statements"', "pending-reboot"))
        return managed

    @property
    def can_pause(self) -> bool:
        """True when the cluster may scale to zero (v2 min 0, or v1 auto-pause)."""
        if isinstance(self.serverless, ServerlessV2):
            return self.serverless.min_capacity == 0
        return self.serverless.auto_pause

    @property
    def password_location(self) -> str:
        """Where operators find the master password, in words."""
        return PASSWORD_LOCATIONS[self.master_password.source]

    @property
    def needs_random_provider(self) -> bool:
        """True when the module uses hashicorp/random (``master_password.source: random``)."""
        return self.master_password.source == "random"

    @property
    def capacity_threshold(self) -> float:
        """ServerlessDatabaseCapacity alarm threshold: at the v1 maximum, or 90% of the v2 maximum."""
        if self.alarms.capacity_threshold is not None:
            return self.alarms.capacity_threshold
        if isinstance(self.serverless, ServerlessV1):
            return float(self.serverless.max_capacity)
        return round(self.serverless.max_capacity * 0.9, 1)

    @property
    def max_connections(self) -> int:
        """Approximate ``max_connections`` of the cluster at its maximum capacity."""
        if isinstance(self.serverless, ServerlessV1):
            return V1_MAX_CONNECTIONS[self.serverless.max_capacity]
        # Aurora PostgreSQL: LEAST(DBInstanceClassMemory / 9531392, 5000), 2 GiB per ACU.
        return min(int(self.serverless.max_capacity * 2 * 1024**3 // 9_531_392), 5000)

    @property
    def connections_threshold(self) -> int:
        """DatabaseConnections alarm threshold: 80% of ``max_connections`` unless set."""
        if self.alarms.connections_threshold is not None:
            return self.alarms.connections_threshold
        return max(1, int(self.max_connections * 0.8))

    @property
    def treat_missing_data(self) -> str:
        """A paused cluster sends no metrics: that is not an alarm."""
        return "notBreaching" if self.can_pause else "missing"

    @property
    def builtin_alarms(self) -> list[AlarmDef]:
        """The automated alarms, each with the dimension that matches its metric's level."""
        if not self.alarms.enabled:
            return []
        # v2 instance metrics are read on the writer (Role = WRITER); v1 only has cluster metrics.
        role = "WRITER" if self.is_v2 else None
        alarms = [
            AlarmDef(
                key="cpu",
                metric="CPUUtilization",
                statistic="Average",
                variable="alarm_cpu_threshold",
                threshold=self.alarms.cpu_threshold,
                role=role,
                description="Writer CPU utilisation (%) is high",
            ),
            AlarmDef(
                key="connections",
                metric="DatabaseConnections",
                statistic="Maximum",
                variable="alarm_connections_threshold",
                threshold=self.connections_threshold,
                role=role,
                description=f"Connections near max_connections (~{self.max_connections} at maximum capacity)",
            ),
            AlarmDef(
                key="capacity",
                metric="ServerlessDatabaseCapacity",
                statistic="Maximum",
                variable="alarm_capacity_threshold",
                threshold=self.capacity_threshold,
                role=None,
                description="Serverless capacity (ACU) is close to the configured maximum",
            ),
        ]
        if self.is_v2:
            alarms.append(
                AlarmDef(
                    key="acu_utilization",
                    metric="ACUUtilization",
                    statistic="Average",
                    variable="alarm_acu_utilization_threshold",
                    threshold=self.alarms.acu_utilization_threshold,
                    role=role,
                    description="Writer ACU utilisation (%) of the maximum capacity is high",
                )
            )
        return alarms

    @property
    def state_key(self) -> str | None:
        """S3 object key of the state: ``backend.key``, or ``tfgen/<name>.tfstate``; None for other backends."""
        if not isinstance(self.backend, S3Backend):
            return None
        return self.backend.key or f"tfgen/{self.name}.tfstate"

    @property
    def state_region(self) -> str:
        """Region of the state bucket: ``backend.region``, or the cluster's."""
        if isinstance(self.backend, S3Backend) and self.backend.region:
            return self.backend.region
        return self.region

    @property
    def cloud_workspace(self) -> str | None:
        """HCP Terraform workspace: ``backend.workspace``, or the cluster name; None when tags select them."""
        if not isinstance(self.backend, CloudBackend) or self.backend.tags:
            return None
        return self.backend.workspace or self.name

    @property
    def state_location(self) -> str:
        """Where the state lives, in words: ``local``, ``s3://bucket/key`` or ``cloud:org/workspace``."""
        backend = self.backend
        if isinstance(backend, S3Backend):
            return f"s3://{backend.bucket}/{self.state_key}"
        if isinstance(backend, CloudBackend):
            where = self.cloud_workspace or "tags " + ",".join(backend.tags)
            return f"cloud:{backend.organization}/{where}"
        return "local"

    def canonical_json(self) -> str:
        """The normalised spec (defaults filled in) as stable JSON."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """sha256 of :meth:`canonical_json`: changes exactly when the rendered module may."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


@dataclass(frozen=True)
class AlarmDef:
    """One automated CloudWatch alarm the module creates."""

    key: str
    metric: str
    statistic: str
    variable: str
    threshold: float
    role: str | None
    description: str
    comparison: str = "GreaterThanOrEqualToThreshold"


DEFAULT_ENGINE_VERSION = {"v2": "16.6", "v1": "13.12"}
V1_MAJORS = (11, 13)
# Lowest minor of each major that supports Serverless v2, and that can auto-pause (min 0 ACU).
V2_MINIMUM = {13: 6, 14: 3, 15: 2, 16: 1, 17: 4}
V2_PAUSE_MINIMUM = {13: 15, 14: 12, 15: 7, 16: 3, 17: 0}
# Aurora Serverless v1 PostgreSQL max_connections by capacity (AWS documentation, rounded).
V1_MAX_CONNECTIONS = {2: 90, 4: 180, 8: 270, 16: 440, 32: 880, 64: 1760, 192: 3000, 384: 5000}
PASSWORD_LOCATIONS = {
    "random": "the sensitive output master_password (and therefore the Terraform state)",
    "rds_managed": "the Secrets Manager secret RDS manages (output master_user_secret_arn)",
    "write_only": "the module's Secrets Manager secret (output master_user_secret_arn); never in the state",
}
V1_WARNING = (
    "Aurora Serverless v1 reached end of life on 2025-03-31 and AWS stopped creating v1 clusters on "
    "2025-01-08; use it only to manage an existing cluster (serverless.version: v2 is the default)"
)

# --------------------------------------------------------------------------- cross-field rules

_BACKUP_WINDOW = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
_MAINT_WINDOW = re.compile(
    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)",
    re.ASCII,
)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEK = 7 * 24 * 60

Problem = tuple[yamlsrc.Loc, str]


def _window_minutes(start: int, end: int, period: int) -> int:
    return (end - start) % period


def _rule_problems(spec: Spec) -> list[Problem]:
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
    lists: list[tuple[yamlsrc.Loc, list[str]]] = [
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


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with where it came from and its warnings."""

    spec: Spec
    path: Path
    document: yamlsrc.Document
    warnings: list[str]
    environment: str | None = None
    """The environment merged over the base spec; None for the base spec itself."""
    environments: tuple[str, ...] = ()
    """Every environment the file defines, in file order."""

    @property
    def label(self) -> str:
        """The spec file, with ``--env NAME`` when an environment was chosen."""
        return f"{self.path} --env {self.environment}" if self.environment else str(self.path)


def load_spec(path: Path, environment: str | None = None) -> LoadedSpec:
    """Read, parse and validate a spec file: the base spec and every environment.

    Args:
        path: The spec file.
        environment: The environment to return, merged over the base; None for the base.

    Raises:
        SpecError: With one ``FILE:LINE: field.path: message`` per problem, in the base
            spec or in any environment.
        UsageError: If ``environment`` is given and the file has no such environment.
    """
    text = _read(path)
    return parse_spec(text, path, environment)


def load_environments(path: Path) -> dict[str, LoadedSpec]:
    """Every environment of a spec file, merged and validated (empty if it has none).

    Raises:
        SpecError: As :func:`load_spec`.
    """
    return _load_all(_read(path), path)[1]


def _read(path: Path) -> str:
    try:
        return yamlsrc.read_text(path)
    except IsADirectoryError:
        raise SpecError([f"{path}: is a directory, not a spec file"]) from None
    except FileNotFoundError:
        raise SpecError([f"{path}: no such file"]) from None
    except yamlsrc.YamlSourceError as exc:
        raise SpecError([f"{path}:{exc.line}: {exc.message}"]) from None
    except OSError as exc:
        raise SpecError([f"{path}: cannot read: {exc.strerror or exc}"]) from None


def parse_spec(text: str, path: Path, environment: str | None = None) -> LoadedSpec:
    """Validate spec text; ``path`` only names the source in messages.

    Raises:
        SpecError: With one ``FILE:LINE: field.path: message`` per problem.
        UsageError: If ``environment`` is given and the spec has no such environment.
    """
    base, merged = _load_all(text, path)
    if environment is None:
        return base
    if environment in merged:
        return merged[environment]
    if not merged:
        raise UsageError(f"{path} has no environments; drop --env {environment}")
    close = difflib.get_close_matches(environment, list(merged), n=1, cutoff=0.6)
    raise UsageError(
        f"{path} has no environment {environment!r}"
        + (f"; did you mean {close[0]!r}?" if close else "")
        + f" (it has {', '.join(merged)})"
    )


Found = tuple[yamlsrc.Loc, int, str]
"""One problem: its location in the spec, its line, and ``field.path: message``."""


def _load_all(text: str, path: Path) -> tuple[LoadedSpec, dict[str, LoadedSpec]]:
    try:
        document = yamlsrc.parse(text)
    except yamlsrc.YamlSourceError as exc:
        raise SpecError([f"{path}:{exc.line}: {exc.message}"]) from None
    if not isinstance(document.data, dict):
        kind = "empty" if document.data is None else _KINDS.get(type(document.data), "a single value")
        raise SpecError(
            [f"{path}:{document.line_of(())}: the spec must be a mapping of fields (name, region, ...), not {kind}"]
        )
    spec, problems, warnings = _check(document)
    if spec is None:
        raise SpecError([f"{path}:{line}: {text}" for line, text in _dedupe([(line, t) for _, line, t in problems])])
    names = tuple(spec.environments)
    base = LoadedSpec(spec, path, document, [f"{path}:{line}: {t}" for _, line, t in warnings], None, names)
    merged: dict[str, LoadedSpec] = {}
    found: list[tuple[int, str]] = []
    for name in names:
        doc = environments.merge(document, name)
        env_spec, env_problems, env_warnings = _check(doc)
        if environments.KEY in doc.data:
            env_problems.append(_found(doc, ("environments",), "an environment cannot have environments of its own"))
            env_spec = None
        found.extend((line, _in_environment(doc, loc, t)) for loc, line, t in env_problems)
        if env_spec is not None:
            shown = [f"{path}:{line}: {_in_environment(doc, loc, t)}" for loc, line, t in env_warnings]
            merged[name] = LoadedSpec(env_spec, path, doc, shown, name, names)
    if not found:
        found = [(line, text) for line, text in _shared_by_environments(merged)]
    if found:
        raise SpecError([f"{path}:{line}: {text}" for line, text in _dedupe(found)])
    return base, merged


def _check(document: yamlsrc.Document) -> tuple[Spec | None, list[Found], list[Found]]:
    """Validate one document: the spec (None if invalid), its problems and its warnings."""
    try:
        spec = Spec.model_validate(document.data)
    except ValidationError as exc:
        problems = []
        for issue in exc.errors():
            line, text = _format_issue(issue, document)
            problems.append((issue["loc"], line, text))
        return None, problems, []
    rules = [_found(document, loc, message) for loc, message in _rule_problems(spec)]
    if rules:
        return None, rules, []
    return spec, [], [_found(document, loc, message) for loc, message in warnings_for(spec)]


def _found(document: yamlsrc.Document, loc: yamlsrc.Loc, message: str) -> Found:
    return loc, document.line_of(loc), f"{_dotted(loc)}: {message}"


def _in_environment(document: environments.Merged, loc: yamlsrc.Loc, text: str) -> str:
    """Say which environment a problem is in.

    The path under ``environments.<name>`` when the environment set the value, else the
    base spec's path followed by the environment's name.
    """
    name = document.environment
    if document.origin(loc) == "environment":
        return f"{environments.KEY}.{name}.{text}"
    if loc[:1] == ("name",) and document.derived_name:
        return (
            f"{text} (environment {name} names the cluster {document.data.get('name')!r}; "
            f"set {environments.KEY}.{name}.name to choose another)"
        )
    return f"{text} (environment {name})"


def _shared_by_environments(merged: dict[str, LoadedSpec]) -> list[tuple[int, str]]:
    """Environments that would share a cluster or a state: each must be its own."""
    problems: list[tuple[int, str]] = []
    names: dict[str, str] = {}
    states: dict[str, str] = {}
    for env, loaded in merged.items():
        doc = loaded.document
        assert isinstance(doc, environments.Merged)
        spec = loaded.spec
        other = names.setdefault(spec.name, env)
        if other != env:
            loc: yamlsrc.Loc = ("name",)
            message = f"name: {spec.name!r} is also the cluster of environment {other}; each environment needs its own"
            problems.append((doc.line_of(loc), _in_environment(doc, loc, message)))
        location = spec.state_location
        if location == "local" or (isinstance(spec.backend, CloudBackend) and spec.cloud_workspace is None):
            continue  # a local state lives in each environment's own working directory; tags: workspaces differ
        other = states.setdefault(location, env)
        if other != env:
            loc = ("backend", "key") if isinstance(spec.backend, S3Backend) else ("backend", "workspace")
            message = (
                f"{_dotted(loc)}: the state {location} is also environment {other}'s; give each environment "
                f"its own (or leave {_dotted(loc)} unset: it defaults to one per cluster name)"
            )
            problems.append((doc.line_of(loc), _in_environment(doc, loc, message)))
    return problems


def _dedupe(items: list[tuple[int, str]]) -> list[tuple[int, str]]:
    seen: set[tuple[int, str]] = set()
    ordered = []
    for item in sorted(items, key=lambda pair: pair[0]):
        if item not in seen:
            seen.add(item)
            ordered.append(item)
    return ordered


def _dotted(loc: yamlsrc.Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


_UNIONS = {"serverless": ("version", ("v2", "v1")), "backend": ("type", BACKEND_TYPES)}
"""Tagged unions of the spec: the field, its discriminator and its values."""
_MAPPING_TYPES = frozenset({"dict_type", "model_type", "model_attributes_type"})
_KINDS: dict[type, str] = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    datetime.date: "a date",
    datetime.datetime: "a timestamp",
}


def _format_issue(issue: Issue, document: yamlsrc.Document) -> tuple[int, str]:
    """Word one validation problem for people: its line, then ``field.path: message`` with a hint."""
    loc: yamlsrc.Loc = issue["loc"]
    kind = issue["type"]
    line = document.line_of(loc)
    value = issue.get("input")
    if kind == "missing":
        return line, f"{_dotted(loc)}: required field is missing"
    if kind == "extra_forbidden":
        return line, f"{_dotted(loc)}: unknown field{_suggestion(loc)}"
    if kind in ("union_tag_invalid", "union_tag_not_found") and loc and loc[-1] in _UNIONS:
        tag, values = _UNIONS[str(loc[-1])]
        allowed = " or ".join(", ".join(repr(v) for v in values).rsplit(", ", 1))
        if kind == "union_tag_not_found":
            return line, f"{_dotted((*loc, tag))}: required field is missing; one of {allowed}"
        return document.line_of((*loc, tag)), f"{_dotted((*loc, tag))}: must be {allowed}"
    message: str = issue["msg"]
    if kind in _MAPPING_TYPES:
        message = f"must be a mapping, got {_describe(value)}"
    elif kind == "literal_error":
        if issue.get("ctx", {}).get("expected") == "True":
            message = "must be true"
    elif kind.endswith("_type"):
        message = f"{message}, got {_describe(value)}"
        if kind == "string_type" and isinstance(value, int | float | datetime.date) and not isinstance(value, bool):
            message += "; put it in quotes"
        elif kind in ("int_type", "float_type") and isinstance(value, str) and _is_number(value):
            message += "; remove the quotes"
    if len(loc) >= 2 and loc[-1] == "[key]":
        # the location of a bad mapping key: the key itself, then "[key]"
        return line, f"{_dotted(loc[:-2])}: key {loc[-2]!r} {message}"
    return line, f"{_dotted(loc)}: {message}"


def _is_number(text: str) -> bool:
    return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", text.strip(), re.ASCII) is not None


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime.date):
        return f"{_KINDS[type(value)][2:]} {value.isoformat()}"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}"


def _suggestion(loc: yamlsrc.Loc) -> str:
    known = _known_fields(loc[:-1])
    key = str(loc[-1])
    other_version = _other_serverless_version(loc)
    if other_version:
        return f" (only valid with serverless.version: {other_version})"
    if len(loc) == 2 and loc[0] == "backend":
        if key.startswith("dynamodb"):
            return "; DynamoDB locking is deprecated: the S3 backend locks with a lock object (use_lockfile, on by default)"
        kinds = [kind for kind, model in (("s3", S3Backend), ("cloud", CloudBackend)) if key in model.model_fields]
        if kinds:
            return f" (only valid with backend.type: {' or '.join(kinds)})"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    if len(loc) == 1:  # the list names the cluster's fields; where its state lives and its environments are apart
        known = [name for name in known if name not in ("backend", environments.KEY)]
    return f"; expected one of: {', '.join(sorted(known))}" if known else ""


def _other_serverless_version(loc: yamlsrc.Loc) -> str | None:
    if len(loc) != 2 or loc[0] != "serverless":
        return None
    key = str(loc[1])
    if key in ServerlessV2.model_fields and key not in ServerlessV1.model_fields:
        return "v2"
    if key in ServerlessV1.model_fields and key not in ServerlessV2.model_fields:
        return "v1"
    return None


def _known_fields(loc: yamlsrc.Loc) -> list[str]:
    if loc == ("serverless",):
        return sorted(set(ServerlessV2.model_fields) | set(ServerlessV1.model_fields))
    if loc == ("backend",):
        return sorted(set(S3Backend.model_fields) | set(CloudBackend.model_fields))
    model: Any = Spec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, Record) else None
        if field is None:
            return []
        model = _model_of(field.annotation)
    if isinstance(model, type) and issubclass(model, Record):
        return list(model.model_fields)
    return []


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def json_schema() -> dict[str, Any]:
    """JSON Schema of the spec, for editors (yaml-language-server)."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tfgen Aurora PostgreSQL Serverless spec"
    # an environment is a partial spec: the same fields, none required, no environments of its own; its
    # sections (mappings) merge over the base's, so they are partial too and checked once merged
    section = schema["properties"][environments.KEY]
    section["propertyNames"] = {"pattern": "^[a-z][a-z0-9]*(-[a-z0-9]+)*$", "maxLength": 20}
    section["additionalProperties"] = {
        "type": "object",
        "properties": {
            name: {"type": "object"} if _is_section(value) else value
            for name, value in schema["properties"].items()
            if name != environments.KEY
        },
        "additionalProperties": False,
    }
    return schema


def _is_section(property_schema: dict[str, Any]) -> bool:
    """Whether a property of the spec's schema is a section (a model, or a union of models)."""
    if "$ref" in property_schema or property_schema.get("type") == "object":
        return True
    return any("$ref" in option for option in property_schema.get("oneOf", []) + property_schema.get("anyOf", []))
