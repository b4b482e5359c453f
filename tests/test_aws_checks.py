"""Tests of tfgen.ops.aws, .cluster and .metrics against a real moto server over HTTP on 127.0.0.1.

One in-process :class:`~tfgen.emulator.server.Emulator` serves the whole module; every test
starts from an empty account (``/_tfgen/reset``). Clusters, metrics and snapshots
are created with plain boto3 calls, as AWS itself would have them.
"""

from __future__ import annotations

import base64
import json
import math
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tfgen.emulator.endpoint import reset
from tfgen.emulator.server import Emulator
from tfgen.errors import UsageError
from tfgen.ops import cluster as cluster_checks
from tfgen.ops.aws import AwsClients, AwsError, clients, explain
from tfgen.ops.cluster import backups, cluster_status, set_performance_insights
from tfgen.ops.metrics import capacity, cpu, sparkline
from tfgen.ops.results import Status
from tfgen.spec.model import Spec

REGION = "eu-west-1"
NAME = "app-db"
OLD = "old-db"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
HOUR_START = NOW - timedelta(hours=1)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with Emulator() as url:
        yield url


@pytest.fixture
def url(emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The emulator, emptied; AWS settings of the developer's shell kept out."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    reset(emulator_url)
    return emulator_url


@pytest.fixture
def aws(url: str) -> AwsClients:
    return clients(REGION, url)


def _post(url: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10) as response:
        response.read()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode()
        return text


def _boto(service: str, url: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


def _spec(name: str = NAME, alarms: dict[str, Any] | None = None, **serverless: Any) -> Spec:
    return Spec.model_validate(
        {
            "name": name,
            "region": REGION,
            "vpc_id": "vpc-0abc12345def67890",
            "subnet_ids": ["subnet-0abc12345def67890", "subnet-0abc12345def67891"],
            "serverless": serverless,
            "alarms": alarms or {},
        }
    )


V2 = _spec()  # 0.5–8 ACU
V1 = _spec(OLD, version="v1")  # 2–16 ACU


def _create_v2(url: str, name: str = NAME, *, instances: int = 1, retention: int = 7) -> None:
    rds = _boto("rds", url)
    rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        EngineVersion="16.6",
        EngineMode="provisioned",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-secret",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 8},
        BackupRetentionPeriod=retention,
    )
    for number in range(1, instances + 1):
        rds.create_db_instance(
            DBInstanceIdentifier=f"{name}-{number}",
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            DBInstanceClass="db.serverless",
        )


def _create_v1(url: str, name: str = OLD) -> None:
    _boto("rds", url).create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        EngineVersion="13.12",
        EngineMode="serverless",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-secret",
        ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 16, "AutoPause": True},
    )


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _put(url: str, metric: str, values: list[float], dimensions: dict[str, str]) -> None:
    """One datapoint per minute of the hour before NOW, each in the middle of its minute."""
    _boto("cloudwatch", url).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
                "Timestamp": HOUR_START + timedelta(minutes=minute, seconds=30),
                "Value": value,
            }
            for minute, value in enumerate(values)
        ],
    )


WRITER = {"DBClusterIdentifier": NAME, "Role": "WRITER"}
CLUSTER = {"DBClusterIdentifier": NAME}


# ---------------------------------------------------------------------------- sparkline


def test_sparkline_scales_from_smallest_to_largest() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([10, 20]) == "▁█"


def test_sparkline_with_fixed_bounds_clamps() -> None:
    assert sparkline([0, 50, 100], low=0, high=100) == "▁▅█"
    assert sparkline([-5, 150], low=0, high=100) == "▁█"
    assert sparkline([20, 20, 95], low=0, high=100) == "▂▂█"


def test_sparkline_draws_missing_values_as_gaps() -> None:
    assert sparkline([1, math.nan, 3]) == "▁·█"
    assert sparkline([math.nan, math.nan]) == "··"


def test_sparkline_of_nothing_and_of_a_flat_line() -> None:
    assert sparkline([]) == ""
    assert sparkline([5, 5, 5]) == "▁▁▁"


def test_importing_the_module_does_not_import_boto3() -> None:
    code = "import sys, tfgen.ops.aws, tfgen.ops.cluster, tfgen.ops.metrics; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------------ cluster status


def test_available_v2_cluster_passes(aws: AwsClients, url: str) -> None:
    _create_v2(url, instances=2)

    result = cluster_status(aws, V2)

    assert result.name == "cluster_status"
    assert result.status is Status.PASS, result
    assert result.evidence == (
        "available; aurora-postgresql 16.6 provisioned, 0.5–8 ACU; instances 2/2 available, writer app-db-1"
    )
    assert result.data["writer"] == "app-db-1"
    assert [item["id"] for item in result.data["instances"]] == ["app-db-1", "app-db-2"]
    assert {item["class"] for item in result.data["instances"]} == {"db.serverless"}
    assert result.data["writer"] == "app-db-1"


def test_cluster_status_names_the_writer_from_the_cluster_members(aws: AwsClients, url: str) -> None:
    """After a failover the writer is the second instance: never assumed to be the first."""
    _create_v2(url, instances=2)
    _boto("rds", url).failover_db_cluster(DBClusterIdentifier=NAME, TargetDBInstanceIdentifier="app-db-2")

    result = cluster_status(aws, V2)

    assert result.status is Status.PASS, result
    assert result.data["writer"] == "app-db-2"
    assert result.evidence.endswith(", writer app-db-2")


def test_available_v1_cluster_passes(aws: AwsClients, url: str) -> None:
    _create_v1(url)

    result = cluster_status(aws, V1)

    assert result.status is Status.PASS, result
    assert result.evidence == "available; aurora-postgresql 13.12 serverless, 2–16 ACU, auto-pause"
    assert result.data["instances"] == []


def test_v2_cluster_without_instances_fails(aws: AwsClients, url: str) -> None:
    _create_v2(url, instances=0)

    result = cluster_status(aws, V2)

    assert result.status is Status.FAIL
    assert result.evidence.endswith("; no instances, no writer")
    assert result.data["writer"] is None


def test_cluster_status_reports_the_writer_aws_names_not_the_first_instance(aws: AwsClients, url: str) -> None:
    _create_v2(url, instances=3)
    _boto("rds", url).failover_db_cluster(DBClusterIdentifier=NAME, TargetDBInstanceIdentifier=f"{NAME}-3")

    result = cluster_status(aws, V2)

    assert result.data["writer"] == f"{NAME}-3"
    assert result.evidence.endswith(f", writer {NAME}-3")


def test_stopped_cluster_fails_with_the_start_command(aws: AwsClients, url: str) -> None:
    _create_v2(url)
    _boto("rds", url).stop_db_cluster(DBClusterIdentifier=NAME)

    result = cluster_status(aws, V2)

    assert result.status is Status.FAIL
    assert result.evidence.startswith("stopped; ")
    assert result.next_step == f"aws rds start-db-cluster --db-cluster-identifier {NAME}"


def test_engine_mode_other_than_the_spec_warns(aws: AwsClients, url: str) -> None:
    _create_v1(url, NAME)

    result = cluster_status(aws, V2)

    assert result.status is Status.WARN
    assert result.evidence.endswith("; spec expects provisioned")


def test_unknown_cluster_fails_not_found(aws: AwsClients) -> None:
    result = cluster_status(aws, _spec("nope"))

    assert result.status is Status.FAIL
    assert result.evidence == f"cluster nope not found in {REGION}"
    assert result.next_step.startswith("aws rds describe-db-clusters --db-cluster-identifier nope")


@pytest.mark.parametrize("check", [cluster_status, cpu, capacity, backups])
def test_unreachable_endpoint_fails_with_a_reason(check: Any) -> None:
    closed = _closed_port_url()

    result = check(clients(REGION, closed), V2)

    assert result.status is Status.FAIL
    assert result.evidence == f"cannot reach {closed}: connection failed"
    assert "\n" not in result.evidence
    assert result.next_step == "is the emulator running? (tfgen emulator status)"


@pytest.mark.parametrize("path", ["/_tfgen/health", "/not-aws"])
@pytest.mark.parametrize("check", [cluster_status, cpu])
def test_endpoint_that_is_not_aws_fails_with_a_reason(url: str, path: str, check: Any) -> None:
    result = check(clients(REGION, url + path), V2)

    assert result.status is Status.FAIL
    assert result.evidence.startswith(f"the answer from {url}{path} is not an AWS response")
    assert result.next_step == "check the endpoint URL"


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("AccessDenied", "allow DescribeDBClusters in the IAM policy of the credentials in use"),
        ("ExpiredToken", "refresh the AWS credentials (aws sso login, AWS_PROFILE) or check the account"),
        ("Throttling", "check the region and the arguments of DescribeDBClusters"),
    ],
)
def test_aws_refusals_are_explained(code: str, advice: str) -> None:
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": code, "Message": "no\nway"}}, "DescribeDBClusters")

    reason, step = explain(error, clients(REGION, None))

    assert reason == f"AWS refused DescribeDBClusters: {code}: no way"
    assert step == advice


# ------------------------------------------------------------------------------- cpu


SPIKE = [20.0] * 60
SPIKE[37] = 95.0  # minute 37 of the hour: the 8th 5-minute bucket


def test_cpu_summarises_the_hour_and_shows_the_spike(aws: AwsClients, url: str) -> None:
    _put(url, "CPUUtilization", SPIKE, WRITER)

    result = cpu(aws, V2, now=NOW)

    assert result.name == "cpu"
    assert result.data["average"] == (59 * 20 + 95) / 60 == 21.25
    assert result.data["maximum"] == 95
    assert result.data["peak_period_average"] == (4 * 20 + 95) / 5
    assert result.data["datapoints"] == 60
    assert result.data["sparkline"] == "▂▂▂▂▂▂▂█▂▂▂▂"
    assert result.data["sparkline"].index("█") == 37 // 5
    # a one-minute spike is not a sustained load: judged on the 5-minute average
    assert result.status is Status.PASS
    assert result.evidence == "last hour ▂▂▂▂▂▂▂█▂▂▂▂ avg 21.2%, max 95.0%, peak 5-min avg 35.0%"
    assert result.data["dimensions"] == WRITER


@pytest.mark.parametrize(
    ("level", "minutes", "expected"),
    [
        (75.0, 30, Status.PASS),  # below the alarm's 80%, however long
        (79.9, 15, Status.PASS),
        (80.0, 5, Status.WARN),  # one period at the threshold: the alarm counts it
        (80.0, 10, Status.WARN),
        (80.0, 15, Status.FAIL),  # evaluation_periods (3) consecutive periods: the alarm fires
        (100.0, 15, Status.FAIL),
    ],
)
def test_cpu_is_judged_as_the_alarm_judges_it(
    aws: AwsClients, url: str, level: float, minutes: int, expected: Status
) -> None:
    values = [10.0] * 60
    values[25 : 25 + minutes] = [level] * minutes  # whole 5-minute periods
    _put(url, "CPUUtilization", values, WRITER)

    result = cpu(aws, V2, now=NOW)

    assert V2.alarms.cpu_threshold == 80
    assert V2.alarms.evaluation_periods == 3
    assert result.status is expected, result
    assert result.data["peak_period_average"] == level
    assert result.data["threshold"] == 80
    assert (result.next_step == "") is (expected is Status.PASS)


def test_cpu_threshold_is_the_specs_alarm_threshold(aws: AwsClients, url: str) -> None:
    _put(url, "CPUUtilization", [60.0] * 60, WRITER)
    low = _spec(alarms={"cpu_threshold": 50, "evaluation_periods": 2})

    assert cpu(aws, V2, now=NOW).status is Status.PASS  # 60% is below the default alarm's 80%
    result = cpu(aws, low, now=NOW)
    assert result.status is Status.FAIL
    assert result.data["threshold"] == 50
    assert result.data["breaching_periods"] == 12
    assert "consecutive periods at or above the alarm's 50%" in result.evidence
    assert cpu(aws, V2, now=NOW, threshold=60).status is Status.FAIL  # a repository's own threshold


def test_cpu_uses_the_alarms_period(aws: AwsClients, url: str) -> None:
    values = [10.0] * 60
    values[50:53] = [90.0] * 3  # three minutes: a 5-minute period averages 58%
    _put(url, "CPUUtilization", values, WRITER)
    per_minute = _spec(alarms={"period": 60})

    assert cpu(aws, V2, now=NOW).status is Status.PASS
    result = cpu(aws, per_minute, now=NOW)
    assert result.status is Status.FAIL
    assert result.data["period_seconds"] == 60
    assert "peak 1-min avg 90.0%" in result.evidence


def test_cpu_ignores_data_under_other_dimensions(aws: AwsClients, url: str) -> None:
    _put(url, "CPUUtilization", [99.0] * 60, {"DBInstanceIdentifier": f"{NAME}-1"})
    _put(url, "CPUUtilization", [99.0] * 60, {"DBClusterIdentifier": "other-db", "Role": "WRITER"})
    _put(url, "CPUUtilization", [99.0] * 60, CLUSTER)  # no Role: not the writer's series

    result = cpu(aws, V2, now=NOW)

    assert result.status is Status.WARN
    assert result.evidence == "no data (paused cluster, or metrics not yet published)"
    assert result.data["datapoints"] == 0


def test_cpu_of_v1_reads_the_cluster_dimension_only(aws: AwsClients, url: str) -> None:
    _put(url, "CPUUtilization", [30.0] * 60, {"DBClusterIdentifier": OLD})

    result = cpu(aws, V1, now=NOW)

    assert result.status is Status.PASS
    assert result.data["average"] == 30
    assert result.data["dimensions"] == {"DBClusterIdentifier": OLD}


def test_cpu_takes_a_naive_now_as_utc(aws: AwsClients, url: str) -> None:
    _put(url, "CPUUtilization", SPIKE, WRITER)

    result = cpu(aws, V2, now=NOW.replace(tzinfo=None))

    assert result.data["sparkline"] == "▂▂▂▂▂▂▂█▂▂▂▂"


def test_cpu_outside_the_hour_is_not_counted(aws: AwsClients, url: str) -> None:
    _put(url, "CPUUtilization", [80.0] * 60, WRITER)

    result = cpu(aws, V2, now=NOW + timedelta(hours=2))

    assert result.status is Status.WARN
    assert result.data["datapoints"] == 0


def test_cpu_gaps_in_the_hour_show_in_the_sparkline(aws: AwsClients, url: str) -> None:
    values = [20.0] * 30  # only the first half hour has data
    _put(url, "CPUUtilization", values, WRITER)

    result = cpu(aws, V2, now=NOW)

    assert result.data["sparkline"] == "▂▂▂▂▂▂······"


# -------------------------------------------------------------------------- capacity


@pytest.mark.parametrize(
    ("peak", "expected"),
    [(4.0, Status.PASS), (7.0, Status.PASS), (7.5, Status.WARN), (8.0, Status.FAIL)],
)
def test_capacity_against_max_capacity(aws: AwsClients, url: str, peak: float, expected: Status) -> None:
    values = [1.0] * 60
    values[55] = peak
    _put(url, "ServerlessDatabaseCapacity", values, CLUSTER)

    result = capacity(aws, V2, now=NOW)

    assert result.name == "capacity"
    assert result.status is expected
    assert result.data["peak_capacity"] == peak
    assert result.data["sparkline"][-1] == sparkline([peak], low=0, high=8)
    assert f"peak {peak:g} of 8 ACU ({peak / 8 * 100:.0f}%)" in result.evidence


def test_capacity_of_v2_also_reads_acu_utilisation(aws: AwsClients, url: str) -> None:
    _put(url, "ServerlessDatabaseCapacity", [4.0] * 60, CLUSTER)
    _put(url, "ACUUtilization", [50.0] * 59 + [100.0], WRITER)

    result = capacity(aws, V2, now=NOW)

    assert result.status is Status.FAIL
    assert result.evidence == "last hour ▅▅▅▅▅▅▅▅▅▅▅▅ peak 4 of 8 ACU (50%), writer ACU utilisation peak 100.0%"


def test_capacity_from_acu_utilisation_alone(aws: AwsClients, url: str) -> None:
    _put(url, "ACUUtilization", [10.0] * 30 + [92.0] * 30, WRITER)

    result = capacity(aws, V2, now=NOW)

    assert result.status is Status.WARN
    assert result.evidence == "last hour ▁▁▁▁▁▁██████, writer ACU utilisation peak 92.0%"
    assert result.data["sparkline"] == "▁▁▁▁▁▁██████"


def test_capacity_of_v1_at_its_maximum_fails(aws: AwsClients, url: str) -> None:
    _put(url, "ServerlessDatabaseCapacity", [2.0] * 50 + [16.0] * 10, {"DBClusterIdentifier": OLD})

    result = capacity(aws, V1, now=NOW)

    assert result.status is Status.FAIL
    assert result.data["peak_capacity"] == 16
    assert result.data["max_capacity"] == 16
    assert "raise serverless.max_capacity" in result.next_step


def test_capacity_without_data_warns(aws: AwsClients) -> None:
    result = capacity(aws, V2, now=NOW)

    assert result.status is Status.WARN
    assert result.evidence.startswith("no data")


# --------------------------------------------------------------------------- backups


def _snapshots(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _boto("rds", url).describe_db_cluster_snapshots(DBClusterIdentifier=NAME)[
        "DBClusterSnapshots"
    ]
    return found


def _only_manual_snapshot(url: str) -> datetime:
    """Leave one manual snapshot of the cluster; its creation time."""
    rds = _boto("rds", url)
    for snapshot in _snapshots(url):  # moto takes an automated snapshot at creation
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot["DBClusterSnapshotIdentifier"])
    rds.create_db_cluster_snapshot(DBClusterIdentifier=NAME, DBClusterSnapshotIdentifier="before-upgrade")
    (snapshot,) = _snapshots(url)
    created: datetime = snapshot["SnapshotCreateTime"]
    return created


def test_recent_snapshot_passes(aws: AwsClients, url: str) -> None:
    _create_v2(url)
    created = _only_manual_snapshot(url)

    result = backups(aws, V2, now=created + timedelta(hours=2))

    assert result.name == "backups"
    assert result.status is Status.PASS, result
    assert result.evidence == "retention 7 d; newest before-upgrade (manual, available) 2.0 h old"
    assert result.data["newest"] == {"id": "before-upgrade", "type": "manual", "status": "available", "age_hours": 2.0}
    assert result.data["retention_days"] == 7


def test_old_snapshot_fails(aws: AwsClients, url: str) -> None:
    _create_v2(url)
    created = _only_manual_snapshot(url)

    result = backups(aws, V2, now=created + timedelta(days=3))

    assert result.status is Status.FAIL
    assert result.evidence == "retention 7 d; newest before-upgrade (manual, available) 72.0 h old (> 26 h)"
    assert "describe-events" in result.next_step


def test_snapshot_age_limit_is_26_hours(aws: AwsClients, url: str) -> None:
    _create_v2(url)
    created = _only_manual_snapshot(url)

    assert backups(aws, V2, now=created + timedelta(hours=26)).status is Status.PASS
    assert backups(aws, V2, now=created + timedelta(hours=26, seconds=1)).status is Status.FAIL


def test_the_newest_of_automated_and_manual_snapshots_counts(aws: AwsClients, url: str) -> None:
    _create_v2(url)  # moto's automated snapshot
    _boto("rds", url).create_db_cluster_snapshot(DBClusterIdentifier=NAME, DBClusterSnapshotIdentifier="manual-1")

    result = backups(aws, V2)

    assert result.status is Status.PASS
    assert result.data["snapshots"] == 2
    assert result.data["newest"]["id"] == "manual-1"


def test_no_snapshot_fails(aws: AwsClients, url: str) -> None:
    _create_v2(url)
    rds = _boto("rds", url)
    for snapshot in _snapshots(url):
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot["DBClusterSnapshotIdentifier"])

    result = backups(aws, V2)

    assert result.status is Status.FAIL
    assert result.evidence == f"retention 7 d; no snapshots of {NAME}"


def test_retention_other_than_the_spec_warns(aws: AwsClients, url: str) -> None:
    _create_v2(url, retention=1)

    result = backups(aws, V2)

    assert result.status is Status.WARN
    assert result.evidence.endswith("; spec says 7 d")


def test_backups_of_an_unknown_cluster_fail(aws: AwsClients) -> None:
    result = backups(aws, V2)

    assert result.status is Status.FAIL
    assert result.evidence == f"cluster {NAME} not found in {REGION}"


def _snap(name: str, status: str, age: timedelta) -> dict[str, Any]:
    return {
        "DBClusterSnapshotIdentifier": name,
        "SnapshotType": "automated",
        "Status": status,
        "SnapshotCreateTime": NOW - age,
    }


@pytest.mark.parametrize(
    ("snapshots", "expected", "newest"),
    [
        # moto's snapshots are always available at once: the other states are judged here
        ([_snap("a", "creating", timedelta(minutes=5))], Status.WARN, "a"),
        (
            [_snap("a", "creating", timedelta(minutes=5)), _snap("b", "available", timedelta(hours=30))],
            Status.WARN,
            "a",
        ),
        (
            [_snap("a", "creating", timedelta(minutes=5)), _snap("b", "available", timedelta(hours=20))],
            Status.PASS,
            "b",
        ),
        ([_snap("a", "failed", timedelta(hours=1))], Status.FAIL, "a"),
        ([_snap("a", "failed", timedelta(hours=1)), _snap("b", "available", timedelta(hours=2))], Status.PASS, "b"),
    ],
)
def test_snapshot_states(snapshots: list[dict[str, Any]], expected: Status, newest: str) -> None:
    result = cluster_checks._judge_backups(V2, 7, snapshots, NOW)

    assert result.status is expected
    assert result.data["newest"]["id"] == newest


# -------------------------------------------------------------------------- insights


@pytest.fixture
def recording(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Record the requests moto serves; yields the recording's file.

    moto 5.2.5's recorder needs no MOTO_ENABLE_RECORDING: that variable only sets the
    state at import time, and ``start-recording`` turns it on. It is process-wide
    state that ``/moto-api/reset`` does not clear, so this fixture stops and empties
    it. The recording goes to the relative file ``moto_recording`` (path fixed when
    moto is imported): work in tmp_path so it is not written into the checkout.
    """
    monkeypatch.chdir(tmp_path)
    _post(f"{url}/moto-api/recorder/reset-recording")
    _post(f"{url}/moto-api/recorder/start-recording")
    try:
        yield tmp_path / "moto_recording"
    finally:
        _post(f"{url}/moto-api/recorder/stop-recording")
        _post(f"{url}/moto-api/recorder/reset-recording")


def _recorded(url: str, action: str) -> list[dict[str, list[str]]]:
    """The form fields of each recorded request with ``Action=action``."""
    found = []
    for line in _get(f"{url}/moto-api/recorder/download-recording").splitlines():
        entry = json.loads(line)
        body = entry["body"]
        text = base64.b64decode(body).decode() if entry["body_encoded"] else body
        fields = urllib.parse.parse_qs(text)
        if fields.get("Action") == [action]:
            found.append(fields)
    return found


@pytest.mark.parametrize(("enable", "value"), [(True, "true"), (False, "false")])
def test_insights_sends_modify_db_cluster(aws: AwsClients, url: str, recording: Path, enable: bool, value: str) -> None:
    _create_v2(url)

    message = set_performance_insights(aws, V2, enable)

    state = "on" if enable else "off"
    assert message == f"requested Performance Insights {state} for cluster {NAME} in {REGION} (applied immediately)"
    (request,) = _recorded(url, "ModifyDBCluster")
    assert request["DBClusterIdentifier"] == [NAME]
    assert request["EnablePerformanceInsights"] == [value]
    assert request["ApplyImmediately"] == ["true"]
    assert recording.is_file()


def test_insights_refuses_a_v1_spec_without_asking_aws(aws: AwsClients, url: str, recording: Path) -> None:
    _create_v1(url)

    with pytest.raises(UsageError) as caught:
        set_performance_insights(aws, V1, True)

    assert "Aurora Serverless v1" in caught.value.message
    assert "cannot have Performance Insights" in caught.value.message
    assert "\n" not in caught.value.message
    assert _recorded(url, "ModifyDBCluster") == []
    assert _recorded(url, "DescribeDBClusters") == []


def test_insights_refuses_a_live_v1_cluster(aws: AwsClients, url: str, recording: Path) -> None:
    _create_v1(url, NAME)  # the spec says v2, the cluster is v1

    with pytest.raises(UsageError) as caught:
        set_performance_insights(aws, V2, True)

    assert "engine mode serverless" in caught.value.message
    assert _recorded(url, "ModifyDBCluster") == []


def test_insights_of_an_unknown_cluster(aws: AwsClients) -> None:
    with pytest.raises(AwsError) as caught:
        set_performance_insights(aws, V2, True)

    assert caught.value.message == f"cluster {NAME} not found in {REGION}"


def test_insights_without_an_emulator() -> None:
    closed = _closed_port_url()

    with pytest.raises(AwsError) as caught:
        set_performance_insights(clients(REGION, closed), V2, True)

    assert caught.value.message == f"cannot reach {closed}: connection failed"
    assert caught.value.hint == "is the emulator running? (tfgen emulator status)"
