"""Restore (``restore.snapshot_identifier`` / ``restore.point_in_time``) and the rds_managed secret's rotation.

Fast: the spec's fields and what the module renders for them. End to end on the emulator,
whose clusters are real PostgreSQL servers: a source cluster made with boto3 holds a row, a
snapshot of it (or its point in time) is restored by ``tfgen apply``, the plan says so, the
restored cluster has the row, the backup's master user and database, and the module's
password (not the backup's), and a second plan is clean.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.test_deploy import V2_SPEC, aws, derive_spec, ok, shared_dir  # noqa: F401  (shared_dir: a fixture)
from tests.test_lifecycle import Deployed
from tests.test_local_sql import NEEDS_BINARIES, sql_endpoint  # noqa: F401  (sql_endpoint: a fixture)
from tfgen import api, facts
from tfgen.emulator.server import Emulator
from tfgen.spec.loading import load_spec
from tfgen.spec.restore import PointInTime, Restore, restore_problems

REGION = "us-east-1"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# ------------------------------------------------------------------------------- fast


def test_restore_types_are_aws_s() -> None:
    from typing import get_args

    assert (
        list(get_args(PointInTime.model_fields["restore_type"].annotation)) == facts.raw()["restore"]["restore_types"]
    )


def test_an_unquoted_yaml_time_is_read_as_rfc_3339(tmp_path: Path) -> None:
    spec = load_spec(EXAMPLES / "point-in-time.yaml").spec
    assert spec.restore is not None and spec.restore.point_in_time is not None
    assert spec.restore.point_in_time.restore_to_time == "2026-11-20T03:15:00Z"
    text = (EXAMPLES / "point-in-time.yaml").read_text().replace('"2026-11-20T03:15:00Z"', "2026-11-20T05:15:00+02:00")
    (tmp_path / "spec.yaml").write_text(text)
    unquoted = load_spec(tmp_path / "spec.yaml").spec
    assert unquoted.restore is not None and unquoted.restore.point_in_time is not None
    assert unquoted.restore.point_in_time.restore_to_time == "2026-11-20T03:15:00Z"  # the same instant, in UTC


@pytest.mark.parametrize(
    ("restore", "words"),
    [
        (Restore(snapshot_identifier="rds:orders-db-2026-11-20-03-10"), "snapshot rds:orders-db-2026-11-20-03-10"),
        (
            Restore(point_in_time=PointInTime(source_cluster_identifier="orders-db", use_latest_restorable_time=True)),
            "cluster orders-db at its latest restorable time",
        ),
    ],
)
def test_the_backup_in_words(restore: Restore, words: str) -> None:
    assert restore.source == words


def test_a_time_is_in_the_future_only_after_now() -> None:
    spec = load_spec(EXAMPLES / "point-in-time.yaml").spec
    before = datetime.datetime(2026, 11, 20, 3, 0, tzinfo=datetime.UTC)
    after = datetime.datetime(2026, 11, 20, 4, 0, tzinfo=datetime.UTC)
    assert [message for _, message in restore_problems(spec, before)] == ["2026-11-20T03:15:00Z is in the future"]
    assert restore_problems(spec, after) == []


def _cluster_block(module: Path) -> str:
    text = (module / "main.tf").read_text()
    start = text.index('resource "aws_rds_cluster" "this"')
    return text[start : text.index("\n}\n", start)]


def test_a_restored_module_takes_the_names_from_the_backup_and_reads_it_once(tmp_path: Path) -> None:
    api.render(EXAMPLES / "restored.yaml", tmp_path)
    block = _cluster_block(tmp_path)
    assert 'snapshot_identifier = "orders-db-final-20261120031500"' in block
    assert "master_username" not in block and "database_name" not in block
    assert "ignore_changes = [snapshot_identifier, restore_to_point_in_time]" in block
    assert "master_password_wo " in block  # the module's password, set after the restore


def test_a_point_in_time_module_and_its_secret_rotation(tmp_path: Path) -> None:
    api.render(EXAMPLES / "point-in-time.yaml", tmp_path)
    block = _cluster_block(tmp_path)
    assert "restore_to_point_in_time {" in block and 'restore_to_time           = "2026-11-20T03:15:00Z"' in block
    assert "master_user_secret_kms_key_id = var.master_user_secret_kms_key_id" in block
    main = (tmp_path / "main.tf").read_text()
    assert "secret_id          = aws_rds_cluster.this.master_user_secret[0].secret_arn" in main
    assert "automatically_after_days = var.master_password_rotation_days" in main


# ------------------------------------------------------------------- boto3, in process


@NEEDS_BINARIES
@pytest.mark.emulator
@pytest.mark.postgres
def test_a_point_in_time_restore_copies_the_source_s_data() -> None:
    with Emulator(databases=True) as url:
        rds = aws(url, REGION, "rds")
        source = _source_cluster(url, "pit-source")
        restored = rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier="pit-copy",
            SourceDBClusterIdentifier=source["DBClusterArn"],
            RestoreToTime=datetime.datetime.now(datetime.UTC),
        )["DBCluster"]
        assert _rows(restored, SOURCE_PASSWORD) == [(7, "kept")]


# ----------------------------------------------------------------------------- end to end

SOURCE_PASSWORD = "source-password-1"


def _source_cluster(url: str, name: str) -> dict[str, Any]:
    """A cluster made by hand (boto3): user ``orders``, database ``shop``, one row."""
    created: dict[str, Any] = aws(url, REGION, "rds").create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        EngineVersion="16.8",
        Port=5432,
        MasterUsername="orders",
        MasterUserPassword=SOURCE_PASSWORD,
        DatabaseName="shop",
        StorageEncrypted=True,  # as every cluster of tfgen's: an unencrypted backup restores unencrypted
    )["DBCluster"]
    with _connection(created, SOURCE_PASSWORD) as conn:
        conn.execute("CREATE TABLE items (id int, note text); INSERT INTO items VALUES (7, 'kept')")
    return created


def _connection(cluster: dict[str, Any], password: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=cluster["Endpoint"],
        port=cluster["Port"],
        user="orders",
        password=password,
        dbname="shop",
        sslmode="require",
        connect_timeout=10,
    )


def _rows(cluster: dict[str, Any], password: str) -> list[tuple[Any, ...]]:
    with _connection(cluster, password) as conn:
        return conn.execute("SELECT id, note FROM items").fetchall()


SECOND_APPLY = {"iam_database_authentication_enabled", "performance_insights_enabled"}
"""What hashicorp/aws 5.100.0 does not send with a restore (``[restore.provider]`` in the facts): the second
apply sets it, in place."""


def _converge(applied: Deployed, spec_path: Path) -> None:
    """After the restoring apply: at most an in-place update of :data:`SECOND_APPLY`, then a clean plan."""
    summary, planned = applied.plan_changes_of(spec_path)
    if summary.get("add", 0) or summary.get("remove", 0) or summary.get("change", 0):
        assert (summary.get("add", 0), summary.get("remove", 0)) == (0, 0), (summary, planned)
        plan = ok(applied.run("plan", spec_path))
        changed = {line.split(":")[0].strip() for line in plan.out.splitlines() if line.startswith("      ")}
        assert changed <= SECOND_APPLY, plan.out
        ok(applied.run("apply", spec_path, "--auto-approve"))
        summary, planned = applied.plan_changes_of(spec_path)
    assert (summary.get("add", 0), summary.get("change", 0), summary.get("remove", 0)) == (0, 0, 0), planned


def _restored(
    url: str, tmp_path: Path, name: str, password: dict[str, Any], restore: dict[str, Any], backup: str
) -> Deployed:
    """examples/local.yaml as ``name``, restored from ``restore``: the plan names ``backup``; applied until clean."""
    spec_path = derive_spec(
        V2_SPEC, tmp_path / "specs", name=name, engine_version="16", master_password=password, restore=restore
    )
    applied = Deployed(spec_path, name, url, tmp_path / "work")
    plan = ok(applied.run("plan", spec_path))
    assert f"The cluster is created from a backup: {backup}." in plan.out, plan.out
    ok(applied.run("apply", spec_path, "--auto-approve"))
    _converge(applied, spec_path)
    return applied


def _password(url: str, secret_arn: str) -> str:
    secret = aws(url, REGION, "secretsmanager").get_secret_value(SecretId=secret_arn)
    return str(json.loads(secret["SecretString"])["password"])


@NEEDS_BINARIES
@pytest.mark.emulator
@pytest.mark.postgres
@pytest.mark.terraform
@pytest.mark.parametrize("source", ["rds_managed", "write_only"])
def test_a_snapshot_is_restored_with_its_data_and_the_module_s_password(
    source: str,
    plugin_mirror: Path,
    sql_endpoint: str,  # noqa: F811  (the fixture of tests.test_local_sql)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TFGEN_PLUGIN_MIRROR", str(plugin_mirror))
    origin = f"snap-src-{source.replace('_', '-')}"
    _source_cluster(sql_endpoint, origin)
    rds = aws(sql_endpoint, REGION, "rds")
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier=f"{origin}-snap", DBClusterIdentifier=origin)
    name = f"restored-{source.replace('_', '-')}"
    applied = _restored(
        sql_endpoint,
        tmp_path,
        name,
        {"source": source},
        {"snapshot_identifier": f"{origin}-snap"},
        f"snapshot {origin}-snap",
    )
    spec_path = applied.spec_path

    cluster = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
    assert (cluster["MasterUsername"], cluster["DatabaseName"]) == ("orders", "shop")  # the backup's, not the spec's
    outputs = json.loads(ok(applied.run("output", spec_path, "--json")).out)
    password = _password(sql_endpoint, outputs["master_user_secret_arn"])
    assert password != SOURCE_PASSWORD
    assert _rows(cluster, password) == [(7, "kept")]
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _rows(cluster, SOURCE_PASSWORD)

    doctor = applied.run("doctor", spec_path, "--json")
    checks = {check["name"]: check for check in json.loads(doctor.out)["checks"]}
    assert checks["connection"]["status"] == "PASS", checks["connection"]
    ok(applied.run("destroy", spec_path, "--auto-approve"))
    rds.delete_db_cluster(DBClusterIdentifier=origin, SkipFinalSnapshot=True)


@NEEDS_BINARIES
@pytest.mark.emulator
@pytest.mark.postgres
@pytest.mark.terraform
def test_a_point_in_time_is_restored_and_the_managed_secret_rotates_on_schedule(
    plugin_mirror: Path,
    sql_endpoint: str,  # noqa: F811  (the fixture of tests.test_local_sql)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TFGEN_PLUGIN_MIRROR", str(plugin_mirror))
    origin = "pit-src"
    _source_cluster(sql_endpoint, origin)
    name = "pit-restored"
    applied = _restored(
        sql_endpoint,
        tmp_path,
        name,
        {"source": "rds_managed", "rotation_days": 30},
        {"point_in_time": {"source_cluster_identifier": origin, "use_latest_restorable_time": True}},
        f"cluster {origin} at its latest restorable time",
    )
    spec_path = applied.spec_path

    rds = aws(sql_endpoint, REGION, "rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
    secret_arn = cluster["MasterUserSecret"]["SecretArn"]
    assert _rows(cluster, _password(sql_endpoint, secret_arn)) == [(7, "kept")]
    described = aws(sql_endpoint, REGION, "secretsmanager").describe_secret(SecretId=secret_arn)
    assert described["RotationEnabled"] is True
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
    ok(applied.run("destroy", spec_path, "--auto-approve"))
    rds.delete_db_cluster(DBClusterIdentifier=origin, SkipFinalSnapshot=True)
