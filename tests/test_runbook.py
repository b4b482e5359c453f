"""`tfgen doctor`, `backup` and `insights` through the CLI: real moto server, real PostgreSQL."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest

from tfgen.cli import app as cli
from tfgen.emulator import server as emulator
from tfgen.ops import runbook
from tfgen.ops.database import ConnectionSettings
from tfgen.spec.loading import load_spec

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "examples" / "local.yaml"  # cluster tfgen-demo, v2, write_only, us-east-1
V1 = ROOT / "examples" / "v1-legacy.yaml"
ENVIRONMENTS = ROOT / "tests" / "fixtures" / "teams" / "environments.yaml"  # orders: dev, staging, prod


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with emulator.Emulator() as url:
        yield url


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture(scope="module")
def cluster(moto_url: str) -> Iterator[str]:
    """The spec's cluster (tfgen-demo) with one db.serverless instance, in moto."""
    rds = _client("rds", moto_url)
    rds.create_db_cluster(
        DBClusterIdentifier="tfgen-demo",
        Engine="aurora-postgresql",
        EngineVersion="16.6",
        EngineMode="provisioned",
        MasterUsername="demo_admin",
        MasterUserPassword="not-the-real-one-123",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 4},
        StorageEncrypted=True,
        BackupRetentionPeriod=7,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="tfgen-demo-1",
        DBClusterIdentifier="tfgen-demo",
        DBInstanceClass="db.serverless",
        Engine="aurora-postgresql",
    )
    yield moto_url
    rds.delete_db_instance(DBInstanceIdentifier="tfgen-demo-1", SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier="tfgen-demo", SkipFinalSnapshot=True)


def _db_args(settings: ConnectionSettings) -> list[str]:
    return ["--host", settings.host, "--port", str(settings.port), "--user", settings.user, "--dbname", settings.dbname]


def test_doctor_runs_every_check_and_never_prints_the_password(
    cluster: str,
    postgres_server: ConnectionSettings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert postgres_server.password
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    code = cli.main(["doctor", str(LOCAL), "--endpoint", cluster, "--json", *_db_args(postgres_server)])
    out, err = capsys.readouterr()
    report = json.loads(out)
    statuses = {check["name"]: check["status"] for check in report["checks"]}
    assert list(statuses) == ["cluster_status", "connection", "slow_queries", "cpu", "capacity", "backups"]
    assert statuses["cluster_status"] == "PASS"
    assert statuses["connection"] == "PASS"
    assert statuses["slow_queries"] == "PASS"
    assert statuses["cpu"] == "WARN"  # no metrics published in the emulator
    assert statuses["backups"] == "PASS"  # moto takes an automated snapshot at creation
    assert code == 0
    assert report["ok"] is True
    assert postgres_server.password not in out + err


def test_doctor_wrong_password_fails_with_exit_1(
    cluster: str,
    postgres_server: ConnectionSettings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PGPASSWORD", "definitely-wrong-password")
    code = cli.main(["doctor", str(LOCAL), "--endpoint", cluster, *_db_args(postgres_server)])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith("FAIL  connection") and "auth" in line for line in lines), out
    assert any(line.startswith("WARN  slow_queries") and "not run" in line for line in lines), out
    assert "definitely-wrong-password" not in out + err


def test_doctor_without_any_host_is_a_usage_error(
    cluster: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PGHOST", raising=False)
    assert cli.main(["doctor", str(LOCAL), "--endpoint", cluster]) == 2
    assert "no host for tfgen-demo" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["doctor"], ["backup", "--table", "t", "--out", "x.csv"], ["insights", "--enable", "--yes"]],
    ids=lambda argv: argv[0],
)
def test_a_spec_with_environments_needs_env(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    command, *rest = argv
    assert cli.main([command, str(ENVIRONMENTS), *rest]) == 2
    assert "has environments (dev, staging, prod): choose one with --env" in capsys.readouterr().err


def test_doctor_checks_the_cluster_of_the_environment(
    moto_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["doctor", str(ENVIRONMENTS), "--env", "dev", "--endpoint", moto_url, "--json"]
    code = cli.main([*argv, "--host", "127.0.0.1", "--port", "9", "--user", "u", "--dbname", "d"])
    report = json.loads(capsys.readouterr().out)
    assert report["cluster"] == "orders-dev"  # <name>-<env>, not the base spec's cluster
    cluster_status = next(check for check in report["checks"] if check["name"] == "cluster_status")
    assert cluster_status["status"] == "FAIL"
    assert "orders-dev" in cluster_status["evidence"]
    assert code == 1


def test_backup_through_the_cli(
    postgres_server: ConnectionSettings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert postgres_server.password
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    with psycopg.connect(
        host=postgres_server.host,
        port=postgres_server.port,
        user=postgres_server.user,
        dbname=postgres_server.dbname,
        password=postgres_server.password,
        autocommit=True,
    ) as conn:
        conn.execute("DROP TABLE IF EXISTS orders_cli")
        conn.execute("CREATE TABLE orders_cli (id int, note text)")
        conn.execute("INSERT INTO orders_cli SELECT n, 'note ' || n FROM generate_series(1, 2500) n")
    out_file = tmp_path / "orders.csv"
    code = cli.main(["backup", str(LOCAL), "--table", "orders_cli", "--out", str(out_file), *_db_args(postgres_server)])
    stdout = capsys.readouterr().out
    assert code == 0
    digest = hashlib.sha256(out_file.read_bytes()).hexdigest()
    assert stdout == f"backed up 2500 rows ({out_file.stat().st_size} bytes) to {out_file}; sha256 {digest}\n"
    rows = list(csv.reader(out_file.open()))
    assert rows[0] == ["id", "note"]
    assert rows[1:] == [[str(n), f"note {n}"] for n in range(1, 2501)]


def test_backup_with_every_setting_given_reads_no_terraform_outputs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_outputs(*args: object) -> None:
        raise AssertionError("terraform output ran although nothing was missing")

    given: list[ConnectionSettings] = []

    def fake_backup(settings: ConnectionSettings, **kwargs: object) -> str:
        given.append(settings)
        return "done"

    monkeypatch.setattr(runbook, "_outputs", no_outputs)
    monkeypatch.setattr(runbook.backups, "backup_table", fake_backup)
    from tfgen.api import deploy_options

    options = deploy_options({}, workdir=tmp_path / "work")
    overrides = runbook.ConnectionOverrides(host="db.example", port=6432, user="ops", dbname="orders")
    env = {"PGPASSWORD": "pw"}
    result = runbook.backup(LOCAL, options, overrides, env, table="t", schema=None, query=None, out=tmp_path / "t.csv")
    assert result == "done"  # type: ignore[comparison-overlap]
    assert given[0].target == "ops@db.example:6432/orders"
    called = []  # a missing password: the outputs are read
    monkeypatch.setattr(runbook, "_outputs", lambda *args: called.append(args) or {})
    monkeypatch.setattr(runbook, "_password_lookup", lambda *args: lambda: None)
    runbook.backup(LOCAL, options, overrides, {}, table="t", schema=None, query=None, out=tmp_path / "t.csv")
    assert called


def test_backup_needs_a_table_or_query(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["backup", str(LOCAL), "--out", str(tmp_path / "x.csv"), "--host", "127.0.0.1"]) == 2
    assert capsys.readouterr().err == "error: give --table or --query\n"


def test_insights_refuses_serverless_v1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["insights", str(V1), "--enable", "--yes"]) == 2
    assert "Performance Insights is not available for engine mode serverless" in capsys.readouterr().err


def _options_of(command: str) -> set[str]:
    import typer

    group: Any = typer.main.get_command(cli.app)
    found = group.commands[command]
    return {option for param in found.params for option in (*param.opts, *param.secondary_opts)}


def test_insights_refuses_without_a_terminal_or_yes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["insights", str(LOCAL), "--enable"]) == 2
    err = capsys.readouterr().err
    assert "there is no terminal to ask on" in err
    assert "hint: pass --yes" in err
    named = set(re.findall(r"--[a-z][a-z-]*", err))
    assert named and named <= _options_of("insights"), f"{named - _options_of('insights')} are not options of insights"


def test_hints_naming_tfgen_insights_name_its_options() -> None:
    import inspect

    from tfgen.ops import metrics

    source = inspect.getsource(metrics)
    hints = re.findall(r"`tfgen insights ([^`]*)`", source)
    assert hints
    for hint in hints:
        named = set(re.findall(r"--[a-z][a-z-]*", hint))
        assert named <= _options_of("insights"), hint


def test_insights_enable_sends_modify_db_cluster(
    cluster: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # moto writes its recording into the working directory
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{cluster}/moto-api/recorder/reset-recording", method="POST"))
    urllib.request.urlopen(urllib.request.Request(f"{cluster}/moto-api/recorder/start-recording", method="POST"))
    try:
        code = cli.main(["insights", str(LOCAL), "--enable", "--yes", "--endpoint", cluster])
        recording = urllib.request.urlopen(f"{cluster}/moto-api/recorder/download-recording").read().decode()
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{cluster}/moto-api/recorder/stop-recording", method="POST"))
        urllib.request.urlopen(urllib.request.Request(f"{cluster}/moto-api/recorder/reset-recording", method="POST"))
    assert code == 0, capsys.readouterr().err
    import base64

    bodies = []
    for line in recording.splitlines():
        entry = json.loads(line)
        body = entry.get("body") or ""
        with contextlib.suppress(ValueError):  # recorded bodies are base64 when moto could encode them
            body = base64.b64decode(body).decode()
        bodies.append(body)
    assert any("Action=ModifyDBCluster" in b and "EnablePerformanceInsights=true" in b for b in bodies), bodies


def test_connection_settings_precedence() -> None:
    spec = load_spec(LOCAL).spec
    outputs = {"endpoint": "writer.example", "port": 6543, "master_username": "demo_admin", "database_name": "demo"}

    def no_password() -> str | None:
        return None

    from_outputs = runbook.connection_settings(spec, outputs, runbook.ConnectionOverrides(), {}, no_password)
    assert (from_outputs.host, from_outputs.port, from_outputs.user, from_outputs.dbname) == (
        "writer.example",
        6543,
        "demo_admin",
        "demo",
    )
    env = {"PGHOST": "env.example", "PGPORT": "7000", "PGUSER": "u", "PGDATABASE": "d", "PGPASSWORD": "pw"}
    from_env = runbook.connection_settings(spec, outputs, runbook.ConnectionOverrides(), env, no_password)
    assert (from_env.host, from_env.port, from_env.user, from_env.dbname, from_env.password) == (
        "env.example",
        7000,
        "u",
        "d",
        "pw",
    )
    explicit = runbook.ConnectionOverrides(host="h", port=1, user="x", dbname="y")
    chosen = runbook.connection_settings(spec, outputs, explicit, env, no_password)
    assert (chosen.host, chosen.port, chosen.user, chosen.dbname) == ("h", 1, "x", "y")
    assert "pw" not in repr(chosen)


def test_write_only_password_is_read_from_the_secret(moto_url: str) -> None:
    secrets = _client("secretsmanager", moto_url)
    arn = secrets.create_secret(Name="tfgen-demo-master-x", SecretString=json.dumps({"password": "s3cret-from-sm"}))[
        "ARN"
    ]
    from tfgen.ops import aws as aws_checks

    aws = aws_checks.clients("us-east-1", moto_url)
    lookup = runbook._password_lookup(load_spec(LOCAL).spec, {"master_user_secret_arn": arn}, aws)
    assert lookup() == "s3cret-from-sm"


def _runbook_setup(golden: str) -> str:
    from tests.goldens import GOLDENS

    runbook = (GOLDENS[golden] / "RUNBOOK.md").read_text()
    return runbook.split("```sh\n", 1)[1].split("```", 1)[0]


def _run_setup(script: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    # AWS CLI v1 ignores AWS_ENDPOINT_URL: point every call at the emulator, as --local does
    emulated = 'aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }\n'
    check = emulated + script + '\nprintf "%s|%s" "$ENDPOINT" "$PGPASSWORD"\n'
    return subprocess.run(["bash", "-c", check], capture_output=True, text=True, env=env, cwd=cwd, check=False)


@pytest.mark.skipif(shutil.which("aws") is None or shutil.which("jq") is None, reason="needs the AWS CLI and jq")
def test_runbook_setup_finds_the_write_only_secret_without_terraform_state(cluster: str, tmp_path: Path) -> None:
    secrets = _client("secretsmanager", cluster)
    described = "Master credentials of Aurora PostgreSQL cluster {} (written by Terraform, never stored in its state)"
    ours = secrets.create_secret(
        Name="tfgen-demo-master-20260101000000000000000001",
        Description=described.format("tfgen-demo"),
        SecretString=json.dumps({"password": "from-the-secret"}),
    )["ARN"]
    other = secrets.create_secret(  # the secret of a cluster named tfgen-demo-master: same name prefix
        Name="tfgen-demo-master-master-20260101000000000000000002",
        Description=described.format("tfgen-demo-master"),
        SecretString=json.dumps({"password": "not-ours"}),
    )["ARN"]
    endpoint = _client("rds", cluster).describe_db_clusters(DBClusterIdentifier="tfgen-demo")["DBClusters"][0]
    setup = _runbook_setup("local")
    try:
        found = _run_setup(setup, cluster, tmp_path)  # an empty directory: no Terraform state
        missing = _run_setup(setup.replace("CLUSTER=tfgen-demo\n", "CLUSTER=nope-db\n"), cluster, tmp_path)
    finally:
        for arn in (ours, other):
            secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert found.returncode == 0, found.stderr
    assert found.stdout == f"{endpoint['Endpoint']}|from-the-secret"
    # a lookup that finds nothing stops, loudly, before anything uses the value
    assert missing.returncode != 0
    assert "cluster nope-db not found in us-east-1" in missing.stderr
    assert "|" not in missing.stdout
