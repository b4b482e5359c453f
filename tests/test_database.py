"""tfgen.ops.database against a real PostgreSQL 15 (tests/pg.py): checks and backups, no mocks."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests import pg
from tfgen.ops import backup as backup_module
from tfgen.ops import database
from tfgen.ops.backup import BackupResult, backup_table
from tfgen.ops.database import (
    ConnectionSettings,
    DatabaseError,
    check_connection,
    slow_queries,
)
from tfgen.ops.results import CheckResult, Status

free_port = pg.free_port

ROOT = Path(__file__).resolve().parent.parent
SPECIAL_VALUES = [
    "plain",
    "a,b,c",
    'say "hi"',
    '"',
    ",",
    "line1\nline2",
    "cr\r\nlf",
    "\n",
    "",
    None,
    "ünïcødé ✓",
    "back\\slash",
    "tab\there",
    "x; drop table y",
]


# ---------------------------------------------------------------- helpers


def connect(settings: ConnectionSettings, *, autocommit: bool = True) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        dbname=settings.dbname,
        password=settings.password,
        autocommit=autocommit,
    )


def wait_for(condition: Callable[[], Any], *, timeout: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def activity(settings: ConnectionSettings, pid: int) -> tuple[Any, ...] | None:
    with connect(settings) as conn:
        return conn.execute(
            "SELECT state, wait_event_type, query FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()


@contextlib.contextmanager
def background(settings: ConnectionSettings, statement: str) -> Iterator[int]:
    """Run ``statement`` on its own connection in a thread; yields the session's pid once it runs.

    On the way out the statement is cancelled (if still running), the thread joined and
    the connection closed.
    """
    conn = connect(settings)
    pid = conn.info.backend_pid
    errors: list[BaseException] = []

    def run() -> None:
        try:
            conn.execute(statement)
        except psycopg.Error as error:  # QueryCanceled when we cancel it
            errors.append(error)

    thread = threading.Thread(target=run, name=f"pg-{pid}", daemon=True)
    thread.start()
    try:
        wait_for(
            lambda: (row := activity(settings, pid)) is not None and row[0] == "active",
            what=f"session {pid} to be active",
        )
        yield pid
    finally:
        if thread.is_alive():
            conn.cancel_safe()
        thread.join(timeout=15)
        conn.close()
        assert not thread.is_alive(), f"background session {pid} did not stop"


def make_table(settings: ConnectionSettings, name: str, rows: list[tuple[int, str | None]]) -> None:
    with connect(settings) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident))
        conn.execute(sql.SQL("CREATE TABLE {} (id integer PRIMARY KEY, txt text)").format(ident))
        with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} (id, txt) FROM STDIN").format(ident)) as copy:
            for row in rows:
                copy.write_row(row)


def table_exists(settings: ConnectionSettings, name: str) -> bool:
    with connect(settings) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (sql.Identifier(name).as_string(conn),)).fetchone()
        return row is not None and row[0] is not None


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def tfgen_sessions(settings: ConnectionSettings) -> int:
    with connect(settings) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tfgen' AND pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0]) if row else 0


def slow_session(settings: ConnectionSettings, pid: int, threshold: float = 0.5) -> CheckResult:
    """``slow_queries`` once session ``pid`` has been busy longer than ``threshold``."""

    def listed() -> CheckResult | None:
        result = slow_queries(settings, threshold_seconds=threshold)
        return result if any(s["pid"] == pid for s in result.data["sessions"]) else None

    result: CheckResult = wait_for(listed, what=f"session {pid} to pass the {threshold}s threshold")
    return result


def assert_secret_absent(secret: str, *texts: object) -> None:
    for text in texts:
        assert secret not in str(text), f"password leaked into {text!r}"


# ---------------------------------------------------------------- module and settings


def test_importing_the_module_does_not_load_psycopg() -> None:
    code = "import sys, tfgen.ops.database; assert 'psycopg' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_settings_repr_never_shows_the_password() -> None:
    settings = ConnectionSettings(host="db", port=5432, user="u", dbname="d", password="hunter2-secret")
    assert "hunter2-secret" not in repr(settings)
    assert settings.target == "u@db:5432/d"


def test_fixture_without_the_postgres_user_creates_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a directory of its own: other tests make servers
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(pg, "SYSTEM_USER", "no-such-user-tfgen")

    with pytest.raises(pg.PostgresUnavailable) as raised, pg.running_postgres():
        pytest.fail("started without the system user")

    assert "'no-such-user-tfgen'" in str(raised.value)
    assert "does not exist" in str(raised.value)
    assert list(tmp_path.glob("tfgen-pg-*")) == []


_HOLD_A_SERVER = """
import sys
from tests import pg
with pg.running_postgres() as settings:
    print(settings.port, flush=True)
    sys.stdin.read()
"""


@pytest.mark.postgres
def test_a_killed_test_process_leaves_no_server_behind(tmp_path: Path) -> None:
    """A test run killed by a CI timeout (``kill -9``): its servers stop, their directories go."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    try:
        assert holder.stdout is not None
        port = int(holder.stdout.readline())  # the server is up
        # postmaster.pid: pid, data directory, start time, port... (other tests' servers may run beside it)
        (pidfile,) = [
            path
            for path in Path(tempfile.gettempdir()).glob("tfgen-pg-*/server/data/postmaster.pid")
            if path.read_text().splitlines()[3] == str(port)
        ]
        directory, postmaster = pidfile.parents[2], int(pidfile.read_text().split()[0])
        with socket.create_connection((pg.HOST, port), timeout=10):
            pass
    finally:
        holder.kill()
        holder.wait()
    # liveness bound, not a budget: the watchdog sends SIGQUIT and waits up to 15 s before SIGKILL
    deadline = time.monotonic() + 120
    while (Path(f"/proc/{postmaster}").exists() or directory.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{postmaster}").exists(), "the server outlived the killed test process"
    assert not directory.exists()


# ---------------------------------------------------------------- check_connection


def test_connection_passes_with_version_and_latency(postgres_server: ConnectionSettings) -> None:
    result = check_connection(postgres_server)

    assert result.name == "connection"
    assert result.status is Status.PASS, result
    assert "PostgreSQL 15." in result.evidence
    assert " ms" in result.evidence
    assert result.data["server_version"].startswith("15.")
    assert result.data["latency_ms"] >= 0
    assert postgres_server.password
    assert_secret_absent(postgres_server.password, result.evidence, result.next_step, result.to_json())


def _wrong_password(s: ConnectionSettings) -> ConnectionSettings:
    return dataclasses.replace(s, password="Wr0ng-Pa55word-xyz")


def _unknown_user(s: ConnectionSettings) -> ConnectionSettings:
    return dataclasses.replace(s, user="no_such_role", password="Wr0ng-Pa55word-xyz")


def _unknown_database(s: ConnectionSettings) -> ConnectionSettings:
    return dataclasses.replace(s, dbname="no_such_db")


def _nothing_listening(s: ConnectionSettings) -> ConnectionSettings:
    return dataclasses.replace(s, port=free_port())


def _unresolvable(s: ConnectionSettings) -> ConnectionSettings:
    return dataclasses.replace(s, host="nonexistent.invalid")


@pytest.mark.parametrize(
    ("change", "kind", "advice"),
    [
        (_wrong_password, "auth", "password"),
        (_unknown_user, "auth", "password"),
        (_unknown_database, "database_missing", "database_name"),
        (_nothing_listening, "refused", "security group"),
        (_unresolvable, "dns", "endpoint"),
    ],
    ids=["wrong-password", "unknown-user", "unknown-database", "refused", "dns"],
)
def test_connection_failure_is_classified(
    postgres_server: ConnectionSettings,
    caplog: pytest.LogCaptureFixture,
    change: Callable[[ConnectionSettings], ConnectionSettings],
    kind: str,
    advice: str,
) -> None:
    settings = change(postgres_server)
    caplog.set_level(logging.DEBUG)

    result = check_connection(settings)

    assert result.status is Status.FAIL, result
    assert result.data["kind"] == kind
    assert result.evidence.startswith(f"{kind}: "), result.evidence
    assert "\n" not in result.evidence
    assert advice in result.next_step
    assert settings.password
    assert_secret_absent(settings.password, result.evidence, result.next_step, result.to_json(), caplog.text)


def test_a_server_requiring_tls_is_a_tls_problem_not_a_password_one(
    ssl_only_postgres_server: ConnectionSettings,
) -> None:
    unencrypted = dataclasses.replace(ssl_only_postgres_server, sslmode="disable")

    result = check_connection(unencrypted)

    assert result.status is Status.FAIL, result
    assert result.data["kind"] == "tls"
    assert "no encryption" in result.evidence  # the server's words: no pg_hba.conf entry for ... no encryption
    assert "sslmode=require" in result.next_step
    assert "password" not in result.next_step.replace("not a password one", "")
    assert check_connection(dataclasses.replace(ssl_only_postgres_server, sslmode="require")).status is Status.PASS


def test_requiring_tls_of_a_server_without_it_is_a_tls_problem(postgres_server: ConnectionSettings) -> None:
    result = check_connection(dataclasses.replace(postgres_server, sslmode="require"))

    assert result.status is Status.FAIL, result
    assert result.data["kind"] == "tls"
    assert "server does not support SSL" in result.evidence


@pytest.mark.parametrize(
    "message",
    [
        'connection failed: FATAL:  no pg_hba.conf entry for host "10.0.1.5", user "app", database "orders", '
        "no encryption",
        "connection failed: SSL connection is required. Please specify SSL options and retry.",
        "connection failed: server does not support SSL, but SSL was required",
        'connection failed: root certificate file "/home/u/.postgresql/root.crt" does not exist',
        'invalid sslmode value: "requir"',
    ],
)
def test_tls_messages_are_classified_tls(message: str) -> None:
    assert database._classify(message, None)[0] == "tls"


def test_a_missing_hba_entry_over_tls_is_still_access_not_tls() -> None:
    message = 'FATAL:  no pg_hba.conf entry for host "10.0.1.5", user "app", database "orders", SSL encryption'
    assert database._classify(message, None)[0] == "auth"


def test_connection_timeout_when_the_server_never_answers(postgres_server: ConnectionSettings) -> None:
    # A socket that accepts (the kernel completes the handshake) but never speaks.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings = dataclasses.replace(postgres_server, port=silent.getsockname()[1], connect_timeout=1)
        started = time.monotonic()
        result = check_connection(settings)

    assert result.status is Status.FAIL
    assert result.data["kind"] == "timeout"
    assert "security group" in result.next_step
    assert time.monotonic() - started < 10


def test_connection_failure_raised_by_other_functions_is_one_line(
    postgres_server: ConnectionSettings, tmp_path: Path
) -> None:
    settings = _wrong_password(postgres_server)
    with pytest.raises(DatabaseError) as raised:
        backup_table(settings, table="anything", out=tmp_path / "out.csv")

    error = raised.value
    assert error.kind == "auth"
    assert "\n" not in error.message
    assert error.__cause__ is None and error.__context__ is None
    assert_secret_absent("Wr0ng-Pa55word-xyz", error.message, error.hint)
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]


# ---------------------------------------------------------------- slow_queries


def test_slow_queries_pass_when_nothing_is_slow(postgres_server: ConnectionSettings) -> None:
    result = slow_queries(postgres_server, threshold_seconds=3600)

    assert result.name == "slow_queries"
    assert result.status is Status.PASS, result
    assert result.data["sessions"] == []


def test_slow_query_is_reported_with_its_pid(postgres_server: ConnectionSettings) -> None:
    statement = "SELECT pg_sleep(30) /* ALTER ROLE x PASSWORD 'hunter2' */"
    with background(postgres_server, statement) as pid:
        result = slow_session(postgres_server, pid)

    assert result.status is Status.WARN, result
    [session] = [s for s in result.data["sessions"] if s["pid"] == pid]
    assert session["state"] == "active"
    assert session["usename"] == postgres_server.user
    assert session["age_seconds"] >= 0.5
    assert session["blocked_by"] == []
    assert "pg_sleep(30)" in session["query"]
    assert "hunter2" not in session["query"]
    assert f"pid {pid} " in result.evidence
    assert "pg_cancel_backend" in result.next_step


def test_lock_wait_is_reported_with_the_blocking_pid(postgres_server: ConnectionSettings) -> None:
    make_table(postgres_server, "locked", [(1, "a")])
    holder = connect(postgres_server, autocommit=False)
    try:
        holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
        holder_pid = holder.info.backend_pid
        with background(postgres_server, "SELECT * FROM locked FOR UPDATE") as waiter_pid:
            wait_for(
                lambda: (row := activity(postgres_server, waiter_pid)) is not None and row[1] == "Lock",
                what="the second session to wait on the lock",
            )
            result = slow_session(postgres_server, waiter_pid)
            holder.rollback()  # releases the waiter, which then finishes on its own
    finally:
        holder.close()

    assert result.status is Status.FAIL, result
    sessions = {s["pid"]: s for s in result.data["sessions"]}
    assert sessions[waiter_pid]["blocked_by"] == [holder_pid]
    assert sessions[waiter_pid]["wait_event_type"] == "Lock"
    assert result.data["blocking_pids"] == [holder_pid]
    assert f"blocked by {holder_pid}" in result.evidence
    assert str(holder_pid) in result.next_step
    if holder_pid in sessions:  # idle in transaction since LOCK TABLE
        assert sessions[holder_pid]["state"] == "idle in transaction"


# ---------------------------------------------------------------- backup_table


def test_backup_matches_the_table(postgres_server: ConnectionSettings, tmp_path: Path) -> None:
    values = [SPECIAL_VALUES[i % len(SPECIAL_VALUES)] for i in range(3000)]
    rows = [(i, v if v is None or i % 2 else f"{v}#{i}") for i, v in enumerate(values)]
    make_table(postgres_server, "people", rows)
    out = tmp_path / "people.csv"
    progress: list[tuple[int, int]] = []

    result = backup_table(postgres_server, table="people", out=out, on_progress=lambda r, b: progress.append((r, b)))

    assert isinstance(result, BackupResult)
    assert result.rows == 3000
    assert result.path == out
    content = out.read_bytes()
    assert result.bytes == len(content)
    assert result.sha256 == hashlib.sha256(content).hexdigest()
    assert progress[-1] == (3000, len(content))
    assert [b for _, b in progress] == sorted(b for _, b in progress)

    header, *body = read_csv(out)
    assert header == ["id", "txt"]
    with connect(postgres_server) as conn:
        expected = [[str(i), "" if t is None else t] for i, t in conn.execute("SELECT id, txt FROM people ORDER BY id")]
    assert sorted(body, key=lambda r: int(r[0])) == expected
    assert any("\n" in t for _, t in body) and any("\r\n" in t for _, t in body)
    assert leftovers(tmp_path, {"home", "people.csv"}) == []


def test_backup_of_an_empty_table_has_only_the_header(postgres_server: ConnectionSettings, tmp_path: Path) -> None:
    make_table(postgres_server, "empty", [])

    result = backup_table(postgres_server, table="empty", out=tmp_path / "empty.csv")

    assert result.rows == 0
    assert (tmp_path / "empty.csv").read_text() == "id,txt\n"


def test_backup_with_schema_and_query(postgres_server: ConnectionSettings, tmp_path: Path) -> None:
    with connect(postgres_server) as conn:
        conn.execute("DROP SCHEMA IF EXISTS Sales CASCADE")
        conn.execute('CREATE SCHEMA "Sales"')
        conn.execute('CREATE TABLE "Sales"."Orders" AS SELECT n AS id FROM generate_series(1, 10) n')

    by_table = backup_table(postgres_server, table="Orders", schema="Sales", out=tmp_path / "orders.csv")
    by_query = backup_table(
        postgres_server,
        query='SELECT id FROM "Sales"."Orders" WHERE id <= 4 ORDER BY id;\n',
        out=tmp_path / "some.csv",
    )

    assert by_table.rows == 10
    assert by_query.rows == 4
    assert read_csv(tmp_path / "some.csv") == [["id"], ["1"], ["2"], ["3"], ["4"]]


def test_hostile_table_name_is_only_a_name(postgres_server: ConnectionSettings, tmp_path: Path) -> None:
    make_table(postgres_server, "y", [(1, "keep me")])
    make_table(postgres_server, "x; drop table y", [(1, "one"), (2, "two")])

    result = backup_table(postgres_server, table="x; drop table y", out=tmp_path / "x.csv")

    assert result.rows == 2
    assert read_csv(tmp_path / "x.csv") == [["id", "txt"], ["1", "one"], ["2", "two"]]
    assert table_exists(postgres_server, "y")


def test_missing_table_is_a_one_line_error(postgres_server: ConnectionSettings, tmp_path: Path) -> None:
    make_table(postgres_server, "y", [(1, "keep me")])
    out = tmp_path / "z.csv"

    with pytest.raises(DatabaseError) as raised:
        backup_table(postgres_server, table="z; drop table y", out=out)

    assert raised.value.message == 'table "z; drop table y" does not exist in tfgen_test'
    assert table_exists(postgres_server, "y")
    assert not out.exists()
    assert leftovers(tmp_path, {"home"}) == []


def test_permission_denied_is_a_database_error(postgres_server: ConnectionSettings, tmp_path: Path) -> None:
    make_table(postgres_server, "secret", [(1, "classified")])
    with connect(postgres_server) as conn:
        conn.execute(sql.SQL("REVOKE ALL ON secret FROM {}").format(sql.Identifier(postgres_server.user)))

    with pytest.raises(DatabaseError) as raised:
        backup_table(postgres_server, table="secret", out=tmp_path / "secret.csv")

    assert "permission denied for table secret" in raised.value.message
    assert raised.value.hint is not None and "GRANT" in raised.value.hint.upper()
    assert leftovers(tmp_path, {"home"}) == []


def test_backup_query_cannot_write(postgres_server: ConnectionSettings, tmp_path: Path) -> None:
    make_table(postgres_server, "y", [(1, "keep me")])

    with pytest.raises(DatabaseError) as raised:
        backup_table(postgres_server, query="DELETE FROM y RETURNING *", out=tmp_path / "y.csv")

    assert "read-only transaction" in raised.value.message
    with connect(postgres_server) as conn:
        assert conn.execute("SELECT count(*) FROM y").fetchone() == (1,)
    assert leftovers(tmp_path, {"home"}) == []


def test_missing_output_directory_fails_before_connecting(tmp_path: Path) -> None:
    nowhere = ConnectionSettings(host="127.0.0.1", port=free_port(), user="u", dbname="d")

    with pytest.raises(DatabaseError) as raised:
        backup_table(nowhere, table="t", out=tmp_path / "missing" / "t.csv")

    assert raised.value.message == f"output directory {tmp_path / 'missing'} does not exist"


@pytest.mark.parametrize("existing", [False, True], ids=["no-file", "existing-file"])
def test_query_failing_midway_leaves_nothing(
    postgres_server: ConnectionSettings, tmp_path: Path, existing: bool
) -> None:
    out = tmp_path / "half.csv"
    if existing:
        out.write_text("previous backup\n")

    with pytest.raises(DatabaseError) as raised:
        backup_table(postgres_server, query="SELECT 1/(n-5000) AS q FROM generate_series(1,10000) n", out=out)

    assert "division by zero" in raised.value.message
    if existing:
        assert out.read_text() == "previous backup\n"
    else:
        assert not out.exists()
    assert leftovers(tmp_path, {"home", "half.csv"}) == []


@pytest.mark.parametrize("existing", [False, True], ids=["no-file", "existing-file"])
def test_interrupted_backup_leaves_nothing(
    postgres_server: ConnectionSettings, tmp_path: Path, existing: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # progress is reported every _PROGRESS_SECONDS: with 0, after the first block, so the interrupt
    # comes mid-copy however fast the machine is (a quiet one copies the table within 0.5 s)
    monkeypatch.setattr(backup_module, "_PROGRESS_SECONDS", 0.0)
    out = tmp_path / "big.csv"
    if existing:
        out.write_text("previous backup\n")
    calls: list[tuple[int, int]] = []

    def interrupt(rows: int, size: int) -> None:
        calls.append((rows, size))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backup_table(
            postgres_server,
            query="SELECT n, repeat('x', 100) AS pad FROM generate_series(1, 300000) n",
            out=out,
            on_progress=interrupt,
        )

    assert len(calls) == 1 and 0 < calls[0][1] < 300000 * 100, calls
    if existing:
        assert out.read_text() == "previous backup\n"
    else:
        assert not out.exists()
    assert leftovers(tmp_path, {"home", "big.csv"}) == []
    wait_for(lambda: tfgen_sessions(postgres_server) == 0, what="the interrupted session to end")
