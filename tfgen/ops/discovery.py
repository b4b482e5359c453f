"""What ``tfgen import`` reads of an existing Aurora PostgreSQL cluster, through the AWS API.

:func:`discover` describes the cluster and everything tfgen's module would manage beside it:
its instances, security groups (with their rules), DB subnet group, cluster and instance
parameter groups (the parameters set on them), the PostgreSQL log group, the CloudWatch alarms
that name the cluster or one of its instances, the enhanced-monitoring role and a Secrets
Manager secret of the module's shape. It refuses, naming the reason, a cluster tfgen cannot
express: another engine, a Multi-AZ DB cluster (not Aurora), a member of a global cluster,
provisioned (non-serverless) capacity. How that becomes a spec is :mod:`tfgen.ops.adoption`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tfgen.errors import TfgenError
from tfgen.ops.aws import AwsClients, AwsError, aws_errors, explain, paginate

ENGINE = "aurora-postgresql"
SERVERLESS_CLASS = "db.serverless"


class ImportRefusedError(TfgenError):
    """Raised by :func:`discover` when the cluster is missing or is something a tfgen spec cannot express."""


@dataclass(frozen=True)
class ParameterGroup:
    """A cluster or DB parameter group and the parameters set on it (``Source=user``)."""

    name: str
    description: str
    family: str
    parameters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_default(self) -> bool:
        """AWS's own group (``default.aurora-postgresql16``): it cannot be changed or managed."""
        return self.name.startswith("default.")


@dataclass(frozen=True)
class Found:
    """The cluster and its surroundings, as AWS describes them."""

    region: str
    cluster: dict[str, Any]
    instances: list[dict[str, Any]]
    """Writer first, then the readers by identifier."""
    security_groups: list[dict[str, Any]]
    """``describe_security_groups`` items, each with ``Rules`` (``describe_security_group_rules``)."""
    subnet_group: dict[str, Any] | None
    cluster_parameter_group: ParameterGroup | None
    instance_parameter_group: ParameterGroup | None
    log_group: dict[str, Any] | None
    alarms: list[dict[str, Any]]
    monitoring_role: str | None
    """The name of the instances' enhanced-monitoring role, if any."""
    secrets: list[dict[str, Any]]
    """Secrets Manager secrets whose name starts with ``<cluster>-master-`` (the module's write-only secret)."""
    key_manager: str | None = None
    """``CUSTOMER`` or ``AWS``: who manages the cluster's storage KMS key (None when it cannot be described)."""

    @property
    def name(self) -> str:
        """The cluster identifier."""
        return str(self.cluster["DBClusterIdentifier"])

    @property
    def is_v2(self) -> bool:
        """Serverless v2 (provisioned engine mode, db.serverless instances)."""
        return bool(self.cluster.get("EngineMode", "provisioned") != "serverless")


def discover(aws: AwsClients, cluster_id: str) -> Found:
    """Read the cluster ``cluster_id`` and what surrounds it.

    Raises:
        ImportRefusedError: If the cluster does not exist or cannot be expressed by a spec (the reason named).
        AwsError: If AWS refuses a request or cannot be reached.
    """
    try:
        return _discover(aws, cluster_id)
    except aws_errors() as exc:
        reason, advice = explain(exc, aws)
        raise AwsError(f"cannot read cluster {cluster_id}: {reason}", hint=advice) from None


def _discover(aws: AwsClients, cluster_id: str) -> Found:
    from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

    rds = aws.rds
    try:
        (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "DBClusterNotFoundFault":
            raise ImportRefusedError(
                f"no DB cluster {cluster_id} in {aws.region}", hint="check the identifier and --region"
            ) from None
        raise
    _refuse_unexpressible(aws, cluster)
    members = cluster.get("DBClusterMembers") or []
    instances = [
        rds.describe_db_instances(DBInstanceIdentifier=m["DBInstanceIdentifier"])["DBInstances"][0]
        for m in sorted(members, key=lambda m: (not m.get("IsClusterWriter"), m["DBInstanceIdentifier"]))
    ]
    provisioned = [i for i in instances if i.get("DBInstanceClass") != SERVERLESS_CLASS]
    if provisioned:
        listed = ", ".join(f"{i['DBInstanceIdentifier']} ({i.get('DBInstanceClass')})" for i in provisioned)
        raise ImportRefusedError(
            f"cluster {cluster_id} has provisioned (non-serverless) instances: {listed}; tfgen manages "
            f"{SERVERLESS_CLASS} instances only",
            hint="change them to db.serverless first (a mixed cluster cannot be expressed by a spec)",
        )
    ec2 = aws.client("ec2")
    group_ids = [g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups") or []]
    groups = ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"] if group_ids else []
    for group in groups:
        group["Rules"] = paginate(
            ec2,
            "describe_security_group_rules",
            "SecurityGroupRules",
            Filters=[{"Name": "group-id", "Values": [group["GroupId"]]}],
        )
    subnet_group = None
    if cluster.get("DBSubnetGroup"):
        subnet_group = rds.describe_db_subnet_groups(DBSubnetGroupName=cluster["DBSubnetGroup"])["DBSubnetGroups"][0]
    return Found(
        region=aws.region,
        cluster=cluster,
        instances=instances,
        security_groups=sorted(groups, key=lambda g: group_ids.index(g["GroupId"])),
        subnet_group=subnet_group,
        cluster_parameter_group=_cluster_parameter_group(rds, cluster.get("DBClusterParameterGroup")),
        instance_parameter_group=_instance_parameter_group(rds, instances),
        log_group=_log_group(aws, f"/aws/rds/cluster/{cluster_id}/postgresql"),
        alarms=_alarms(aws, cluster_id, [i["DBInstanceIdentifier"] for i in instances]),
        monitoring_role=_monitoring_role(instances),
        secrets=_secrets(aws, f"{cluster_id}-master-"),
        key_manager=_key_manager(aws, cluster.get("KmsKeyId")),
    )


def _refuse_unexpressible(aws: AwsClients, cluster: dict[str, Any]) -> None:
    name = cluster["DBClusterIdentifier"]
    engine = cluster.get("Engine", "")
    if cluster.get("DBClusterInstanceClass") or engine in ("postgres", "mysql"):
        raise ImportRefusedError(
            f"cluster {name} is a Multi-AZ DB cluster ({engine}, {cluster.get('DBClusterInstanceClass')}), not "
            "Aurora: tfgen manages Aurora PostgreSQL Serverless clusters only"
        )
    if engine != ENGINE:
        raise ImportRefusedError(
            f"cluster {name} runs engine {engine}: tfgen manages {ENGINE} only (Aurora MySQL and others cannot "
            "be expressed by a spec)"
        )
    arn = cluster.get("DBClusterArn")
    for glob in paginate(aws.rds, "describe_global_clusters", "GlobalClusters"):
        if any(member.get("DBClusterArn") == arn for member in glob.get("GlobalClusterMembers") or []):
            raise ImportRefusedError(
                f"cluster {name} is a member of global cluster {glob.get('GlobalClusterIdentifier')}: a spec "
                "describes one regional cluster, not a global database",
                hint="remove it from the global cluster first (remove-from-global-cluster), or manage it elsewhere",
            )
    mode = cluster.get("EngineMode", "provisioned")
    if mode == "provisioned" and not cluster.get("ServerlessV2ScalingConfiguration"):
        raise ImportRefusedError(
            f"cluster {name} is a provisioned Aurora cluster (no Serverless v2 scaling configuration): tfgen "
            "manages Aurora Serverless (v2, or v1 until its migration) only",
            hint="set a Serverless v2 scaling configuration and db.serverless instances first",
        )
    if mode not in ("provisioned", "serverless"):
        raise ImportRefusedError(f"cluster {name} has engine mode {mode}: tfgen manages Serverless v2 and v1 only")


def _parameters(rds: Any, operation: str, **kwargs: Any) -> list[dict[str, Any]]:
    found = paginate(rds, operation, "Parameters", Source="user", **kwargs)
    return [p for p in found if p.get("ParameterValue") is not None]


def _cluster_parameter_group(rds: Any, name: str | None) -> ParameterGroup | None:
    if not name:
        return None
    (group,) = rds.describe_db_cluster_parameter_groups(DBClusterParameterGroupName=name)["DBClusterParameterGroups"]
    parameters = (
        []
        if name.startswith("default.")
        else _parameters(rds, "describe_db_cluster_parameters", DBClusterParameterGroupName=name)
    )
    return ParameterGroup(name, group.get("Description", ""), group.get("DBParameterGroupFamily", ""), parameters)


def _instance_parameter_group(rds: Any, instances: list[dict[str, Any]]) -> ParameterGroup | None:
    names = {g["DBParameterGroupName"] for i in instances for g in i.get("DBParameterGroups") or []}
    if len(names) != 1:  # none (v1), or instances that differ: the spec has one group for all
        return None
    (name,) = names
    (group,) = rds.describe_db_parameter_groups(DBParameterGroupName=name)["DBParameterGroups"]
    parameters = (
        [] if name.startswith("default.") else _parameters(rds, "describe_db_parameters", DBParameterGroupName=name)
    )
    return ParameterGroup(name, group.get("Description", ""), group.get("DBParameterGroupFamily", ""), parameters)


def _log_group(aws: AwsClients, name: str) -> dict[str, Any] | None:
    groups = paginate(aws.client("logs"), "describe_log_groups", "logGroups", logGroupNamePrefix=name)
    return next((g for g in groups if g.get("logGroupName") == name), None)


def _alarms(aws: AwsClients, cluster_id: str, instance_ids: list[str]) -> list[dict[str, Any]]:
    """The metric alarms with a dimension naming the cluster or one of its instances."""
    wanted = {("DBClusterIdentifier", cluster_id), *(("DBInstanceIdentifier", i) for i in instance_ids)}
    alarms = paginate(aws.cloudwatch, "describe_alarms", "MetricAlarms", AlarmTypes=["MetricAlarm"])
    return [a for a in alarms if any((d["Name"], d["Value"]) in wanted for d in a.get("Dimensions") or [])]


def _monitoring_role(instances: list[dict[str, Any]]) -> str | None:
    arns = {i.get("MonitoringRoleArn") for i in instances if i.get("MonitoringInterval")}
    arns.discard(None)
    return str(next(iter(arns))).rsplit("/", 1)[-1] if len(arns) == 1 else None


def _secrets(aws: AwsClients, prefix: str) -> list[dict[str, Any]]:
    found = paginate(aws.secretsmanager, "list_secrets", "SecretList", Filters=[{"Key": "name", "Values": [prefix]}])
    return [s for s in found if str(s.get("Name", "")).startswith(prefix) and not s.get("DeletedDate")]


def _key_manager(aws: AwsClients, key: str | None) -> str | None:
    from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

    if not key or not key.startswith("arn:"):
        return None
    try:
        return str(aws.client("kms").describe_key(KeyId=key)["KeyMetadata"].get("KeyManager"))
    except ClientError:
        return None
