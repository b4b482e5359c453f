"""A real, throw-away PostgreSQL server for tests: the ``postgres_server`` fixture.

``running_postgres()`` initdb's a cluster in a fresh temporary directory (password
authentication over TCP: ``--auth-host=scram-sha-256``), starts it on a free port
of 127.0.0.1 with its Unix socket in that directory, creates a login role and a
database it owns, and yields :class:`ConnectionSettings` for them. However the
block ends, the server is stopped (``pg_ctl stop -m immediate``) and the directory
removed; if the test process dies first (a CI timeout's ``kill -9``), the emulator's
watchdog (:data:`tfgen.emulator.postgres.WATCHDOG`, holding a pipe from this process)
stops the server and removes the directory.

PostgreSQL refuses to run as root, so under root every server command runs as the
``postgres`` system user (``runuser -u postgres``); that user must exist. The
binaries are looked up on PATH, then in ``/usr/lib/postgresql/<version>/bin``.

Use it from any test module (or ``tests/conftest.py``)::

    from tests.pg import postgres_server  # noqa: F401

    def test_x(postgres_server: ConnectionSettings) -> None: ...
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfgen.emulator.postgres import WATCHDOG
from tfgen.ops.database import ConnectionSettings

__all__ = [
    "PostgresUnavailable",
    "find_binary",
    "free_port",
    "postgres_server",
    "running_postgres",
    "ssl_only_postgres_server",
]

HOST = "127.0.0.1"
SUPERUSER = "postgres"
TEST_USER = "tfgen_test"
TEST_DATABASE = "tfgen_test"
SYSTEM_USER = "postgres"
"""The unprivileged account the server runs as when the tests run as root."""

_START_ATTEMPTS = 3
# Tests want speed, not durability; the server is thrown away afterwards.
_SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40 -c shared_buffers=16MB"
)


class PostgresUnavailable(RuntimeError):
    """Raised when a test server cannot be set up: binaries, system user, initdb or start failed."""


def find_binary(name: str) -> str:
    """Absolute path of a PostgreSQL program (PATH first, then the newest /usr/lib/postgresql/*/bin).

    Raises:
        PostgresUnavailable: The program is nowhere to be found.
    """
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    raise PostgresUnavailable(
        f"PostgreSQL program {name!r} not found on PATH or in /usr/lib/postgresql/*/bin "
        "(install the server, e.g. apt-get install -y postgresql)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The account to run the server as: ``postgres`` under root, else ``None`` (ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and PostgreSQL refuses root: the system user {SYSTEM_USER!r} is needed to run "
            "the test server but does not exist (apt-get install -y postgresql creates it, or useradd --system postgres)"
        ) from None
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root: 'runuser' (util-linux) is needed to start PostgreSQL as postgres")
    return account


def _check_reachable(path: Path, account: pwd.struct_passwd) -> None:
    """Every ancestor of ``path`` must be searchable by ``account`` (pytest's root tmp dir is not)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH and parent.stat().st_uid != account.pw_uid:
            raise PostgresUnavailable(
                f"{parent} is not searchable by the {account.pw_name} user; point TMPDIR at a directory it can reach"
            )


def _command(argv: list[str], account: pwd.struct_passwd | None) -> list[str]:
    return ["runuser", "-u", account.pw_name, "--", *argv] if account else argv


def _run(argv: list[str], account: pwd.struct_passwd | None, what: str) -> None:
    done = subprocess.run(_command(argv, account), capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise PostgresUnavailable(f"{what} failed (exit {done.returncode}): {output[-2000:]}")


def _log_tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def _require_ssl(data: Path, account: pwd.struct_passwd | None) -> None:
    """A self-signed certificate, and a pg_hba.conf admitting TCP clients over TLS only (``hostssl``)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise PostgresUnavailable("a server that requires SSL needs the openssl program for its certificate")
    key, cert = data / "server.key", data / "server.crt"
    subj = ["-subj", f"/CN={HOST}", "-days", "2"]
    _run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), *subj],
        None,
        "openssl req",
    )
    key.chmod(0o600)
    (data / "pg_hba.conf").write_text(f"local all all trust\nhostssl all all {HOST}/32 scram-sha-256\n")
    if account is not None:
        for path in (key, cert, data / "pg_hba.conf"):
            os.chown(path, account.pw_uid, account.pw_gid)


@contextlib.contextmanager
def running_postgres(*, require_ssl: bool = False) -> Iterator[ConnectionSettings]:
    """Run a fresh PostgreSQL cluster for the duration of the block.

    Args:
        require_ssl: Serve TLS with a self-signed certificate and admit TCP clients
            only over it (``hostssl``), as Aurora does with ``rds.force_ssl = 1``.

    Yields:
        Settings for the test role (password authentication over TCP on 127.0.0.1)
        and its database; the role may create databases.

    Raises:
        PostgresUnavailable: Binaries, the system user, initdb or the start failed.
            Nothing is left behind in that case either.
    """
    import psycopg
    from psycopg import sql

    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    find_binary("postgres")
    account = _run_as()

    base = Path(tempfile.mkdtemp(prefix="tfgen-pg-"))
    # the watchdog stops servers at <its directory>/*/data: the data directory sits one level down
    data, log = base / "server" / "data", base / "server.log"
    started = False
    watchdog = subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, str(base)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C of the test run reaches the test, not the watchdog
    )
    try:
        os.chmod(base, 0o700)
        data.parent.mkdir(mode=0o700)
        if account is not None:
            _check_reachable(base, account)
            os.chown(base, account.pw_uid, account.pw_gid)
            os.chown(data.parent, account.pw_uid, account.pw_gid)
        superuser_password = secrets.token_urlsafe(18)
        pwfile = base / "pwfile"
        pwfile.write_text(superuser_password + "\n")
        pwfile.chmod(0o600)
        if account is not None:
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        _run(
            [
                initdb,
                "-D",
                str(data),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--username={SUPERUSER}",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            account,
            "initdb",
        )
        pwfile.unlink()
        if require_ssl:
            _require_ssl(data, account)
        ssl_option = " -c ssl=on" if require_ssl else ""

        port = 0
        for _attempt in range(_START_ATTEMPTS):
            port = free_port()
            options = f"-c listen_addresses={HOST} -p {port} -k {base} {_SERVER_OPTIONS}{ssl_option}"
            started = True  # from here on a (partly) started server must be stopped
            argv = [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
            done = subprocess.run(_command(argv, account), capture_output=True, text=True, check=False, timeout=90)
            if done.returncode == 0:
                break
            # Another process may have taken the port between free_port() and the bind: retry.
            if "Address already in use" not in _log_tail(log):
                raise PostgresUnavailable(f"pg_ctl start failed: {done.stderr.strip()}\n{_log_tail(log)}")
        else:
            raise PostgresUnavailable(f"pg_ctl start failed {_START_ATTEMPTS} times:\n{_log_tail(log)}")

        password = secrets.token_urlsafe(18)
        with psycopg.connect(host=str(base), port=port, user=SUPERUSER, dbname="postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(TEST_USER), sql.Literal(password)
                )
            )
            admin.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(TEST_DATABASE), sql.Identifier(TEST_USER))
            )
        yield ConnectionSettings(host=HOST, port=port, user=TEST_USER, dbname=TEST_DATABASE, password=password)
    finally:
        if started:
            subprocess.run(
                _command([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop"], account),
                capture_output=True,
                check=False,
                timeout=60,
            )
        shutil.rmtree(base, ignore_errors=True)
        assert watchdog.stdin is not None
        watchdog.stdin.close()  # nothing left to stop: it removes nothing that is still there
        watchdog.wait(timeout=60)


def _served(*, require_ssl: bool = False) -> Iterator[ConnectionSettings]:
    """A server for a fixture: PG* variables of the caller kept out; fails (never skips) when it cannot start."""
    # libpq reads PG* variables (PGSSLMODE, PGOPTIONS...) for anything not given explicitly.
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("PG")]:
            patch.delenv(name)
        try:
            with running_postgres(require_ssl=require_ssl) as settings:
                yield settings
        except PostgresUnavailable as error:
            pytest.fail(f"cannot start the test PostgreSQL server: {error}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ConnectionSettings]:
    """A PostgreSQL server for the whole test session; fails (never skips) when it cannot start.

    Yields:
        Settings of a login role with a password and a database it owns.
    """
    yield from _served()


@pytest.fixture(scope="session")
def ssl_only_postgres_server() -> Iterator[ConnectionSettings]:
    """A second server that admits TCP clients over TLS only (pg_hba ``hostssl``), as ``rds.force_ssl`` does.

    Yields:
        Settings as :func:`postgres_server`'s, ``sslmode`` unset (libpq's default, prefer).
    """
    yield from _served(require_ssl=True)
