"""A local Aurora you can connect to: the emulator's clusters are real PostgreSQL databases.

With PostgreSQL server binaries on the machine, the emulator gives every Aurora PostgreSQL
cluster a server (:mod:`tfgen.emulator.databases`, hooked into moto by
:mod:`tfgen.emulator.backing`). Checked here with boto3 on an in-process emulator, then end
to end: ``tfgen apply`` of a spec, the rendered RUNBOOK.md's psql command, ``tfgen doctor``,
``tfgen backup``, destroy; and that stopping (or killing) the emulator leaves no server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.test_deploy import (  # noqa: F401  (shared_dir, deploy_env: fixtures this module uses)
    V2_SPEC,
    aws,
    deploy_env,
    derive_spec,
    ok,
    shared_dir,
    tfgen,
)
from tests.test_lifecycle import Deployed
from tfgen.emulator import background, events
from tfgen.emulator.endpoint import health, no_database_reason
from tfgen.emulator.postgres import find_binaries, password_literal, unavailable_reason
from tfgen.emulator.server import Emulator

REGION = "us-east-1"
NEEDS_BINARIES = pytest.mark.skipif(
    unavailable_reason(find_binaries()) is not None, reason=str(unavailable_reason(find_binaries()))
)


# ------------------------------------------------------------------------------- fast


def test_without_binaries_the_reason_says_what_to_install() -> None:
    reason = unavailable_reason([])
    assert reason is not None
    assert "no PostgreSQL server binaries" in reason and "install" in reason


def test_a_password_reaches_the_server_only_as_a_scram_verifier() -> None:
    literal = password_literal("it's a secret")
    assert "secret" not in literal
    assert re.fullmatch(r"'SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+'", literal)
    assert password_literal("pässwort") == "'pässwort'"  # SASLprep applies: the server hashes it


# ------------------------------------------------------------------- helpers


def _connect(host: str, port: int, user: str, password: str, dbname: str) -> tuple[Any, ...]:
    with psycopg.connect(
        host=host, port=port, user=user, password=password, dbname=dbname, sslmode="require", connect_timeout=10
    ) as conn:
        row = conn.execute("SELECT current_user, current_database(), ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        found = row.fetchone()
        assert found is not None
        return tuple(found)


def _servers(root: Path) -> dict[Path, int]:
    """Each running server under ``root``: its data directory and postmaster pid."""
    found = {}
    for pidfile in root.glob("*/data/postmaster.pid"):
        found[pidfile.parent] = int(pidfile.read_text().split()[0])
    return found


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for init to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _root(url: str) -> Path:
    doc = health(url)
    assert doc is not None and doc["databases"]["enabled"], doc
    match = re.search(r"their data under (\S+)$", doc["databases"]["detail"])
    assert match, doc
    return Path(match.group(1))


def _refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return False
    except OSError:
        return True


def _listeners(host: str, port: int) -> set[int]:
    """The pids of processes listening on ``host:port`` (IPv4), read from /proc (all of them as root)."""
    # /proc/net/tcp prints the address little-endian: "0100007F:1538" is 127.0.0.1:5432
    local = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    pids = set()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) in inodes:
                pids.add(int(fd.parent.parent.name))
        except OSError:
            continue  # gone meanwhile, or another user's
    return pids


def _released(host: str, port: int, data: Path) -> bool:
    """Whether nothing of the cluster whose data was ``data`` listens on ``host:port`` any more.

    Every emulated cluster asks for port 5432, so once ours is gone another test's cluster (another
    pytest worker, another emulator) may rightly take the same address: a connection is refused, or
    whoever accepts it serves other data.
    """
    if _refused(host, port):
        return True
    for pid in _listeners(host, port):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(data).encode() in command:  # pg_ctl starts it as "postgres -D DATA ..."
            return False
    return True  # the listener serves other data (one we cannot read runs as another user: not ours)


def _create_cluster(url: str, identifier: str, **extra: Any) -> dict[str, Any]:
    """CreateDBCluster of an aurora-postgresql 16.6 cluster on port 5432; its description."""
    found: dict[str, Any] = aws(url, REGION, "rds").create_db_cluster(
        DBClusterIdentifier=identifier, Engine="aurora-postgresql", EngineVersion="16.6", Port=5432, **extra
    )["DBCluster"]
    return found


def _wait(condition: Any, timeout: float = 60) -> bool:
    from tfgen.emulator.endpoint import wait_until

    return wait_until(condition, timeout, interval=0.1)


# ------------------------------------------------------------------- boto3, in process


@pytest.fixture(scope="module")
def sql_url() -> Iterator[str]:
    """An in-process emulator whose Aurora PostgreSQL clusters get real servers."""
    with Emulator(databases=True) as url:
        yield url


@NEEDS_BINARIES
@pytest.mark.postgres
def test_a_cluster_is_a_database_with_its_master_user_and_password(sql_url: str) -> None:
    rds = aws(sql_url, REGION, "rds")
    created = _create_cluster(
        sql_url,
        "sql-a",
        MasterUsername="appadmin",
        MasterUserPassword="first-password",
        DatabaseName="app",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 2},
    )
    described = rds.describe_db_clusters(DBClusterIdentifier="sql-a")["DBClusters"][0]
    host, port = described["Endpoint"], described["Port"]
    assert (created["Endpoint"], created["Port"]) == (host, port)
    assert described["ReaderEndpoint"] == host and port == 5432  # the port terraform asked for: no drift
    assert host.startswith("127.")
    assert _connect(host, port, "appadmin", "first-password", "app") == ("appadmin", "app", True)
    instance = rds.create_db_instance(
        DBInstanceIdentifier="sql-a-1",
        DBClusterIdentifier="sql-a",
        Engine="aurora-postgresql",
        DBInstanceClass="db.serverless",
    )["DBInstance"]
    assert instance["Endpoint"] == {"Address": host, "Port": port}  # an instance's endpoint reaches the database too

    rds.modify_db_cluster(DBClusterIdentifier="sql-a", MasterUserPassword="second-password", ApplyImmediately=True)
    with pytest.raises(psycopg.OperationalError) as refused:
        _connect(host, port, "appadmin", "first-password", "app")
    assert "password authentication failed" in str(refused.value)
    assert _connect(host, port, "appadmin", "second-password", "app")[0] == "appadmin"

    root = _root(sql_url)
    (directory,) = [d for d in _servers(root) if "sql-a" in str(d)]
    events.pause(sql_url, "sql-a")  # a paused cluster refuses connections until it resumes
    assert _released(host, port, directory)
    events.resume(sql_url, "sql-a")
    assert _connect(host, port, "appadmin", "second-password", "app")[0] == "appadmin"

    pid = _servers(root)[directory]
    rds.delete_db_instance(DBInstanceIdentifier="sql-a-1", SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier="sql-a", SkipFinalSnapshot=True)
    assert _wait(lambda: not _alive(pid)), "the cluster's server outlived it"
    assert not directory.parent.exists()
    assert _released(host, port, directory)


@pytest.mark.emulator
def test_an_emulator_without_databases_says_why() -> None:
    with Emulator() as url:  # one command's emulator: its servers would die with it
        assert no_database_reason(url) == "clusters are API records only"
    assert no_database_reason(url) is None  # nobody answers: nothing is known


@NEEDS_BINARIES
@pytest.mark.postgres
def test_an_emulator_with_databases_has_no_reason(sql_url: str) -> None:
    assert no_database_reason(sql_url) is None


@NEEDS_BINARIES
@pytest.mark.postgres
def test_a_final_snapshot_keeps_the_data_and_a_restore_brings_it_back(sql_url: str) -> None:
    rds = aws(sql_url, REGION, "rds")
    login = {"MasterUsername": "appadmin", "MasterUserPassword": "snap-password"}
    created = _create_cluster(sql_url, "sql-d", DatabaseName="app", **login)
    with psycopg.connect(
        host=created["Endpoint"], port=created["Port"], user="appadmin", password="snap-password", dbname="app"
    ) as conn:
        conn.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)")
    rds.delete_db_cluster(DBClusterIdentifier="sql-d", FinalDBSnapshotIdentifier="sql-d-final")
    restored = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="sql-e", SnapshotIdentifier="sql-d-final", Engine="aurora-postgresql"
    )["DBCluster"]
    with psycopg.connect(
        host=restored["Endpoint"], port=restored["Port"], user="appadmin", password="snap-password", dbname="app"
    ) as conn:
        assert conn.execute("SELECT id FROM kept").fetchall() == [(7,)]
    rds.delete_db_cluster(DBClusterIdentifier="sql-e", SkipFinalSnapshot=True)


@NEEDS_BINARIES
@pytest.mark.postgres
def test_an_rds_managed_password_is_generated_kept_in_the_secret_and_rotated(sql_url: str) -> None:
    rds, secrets = aws(sql_url, REGION, "rds"), aws(sql_url, REGION, "secretsmanager")
    created = _create_cluster(sql_url, "sql-b", MasterUsername="postgres", ManageMasterUserPassword=True)
    arn = created["MasterUserSecret"]["SecretArn"]
    first = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    assert first["username"] == "postgres" and len(first["password"]) == 32  # not moto's "admin"/"P@55w0rd!"
    host, port = created["Endpoint"], created["Port"]
    assert _connect(host, port, "postgres", first["password"], "postgres")[:2] == ("postgres", "postgres")

    rds.modify_db_cluster(DBClusterIdentifier="sql-b", RotateMasterUserPassword=True, ApplyImmediately=True)
    second = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    assert second["password"] != first["password"]
    assert _connect(host, port, "postgres", second["password"], "postgres")[0] == "postgres"
    (directory,) = [d for d in _servers(_root(sql_url)) if "sql-b" in str(d)]
    rds.delete_db_cluster(DBClusterIdentifier="sql-b", SkipFinalSnapshot=True)
    assert _released(host, port, directory)


@NEEDS_BINARIES
@pytest.mark.emulator
@pytest.mark.postgres
def test_stopping_or_killing_the_emulator_stops_its_servers(tmp_path: Path) -> None:
    for how in ("stop", "kill -9"):
        base = tmp_path / how.replace(" ", "")
        info = background.start_background(base)
        try:
            _create_cluster(info.url, "sql-c", MasterUsername="appadmin", MasterUserPassword="a-password")
            root = _root(info.url)
            (pid,) = _servers(root).values()
            assert _alive(pid)
            if how == "stop":
                assert background.stop_background(base)
            else:
                os.kill(info.pid, signal.SIGKILL)  # the watchdog notices and stops the server
            assert _wait(lambda: not _alive(pid) and not root.exists()), f"{how}: server {pid} or {root} left"  # noqa: B023
        finally:
            background.stop_background(base)


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def sql_endpoint(shared_dir: Path) -> Iterator[str]:  # noqa: F811  (the fixture of tests.test_deploy)
    """A background emulator (its own process) whose clusters get real servers; none is left after it."""
    base = shared_dir / "sql-emulator"
    info = background.start_background(base)
    root = _root(info.url) if unavailable_reason(find_binaries()) is None else None
    try:
        yield info.url
    finally:
        background.stop_background(base)
        assert root is None or not root.exists(), f"{root} left behind"


def _runbook_shell(runbook: str) -> tuple[str, str]:
    """The runbook's set-up block (region, endpoint, password) and its psql connection command."""
    blocks = re.findall(r"```sh\n(.*?)```", runbook, re.S)
    setup = next(block for block in blocks if "PGPASSWORD=" in block)
    (command,) = [
        line for line in runbook.splitlines() if line.startswith('psql "host=$ENDPOINT') and "SELECT 1" in line
    ]
    return setup, command


def _aws_cli_env(url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PG", "AWS_"))}
    env |= {"EMULATOR_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    env["HOME"] = os.environ.get("HOME", "/")
    return env


@NEEDS_BINARIES
@pytest.mark.emulator
@pytest.mark.postgres
@pytest.mark.terraform
@pytest.mark.parametrize("source", ["write_only", "rds_managed", "random"])
def test_apply_then_psql_doctor_backup_and_destroy(
    source: str, plugin_mirror: Path, sql_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if source == "random":
        pytest.skip("hashicorp/random cannot be installed here (the offline mirror holds hashicorp/aws only)")
    monkeypatch.setenv("TFGEN_PLUGIN_MIRROR", str(plugin_mirror))
    name = f"sql-{source.replace('_', '-')}"
    spec_path = derive_spec(V2_SPEC, tmp_path / "specs", name=name, master_password={"source": source})
    applied = Deployed(spec_path, name, sql_endpoint, tmp_path / "work")
    ok(applied.run("apply", spec_path, "--auto-approve"))
    plan = ok(applied.run("plan", spec_path))
    # the database's endpoint and the port it listens on are what terraform expects: no drift
    assert "no changes; the infrastructure matches the spec" in plan.out, plan.out

    cluster = aws(sql_endpoint, REGION, "rds").describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
    host, port = cluster["Endpoint"], cluster["Port"]
    outputs = json.loads(ok(applied.run("output", spec_path, "--json")).out)
    assert (outputs["endpoint"], outputs["port"]) == (host, port)

    # the runbook's own commands: its set-up block reads the password from the secret, psql connects
    if shutil.which("aws") is None or shutil.which("jq") is None or shutil.which("psql") is None:
        pytest.skip("the runbook's commands need the aws CLI, jq and psql")
    setup, command = _runbook_shell((applied.directory / "module" / "RUNBOOK.md").read_text(encoding="utf-8"))
    # dollar quotes: the statement goes inside the command's single quotes
    create = (
        "CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, $$tea$$), (2, $$cake$$)"
    )
    # the AWS CLI v1 ignores AWS_ENDPOINT_URL: point it at the emulator the way every version understands
    emulator = 'aws() { command aws --endpoint-url "$EMULATOR_URL" "$@"; }'
    script = f"set -eu\n{emulator}\n{setup}\n{command}\n{command.replace('SELECT 1', create)}\n"
    done = subprocess.run(
        ["bash", "-c", script], env=_aws_cli_env(sql_endpoint), capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0 and "aws" in done.stderr and "not found" in done.stderr:
        pytest.skip(f"the aws CLI does not run here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^\s*1\s*$", done.stdout, re.M), done.stdout
    assert "INSERT 0 2" in done.stdout

    doctor = applied.run("doctor", spec_path, "--json")
    checks = {check["name"]: check for check in json.loads(doctor.out)["checks"]}
    assert doctor.code == 0, str(doctor)
    assert checks["connection"]["status"] == "PASS", checks["connection"]
    assert checks["slow_queries"]["status"] == "PASS", checks["slow_queries"]

    out = tmp_path / "orders.csv"
    ok(applied.run("backup", spec_path, "--table", "orders", "--out", out))
    assert out.read_text(encoding="utf-8").splitlines()[1:] == ["1,tea", "2,cake"]

    root = _root(sql_endpoint)
    (directory,) = [d for d in _servers(root) if name in str(d)]
    pid = _servers(root)[directory]
    ok(applied.run("destroy", spec_path, "--auto-approve"))
    assert _wait(lambda: not _alive(pid)), "the cluster's server outlived it"
    assert not directory.parent.exists(), "the cluster's data outlived it"
    assert _released(host, port, directory)
