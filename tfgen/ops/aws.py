"""The AWS side of ``tfgen doctor`` (the runbook's checks) and ``tfgen insights``.

Each check asks AWS (or the local emulator) one runbook question and answers with a
:class:`~tfgen.ops.results.CheckResult`: the cluster's status, CPU and capacity over the
last hour, and the freshness of its snapshots. A check never raises for what AWS
says or for an unreachable endpoint: that is a FAIL with a one-line reason.
:func:`set_performance_insights` changes the cluster, so it raises
:class:`~tfgen.errors.TfgenError` subclasses instead.

Thresholds, and why:

* **CPU** is judged on the highest 5-minute average of the writer's
  ``CPUUtilization`` in the last hour (WARN at 70%, FAIL at 90%). That is the
  statistic and period of the module's CPU alarm: a one-minute spike (a checkpoint, a
  vacuum) does not fail the check, while the hour's average would hide twenty minutes
  of saturation. The hour's average and maximum are shown as evidence, and the
  sparkline draws each 5-minute bucket's maximum, so a spike is still visible.
* **Capacity** is judged on the peak ``ServerlessDatabaseCapacity`` (and, for v2, the
  writer's peak ``ACUUtilization``) against ``serverless.max_capacity``: WARN at 90%
  (the module's capacity alarm for v2), FAIL at 100% (the cluster cannot scale further).
* **Backups**: Aurora takes an automated cluster snapshot once a day in the backup
  window, so the newest ``available`` snapshot must be at most 26 hours old (a day
  plus two hours for the window and the snapshot's own duration). A snapshot still
  ``creating`` is a WARN only when no fresh available one exists.

boto3 and botocore are imported inside functions only: ``tfgen render`` never loads them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tfgen.errors import TfgenError, UsageError
from tfgen.ops.results import CheckResult, Status, shorten
from tfgen.spec.model import Spec

__all__ = [
    "BACKUP_MAX_AGE",
    "AwsClients",
    "AwsError",
    "backups",
    "capacity",
    "clients",
    "cluster_status",
    "cpu",
    "set_performance_insights",
    "sparkline",
]

SPARK_BARS = "▁▂▃▄▅▆▇█"
"""The eight bar heights of :func:`sparkline`, lowest first."""

SPARK_GAP = "·"
"""Drawn by :func:`sparkline` for a missing value (NaN); not a space, which would be collapsed."""

BACKUP_MAX_AGE = timedelta(hours=26)
"""The newest available snapshot must be younger: daily automated snapshots plus two hours' slack."""

WINDOW = timedelta(hours=1)
BUCKET = timedelta(minutes=5)
_PERIOD = 60
_NAMESPACE = "AWS/RDS"
_CONNECT_TIMEOUT = 10
_READ_TIMEOUT = 30
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


_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)


class AwsError(TfgenError):
    """Raised by :func:`set_performance_insights` and :func:`clients` when AWS refuses a
    request, cannot be reached, has no credentials, or the cluster does not exist.
    """


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients the checks use, all for one region and endpoint.

    Attributes:
        rds: A boto3 RDS client.
        cloudwatch: A boto3 CloudWatch client.
        secretsmanager: A boto3 Secrets Manager client (for the master password's secret).
        region: The region both clients talk to.
        endpoint_url: The emulator URL, or None for real AWS.
    """

    rds: Any
    cloudwatch: Any
    secretsmanager: Any
    region: str
    endpoint_url: str | None = None


def clients(region: str, endpoint_url: str | None) -> AwsClients:
    """Build the RDS and CloudWatch clients.

    With ``endpoint_url`` (the local emulator) the credentials are the dummy
    ``test``/``test`` and a request is not retried; otherwise boto3's default
    credential chain is used (environment, profile, SSO, instance role) with
    botocore's standard retries.

    Args:
        region: AWS region name, e.g. ``eu-west-1``.
        endpoint_url: URL of an emulator, or None for real AWS.

    Returns:
        The clients. No request is made yet.

    Raises:
        AwsError: If boto3 is not installed or the AWS configuration is unusable
            (e.g. ``AWS_PROFILE`` names a missing profile).
    """
    try:
        import boto3  # type: ignore[import-untyped, unused-ignore]
        from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
        from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise AwsError("boto3 is not installed", hint="pip install boto3") from exc
    config = Config(
        region_name=region,
        connect_timeout=_CONNECT_TIMEOUT,
        read_timeout=_READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": 1 if endpoint_url else 3},
    )
    options: dict[str, Any] = {"config": config}
    if endpoint_url is not None:
        # the emulator accepts any credentials; never send the user's real ones to it
        options.update(endpoint_url=endpoint_url, aws_access_key_id="test", aws_secret_access_key="test")  # noqa: S106
    try:
        session = boto3.session.Session()
        return AwsClients(
            rds=session.client("rds", **options),
            cloudwatch=session.client("cloudwatch", **options),
            secretsmanager=session.client("secretsmanager", **options),
            region=region,
            endpoint_url=endpoint_url,
        )
    except BotoCoreError as exc:
        raise AwsError(f"cannot set up the AWS clients: {shorten(str(exc), 160)}") from exc


def secret_string(aws: AwsClients, secret_id: str) -> str:
    """The ``SecretString`` of a Secrets Manager secret (never logged).

    Raises:
        AwsError: If the secret cannot be read.
    """
    try:
        answer = aws.secretsmanager.get_secret_value(SecretId=secret_id)
    except _aws_errors() as exc:
        reason, _ = _explain(exc, aws)
        raise AwsError(f"cannot read secret {secret_id}: {reason}") from None
    return str(answer.get("SecretString") or "")


# ------------------------------------------------------------------------ sparkline


def sparkline(values: Sequence[float], *, low: float | None = None, high: float | None = None) -> str:
    """Draw ``values`` as one line of bars, one character per value.

    Bars are scaled from ``low`` (``▁``) to ``high`` (``█``), by default the
    smallest and largest value; values outside are clamped. With fixed bounds
    (e.g. 0 and 100 for a percentage) the height means the same in every line. When
    all values are equal and no bounds are given, every bar is the lowest.

    Args:
        values: The values, oldest first; NaN means no data and is drawn as ``·``.
        low: The value drawn as the lowest bar.
        high: The value drawn as the highest bar.

    Returns:
        ``len(values)`` characters; empty for no values.
    """
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return SPARK_GAP * len(values)
    bottom = min(finite) if low is None else low
    top = max(finite) if high is None else high
    span = top - bottom
    chars = []
    for value in values:
        if math.isnan(value):
            chars.append(SPARK_GAP)
            continue
        level = int((value - bottom) / span * len(SPARK_BARS)) if span > 0 else 0
        chars.append(SPARK_BARS[min(len(SPARK_BARS) - 1, max(0, level))])
    return "".join(chars)


# --------------------------------------------------------------------------- checks


def cluster_status(aws: AwsClients, spec: Spec) -> CheckResult:
    """Is the cluster ``available``, and (Serverless v2) is every instance?

    Runbook section 1. A cluster whose engine mode is not the spec's is a WARN.

    Args:
        aws: The clients, from :func:`clients`.
        spec: The cluster's spec (``name`` and ``engine_mode`` are used).

    Returns:
        The ``cluster_status`` result; FAIL if the cluster is missing, not available,
        has an instance that is not available, or AWS cannot be asked.
    """
    return _guarded("cluster_status", aws, lambda: _cluster_status(aws, spec))


def cpu(
    aws: AwsClients,
    spec: Spec,
    *,
    now: datetime | None = None,
    warn: float = 70,
    fail: float = 90,
) -> CheckResult:
    """CPU utilisation of the last hour (runbook section 4).

    Reads ``AWS/RDS`` ``CPUUtilization`` per minute (Average and Maximum) with the
    dimensions of the module's alarm: ``DBClusterIdentifier`` and, for v2,
    ``Role=WRITER``. The status is judged on the highest 5-minute average (see the
    module docstring); no data at all is a WARN (a paused cluster publishes none).

    Args:
        aws: The clients, from :func:`clients`.
        spec: The cluster's spec.
        now: End of the hour looked at; defaults to the current time (naive means UTC).
        warn: Percentage from which the peak 5-minute average is a WARN.
        fail: Percentage from which it is a FAIL.

    Returns:
        The ``cpu`` result, with a sparkline of twelve 5-minute buckets (each its maximum).
    """
    return _guarded("cpu", aws, lambda: _cpu(aws, spec, _utc(now), warn, fail))


def capacity(
    aws: AwsClients,
    spec: Spec,
    *,
    now: datetime | None = None,
    warn: float = 90,
    fail: float = 100,
) -> CheckResult:
    """Serverless capacity of the last hour against ``serverless.max_capacity``.

    Reads the peak ``ServerlessDatabaseCapacity`` (dimension ``DBClusterIdentifier``)
    and, for v2, the writer's peak ``ACUUtilization`` (``Role=WRITER``). Both are
    compared as a percentage of the maximum capacity; the worse one decides.

    Args:
        aws: The clients, from :func:`clients`.
        spec: The cluster's spec.
        now: End of the hour looked at; defaults to the current time (naive means UTC).
        warn: Percentage of the maximum capacity from which the peak is a WARN.
        fail: Percentage from which it is a FAIL (100: at the maximum).

    Returns:
        The ``capacity`` result, with a sparkline of the capacity (0 to the maximum).
    """
    return _guarded("capacity", aws, lambda: _capacity(aws, spec, _utc(now), warn, fail))


def backups(aws: AwsClients, spec: Spec, *, now: datetime | None = None) -> CheckResult:
    """Backup retention and the newest cluster snapshot (runbook section 5).

    PASS when the newest ``available`` snapshot (automated or manual) is at most
    :data:`BACKUP_MAX_AGE` old; WARN when it is but the live retention differs from the
    spec, or when none is fresh but one is still ``creating``; FAIL when there is no
    snapshot, or the newest available one is older.

    Args:
        aws: The clients, from :func:`clients`.
        spec: The cluster's spec.
        now: The time ages are measured from; defaults to the current time (naive means UTC).

    Returns:
        The ``backups`` result.
    """
    return _guarded("backups", aws, lambda: _backups(aws, spec, _utc(now)))


# ----------------------------------------------------------------------- insights


def set_performance_insights(aws: AwsClients, spec: Spec, enable: bool) -> str:
    """Turn Performance Insights on or off for the cluster, applied immediately.

    Sends ModifyDBCluster with ``EnablePerformanceInsights`` and
    ``ApplyImmediately=True``. Serverless v1 (engine mode ``serverless``) cannot have
    Performance Insights: both the spec and the live cluster are checked first.

    Args:
        aws: The clients, from :func:`clients`.
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
    except _aws_errors() as exc:
        reason, advice = _explain(exc, aws)
        raise AwsError(reason, hint=advice or None) from exc
    state = "on" if enable else "off"
    return f"requested Performance Insights {state} for cluster {spec.name} in {aws.region} (applied immediately)"


# ---------------------------------------------------------------- check internals


def _guarded(name: str, aws: AwsClients, body: Callable[[], CheckResult]) -> CheckResult:
    """Run a check's body; what AWS says or an unreachable endpoint becomes a FAIL."""
    try:
        return body()
    except _aws_errors() as exc:
        reason, advice = _explain(exc, aws)
        return CheckResult(name, Status.FAIL, reason, next_step=advice, data={"error": type(exc).__name__})


def _aws_errors() -> tuple[type[Exception], ...]:
    """What botocore raises for AWS's answers and for transport or configuration problems."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]
    from botocore.parsers import ResponseParserError  # type: ignore[import-untyped, unused-ignore]

    # ResponseParserError (an endpoint that is not AWS, e.g. a web server) derives from neither
    return (BotoCoreError, ClientError, ResponseParserError)


def _explain(exc: Exception, aws: AwsClients) -> tuple[str, str]:
    """A one-line reason and a next step for a botocore exception."""
    from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )
    from botocore.parsers import ResponseParserError  # type: ignore[import-untyped, unused-ignore]

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        if code.isdigit():  # botocore's code for an error page that is not an AWS error (a 404 from a web server)
            url = aws.endpoint_url or f"AWS in {aws.region}"
            return f"the answer from {url} is not an AWS response (HTTP {code})", "check the endpoint URL"
        reason = shorten(f"AWS refused {exc.operation_name}: {code}: {error.get('Message', '')}".rstrip(": "), 160)
        if "AccessDenied" in code or code == "UnauthorizedOperation":
            return reason, f"allow {exc.operation_name} in the IAM policy of the credentials in use"
        if code in _CREDENTIAL_CODES:
            return reason, "refresh the AWS credentials (aws sso login, AWS_PROFILE) or check the account"
        return reason, f"check the region and the arguments of {exc.operation_name}"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found", "configure credentials (aws configure, AWS_PROFILE) or use --local"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        url = str(exc.kwargs.get("endpoint_url") or aws.endpoint_url or f"AWS in {aws.region}").rstrip("/")
        what = "timed out" if isinstance(exc, ConnectTimeoutError | ReadTimeoutError) else "connection failed"
        advice = (
            "is the emulator running? (tfgen emulator status)"
            if aws.endpoint_url
            else "check the network and the region"
        )
        return f"cannot reach {url}: {what}", advice
    if isinstance(exc, ResponseParserError):
        url = aws.endpoint_url or f"AWS in {aws.region}"
        return f"the answer from {url} is not an AWS response", "check the endpoint URL"
    return shorten(f"AWS request failed: {exc}", 160), "check the AWS configuration and the region"


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


def _paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


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
        found = _paginate(
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
    data: dict[str, Any] = {
        "cluster": spec.name,
        "region": aws.region,
        "status": status,
        "engine_mode": mode,
        "engine_version": cluster.get("EngineVersion"),
        "capacity": _capacity_range(cluster),
        "instances": instances,
    }
    evidence = f"{status}; {engine} {mode}, {_capacity_range(cluster)}"
    if mode != "serverless":
        evidence += f"; {_instances_summary(instances)}"
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


# -------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class _Point:
    time: datetime
    average: float
    maximum: float


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now


def _dimensions(spec: Spec, *, writer: bool) -> list[dict[str, str]]:
    """The module's alarm dimensions: the cluster, plus ``Role=WRITER`` for v2 instance metrics."""
    dims = [{"Name": "DBClusterIdentifier", "Value": spec.name}]
    if writer and spec.is_v2:
        dims.append({"Name": "Role", "Value": "WRITER"})
    return dims


def _metric(aws: AwsClients, metric: str, dimensions: list[dict[str, str]], end: datetime) -> list[_Point]:
    """Per-minute datapoints of an ``AWS/RDS`` metric in the hour before ``end``, oldest first."""
    response = aws.cloudwatch.get_metric_statistics(
        Namespace=_NAMESPACE,
        MetricName=metric,
        Dimensions=dimensions,
        StartTime=end - WINDOW,
        EndTime=end,
        Period=_PERIOD,
        Statistics=["Average", "Maximum"],
    )
    points = [
        _Point(item["Timestamp"], float(item["Average"]), float(item["Maximum"]))
        for item in response.get("Datapoints", [])
        if "Average" in item and "Maximum" in item
    ]
    return sorted(points, key=lambda point: point.time)


def _buckets(points: Iterable[_Point], end: datetime, value: Callable[[_Point], float]) -> list[list[float]]:
    """The values of ``points`` grouped into the hour's twelve 5-minute buckets, oldest first."""
    start = end - WINDOW
    count = int(WINDOW / BUCKET)
    buckets: list[list[float]] = [[] for _ in range(count)]
    for point in points:
        index = int((point.time - start) / BUCKET)
        buckets[min(count - 1, max(0, index))].append(value(point))
    return buckets


def _bucket_line(points: list[_Point], end: datetime, high: float) -> str:
    """The sparkline of each bucket's maximum, from 0 to ``high``."""
    peaks = [max(bucket) if bucket else math.nan for bucket in _buckets(points, end, lambda p: p.maximum)]
    return sparkline(peaks, low=0, high=high)


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _no_data(name: str, metric: str, dims: list[dict[str, str]]) -> CheckResult:
    return CheckResult(
        name,
        Status.WARN,
        "no data (paused cluster, or metrics not yet published)",
        next_step=f"if the cluster should be running, look at {metric} in the CloudWatch console (AWS/RDS)",
        data={"datapoints": 0, "dimensions": {d["Name"]: d["Value"] for d in dims}},
    )


def _cpu(aws: AwsClients, spec: Spec, end: datetime, warn: float, fail: float) -> CheckResult:
    name = "cpu"
    dims = _dimensions(spec, writer=True)
    points = _metric(aws, "CPUUtilization", dims, end)
    if not points:
        return _no_data(name, "CPUUtilization", dims)
    average = statistics.fmean(point.average for point in points)
    maximum = max(point.maximum for point in points)
    peak = max(statistics.fmean(bucket) for bucket in _buckets(points, end, lambda point: point.average) if bucket)
    line = _bucket_line(points, end, 100)
    evidence = f"last hour {line} avg {_pct(average)}, max {_pct(maximum)}, peak 5-min avg {_pct(peak)}"
    status = Status.FAIL if peak >= fail else Status.WARN if peak >= warn else Status.PASS
    step = ""
    if status is not Status.PASS:
        step = (
            "find the expensive statements (runbook sections 3-4, pg_stat_statements); "
            "`tfgen insights --enable` turns on Performance Insights"
        )
    data = {
        "average": average,
        "maximum": maximum,
        "peak_5min_average": peak,
        "datapoints": len(points),
        "sparkline": line,
        "warn": warn,
        "fail": fail,
        "dimensions": {d["Name"]: d["Value"] for d in dims},
    }
    return CheckResult(name, status, evidence, next_step=step, data=data)


def _capacity(aws: AwsClients, spec: Spec, end: datetime, warn: float, fail: float) -> CheckResult:
    name = "capacity"
    maximum = float(spec.serverless.max_capacity)
    dims = _dimensions(spec, writer=False)
    points = _metric(aws, "ServerlessDatabaseCapacity", dims, end)
    acu_dims = _dimensions(spec, writer=True)
    acu_points = _metric(aws, "ACUUtilization", acu_dims, end) if spec.is_v2 else []
    if not points and not acu_points:
        return _no_data(name, "ServerlessDatabaseCapacity", dims)
    parts: list[str] = []
    data: dict[str, Any] = {"max_capacity": maximum, "warn": warn, "fail": fail}
    worst = 0.0
    if points:
        peak = max(point.maximum for point in points)
        share = peak / maximum * 100
        worst = share
        line = _bucket_line(points, end, maximum)
        parts.append(f"last hour {line} peak {peak:g} of {maximum:g} ACU ({share:.0f}%)")
        data.update(peak_capacity=peak, peak_capacity_percent=share, sparkline=line)
    if acu_points:
        acu_peak = max(point.maximum for point in acu_points)
        worst = max(worst, acu_peak)
        if not points:
            line = _bucket_line(acu_points, end, 100)
            parts.append(f"last hour {line}")
            data.update(sparkline=line)
        parts.append(f"writer ACU utilisation peak {_pct(acu_peak)}")
        data.update(peak_acu_utilization=acu_peak)
    status = Status.FAIL if worst >= fail else Status.WARN if worst >= warn else Status.PASS
    step = ""
    if status is not Status.PASS:
        step = (
            f"the cluster is near its maximum of {maximum:g} ACU: raise serverless.max_capacity "
            "and `tfgen apply`, or make the load cheaper (runbook section 4)"
        )
    return CheckResult(name, status, ", ".join(parts), next_step=step, data=data)


# -------------------------------------------------------------------------- backups


def _backups(aws: AwsClients, spec: Spec, now: datetime) -> CheckResult:
    cluster = _describe_cluster(aws, spec.name)
    if cluster is None:
        return _not_found("backups", spec, aws)
    snapshots = _paginate(
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
