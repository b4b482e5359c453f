"""Talking to the cluster's PostgreSQL: the runbook's database checks and ``tfgen backup``.

* :func:`check_connection` logs in and runs ``SELECT 1``; a failure is classified
  (``dns``, ``refused``, ``timeout``, ``auth``, ``database_missing``, ``other``) and
  answered with the runbook's next step.
* :func:`slow_queries` lists the sessions that have been busy for longer than a
  threshold, with the sessions blocking them.
* :func:`backup_table` streams a table (or the operator's query) to a CSV file with
  ``COPY ... TO STDOUT``; the file appears at its final path only once it is complete.

psycopg is imported inside the functions only, so importing this module (and so
``tfgen render``) never loads it. Passwords never reach a message: errors from the
driver are scrubbed and connection failures are raised without their cause.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from tfgen.errors import TfgenError
from tfgen.ops.results import CheckResult, Status, shorten

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "BackupResult",
    "ConnectionSettings",
    "DatabaseError",
    "FailureKind",
    "backup_table",
    "check_connection",
    "slow_queries",
]

FailureKind = Literal["dns", "refused", "timeout", "auth", "database_missing", "other"]
"""Why a connection failed, as reported by :func:`check_connection`."""

APPLICATION_NAME = "tfgen"
"""``application_name`` of every session tfgen opens (visible in ``pg_stat_activity``)."""

_CHECK_STATEMENT_TIMEOUT_MS = 10_000
_PROGRESS_BYTES = 256 * 1024
_PROGRESS_SECONDS = 0.5
_WRITE_BUFFER = 1024 * 1024
_QUERY_DATA_CHARS = 200
_QUERY_EVIDENCE_CHARS = 40
_EVIDENCE_SESSIONS = 3

# Checked in order: the first pattern found in the driver's message names the failure.
_FAILURE_PATTERNS: tuple[tuple[FailureKind, re.Pattern[str]], ...] = (
    (
        "dns",
        re.compile(
            r"failed to resolve host|could not translate host name|Name or service not known"
            r"|nodename nor servname|Temporary failure in name resolution|No address associated",
            re.IGNORECASE,
        ),
    ),
    ("refused", re.compile(r"Connection refused", re.IGNORECASE)),
    ("timeout", re.compile(r"timeout expired|timed out", re.IGNORECASE)),
    ("database_missing", re.compile(r'database ".*" does not exist', re.IGNORECASE)),
    (
        "auth",
        re.compile(
            r"authentication failed|no pg_hba\.conf entry|pg_hba\.conf rejects|role \".*\" does not exist"
            r"|no password supplied|not permitted to log in|SCRAM|password",
            re.IGNORECASE,
        ),
    ),
)
_CONNECTION_PREFIX = re.compile(r"^(connection failed|connection is bad):\s*", re.IGNORECASE)
_PASSWORD_LITERAL = re.compile(r"(PASSWORD\s+)'(?:[^']|'')*'", re.IGNORECASE)


class DatabaseError(TfgenError):
    """Raised when tfgen cannot do its work on the database.

    That is: the connection fails (unresolvable host, nothing listening, timeout,
    bad credentials, unknown database), a table or query is wrong (missing table,
    permission denied, SQL error, a query that writes), or the backup file cannot be
    written (missing output directory, disk full). The message is one line and never
    contains the password.

    Attributes:
        kind: For connection failures, why it failed (see :data:`FailureKind`);
            ``None`` for every other error.
    """

    def __init__(self, message: str, hint: str | None = None, *, kind: FailureKind | None = None) -> None:
        super().__init__(message, hint)
        self.kind = kind


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and as whom to connect; the CLI builds it from options and the environment.

    Attributes:
        host: Host name or address (e.g. the cluster's writer endpoint), or the
            directory of a Unix socket.
        port: TCP port.
        user: Role to log in as.
        dbname: Database to connect to.
        password: Password, or ``None`` to let libpq look (``PGPASSWORD``,
            ``~/.pgpass``). Never shown in ``repr`` or any message.
        sslmode: libpq ``sslmode`` (``require``, ``verify-full``…), or ``None`` for
            libpq's default.
        connect_timeout: Seconds to wait for a connection (libpq rounds values below
            2 up to 2).
    """

    host: str
    port: int
    user: str
    dbname: str
    password: str | None = field(default=None, repr=False)
    sslmode: str | None = None
    connect_timeout: int = 5

    @property
    def target(self) -> str:
        """``user@host:port/dbname``, for messages."""
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"


@dataclass(frozen=True)
class BackupResult:
    """A completed backup.

    Attributes:
        rows: Rows written (from the ``COPY`` command's status, not counted lines, so
            values with embedded newlines count once).
        bytes: Size of the file, header included.
        sha256: Hex SHA-256 of the file.
        path: Where the file is.
    """

    rows: int
    bytes: int
    sha256: str
    path: Path


def check_connection(settings: ConnectionSettings) -> CheckResult:
    """Log in and run ``SELECT 1``: the runbook's first check.

    Args:
        settings: Where to connect.

    Returns:
        A ``connection`` result: PASS with the server version and latencies, or FAIL
        naming the failure class (``data["kind"]``) with the runbook's next step.
    """
    started = time.monotonic()
    try:
        conn = _connect(settings, autocommit=True)
    except DatabaseError as error:
        kind = error.kind or "other"
        return CheckResult(
            name="connection",
            status=Status.FAIL,
            evidence=f"{kind}: {error.message}",
            next_step=_connection_next_step(kind, settings),
            data={"kind": kind, "target": settings.target, "reason": error.message},
        )
    connected = time.monotonic()
    try:
        with conn:
            query_started = time.monotonic()
            conn.execute("SELECT 1").fetchone()
            query_ms = (time.monotonic() - query_started) * 1000
            version = _server_version(conn.info.server_version)
    except _psycopg_errors() as error:
        reason = _one_line(str(error), settings.password)
        return CheckResult(
            name="connection",
            status=Status.FAIL,
            evidence=f"other: logged in but SELECT 1 failed: {reason}",
            next_step=_connection_next_step("other", settings),
            data={"kind": "other", "target": settings.target, "reason": reason},
        )
    connect_ms = (connected - started) * 1000
    return CheckResult(
        name="connection",
        status=Status.PASS,
        evidence=f"PostgreSQL {version} at {settings.target}; connect {connect_ms:.0f} ms, SELECT 1 {query_ms:.1f} ms",
        data={
            "target": settings.target,
            "server_version": version,
            "connect_ms": round(connect_ms, 1),
            "latency_ms": round(query_ms, 2),
        },
    )


def slow_queries(settings: ConnectionSettings, threshold_seconds: float = 300) -> CheckResult:
    """Client sessions busy for longer than ``threshold_seconds``, and who blocks them.

    A session counts when its state is not ``idle`` (``active``, ``idle in
    transaction``…) and its current or last statement started more than the
    threshold ago; this check's own session, replication and background workers
    are left out.

    Status: FAIL when one of them is waiting on a lock held by another session
    (the application is stuck behind it), WARN when some are merely slow or idle
    in a transaction, PASS when there are none. When the role cannot see other
    roles' sessions (it lacks ``pg_read_all_stats``), a would-be PASS is a WARN:
    the check cannot vouch for what it cannot see.

    Args:
        settings: Where to connect.
        threshold_seconds: Age above which a session is reported.

    Returns:
        A ``slow_queries`` result; ``data["sessions"]`` lists every session found
        (pid, usename, state, age_seconds, blocked_by, wait_event, query shortened to
        200 characters) and ``data["blocking_pids"]`` the sessions at the head of a
        lock queue.

    Raises:
        DatabaseError: The connection or the query fails.
    """
    with _connect(settings, autocommit=True) as conn:
        try:
            conn.execute(f"SET statement_timeout = {_CHECK_STATEMENT_TIMEOUT_MS}")
            rows = conn.execute(
                """
                SELECT pid, usename, state,
                       EXTRACT(EPOCH FROM clock_timestamp() - query_start)::float8 AS age,
                       pg_blocking_pids(pid) AS blocked_by,
                       wait_event_type, wait_event, query
                FROM pg_stat_activity
                WHERE backend_type = 'client backend'
                  AND pid <> pg_backend_pid()
                  AND state IS NOT NULL AND state <> 'idle'
                  AND query_start IS NOT NULL
                  AND clock_timestamp() - query_start > make_interval(secs => %s)
                ORDER BY query_start, pid
                """,
                (float(threshold_seconds),),
            ).fetchall()
            hidden_row = conn.execute(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND state IS NULL
                """
            ).fetchone()
        except _psycopg_errors() as error:
            raise DatabaseError(
                f"could not read pg_stat_activity on {settings.target}: {_one_line(str(error), settings.password)}"
            ) from error
    hidden = int(hidden_row[0]) if hidden_row else 0
    sessions = [
        {
            "pid": int(pid),
            "usename": usename,
            "state": state,
            "age_seconds": round(float(age), 1),
            "blocked_by": sorted(int(p) for p in blocked_by or []),
            "wait_event_type": wait_event_type,
            "wait_event": wait_event,
            "query": shorten(_redact(query or ""), _QUERY_DATA_CHARS),
        }
        for pid, usename, state, age, blocked_by, wait_event_type, wait_event, query in rows
    ]
    blocked = [s for s in sessions if s["blocked_by"]]
    blocked_pids = {s["pid"] for s in blocked}
    blocking = sorted({p for s in blocked for p in s["blocked_by"]} - blocked_pids)
    data: dict[str, Any] = {
        "threshold_seconds": threshold_seconds,
        "sessions": sessions,
        "blocking_pids": blocking,
        "hidden_sessions": hidden,
    }
    hidden_note = (
        f"; {hidden} other sessions not visible to {settings.user} (needs pg_read_all_stats)" if hidden else ""
    )
    if not sessions:
        if hidden:
            return CheckResult(
                name="slow_queries",
                status=Status.WARN,
                evidence=f"none of the visible sessions busy over {threshold_seconds:g}s{hidden_note}",
                next_step=f"run the check as a role with pg_read_all_stats (GRANT pg_read_all_stats TO {settings.user})",
                data=data,
            )
        return CheckResult(
            name="slow_queries",
            status=Status.PASS,
            evidence=f"no session busy over {threshold_seconds:g}s",
            data=data,
        )
    listed = "; ".join(_describe_session(s) for s in sessions[:_EVIDENCE_SESSIONS])
    more = f"; +{len(sessions) - _EVIDENCE_SESSIONS} more" if len(sessions) > _EVIDENCE_SESSIONS else ""
    evidence = f"{len(sessions)} sessions busy over {threshold_seconds:g}s: {listed}{more}{hidden_note}"
    if blocked:
        heads = ", ".join(str(p) for p in blocking)
        return CheckResult(
            name="slow_queries",
            status=Status.FAIL,
            evidence=evidence,
            next_step=(
                f"{len(blocked)} sessions wait on locks held by pid {heads}: ask its owner, then end it with "
                f"SELECT pg_terminate_backend(pid)"
            ),
            data=data,
        )
    return CheckResult(
        name="slow_queries",
        status=Status.WARN,
        evidence=evidence,
        next_step=(
            "check with the query's owner; cancel with SELECT pg_cancel_backend(pid) "
            "(pg_terminate_backend if it does not stop, or for an idle transaction)"
        ),
        data=data,
    )


def backup_table(
    settings: ConnectionSettings,
    *,
    table: str | None = None,
    schema: str | None = None,
    query: str | None = None,
    out: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> BackupResult:
    """Stream a table, or the operator's query, to a CSV file with a header row.

    Runs ``COPY (SELECT * FROM "schema"."table") TO STDOUT WITH (FORMAT csv, HEADER)``
    (or ``COPY (<query>) ...``) in a read-only transaction, writing to a temporary
    file next to ``out`` (mode 0600: backups hold data). Only when every row has
    arrived is the file fsynced and renamed to ``out``; on any error or
    KeyboardInterrupt the temporary file is removed, nothing new exists at ``out``
    and a file already there is left as it was. A complete backup replaces it.

    Args:
        settings: Where to connect.
        table: Table to dump, quoted as one identifier (a name such as
            ``x; drop table y`` is only a name). With ``query`` it only labels messages.
        schema: The table's schema; ``None`` follows the ``search_path``.
        query: The operator's own ``SELECT`` to dump instead of the table (a trailing
            semicolon is allowed). It runs read-only: a query that writes fails.
        out: File to write; its directory must exist.
        on_progress: Called now and then with ``(rows, bytes)`` so far, and once at
            the end with the exact totals. Until the end ``rows`` is an estimate (line
            count: a value with an embedded newline counts twice).

    Returns:
        The rows and bytes written, the file's SHA-256 and its path.

    Raises:
        DatabaseError: The connection fails, the table does not exist, permission is
            denied, the query fails, or the file cannot be written.
        KeyboardInterrupt: Passed on after cleaning up.
    """
    from psycopg import sql

    if query is not None and query.strip().rstrip(";").strip():
        source: sql.Composable = sql.SQL(query.strip().rstrip(";").strip())
        label = f"query {shorten(query, 60)!r}"
    elif query is not None:
        raise DatabaseError("the backup query is empty")
    elif table:
        name = sql.Identifier(schema, table) if schema else sql.Identifier(table)
        source = sql.SQL("SELECT * FROM {}").format(name)
        label = f'table "{schema}.{table}"' if schema else f'table "{table}"'
    else:
        raise DatabaseError("nothing to back up: give a table or a query")
    statement = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(source)

    out = Path(out)
    directory = out.parent
    if not directory.is_dir():
        raise DatabaseError(f"output directory {directory} does not exist", hint="create it, or choose another --out")
    if out.is_dir():
        raise DatabaseError(f"{out} is a directory", hint="give a file name to write the backup to")

    with _connect(settings, autocommit=False) as conn:
        conn.read_only = True
        with _temporary_file(directory, out.name) as (tmp_path, handle):
            digest = hashlib.sha256()
            size = 0
            lines = 0
            reported_bytes = 0
            reported_at = time.monotonic()
            try:
                with conn.cursor() as cur:
                    with cur.copy(statement) as copy:
                        for chunk in copy:
                            handle.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
                            lines += bytes(chunk).count(b"\n")
                            if on_progress is not None and (
                                size - reported_bytes >= _PROGRESS_BYTES
                                or time.monotonic() - reported_at >= _PROGRESS_SECONDS
                            ):
                                on_progress(max(lines - 1, 0), size)
                                reported_bytes, reported_at = size, time.monotonic()
                    rows = max(cur.rowcount, 0)
                conn.rollback()
            except _psycopg_errors() as error:
                raise _backup_error(error, label, table if query is None else None, settings) from error
            except OSError as error:
                raise DatabaseError(f"could not write {tmp_path}: {error.strerror or error}") from error
            try:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                os.replace(tmp_path, out)
            except OSError as error:
                raise DatabaseError(f"could not write {out}: {error.strerror or error}") from error
    _fsync_directory(directory)
    if on_progress is not None:
        on_progress(rows, size)
    return BackupResult(rows=rows, bytes=size, sha256=digest.hexdigest(), path=out)


def _connect(settings: ConnectionSettings, *, autocommit: bool) -> psycopg.Connection[tuple[Any, ...]]:
    """Open a session, or raise a :class:`DatabaseError` whose ``kind`` says why not."""
    import psycopg

    params: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "user": settings.user,
        "dbname": settings.dbname,
        "connect_timeout": settings.connect_timeout,
        "application_name": APPLICATION_NAME,
    }
    if settings.password is not None:
        params["password"] = settings.password
    if settings.sslmode is not None:
        params["sslmode"] = settings.sslmode
    try:
        return psycopg.connect(autocommit=autocommit, **params)
    except psycopg.Error as error:
        kind, reason = _classify(str(error), settings.password)
        failure = DatabaseError(f"cannot connect to {settings.target}: {reason}", kind=kind)
    # Raised outside the except block: the driver's exception (and its conninfo) is not chained.
    raise failure


def _classify(message: str, password: str | None) -> tuple[FailureKind, str]:
    """The failure class of a driver message, and its most telling line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for kind, pattern in _FAILURE_PATTERNS:
        for line in lines:
            if pattern.search(line):
                return kind, _one_line(line, password)
    return "other", _one_line(message, password)


def _one_line(message: str, password: str | None) -> str:
    """The first line of a driver message, without the password, cut to a readable length."""
    first = next((line.strip() for line in message.splitlines() if line.strip()), "unknown error")
    first = _CONNECTION_PREFIX.sub("", first)
    # The message's "connection to server at ..., port ... failed:" repeats the target named around it.
    first = re.sub(r"^(- host: .*?: )?connection to server (at|on) .*? failed:\s*", "", first)
    if password:
        first = first.replace(password, "***")
    return shorten(first, 200)


def _connection_next_step(kind: FailureKind, settings: ConnectionSettings) -> str:
    """The runbook's advice for a failed connection."""
    where = f"{settings.host}:{settings.port}"
    steps: dict[FailureKind, str] = {
        "dns": (
            f"{settings.host} does not resolve: use the module's `endpoint` output (terraform output endpoint); "
            "a private endpoint resolves only inside the VPC (VPN or bastion)"
        ),
        "refused": (
            f"nothing listens on {where}: check the port against the `port` output and that the cluster "
            "is available (not stopped), then that the security group (`security_group_id`) lets this client in"
        ),
        "timeout": (
            f"no answer from {where} within {settings.connect_timeout}s: check the security group "
            "(`security_group_id`) allows inbound TCP on the port from this client, and the route/VPN to the VPC; "
            "a cluster resuming from auto-pause may need a longer --connect-timeout"
        ),
        "auth": (
            f"check the user ({settings.user}) and password: the `password_location` output says where the "
            "master password lives (it may have been rotated), and the role must be allowed to log in"
        ),
        "database_missing": (
            f"database {settings.dbname!r} does not exist: use the `database_name` output, or connect to "
            "'postgres' and list databases with \\l"
        ),
        "other": "check host, port, sslmode and credentials, then the cluster's PostgreSQL log",
    }
    return steps[kind]


def _backup_error(error: Exception, label: str, table: str | None, settings: ConnectionSettings) -> DatabaseError:
    """A one-line :class:`DatabaseError` for a failed ``COPY``."""
    from psycopg import errors

    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(error)
    reason = _one_line(primary, settings.password)
    if isinstance(error, errors.UndefinedTable) and table is not None:
        return DatabaseError(f"{label} does not exist in {settings.dbname}", hint="check the name and --schema")
    if isinstance(error, errors.InsufficientPrivilege):
        return DatabaseError(
            f"cannot back up {label}: {reason}", hint=f"grant SELECT on it to {settings.user}, or use another role"
        )
    if isinstance(error, errors.ReadOnlySqlTransaction):
        return DatabaseError(f"cannot back up {label}: {reason}", hint="a backup query must only read (SELECT)")
    return DatabaseError(f"backup of {label} failed: {reason}")


@contextlib.contextmanager
def _temporary_file(directory: Path, name: str) -> Iterator[tuple[Path, BinaryIO]]:
    """A hidden temporary file in ``directory``, removed on the way out unless renamed away."""
    try:
        fd, raw = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    except OSError as error:
        raise DatabaseError(f"cannot create a file in {directory}: {error.strerror or error}") from error
    path = Path(raw)
    try:
        with os.fdopen(fd, "wb", buffering=_WRITE_BUFFER) as handle:
            yield path, handle
    finally:
        # After a successful os.replace the path is gone; otherwise the partial file must go.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _describe_session(session: dict[str, Any]) -> str:
    """One compact evidence item: pid, user, state, age, blockers, query."""
    blocked = f" blocked by {','.join(str(p) for p in session['blocked_by'])}" if session["blocked_by"] else ""
    query = shorten(session["query"], _QUERY_EVIDENCE_CHARS)
    return (
        f"pid {session['pid']} {session['usename']} {session['state']} {session['age_seconds']:.0f}s{blocked} {query!r}"
    )


def _redact(query: str) -> str:
    """The query text with ``PASSWORD '...'`` literals masked (``ALTER ROLE`` may be what is slow)."""
    return _PASSWORD_LITERAL.sub(r"\1'***'", query)


def _server_version(number: int) -> str:
    """``150018`` as ``15.18`` (the numbering since PostgreSQL 10)."""
    return f"{number // 10000}.{number % 10000}"


def _psycopg_errors() -> type[Exception]:
    """psycopg's base exception, imported only when a database function runs."""
    import psycopg

    return psycopg.Error
