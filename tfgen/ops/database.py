"""Talking to the cluster's PostgreSQL: the runbook's database checks and ``tfgen backup``.

* :func:`check_connection` logs in and runs ``SELECT 1``; a failure is classified
  (``dns``, ``refused``, ``timeout``, ``tls``, ``auth``, ``database_missing``, ``other``) and
  answered with the runbook's next step.
* :func:`slow_queries` lists the sessions that have been busy for longer than a
  threshold, with the sessions blocking them.

``tfgen backup`` (:mod:`tfgen.ops.backup`) connects through :func:`connect`.

psycopg is imported inside the functions only, so importing this module (and so
``tfgen render``) never loads it. Passwords never reach a message: errors from the
driver are scrubbed and connection failures are raised without their cause.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tfgen.errors import TfgenError
from tfgen.ops.results import CheckResult, Status, shorten

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "ConnectionSettings",
    "DatabaseError",
    "FailureKind",
    "check_connection",
    "slow_queries",
]

FailureKind = Literal["dns", "refused", "timeout", "tls", "auth", "database_missing", "other"]
"""Why a connection failed, as reported by :func:`check_connection`."""

APPLICATION_NAME = "tfgen"
"""``application_name`` of every session tfgen opens (visible in ``pg_stat_activity``)."""

_CHECK_STATEMENT_TIMEOUT_MS = 10_000
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
    # Before "auth": a server that admits only encrypted connections (Aurora's rds.force_ssl, pg_hba
    # hostssl) answers an unencrypted one with "no pg_hba.conf entry ... no encryption", which is
    # not a password problem; the others are libpq's own sslmode and certificate failures.
    (
        "tls",
        re.compile(
            r"no pg_hba\.conf entry .*no encryption|SSL connection is required|SSL required"
            r"|server does not support SSL|root certificate file .* does not exist|certificate verify failed"
            r"|server certificate for .* does not match|invalid sslmode|SSL error|SSL SYSCALL",
            re.IGNORECASE,
        ),
    ),
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
    encryption required or unavailable, bad credentials, unknown database), a table or query is wrong (missing table,
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
        conn = connect(settings, autocommit=True)
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
    except psycopg_errors() as error:
        reason = one_line(str(error), settings.password)
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
    with connect(settings, autocommit=True) as conn:
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
        except psycopg_errors() as error:
            raise DatabaseError(
                f"could not read pg_stat_activity on {settings.target}: {one_line(str(error), settings.password)}"
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


def connect(settings: ConnectionSettings, *, autocommit: bool) -> psycopg.Connection[tuple[Any, ...]]:
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
                return kind, one_line(line, password)
    return "other", one_line(message, password)


def one_line(message: str, password: str | None) -> str:
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
        "tls": (
            "a TLS problem, not a password one: Aurora PostgreSQL accepts encrypted connections (and with "
            f"rds.force_ssl only those): connect with sslmode=require (PGSSLMODE=require; now {settings.sslmode or 'unset'}), "
            "or verify-full with sslrootcert= the RDS CA bundle (global-bundle.pem) to check the server too"
        ),
        "database_missing": (
            f"database {settings.dbname!r} does not exist: use the `database_name` output, or connect to "
            "'postgres' and list databases with \\l"
        ),
        "other": "check host, port, sslmode and credentials, then the cluster's PostgreSQL log",
    }
    return steps[kind]


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


def psycopg_errors() -> type[Exception]:
    """psycopg's base exception, imported only when a database function runs."""
    import psycopg

    return psycopg.Error
