"""The RDS side of ``tfgen doctor`` and ``tfgen insights``: the cluster's status and backups.

Each check asks RDS (or the local emulator) one runbook question and answers with a
:class:`~tfgen.ops.results.CheckResult`; what AWS says or an unreachable endpoint is a
FAIL with a one-line reason (:func:`~tfgen.ops.aws.guarded`).
:func:`set_performance_insights` changes the cluster, so it raises
:class:`~tfgen.errors.TfgenError` subclasses instead.

**Backups**: Aurora takes an automated cluster snapshot once a day in the backup window,
so the newest ``available`` snapshot must be at most 26 hours old (a day plus two hours
for the window and the snapshot's own duration). A snapshot still ``creating`` is a WARN
only when no fresh available one exists.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tfgen.errors import UsageError
from tfgen.ops.aws import AwsClients, AwsError, aws_errors, check_time, explain, guarded, paginate
from tfgen.ops.results import CheckResult, Status
from tfgen.spec.model import Spec

__all__ = ["BACKUP_MAX_AGE", "backups", "cluster_status", "set_performance_insights"]

BACKUP_MAX_AGE = timedelta(hours=26)
"""The newest available snapshot must be younger: daily automated snapshots plus two hours' slack."""


_TRANSIENT = frozenset(
    {
        "backing-up",
        "creating",
        "maintenance",
        "migrating",
        "modifying",
        "promoting",
        "rebooting",
        "renaming",
        "resetting-master-credentials",
        "starting",
        "storage-optimization",
        "update-iam-db-auth",
        "upgrading",
    }
)


def cluster_status(aws: AwsClients, spec: Spec) -> CheckResult:
    """Is the cluster ``available``, and (Serverless v2) is every instance?

    Runbook section 1. A cluster whose engine mode is not the spec's is a WARN.

    Args:
        aws: The clients, from :func:`~tfgen.ops.aws.clients`.
        spec: The cluster's spec (``name`` and ``engine_mode`` are used).

    Returns:
        The ``cluster_status`` result; FAIL if the cluster is missing, not available,
        has an instance that is not available, or AWS cannot be asked.
    """
    return guarded("cluster_status", aws, lambda: _cluster_status(aws, spec))


def backups(aws: AwsClients, spec: Spec, *, now: datetime | None = None) -> CheckResult:
    """Backup retention and the newest cluster snapshot (runbook section 5).

    PASS when the newest ``available`` snapshot (automated or manual) is at most
    :data:`BACKUP_MAX_AGE` old; WARN when it is but the live retention differs from the
    spec, or when none is fresh but one is still ``creating``; FAIL when there is no
    snapshot, or the newest available one is older.

    Args:
        aws: The clients, from :func:`~tfgen.ops.aws.clients`.
        spec: The cluster's spec.
        now: The time ages are measured from; defaults to the current time (naive means UTC).

    Returns:
        The ``backups`` result.
    """
    return guarded("backups", aws, lambda: _backups(aws, spec, check_time(now)))


def set_performance_insights(aws: AwsClients, spec: Spec, enable: bool) -> str:
    """Turn Performance Insights on or off for the cluster, applied immediately.

    Sends ModifyDBCluster with ``EnablePerformanceInsights`` and
    ``ApplyImmediately=True``. Serverless v1 (engine mode ``serverless``) cannot have
    Performance Insights: both the spec and the live cluster are checked first.

    Args:
        aws: The clients, from :func:`~tfgen.ops.aws.clients`.
        spec: The cluster's spec.
        enable: True to turn it on, False to turn it off.

    Returns:
        One line saying what was requested.

    Raises:
        UsageError: If the spec or the live cluster is Aurora Serverless v1.
        AwsError: If the cluster does not exist, or AWS refuses or cannot be reached.
    """
    if not spec.is_v2:
        raise UsageError(
            f"cluster {spec.name} is Aurora Serverless v1 (engine_mode serverless), "
            "which cannot have Performance Insights",
            hint="Performance Insights needs Serverless v2 (serverless.version: v2)",
        )
    try:
        cluster = _describe_cluster(aws, spec.name)
        if cluster is None:
            raise AwsError(
                f"cluster {spec.name} not found in {aws.region}",
                hint=f"aws rds describe-db-clusters --db-cluster-identifier {spec.name}",
            )
        if cluster.get("EngineMode") == "serverless":
            raise UsageError(
                f"cluster {spec.name} in {aws.region} is Aurora Serverless v1 (engine mode serverless), "
                "which cannot have Performance Insights, although the spec says v2",
                hint="run `tfgen plan` to see how the cluster differs from the spec",
            )
        aws.rds.modify_db_cluster(
            DBClusterIdentifier=spec.name,
            EnablePerformanceInsights=enable,
            ApplyImmediately=True,
        )
    except aws_errors() as exc:
        reason, advice = explain(exc, aws)
        raise AwsError(reason, hint=advice or None) from exc
    state = "on" if enable else "off"
    return f"requested Performance Insights {state} for cluster {spec.name} in {aws.region} (applied immediately)"


def _describe_cluster(aws: AwsClients, name: str) -> dict[str, Any] | None:
    """The cluster's DescribeDBClusters entry, or None if it does not exist."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

    try:
        response = aws.rds.describe_db_clusters(DBClusterIdentifier=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "DBClusterNotFoundFault":
            return None
        raise
    found: list[dict[str, Any]] = response.get("DBClusters", [])
    return found[0] if found else None


def _not_found(name: str, spec: Spec, aws: AwsClients) -> CheckResult:
    return CheckResult(
        name,
        Status.FAIL,
        f"cluster {spec.name} not found in {aws.region}",
        next_step=f"aws rds describe-db-clusters --db-cluster-identifier {spec.name} (right region? applied yet?)",
        data={"cluster": spec.name, "region": aws.region, "found": False},
    )


def _capacity_range(cluster: dict[str, Any]) -> str:
    v2 = cluster.get("ServerlessV2ScalingConfiguration")
    if v2:
        return f"{_num(v2.get('MinCapacity'))}–{_num(v2.get('MaxCapacity'))} ACU"
    v1 = cluster.get("ScalingConfigurationInfo")
    if v1:
        pause = ", auto-pause" if v1.get("AutoPause") else ""
        return f"{_num(v1.get('MinCapacity'))}–{_num(v1.get('MaxCapacity'))} ACU{pause}"
    return "no serverless scaling"


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else "?"


def _cluster_status(aws: AwsClients, spec: Spec) -> CheckResult:
    name = "cluster_status"
    cluster = _describe_cluster(aws, spec.name)
    if cluster is None:
        return _not_found(name, spec, aws)
    status = str(cluster.get("Status", "unknown"))
    mode = str(cluster.get("EngineMode", "provisioned"))
    engine = f"{cluster.get('Engine', '?')} {cluster.get('EngineVersion', '?')}"
    instances: list[dict[str, Any]] = []
    if mode != "serverless":
        found = paginate(
            aws.rds,
            "describe_db_instances",
            "DBInstances",
            Filters=[{"Name": "db-cluster-id", "Values": [spec.name]}],
        )
        instances = [
            {
                "id": item.get("DBInstanceIdentifier"),
                "status": item.get("DBInstanceStatus"),
                "class": item.get("DBInstanceClass"),
            }
            for item in found
        ]
    # Any instance may be the writer (a failover moves it): only DBClusterMembers says which.
    writer = next(
        (m.get("DBInstanceIdentifier") for m in cluster.get("DBClusterMembers", []) if m.get("IsClusterWriter")),
        None,
    )
    data: dict[str, Any] = {
        "cluster": spec.name,
        "region": aws.region,
        "status": status,
        "engine_mode": mode,
        "engine_version": cluster.get("EngineVersion"),
        "capacity": _capacity_range(cluster),
        "instances": instances,
        "writer": writer,
    }
    evidence = f"{status}; {engine} {mode}, {_capacity_range(cluster)}"
    if mode != "serverless":
        evidence += f"; {_instances_summary(instances)}"
        if instances:
            evidence += f"; writer {writer or 'none'}"
    describe = f"aws rds describe-db-clusters --db-cluster-identifier {spec.name}"
    events = f"aws rds describe-events --source-type db-cluster --source-identifier {spec.name} --duration 1440"
    if status != "available":
        if status in _TRANSIENT:
            step = f"wait: {status} is transient; look again with `{describe}`"
        elif status == "stopped":
            step = f"aws rds start-db-cluster --db-cluster-identifier {spec.name}"
        else:
            step = f"read why in the events: {events}"
        return CheckResult(name, Status.FAIL, evidence, next_step=step, data=data)
    if mode != "serverless":
        if not instances:
            step = "the cluster has no instance to serve: run `tfgen plan` to see what is missing"
            return CheckResult(name, Status.FAIL, evidence, next_step=step, data=data)
        if any(item["status"] != "available" for item in instances):
            step = (
                "wait if an instance is modifying or rebooting; otherwise "
                f"aws rds describe-events --source-type db-instance --duration 1440 (instances of {spec.name})"
            )
            return CheckResult(name, Status.FAIL, evidence, next_step=step, data=data)
    if mode != spec.engine_mode:
        step = "run `tfgen plan` to see how the cluster differs from the spec"
        return CheckResult(name, Status.WARN, f"{evidence}; spec expects {spec.engine_mode}", next_step=step, data=data)
    return CheckResult(name, Status.PASS, evidence, data=data)


def _instances_summary(instances: list[dict[str, Any]]) -> str:
    if not instances:
        return "no instances"
    ready = sum(1 for item in instances if item["status"] == "available")
    others = ", ".join(f"{item['id']} {item['status']}" for item in instances if item["status"] != "available")
    summary = f"instances {ready}/{len(instances)} available"
    return f"{summary} ({others})" if others else summary


def _backups(aws: AwsClients, spec: Spec, now: datetime) -> CheckResult:
    cluster = _describe_cluster(aws, spec.name)
    if cluster is None:
        return _not_found("backups", spec, aws)
    snapshots = paginate(
        aws.rds,
        "describe_db_cluster_snapshots",
        "DBClusterSnapshots",
        DBClusterIdentifier=spec.name,
    )
    retention = cluster.get("BackupRetentionPeriod")
    return _judge_backups(spec, retention if isinstance(retention, int) else None, snapshots, now)


def _snapshot_time(snapshot: dict[str, Any], now: datetime) -> datetime:
    created = snapshot.get("SnapshotCreateTime")
    return created if isinstance(created, datetime) else now  # a snapshot being created may have no time yet


def _describe_snapshot(snapshot: dict[str, Any], now: datetime) -> tuple[str, dict[str, Any]]:
    age = max(0.0, (now - _snapshot_time(snapshot, now)).total_seconds() / 3600)
    info = {
        "id": snapshot.get("DBClusterSnapshotIdentifier"),
        "type": snapshot.get("SnapshotType"),
        "status": snapshot.get("Status"),
        "age_hours": round(age, 1),
    }
    return f"{info['id']} ({info['type']}, {info['status']}) {age:.1f} h old", info


def _judge_backups(spec: Spec, retention: int | None, snapshots: list[dict[str, Any]], now: datetime) -> CheckResult:
    """The backups verdict from the live retention and the cluster's snapshots."""
    name = "backups"
    shown = "unknown" if retention is None else f"{retention} d"
    data: dict[str, Any] = {
        "retention_days": retention,
        "spec_retention_days": spec.backup_retention_period,
        "snapshots": len(snapshots),
        "max_age_hours": BACKUP_MAX_AGE.total_seconds() / 3600,
    }
    create = (
        f"aws rds create-db-cluster-snapshot --db-cluster-identifier {spec.name} "
        f"--db-cluster-snapshot-identifier {spec.name}-manual-$(date -u +%Y%m%d%H%M)"
    )
    events = f"aws rds describe-events --source-type db-cluster --source-identifier {spec.name} --duration 2880"
    if not snapshots:
        evidence = f"retention {shown}; no snapshots of {spec.name}"
        return CheckResult(name, Status.FAIL, evidence, next_step=f"read why in the events: {events}", data=data)

    def newest(items: list[dict[str, Any]]) -> dict[str, Any] | None:
        return max(items, key=lambda snapshot: _snapshot_time(snapshot, now), default=None)

    available = newest([s for s in snapshots if s.get("Status") == "available"])
    creating = newest([s for s in snapshots if s.get("Status") == "creating"])
    chosen = available or creating or newest(snapshots)
    assert chosen is not None  # snapshots is not empty
    text, info = _describe_snapshot(chosen, now)
    data["newest"] = info
    evidence = f"retention {shown}; newest {text}"
    fresh = available is not None and now - _snapshot_time(available, now) <= BACKUP_MAX_AGE
    if fresh and retention is not None and retention != spec.backup_retention_period:
        evidence += f"; spec says {spec.backup_retention_period} d"
        step = "the retention differs from the spec: run `tfgen plan` and apply"
        return CheckResult(name, Status.WARN, evidence, next_step=step, data=data)
    if fresh:
        return CheckResult(name, Status.PASS, evidence, data=data)
    if creating is not None:
        text, info = _describe_snapshot(creating, now)
        data["newest"] = info
        step = "wait for the snapshot to finish, then run the check again"
        return CheckResult(name, Status.WARN, f"retention {shown}; newest {text}", next_step=step, data=data)
    if available is None:
        step = f"no snapshot is usable: read why in the events ({events}), then take one: {create}"
        return CheckResult(name, Status.FAIL, evidence, next_step=step, data=data)
    hours = BACKUP_MAX_AGE.total_seconds() / 3600
    step = f"no snapshot in the last {hours:g} h: read why in the events ({events})"
    return CheckResult(name, Status.FAIL, f"{evidence} (> {hours:g} h)", next_step=step, data=data)
