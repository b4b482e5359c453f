"""Major version upgrades: the facts, the plan review, the emulator's refusals, and 16 → 17 end to end.

AWS moves an Aurora PostgreSQL cluster to a later major in place only when asked
(``AllowMajorVersionUpgrade``), with parameter groups of the new family, and only to the majors
it offers (``[major_upgrade]`` in ``tfgen/facts/aws.toml``). The rendered module always allows
the upgrade and sends the groups; tfgen's plan review finds the upgrade in the saved plan (what
is deployed against what the spec asks), refuses a downgrade or a skip AWS refuses, and shows
the upgrade with its downtime behind the cluster's name typed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

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
from tfgen.deploy import review
from tfgen.emulator.server import Emulator
from tfgen.errors import UsageError
from tfgen.spec.loading import load_spec

REGION = "eu-west-1"
CLUSTER = "module.cluster.aws_rds_cluster.this"

# ------------------------------------------------------------------------------ facts


def test_upgrade_targets_go_up_only_and_come_with_a_source() -> None:
    majors = sorted(facts.engine_majors())
    for major in majors:
        targets = facts.upgrade_targets(major)
        assert all(target > major and target in majors for target in targets), (major, targets)
    assert facts.upgrade_targets(16) == (17,)
    assert facts.upgrade_targets(17) == ()
    assert facts.upgrade_targets(9) == ()
    assert "USER_UpgradeDBInstance.PostgreSQL" in facts.raw()["major_upgrade"]["source"]
    assert "unavailable" in facts.major_upgrade_downtime()


# ---------------------------------------------------------------------- the plan review


def _plan(before: str | None, after: str, actions: tuple[str, ...] = ("update",)) -> dict[str, Any]:
    old = None if before is None else {"engine": "aurora-postgresql", "engine_version": before.split(".")[0]}
    if old is not None:
        old["engine_version_actual"] = before
    return {
        "resource_changes": [
            {
                "address": CLUSTER,
                "mode": "managed",
                "type": "aws_rds_cluster",
                "change": {
                    "actions": list(actions),
                    "before": None if old is None else {**old, "cluster_identifier": "app"},
                    "after": {"engine": "aurora-postgresql", "engine_version": after, "cluster_identifier": "app"},
                },
            }
        ]
    }


def test_review_finds_a_major_upgrade_from_what_runs() -> None:
    found = review.review_plan(_plan("16.8", "17"))
    (upgrade,) = found.major_upgrades
    assert (upgrade.address, upgrade.from_version, upgrade.to_version) == (CLUSTER, "16.8", "17")
    assert "MAJOR VERSION UPGRADE aurora-postgresql 16.8 -> 17" in upgrade.reason
    assert facts.major_upgrade_downtime() in upgrade.reason and "RUNBOOK.md" in upgrade.reason
    assert upgrade.to_json()["type"] == "major_upgrade"
    assert found.cluster_name == "app"


@pytest.mark.parametrize(
    ("before", "after", "actions"),
    [("16.8", "16.9", ("update",)), ("17.7", "17", ("update",)), (None, "17", ("create",))],
    ids=["a minor upgrade", "the same major", "a new cluster"],
)
def test_review_finds_no_major_upgrade(before: str | None, after: str, actions: tuple[str, ...]) -> None:
    assert review.review_plan(_plan(before, after, actions)).major_upgrades == ()


def test_review_refuses_a_downgrade() -> None:
    with pytest.raises(UsageError) as caught:
        review.review_plan(_plan("17.7", "16"))
    message = str(caught.value)
    assert "engine_version '16' is a downgrade of the running aurora-postgresql 17.7" in message
    assert "AWS never moves a cluster to a lower major" in message
    assert caught.value.hint is not None and "restore a snapshot" in caught.value.hint


def test_review_refuses_a_major_aws_does_not_offer() -> None:
    with pytest.raises(UsageError) as caught:
        review.review_plan(_plan("17.7", "18"))
    assert "AWS does not upgrade aurora-postgresql 17.7 to 18 in place (upgrade targets of 17: none tfgen knows)" in (
        str(caught.value)
    )
    assert caught.value.hint is not None and "ValidUpgradeTarget" in caught.value.hint


# --------------------------------------------------------------- validate, against the state


def _deployed(directory: Path, version: str) -> Path:
    """A working directory whose local state records the module's cluster running ``version``."""
    directory.mkdir(parents=True, exist_ok=True)
    cluster = {
        "engine": "aurora-postgresql",
        "engine_version": version.split(".", maxsplit=1)[0],
        "engine_version_actual": version,
    }
    resources = [
        {"module": "module.cluster", "mode": "managed", "type": "aws_rds_cluster", "name": "this",
         "instances": [{"attributes": cluster}]},
    ]  # fmt: skip
    (directory / "terraform.tfstate").write_text(json.dumps({"version": 4, "resources": resources}), encoding="utf-8")
    return directory


def _validate(tmp_path: Path, *argv: str) -> Run:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "tfgen", "validate", *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    return Run(("validate", *argv), done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("version", ["15", "15.10"])
def test_validate_refuses_a_downgrade_of_the_deployed_cluster(tmp_path: Path, version: str) -> None:
    """The default working directory's state says 16.8 runs: a spec asking for 15 is refused, with its line."""
    spec = derive_spec(V2_SPEC, tmp_path / "specs", name="orders", engine_version=version)
    _deployed(tmp_path / ".tfgen" / "orders", "16.8")
    done = _validate(tmp_path, str(spec))
    assert done.code == 2, done.out + done.err
    line = next(
        n for n, text in enumerate(spec.read_text(encoding="utf-8").splitlines(), 1) if "engine_version" in text
    )
    first = done.err.splitlines()[0]
    assert first.startswith(f"error: {spec}:{line}: engine_version: engine_version '{version}' is a downgrade"), first
    assert "running aurora-postgresql 16.8" in first and "terraform.tfstate" in first
    assert "Traceback" not in done.err


def test_validate_accepts_an_upgrade_and_refuses_a_skip_aws_does_not_offer(tmp_path: Path) -> None:
    work = _deployed(tmp_path / "elsewhere", "16.8")
    upgrade = derive_spec(V2_SPEC, tmp_path / "specs", name="orders", engine_version="17")
    done = _validate(tmp_path, str(upgrade), "--workdir", str(work))
    assert done.code == 0, done.out + done.err
    skip = derive_spec(V2_SPEC, tmp_path / "skip", name="orders", engine_version="17.7")
    done = _validate(tmp_path, str(skip), "--workdir", str(_deployed(tmp_path / "older", "17.9")))
    assert done.code == 0, done.out + done.err  # within a major: AWS decides (a lower minor is its refusal)
    nothing = _validate(tmp_path, str(upgrade), "--workdir", str(tmp_path / "never-deployed"))
    assert nothing.code == 0, nothing.out + nothing.err


def test_a_move_to_a_major_aws_does_not_offer_is_refused_by_the_same_rule() -> None:
    from tfgen.deploy import upgrade

    refused = upgrade.move_refused("17.7", "18")
    assert refused is not None and "upgrade targets of 17: none tfgen knows" in refused[0]
    assert upgrade.move_refused("16.8", "17.4") is None
    assert upgrade.deployed_version("") is None and upgrade.deployed_version("not json") is None


# ------------------------------------------------------------------------ the template


def test_the_module_allows_a_major_upgrade_with_both_parameter_groups() -> None:
    main = (Path(__file__).parent.parent / "modules" / "aurora_serverless" / "main.tf").read_text(encoding="utf-8")
    assert "allow_major_version_upgrade      = true" in main
    assert (
        "db_instance_parameter_group_name = length(var.instance_parameters) > 0 ? aws_db_parameter_group.this[0].name"
        in main
    )
    text = (Path(__file__).parent.parent / "templates" / "module" / "parameters.tf.j2").read_text(encoding="utf-8")
    # the groups are named by prefix and replaced new-first when the family changes
    assert text.count("name_prefix") == 2 and text.count("create_before_destroy = true") == 2


# -------------------------------------------------------------- the emulator's refusals


@pytest.fixture
def upgrade_url() -> Iterator[str]:
    """An in-process emulator holding cluster ``up`` (16.8) with a custom instance group, and groups of 16 and 17."""
    with Emulator() as url:
        rds = aws(url, REGION, "rds")
        for family in ("aurora-postgresql16", "aurora-postgresql17"):
            rds.create_db_cluster_parameter_group(
                DBClusterParameterGroupName=f"cluster-{family}", DBParameterGroupFamily=family, Description="c"
            )
            rds.create_db_parameter_group(
                DBParameterGroupName=f"instance-{family}", DBParameterGroupFamily=family, Description="i"
            )
        _v2_cluster(rds, "up", "16.8", DBClusterParameterGroupName="cluster-aurora-postgresql16")
        rds.create_db_instance(
            DBInstanceIdentifier="up-1",
            DBClusterIdentifier="up",
            Engine="aurora-postgresql",
            DBInstanceClass="db.serverless",
            DBParameterGroupName="instance-aurora-postgresql16",
        )
        yield url


def _refusal(url: str, **arguments: Any) -> str:
    with pytest.raises(ClientError) as caught:
        aws(url, REGION, "rds").modify_db_cluster(DBClusterIdentifier="up", ApplyImmediately=True, **arguments)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterCombination", error
    return str(error["Message"])


@pytest.mark.emulator
def test_strict_modify_refuses_a_major_upgrade_aws_refuses(upgrade_url: str) -> None:
    new_groups = {
        "DBClusterParameterGroupName": "cluster-aurora-postgresql17",
        "DBInstanceParameterGroupName": "instance-aurora-postgresql17",
    }
    assert _refusal(upgrade_url, EngineVersion="17", **new_groups) == facts.aws_refusal("major_upgrade_flag").message
    assert _refusal(upgrade_url, EngineVersion="15.10", AllowMajorVersionUpgrade=True) == (
        "Cannot upgrade aurora-postgresql from 16.8 to 15.10"
    )
    old_family = _refusal(
        upgrade_url,
        EngineVersion="17",
        AllowMajorVersionUpgrade=True,
        DBInstanceParameterGroupName="instance-aurora-postgresql17",
    )
    assert "cluster-aurora-postgresql16 with DBParameterGroupFamily aurora-postgresql16" in old_family
    custom = _refusal(
        upgrade_url,
        EngineVersion="17",
        AllowMajorVersionUpgrade=True,
        DBClusterParameterGroupName="cluster-aurora-postgresql17",
    )
    assert custom == facts.aws_refusal("custom_instance_parameter_group", group="instance-aurora-postgresql16").message
    # the instance group in a request that upgrades no major: the aws provider retries without it
    assert _refusal(upgrade_url, DBInstanceParameterGroupName="instance-aurora-postgresql16") == (
        facts.aws_refusal("instance_parameter_group_not_major").message
    )
    rds = aws(upgrade_url, REGION, "rds")
    assert rds.describe_db_clusters(DBClusterIdentifier="up")["DBClusters"][0]["EngineVersion"] == "16.8"


@pytest.mark.emulator
def test_strict_modify_upgrades_the_cluster_and_its_instances(upgrade_url: str) -> None:
    rds = aws(upgrade_url, REGION, "rds")
    rds.modify_db_cluster(
        DBClusterIdentifier="up",
        ApplyImmediately=True,
        EngineVersion="17",
        AllowMajorVersionUpgrade=True,
        DBClusterParameterGroupName="cluster-aurora-postgresql17",
        DBInstanceParameterGroupName="instance-aurora-postgresql17",
    )
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier="up")["DBClusters"]
    assert (cluster["EngineVersion"], cluster["DBClusterParameterGroup"]) == ("17.7", "cluster-aurora-postgresql17")
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier="up-1")["DBInstances"]
    assert instance["EngineVersion"] == "17.7"
    assert [g["DBParameterGroupName"] for g in instance["DBParameterGroups"]] == ["instance-aurora-postgresql17"]


# ------------------------------------------------------------------- 16 → 17 end to end


def _events(run: Run, kind: str) -> list[dict[str, Any]]:
    return [e for e in (json.loads(line) for line in run.out.splitlines()) if e.get("type") == kind]


@pytest.mark.emulator
@pytest.mark.terraform
def test_a_16_to_17_upgrade_plans_as_such_applies_and_plans_clean(
    plugin_mirror: Path,
    endpoint: str,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TFGEN_PLUGIN_MIRROR", str(plugin_mirror))
    _deploy_env(monkeypatch, shared_dir)
    instance_parameters = [{"name": "log_temp_files", "value": 0, "apply_method": "immediate"}]
    spec_16 = derive_spec(
        V2_SPEC,
        tmp_path / "v16",
        name="tfgen-upgrade",
        engine_version="16",
        master_password={"source": "rds_managed"},
        instance_parameters=instance_parameters,
    )
    spec_17 = derive_spec(spec_16, tmp_path / "v17", engine_version="17")
    name = load_spec(spec_16).spec.name
    work = tmp_path / "work"

    def run(*argv: object) -> Run:
        return tfgen(*argv, "--endpoint", endpoint, "--workdir", work)

    rds = aws(endpoint, "us-east-1", "rds")
    ok(run("apply", spec_16, "--auto-approve"))
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
    assert cluster["EngineVersion"] == "16.8"

    planned = ok(run("plan", spec_17, "--json"))
    (upgrade,) = _events(planned, "major_upgrade")
    assert (upgrade["from"], upgrade["to"], upgrade["address"]) == ("16.8", "17", "module.cluster.aws_rds_cluster.this")
    assert "MAJOR VERSION UPGRADE aurora-postgresql 16.8 -> 17" in planned.err
    summary = _events(planned, "change_summary")[-1]["changes"]
    # the two parameter groups replaced (new family), the cluster and its instance updated in place
    assert (summary["add"], summary["remove"]) == (2, 2), planned
    replaced = {
        e["change"]["resource"]["addr"]
        for e in _events(planned, "planned_change")
        if e["change"]["action"] == "replace"
    }
    assert replaced == {
        "module.cluster.aws_rds_cluster_parameter_group.this",
        "module.cluster.aws_db_parameter_group.this[0]",
    }

    # no terminal to type the cluster's name on: refused without --auto-approve
    refused = run("apply", spec_17)
    assert refused.code != 0 and "refusing to apply without confirmation" in refused.err

    ok(run("apply", spec_17, "--auto-approve"))
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
    assert cluster["EngineVersion"] == "17.7"
    group = rds.describe_db_cluster_parameter_groups(DBClusterParameterGroupName=cluster["DBClusterParameterGroup"])
    assert group["DBClusterParameterGroups"][0]["DBParameterGroupFamily"] == "aurora-postgresql17"
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [name]}])["DBInstances"]
    assert {i["EngineVersion"] for i in instances} == {"17.7"}
    families = {
        rds.describe_db_parameter_groups(DBParameterGroupName=g["DBParameterGroupName"])["DBParameterGroups"][0][
            "DBParameterGroupFamily"
        ]
        for i in instances
        for g in i["DBParameterGroups"]
    }
    assert families == {"aurora-postgresql17"}
    # the old groups are gone
    names = [
        g["DBClusterParameterGroupName"] for g in rds.describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
    ]
    assert not [n for n in names if n.startswith(f"{name}-") and n != cluster["DBClusterParameterGroup"]]

    clean = ok(run("plan", spec_17, "--json"))
    summary = _events(clean, "change_summary")[-1]["changes"]
    assert (summary["add"], summary["change"], summary["remove"]) == (0, 0, 0), clean
    assert not _events(clean, "major_upgrade")

    # a later change of the cluster: the provider sends the instance group again (DescribeDBClusters
    # does not return it), AWS refuses it outside a major upgrade, the provider retries without it
    spec_14_days = derive_spec(spec_17, tmp_path / "backups", backup_retention_period=14)
    ok(run("apply", spec_14_days, "--auto-approve"))
    assert rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["BackupRetentionPeriod"] == 14

    # back to 16: refused by the plan review, nothing applied
    back = run("plan", spec_16)
    assert back.code != 0 and "is a downgrade of the running aurora-postgresql 17.7" in back.err, str(back)
    ok(run("destroy", spec_14_days, "--auto-approve"))


# ------------------------------------------------------------------ the typed confirmation


def test_a_major_upgrade_needs_the_cluster_name_typed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    from tfgen.cli import prompts

    planned = review.saved_plan(Path("plan.tfplan"), _plan("16.8", "17"))
    asked: list[str] = []

    def prompt(text: str, **_: Any) -> str:
        asked.append(text)
        return answer

    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "confirm", lambda *_, **__: pytest.fail("a y/n question for a major upgrade"))
    confirm = prompts.show_and_confirm("apply", auto_approve=False, json_lines=False)
    answer = "other"
    assert confirm(planned) is False
    answer = "app"
    assert confirm(planned) is True
    assert asked == ["This plan upgrades the major version (downtime). Type the cluster's name (app) to apply"] * 2
    err = capsys.readouterr().err
    assert "MAJOR VERSION UPGRADE aurora-postgresql 16.8 -> 17" in err
    assert "'other' is not the cluster's name 'app'" in err
