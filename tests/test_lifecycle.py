"""The emulator's lifecycle events, and what tfgen makes of them end to end.

AWS changes a cluster on its own: a minor upgrade, a failover, an auto-pause, a parameter
waiting for a reboot. :mod:`tfgen.emulator.events` plays them in the emulator; the first
tests check each event with boto3, the slow ones apply a spec with real terraform, play an
event, and check what ``tfgen plan``, ``terraform output`` and ``tfgen doctor`` say after it.

The end-to-end tests share one background emulator and one deployment per engine version
(about two minutes each: the provider waits about 30 s per cluster and per instance).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.test_deploy import (  # noqa: F401  (shared_dir, deploy_env: fixtures this module uses)
    V2_SPEC,
    Run,
    _deploy_env,
    aws,
    deploy_env,
    derive_spec,
    ok,
    shared_dir,
    tfgen,
)
from tests.test_emulator import _v2_cluster
from tfgen import facts
from tfgen.deploy import workdir
from tfgen.emulator import events
from tfgen.emulator.server import Emulator
from tfgen.errors import EmulatorError
from tfgen.spec.loading import load_spec

REGION = "eu-west-1"


# ------------------------------------------------------------------- events, with boto3


@pytest.fixture
def cluster_url() -> Iterator[str]:
    """An in-process emulator holding cluster ``life`` (16.6, 0–4 ACU) with instances life-1 (writer), life-2."""
    with Emulator() as url:
        rds = aws(url, REGION, "rds")
        _v2_cluster(rds, "life", "16.6", ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 4})
        for number in (1, 2):
            rds.create_db_instance(
                DBInstanceIdentifier=f"life-{number}",
                DBClusterIdentifier="life",
                Engine="aurora-postgresql",
                DBInstanceClass="db.serverless",
                PromotionTier=number - 1,
            )
        yield url


def _cluster(url: str) -> dict[str, Any]:
    found: dict[str, Any] = aws(url, REGION, "rds").describe_db_clusters(DBClusterIdentifier="life")["DBClusters"][0]
    return found


def _instances(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aws(url, REGION, "rds").describe_db_instances()["DBInstances"]
    return found


def test_minor_upgrade_moves_cluster_and_instances_to_the_lts_then_the_next_minor(cluster_url: str) -> None:
    lts = facts.engine_major("16")
    assert lts is not None and lts.lts == "16.8"
    assert events.minor_upgrade(cluster_url, "life")["engine_version"] == "16.8"
    assert _cluster(cluster_url)["EngineVersion"] == "16.8"
    assert {i["EngineVersion"] for i in _instances(cluster_url)} == {"16.8"}
    assert events.minor_upgrade(cluster_url, "life")["engine_version"] == "16.9"
    assert events.minor_upgrade(cluster_url, "life", "16.12")["engine_version"] == "16.12"
    with pytest.raises(EmulatorError) as caught:
        events.minor_upgrade(cluster_url, "life", "16.9")
    assert "16.9 is not a newer minor than 16.12" in str(caught.value)


def test_failover_moves_the_writer(cluster_url: str) -> None:
    def writers() -> list[str]:
        return [m["DBInstanceIdentifier"] for m in _cluster(cluster_url)["DBClusterMembers"] if m["IsClusterWriter"]]

    assert writers() == ["life-1"]
    assert events.failover(cluster_url, "life")["writer"] == "life-2"
    assert writers() == ["life-2"]
    assert events.failover(cluster_url, "life", target_instance="life-1")["writer"] == "life-1"
    assert writers() == ["life-1"]


def test_a_paused_cluster_emits_no_engine_metrics(cluster_url: str) -> None:
    cloudwatch = aws(cluster_url, REGION, "cloudwatch")

    def metric_names() -> set[str]:
        return {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="AWS/RDS")["Metrics"]}

    assert events.pause(cluster_url, "life")["paused"] is True
    assert set(events.emit_metrics(cluster_url, "life")["metrics"]) == set(facts.paused_zero_metrics())
    assert metric_names() == {"ServerlessDatabaseCapacity", "ACUUtilization"}
    now = datetime.datetime.now(datetime.UTC)
    capacity = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ServerlessDatabaseCapacity",
        Dimensions=[{"Name": "DBClusterIdentifier", "Value": "life"}],
        StartTime=now - datetime.timedelta(minutes=10),
        EndTime=now + datetime.timedelta(minutes=10),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    capacity = [point["Maximum"] for point in capacity]
    assert capacity == [0.0]
    # resumed: the engine's metrics are back
    assert events.resume(cluster_url, "life")["paused"] is False
    events.emit_metrics(cluster_url, "life")
    assert {"CPUUtilization", "DatabaseConnections"} <= metric_names()


def test_only_a_cluster_with_minimum_capacity_zero_pauses(cluster_url: str) -> None:
    aws(cluster_url, REGION, "rds").modify_db_cluster(
        DBClusterIdentifier="life",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
        ApplyImmediately=True,
    )
    with pytest.raises(EmulatorError) as caught:
        events.pause(cluster_url, "life")
    assert "cannot pause: its minimum capacity is not 0 ACU" in str(caught.value)


def test_parameter_group_pending_reboot(cluster_url: str) -> None:
    assert {m["DBClusterParameterGroupStatus"] for m in _cluster(cluster_url)["DBClusterMembers"]} == {"in-sync"}
    assert events.parameter_group_pending_reboot(cluster_url, "life")["pending_reboot"] is True
    assert {m["DBClusterParameterGroupStatus"] for m in _cluster(cluster_url)["DBClusterMembers"]} == {"pending-reboot"}
    statuses = {g["ParameterApplyStatus"] for i in _instances(cluster_url) for g in i["DBParameterGroups"]}
    assert statuses == {"pending-reboot"}


def test_an_unknown_event_or_cluster_is_refused(cluster_url: str) -> None:
    for call, reason in [
        (lambda: events.send_event(cluster_url, "explode", cluster_id="life"), "no emulator event 'explode'"),
        (lambda: events.pause(cluster_url, "nowhere"), "no cluster nowhere in the emulator"),
        (lambda: events.send_event(cluster_url, "pause", cluster="life"), "missing a required argument"),
    ]:
        with pytest.raises(EmulatorError) as caught:
            call()
        assert reason in str(caught.value)


# --------------------------------------------------------------------------- end to end


@dataclass
class Deployed:
    """A spec applied to the module's emulator."""

    spec_path: Path
    name: str
    url: str
    directory: Path

    def run(self, *argv: object) -> Run:
        return tfgen(*argv, "--endpoint", self.url, "--workdir", self.directory)

    def plan_changes(self) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """``tfgen plan --json`` of the deployed spec: the change summary and the planned changes."""
        return self.plan_changes_of(self.spec_path)

    def plan_changes_of(self, spec_path: Path) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """``tfgen plan --json`` of ``spec_path`` in this working directory."""
        run = self.run("plan", spec_path, "--json")
        assert run.code == 0, str(run)
        lines = [json.loads(line) for line in run.out.splitlines()]
        (summary,) = [e for e in lines if e.get("type") == "change_summary"][-1:]
        planned = [e for e in lines if e.get("type") == "planned_change"]
        return summary["changes"], planned

    def terraform(self, *args: str) -> subprocess.CompletedProcess[str]:
        """terraform itself in the working directory (tfgen has no refresh command)."""
        binary = shutil.which("terraform")
        assert binary is not None
        return subprocess.run(
            [binary, *args], cwd=self.directory, env=dict(os.environ), capture_output=True, text=True, check=False
        )


def _deploy(base: Path, url: str, plugin_mirror: Path, shared: Path, **changes: Any) -> Deployed:
    return apply_spec(derive_spec(V2_SPEC, base / "specs", **changes), base, url, plugin_mirror, shared)


def apply_spec(spec_path: Path, base: Path, url: str, plugin_mirror: Path, shared: Path) -> Deployed:
    """``tfgen apply`` of ``spec_path`` on the emulator at ``url``, in ``base``/work (for module-scoped fixtures)."""
    deployed = Deployed(spec_path, load_spec(spec_path).spec.name, url, base / "work")
    with pytest.MonkeyPatch.context() as mp:  # conftest's isolation is per test: redo it for the module
        deployed_env(mp, plugin_mirror, shared)
        ok(deployed.run("apply", spec_path, "--auto-approve"))
    return deployed


def deployed_env(mp: pytest.MonkeyPatch, plugin_mirror: Path, shared: Path) -> None:
    """The environment :func:`apply_spec` applied in: what a later destroy or ``terraform output`` needs."""
    mp.setenv("HOME", str(shared / "home"))
    mp.setenv("TFGEN_PLUGIN_MIRROR", str(plugin_mirror))
    _deploy_env(mp, shared)


@pytest.fixture(scope="module")
def major(
    plugin_mirror: Path,
    endpoint: str,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    """examples/local.yaml (engine_version: the default major, "17") with two instances, applied."""
    assert load_spec(V2_SPEC).spec.engine_version is None and facts.default_engine_version("v2") == "17"
    base = tmp_path_factory.mktemp("major")
    return _deploy(base, endpoint, plugin_mirror, shared_dir, name="tfgen-major", serverless=_two_instances())


@pytest.fixture(scope="module")
def pinned(
    plugin_mirror: Path,
    endpoint: str,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    """examples/local.yaml with a pinned minor, 16.8 (the module turns automatic minor upgrades off), applied."""
    base = tmp_path_factory.mktemp("pinned")
    return _deploy(base, endpoint, plugin_mirror, shared_dir, name="tfgen-pinned", engine_version="16.8")


def _two_instances() -> dict[str, Any]:
    import yaml

    serverless: dict[str, Any] = yaml.safe_load(V2_SPEC.read_text(encoding="utf-8"))["serverless"]
    return {**serverless, "instances": 2}


@pytest.mark.emulator
@pytest.mark.terraform
def test_major_version_plans_no_changes_after_a_minor_upgrade(major: Deployed) -> None:
    rds = aws(major.url, "us-east-1", "rds")
    assert rds.describe_db_clusters(DBClusterIdentifier=major.name)["DBClusters"][0]["EngineVersion"] == "17.7"
    assert events.minor_upgrade(major.url, major.name)["engine_version"] == "17.8"
    changes, planned = major.plan_changes()
    assert (changes["add"], changes["change"], changes["remove"]) == (0, 0, 0), planned
    state = json.loads((major.directory / "terraform.tfstate").read_text(encoding="utf-8"))
    (cluster,) = [r for r in state["resources"] if r["type"] == "aws_rds_cluster"]
    assert cluster["instances"][0]["attributes"]["engine_version"] == "17"  # the provider keeps the major

    # The known limit (facts [errors.version_downgrade]): any later change of the cluster makes
    # the provider send "17" again (engine_version differs from engine_version_actual), AWS reads
    # it as its default minor and refuses the downgrade; tfgen says what to do, and that works.
    text = major.spec_path.read_text(encoding="utf-8")
    changed = major.spec_path.with_name("backup-14.yaml")
    changed.write_text(text.replace("name: tfgen-major", "name: tfgen-major\nbackup_retention_period: 14"), "utf-8")
    refused = major.run("apply", changed, "--auto-approve")
    assert refused.code == 1, str(refused)
    assert "Cannot upgrade aurora-postgresql from 17.8 to 17.7" in refused.err
    assert 'set engine_version: "17.8" in the spec' in refused.err and "#45026" in refused.err
    assert rds.describe_db_clusters(DBClusterIdentifier=major.name)["DBClusters"][0]["BackupRetentionPeriod"] == 7
    pinned = major.spec_path.with_name("pinned-17.8.yaml")
    pinned.write_text(changed.read_text(encoding="utf-8") + 'engine_version: "17.8"\n', "utf-8")
    ok(major.run("apply", pinned, "--auto-approve"))
    (after,) = rds.describe_db_clusters(DBClusterIdentifier=major.name)["DBClusters"]
    assert (after["BackupRetentionPeriod"], after["EngineVersion"]) == (14, "17.8")
    changes, planned = major.plan_changes_of(pinned)
    assert (changes["add"], changes["change"], changes["remove"]) == (0, 0, 0), planned


@pytest.mark.emulator
@pytest.mark.terraform
def test_failover_is_seen_by_terraform_output_and_doctor(major: Deployed) -> None:
    # terraform creates the two instances in parallel, so either may have become the writer (as on AWS)
    before = major.terraform("output", "-raw", "writer_instance_identifier")
    instances = {f"{major.name}-1", f"{major.name}-2"}
    assert before.stdout in instances, before.stdout + before.stderr
    (reader,) = instances - {before.stdout}
    assert events.failover(major.url, major.name)["writer"] == reader
    refresh = major.terraform("apply", "-refresh-only", "-auto-approve", "-no-color", "-input=false")
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr
    after = major.terraform("output", "-raw", "writer_instance_identifier")
    assert after.stdout == reader, after.stderr
    assert json.loads(ok(major.run("output", major.spec_path, "--json")).out)["writer_instance_identifier"] == reader
    doctor = major.run("doctor", major.spec_path, "--json")
    checks = {check["name"]: check for check in json.loads(doctor.out)["checks"]}
    assert checks["cluster_status"]["data"]["writer"] == reader, checks["cluster_status"]
    assert f"writer {reader}" in checks["cluster_status"]["evidence"]


@pytest.mark.emulator
@pytest.mark.terraform
def test_a_pausable_cluster_does_not_alarm_on_missing_data(major: Deployed) -> None:
    events.pause(major.url, major.name)
    assert set(events.emit_metrics(major.url, major.name)["metrics"]) == set(facts.paused_zero_metrics())
    cloudwatch = aws(major.url, "us-east-1", "cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{major.name}-")["MetricAlarms"]
    assert alarms
    for alarm in alarms:
        # the engine's metrics go missing while paused: missing data must not breach
        assert alarm["TreatMissingData"] == "notBreaching", alarm["AlarmName"]
        assert alarm["StateValue"] in {"OK", "INSUFFICIENT_DATA"}, alarm["AlarmName"]
    events.resume(major.url, major.name)


@pytest.mark.emulator
@pytest.mark.terraform
def test_pinned_minor_plans_a_downgrade_after_an_upgrade_and_aws_refuses_it(pinned: Deployed) -> None:
    """The documented behaviour of a pinned minor (aws provider 5.100.0, facts [provider.engine_version]).

    The module turns automatic minor upgrades off for a pinned minor; a mandatory upgrade (or
    one made by hand) still happens. Then the provider reads 16.9, plans 16.9 -> 16.8 on the
    cluster, and AWS (the strict emulator) refuses the downgrade when it is applied.
    """
    rds = aws(pinned.url, "us-east-1", "rds")
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [pinned.name]}])["DBInstances"]
    assert {i["AutoMinorVersionUpgrade"] for i in instances} == {False}
    assert events.minor_upgrade(pinned.url, pinned.name)["engine_version"] == "16.9"
    changes, planned = pinned.plan_changes()
    updated = sorted(e["change"]["resource"]["addr"] for e in planned if e["change"]["action"] == "update")
    assert "module.cluster.aws_rds_cluster.this" in updated, planned
    assert changes["add"] == changes["remove"] == 0
    assert (changes["change"], len(updated)) == (2, 2)  # the cluster and its instance
    ok(pinned.run("plan", pinned.spec_path))  # the saved plan, read with terraform show
    shown = json.loads(pinned.terraform("show", "-json", workdir.PLAN_FILE).stdout)
    versions = {
        change["address"]: (change["change"]["before"]["engine_version"], change["change"]["after"]["engine_version"])
        for change in shown["resource_changes"]
        if change["address"] in updated
    }
    assert versions == dict.fromkeys(updated, ("16.9", "16.8"))
    apply = pinned.run("apply", pinned.spec_path, "--auto-approve")
    assert apply.code != 0, str(apply)
    assert "Cannot upgrade aurora-postgresql from 16.9 to 16.8" in apply.text, str(apply)
    assert rds.describe_db_clusters(DBClusterIdentifier=pinned.name)["DBClusters"][0]["EngineVersion"] == "16.9"
