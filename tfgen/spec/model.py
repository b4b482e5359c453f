"""The spec's records: one Aurora PostgreSQL Serverless cluster, as the user writes it.

Data flows one way: YAML → :class:`Spec` → module view (:mod:`tfgen.render.view`).
Values fixed by the spec that more than the templates need (engine mode and version,
alarm thresholds, where the state lives) are derived here, once, and tested here;
cross-field rules live in :mod:`tfgen.spec.rules`, loading in :mod:`tfgen.spec.loading`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from tfgen import facts
from tfgen.spec.backends import Backend, CloudBackend, LocalBackend, S3Backend
from tfgen.spec.endpoints import CustomEndpoint, EndpointName
from tfgen.spec.fields import (
    AlarmName,
    AutoPauseSeconds,
    CaCertificate,
    ClusterName,
    Comparison,
    DatabaseName,
    Description,
    EngineLifecycleSupport,
    EngineVersion,
    EnvironmentName,
    KmsKeyArn,
    LogRetentionDays,
    MasterUsername,
    MissingData,
    MonitoringInterval,
    ParameterName,
    PasswordLength,
    PerformanceInsightsRetention,
    Period,
    PreloadLibrary,
    Region,
    RotationDays,
    SnsArn,
    Statistic,
    SubnetId,
    TagKey,
    TagValue,
    V1Capacity,
    V2Capacity,
    VpcId,
)
from tfgen.spec.global_database import GlobalDatabase
from tfgen.spec.instances import InstanceOverride
from tfgen.spec.integrations import ActivityStream, IamRole
from tfgen.spec.network import Network
from tfgen.spec.readers import Readers
from tfgen.spec.record import BeforeValidator, Field, Record
from tfgen.spec.restore import Restore


class _Model(Record):
    """A section of the spec: strict (nothing coerced), unknown fields refused, frozen."""


class ServerlessV2(_Model):
    """Aurora Serverless v2: ``db.serverless`` instances in a provisioned cluster."""

    version: Literal["v2"] = "v2"
    min_capacity: V2Capacity = 0.5
    max_capacity: Annotated[V2Capacity, Field(ge=1)] = 8
    seconds_until_auto_pause: AutoPauseSeconds | None = None
    instances: Annotated[int, Field(ge=1, le=15)] = 1
    instance_overrides: list[InstanceOverride] = []
    readers: Readers = Readers()


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
    length: PasswordLength = 32
    rotation_days: RotationDays | None = None
    """rds_managed: days between RDS's rotations of its secret (AWS's default when unset: 7)."""
    secret_kms_key_id: KmsKeyArn | None = None
    """rds_managed: the KMS key of the secret RDS makes (default: the cluster's key)."""


class CustomAlarm(_Model):
    """An extra CloudWatch alarm; dimensions default to the cluster."""

    name: AlarmName
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


class Logs(_Model):
    """PostgreSQL logs in CloudWatch Logs: exported by Serverless v2, published by v1 on its own."""

    export: bool | None = None
    """Default: on for v2; Serverless v1 cannot export logs."""
    retention_days: LogRetentionDays = 365


class Parameter(_Model):
    """An extra parameter of the cluster parameter group."""

    name: ParameterName
    value: Annotated[str, Field(min_length=1, max_length=4096)] | int | float
    apply_method: Literal["immediate", "pending-reboot"] = "pending-reboot"


class Spec(_Model):
    """One Aurora PostgreSQL Serverless cluster, as the user describes it."""

    name: ClusterName
    region: Region
    vpc_id: VpcId | None = None
    """Needed when the module makes its security group (``network.create_security_group``, the default)."""
    subnet_ids: Annotated[list[SubnetId], Field(min_length=2)] | None = None
    """Needed unless ``network.db_subnet_group_name`` names an existing DB subnet group."""
    engine_version: EngineVersion | None = None
    database_name: DatabaseName = "app"
    master_username: MasterUsername = "dbadmin"
    port: Annotated[int, Field(ge=1150, le=65535)] = 5432
    serverless: Serverless = ServerlessV2()
    master_password: MasterPassword = MasterPassword()
    network: Network = Network()
    restore: Restore | None = None
    """Create the cluster from a snapshot or a point in time of another cluster (see :mod:`tfgen.spec.restore`)."""
    storage_encrypted: Literal[True] = True
    kms_key_id: KmsKeyArn | None = None
    copy_tags_to_snapshot: bool = True
    skip_final_snapshot: bool = False
    deletion_protection: bool = True
    backup_retention_period: Annotated[int, Field(ge=1, le=35)] = 7
    preferred_backup_window: str = "03:00-04:00"
    preferred_maintenance_window: str = "sun:05:00-sun:06:00"
    apply_immediately: bool = False
    storage_type: Literal["aurora", "aurora-iopt1"] | None = None
    engine_lifecycle_support: EngineLifecycleSupport | None = None
    network_type: Literal["IPV4", "DUAL"] | None = None
    ca_cert_identifier: CaCertificate | None = None
    delete_automated_backups: bool = True
    performance_insights: bool | None = None
    """Default: on for v2 (7 days of retention are free); v1 cannot have it."""
    performance_insights_retention_days: PerformanceInsightsRetention | None = None
    database_insights_mode: Literal["standard", "advanced"] | None = None
    enable_http_endpoint: bool = False
    endpoints: dict[EndpointName, CustomEndpoint] = {}
    """The RDS Data API (SQL over HTTPS, IAM-authorized); Serverless v2 needs a recent minor of each major."""
    iam_database_authentication: bool | None = None
    """Default: on for v2; v1 cannot have it."""
    create_kms_key: bool = False
    monitoring_interval: MonitoringInterval | None = None
    """Enhanced monitoring, seconds. Default: 60 for v2; v1 has no instances to monitor."""
    logs: Logs = Logs()
    slow_query_ms: Annotated[int, Field(ge=-1, le=2_147_483_647)] = 1000
    preload_libraries: list[PreloadLibrary] = []
    """Libraries loaded besides pg_stat_statements (shared_preload_libraries; v2 only), e.g. pgaudit, pg_cron."""
    parameters: list[Parameter] = []
    instance_parameters: list[Parameter] = []
    iam_roles: list[IamRole] = []
    """Roles the cluster uses to reach S3 (import, export) and Lambda; see :mod:`tfgen.spec.integrations`."""
    global_database: GlobalDatabase | None = Field(None, alias="global")
    """``global:``, this cluster's role in an Aurora global database (one spec per region); see :mod:`tfgen.spec.global_database`."""
    activity_stream: ActivityStream | None = None
    """A database activity stream (opt-in); see :mod:`tfgen.spec.integrations`."""
    tags: dict[TagKey, TagValue] = {}
    alarms: Alarms = Alarms()
    # Neither changes the rendered module: both stay out of canonical_json() and the digest.
    backend: Backend = Field(default=LocalBackend(type="local"), exclude=True)
    """Where terraform keeps the state: ``local`` (default), ``s3`` or ``cloud``."""
    environments: dict[EnvironmentName, dict[str, Any]] = Field(default={}, exclude=True)
    """Partial specs merged over this one (maps merge, lists replace); see :mod:`tfgen.spec.environments`."""

    # ---------------------------------------------------------------- derived values
    # Settings as they take effect, alarm thresholds (the rules check custom alarm names against the
    # automated ones) and where the state lives (environments must not share one; deploy and the CLI
    # read it). Names and HCL expressions only the module has belong in tfgen.render.view; the few still
    # here (final_snapshot_prefix, parameter_group_family, can_pause, ...) are pinned on Spec by tests.

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
        """The engine version to deploy: the spec's, or the default (a major for v2, see ``tfgen/facts/aws.toml``)."""
        if self.engine_version is not None:
            return self.engine_version
        return facts.default_engine_version(self.serverless.version)

    @property
    def engine_major(self) -> int:
        """Major version of the engine, e.g. 16."""
        return int(self.effective_engine_version.split(".")[0])

    @property
    def engine_minor_pinned(self) -> bool:
        """True when the spec pins a minor (``16.8``): AWS's automatic minor upgrades are then turned off.

        With a major (``17``) AWS picks the minor and upgrades it, and the provider keeps the
        configured major without a diff; a pinned minor that AWS upgraded would plan a downgrade
        that AWS refuses (``[provider.engine_version]`` in ``tfgen/facts/aws.toml``).
        """
        return "." in self.effective_engine_version

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
    def log_group_managed(self) -> bool:
        """The module creates the PostgreSQL log group (with ``logs.retention_days``).

        v2 when it exports logs; v1 always: Serverless v1 publishes the logs its cluster parameter
        group enables by itself, into a group it would otherwise create without a retention
        (``[logs.serverless_v1]`` in ``tfgen/facts/aws.toml``).
        """
        return self.log_export_enabled or not self.is_v2

    @property
    def log_group_name(self) -> str:
        """The CloudWatch log group RDS writes the PostgreSQL logs to (the module creates it)."""
        return f"/aws/rds/cluster/{self.name}/postgresql"

    @property
    def effective_monitoring_interval(self) -> int:
        """Enhanced monitoring interval of the instances; 0 is off."""
        if self.monitoring_interval is not None:
            return self.monitoring_interval
        return 60 if self.is_v2 else 0

    @property
    def can_pause(self) -> bool:
        """True when the cluster may scale to zero (v2 min 0, or v1 auto-pause)."""
        if isinstance(self.serverless, ServerlessV2):
            return self.serverless.min_capacity == 0
        return self.serverless.auto_pause

    @property
    def password_location(self) -> str:
        """Where operators find the master password, in words."""
        return PASSWORD_LOCATIONS[self.credential_source]

    @property
    def credential_source(self) -> str:
        """``master_password.source``, or ``primary`` for a global database's secondary (it has the primary's)."""
        if self.global_database is not None and self.global_database.role == "secondary":
            return "primary"
        return self.master_password.source

    @property
    def needs_random_provider(self) -> bool:
        """True when the module uses hashicorp/random (``master_password.source: random``)."""
        return self.credential_source == "random"

    @property
    def capacity_threshold(self) -> float:
        """ServerlessDatabaseCapacity alarm threshold: at the v1 maximum, or 90% of the v2 maximum (a tenth of an ACU down).

        The module computes the same from its ``max_capacity`` variable (a repository that overrides
        it keeps an alarm that means the same); this is the figure for the spec's capacity.
        """
        if self.alarms.capacity_threshold is not None:
            return self.alarms.capacity_threshold
        if isinstance(self.serverless, ServerlessV1):
            return float(self.serverless.max_capacity)
        return math.floor(self.serverless.max_capacity * 9) / 10

    @property
    def max_connections(self) -> int:
        """``max_connections`` of the cluster at its maximum capacity: AWS's table, see :func:`tfgen.facts.max_connections`."""
        if isinstance(self.serverless, ServerlessV1):
            return facts.v1_max_connections(self.serverless.max_capacity)
        return facts.max_connections(self.serverless.min_capacity, self.serverless.max_capacity)

    @property
    def connections_threshold(self) -> int:
        """DatabaseConnections alarm threshold: 80% of ``max_connections`` unless set (the module computes it the same way)."""
        if self.alarms.connections_threshold is not None:
            return self.alarms.connections_threshold
        return max(1, math.floor(self.max_connections * 0.8))

    @property
    def treat_missing_data(self) -> str:
        """A paused cluster sends no metrics: that is not an alarm."""
        return "notBreaching" if self.can_pause else "missing"

    @property
    def builtin_alarms(self) -> tuple[AlarmDef, ...]:
        """The automated alarms, each with the dimension that matches its metric's level.

        Remembered for the last spec asked (a spec is frozen): rendering one module asks four times.
        """
        last = _LAST_ALARMS[0]  # one tuple, read once: another thread replaces it whole
        if last is not None and last[0] is self:
            return last[1]
        alarms = self._builtin_alarms()
        _LAST_ALARMS[0] = (self, alarms)
        return alarms

    def _builtin_alarms(self) -> tuple[AlarmDef, ...]:
        if not self.alarms.enabled:
            return ()
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
                description=f"{'Writer' if self.is_v2 else 'Cluster'} CPU utilisation (%) is high",
            ),
            AlarmDef(
                key="connections",
                metric="DatabaseConnections",
                statistic="Maximum",
                variable="alarm_connections_threshold",
                threshold=self.connections_threshold,
                role=role,
                # the module words it from its variables: "(${local.max_connections} at ${var.max_capacity} ACU)"
                description=(
                    f"{'Writer' if self.is_v2 else 'Cluster'} connections near max_connections "
                    f"({self.max_connections} at {self.serverless.max_capacity:g} ACU)"
                ),
                follows_capacity=self.alarms.connections_threshold is None,
            ),
            AlarmDef(
                key="capacity",
                metric="ServerlessDatabaseCapacity",
                statistic="Maximum",
                variable="alarm_capacity_threshold",
                threshold=self.capacity_threshold,
                # the writer's own capacity: the cluster-level metric averages every instance, so a
                # writer at its maximum beside idle readers would never reach the threshold
                role=role,
                description=f"{'Writer' if self.is_v2 else 'Cluster'} capacity (ACU) is close to the maximum of {self.serverless.max_capacity:g}",
                follows_capacity=self.alarms.capacity_threshold is None,
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
        return tuple(alarms)

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


_LAST_ALARMS: list[tuple[Spec, tuple[AlarmDef, ...]] | None] = [None]
"""The last spec's :attr:`Spec.builtin_alarms`, kept for the next ask."""


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
    """What the alarm watches, with the spec's figures (the module words it from its variables)."""
    comparison: str = "GreaterThanOrEqualToThreshold"
    follows_capacity: bool = False
    """True when the threshold is derived from the capacity (the spec sets none): the module then
    computes it from its ``max_capacity``/``min_capacity`` variables, unless its variable is set."""


PASSWORD_LOCATIONS = {
    "random": "the sensitive output master_password (and therefore the Terraform state)",
    "rds_managed": "the Secrets Manager secret RDS manages (output master_user_secret_arn)",
    "write_only": "the module's Secrets Manager secret (output master_user_secret_arn); never in the state",
    "primary": "the global database's primary cluster (see the primary's module: this secondary has its master user)",
}
