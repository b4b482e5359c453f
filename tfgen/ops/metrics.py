"""The CloudWatch side of ``tfgen doctor``: CPU and serverless capacity over the last hour.

Each check reads ``AWS/RDS`` metrics per minute for the hour before now, groups them into
twelve 5-minute buckets and answers with a :class:`~tfgen.ops.results.CheckResult` that
draws the hour as a :func:`sparkline`.

Thresholds, and why:

* **CPU** is judged as the module's CPU alarm judges it: the writer's
  ``CPUUtilization`` averaged over the alarm's period (``alarms.period``, 5 minutes by
  default) against the alarm's threshold (``alarms.cpu_threshold``). One period at or
  above it is a WARN; ``alarms.evaluation_periods`` consecutive ones, which fire the
  alarm, a FAIL. A one-minute spike (a checkpoint, a vacuum) does not fail the check,
  while the hour's average would hide twenty minutes of saturation. The hour's average
  and maximum are shown as evidence, and the sparkline draws each 5-minute bucket's
  maximum, so a spike is still visible.
* **Capacity** is judged on the peak ``ServerlessDatabaseCapacity`` (and, for v2, the
  writer's peak ``ACUUtilization``) against ``serverless.max_capacity``: WARN at 90%
  (the module's capacity alarm for v2), FAIL at 100% (the cluster cannot scale further).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tfgen.ops.aws import AwsClients, check_time, guarded
from tfgen.ops.results import CheckResult, Status
from tfgen.spec.model import Spec

__all__ = ["capacity", "cpu", "sparkline"]

SPARK_BARS = "▁▂▃▄▅▆▇█"
"""The eight bar heights of :func:`sparkline`, lowest first."""

SPARK_GAP = "·"
"""Drawn by :func:`sparkline` for a missing value (NaN); not a space, which would be collapsed."""

WINDOW = timedelta(hours=1)
BUCKET = timedelta(minutes=5)
_PERIOD = 60
_NAMESPACE = "AWS/RDS"


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


def cpu(
    aws: AwsClients,
    spec: Spec,
    *,
    now: datetime | None = None,
    threshold: float | None = None,
) -> CheckResult:
    """CPU utilisation of the last hour (runbook section 4), judged as the module's alarm judges it.

    Reads ``AWS/RDS`` ``CPUUtilization`` per minute (Average and Maximum) with the
    dimensions of the module's alarm: ``DBClusterIdentifier`` and, for v2,
    ``Role=WRITER``. Averaged over the alarm's period, one period at or above the
    threshold is a WARN and ``alarms.evaluation_periods`` consecutive ones (the alarm
    fires) a FAIL; no data at all is a WARN (a paused cluster publishes none).

    Args:
        aws: The clients, from :func:`~tfgen.ops.aws.clients`.
        spec: The cluster's spec (``alarms.cpu_threshold``, ``period``, ``evaluation_periods``).
        now: End of the hour looked at; defaults to the current time (naive means UTC).
        threshold: Percentage instead of the spec's ``alarms.cpu_threshold`` (e.g. a
            vendoring repository's ``alarm_cpu_threshold``).

    Returns:
        The ``cpu`` result, with a sparkline of twelve 5-minute buckets (each its maximum).
    """
    limit = spec.alarms.cpu_threshold if threshold is None else threshold
    return guarded("cpu", aws, lambda: _cpu(aws, spec, check_time(now), limit))


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
        aws: The clients, from :func:`~tfgen.ops.aws.clients`.
        spec: The cluster's spec.
        now: End of the hour looked at; defaults to the current time (naive means UTC).
        warn: Percentage of the maximum capacity from which the peak is a WARN.
        fail: Percentage from which it is a FAIL (100: at the maximum).

    Returns:
        The ``capacity`` result, with a sparkline of the capacity (0 to the maximum).
    """
    return guarded("capacity", aws, lambda: _capacity(aws, spec, check_time(now), warn, fail))


@dataclass(frozen=True)
class _Point:
    time: datetime
    average: float
    maximum: float


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


def _period_averages(points: list[_Point], end: datetime, period: timedelta) -> list[float]:
    """The average of each alarm period in the hour before ``end``, oldest first (NaN: no data)."""
    count = max(1, int(WINDOW / period))
    sums = [0.0] * count
    counts = [0] * count
    for point in points:
        index = count - 1 - int((end - point.time) / period)
        if 0 <= index < count:
            sums[index] += point.average
            counts[index] += 1
    return [total / n if n else math.nan for total, n in zip(sums, counts, strict=True)]


def _longest_breach(averages: list[float], threshold: float) -> int:
    """The most consecutive periods at or above ``threshold`` (GreaterThanOrEqualToThreshold)."""
    longest = run = 0
    for value in averages:
        run = run + 1 if value >= threshold else 0  # NaN compares False: a gap ends a run
        longest = max(longest, run)
    return longest


def _cpu(aws: AwsClients, spec: Spec, end: datetime, threshold: float) -> CheckResult:
    name = "cpu"
    dims = _dimensions(spec, writer=True)
    points = _metric(aws, "CPUUtilization", dims, end)
    if not points:
        return _no_data(name, "CPUUtilization", dims)
    # per-minute datapoints: an alarm period under a minute is judged per minute
    period = timedelta(seconds=max(spec.alarms.period, _PERIOD))
    averages = _period_averages(points, end, period)
    needed = spec.alarms.evaluation_periods
    breach = _longest_breach(averages, threshold)
    average = statistics.fmean(point.average for point in points)
    maximum = max(point.maximum for point in points)
    peak = max(value for value in averages if not math.isnan(value))
    line = _bucket_line(points, end, 100)
    seconds = int(period.total_seconds())
    span = f"{seconds // 60}-min" if seconds % 60 == 0 else f"{seconds}s"
    evidence = f"last hour {line} avg {_pct(average)}, max {_pct(maximum)}, peak {span} avg {_pct(peak)}"
    status = Status.FAIL if breach >= needed else Status.WARN if breach else Status.PASS
    step = ""
    if status is not Status.PASS:
        evidence += f"; {breach} of {needed} consecutive periods at or above the alarm's {threshold:g}%"
        step = (
            "find the expensive statements (runbook sections 3-4, pg_stat_statements); "
            "`tfgen insights SPEC --enable` turns on Performance Insights"
        )
    data = {
        "average": average,
        "maximum": maximum,
        "peak_period_average": peak,
        "period_seconds": seconds,
        "threshold": threshold,
        "breaching_periods": breach,
        "evaluation_periods": needed,
        "datapoints": len(points),
        "sparkline": line,
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
