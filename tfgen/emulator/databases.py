"""Real PostgreSQL servers behind the emulator's Aurora PostgreSQL clusters.

:class:`Databases` runs one PostgreSQL server per cluster on a loopback address, in a
directory of its own under the emulator's data directory, and removes it with the cluster.
Every server is a copy of one template cluster (``initdb`` runs once per major and
emulator), listens on ``127.0.0.1`` (or another loopback address, see :meth:`Databases.create`),
serves TLS with a self-signed certificate, and admits its roles over TCP with a SCRAM
password only. Its superuser is ``rdsadmin``, as on RDS, reachable only through the Unix
socket in the server's own directory.

PostgreSQL refuses to run as root: under root every server program runs as the
``postgres`` system user. Without server binaries (or without that user, under root)
:func:`~tfgen.emulator.postgres.unavailable_reason` says why and the emulator's clusters stay API records.

A watchdog process (:data:`~tfgen.emulator.postgres.WATCHDOG`) holds a pipe from the emulator: when the emulator
dies, however (``kill -9`` included), the pipe closes and the watchdog shuts down every server
still running under the emulator's directory and removes it. ``PR_SET_PDEATHSIG`` cannot do
this: ``pg_ctl`` daemonizes the server, the signal follows the thread that started a child
(werkzeug serves each request in a thread that ends), and a change of user clears it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from tfgen.emulator.postgres import (
    ADDRESS_IN_USE,
    HBA,
    SETTINGS,
    SUPERUSER,
    SYSTEM_USER,
    WATCHDOG,
    Binaries,
    addresses,
    bindable,
    ident,
    password_literal,
    reachable,
    system_account,
    unavailable_reason,
    write_certificate,
)
from tfgen.errors import EmulatorError

__all__ = ["Databases", "Server"]


@dataclasses.dataclass
class Server:
    """One cluster's running server.

    Attributes:
        key: The emulator's name for it (unique per emulator).
        host: Loopback address it listens on.
        port: TCP port.
        directory: Its own directory: ``data/``, the Unix socket, ``server.log``.
        binaries: The installation it runs.
        running: False while stopped (a paused cluster).
        dbname: The cluster's database (``postgres`` when it named none).
    """

    key: str
    host: str
    port: int
    directory: Path
    binaries: Binaries
    running: bool = True
    dbname: str = "postgres"

    @property
    def data(self) -> Path:
        """The data directory (``PGDATA``)."""
        return self.directory / "data"


class Databases:
    """The emulator's PostgreSQL servers, under one directory of their own removed by :meth:`close`.

    Args:
        parent: The emulator's data directory; the servers get a fresh directory in it (in
            the system's temporary directory instead when the ``postgres`` user cannot
            reach it, or when None).
        binaries: From :func:`find_binaries`; must not be empty.
        log: Prints one line for the emulator's log.

    Raises:
        EmulatorError: If servers cannot run here (see :func:`unavailable_reason`) or the
            directory cannot be created.
    """

    def __init__(self, parent: Path | None, binaries: list[Binaries], log: Callable[[str], None]) -> None:
        reason = unavailable_reason(binaries)
        if reason is not None:
            raise EmulatorError(reason)
        self._binaries = binaries
        self._log = log
        self._account = system_account() if os.geteuid() == 0 else None
        self._lock = threading.Lock()
        self._servers: dict[str, Server] = {}
        self._templates: dict[int, Path] = {}
        self._warned: set[int] = set()
        self.root = self._make_root(parent)
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(self.root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def describe(self) -> str:
        """The installations in use, for the emulator's log and health document."""
        majors = ", ".join(f"PostgreSQL {b.major} ({b.bindir})" for b in self._binaries)
        return f"clusters get real servers: {majors}; their data under {self.root}"

    def binaries_for(self, major: int | None) -> Binaries:
        """The installation of ``major``, else the newest one (said once per major)."""
        for binaries in self._binaries:
            if binaries.major == major:
                return binaries
        chosen = self._binaries[-1]
        if major is not None and major not in self._warned:
            self._warned.add(major)
            self._log(
                f"PostgreSQL {major} server binaries are not installed: clusters of major {major} "
                f"run PostgreSQL {chosen.major} ({chosen.bindir})"
            )
        return chosen

    def create(self, key: str, *, major: int | None, port: int, user: str, password: str, dbname: str | None) -> Server:
        """Start a server for a new cluster, with its master user and database.

        It listens on ``port`` of ``127.0.0.1`` when that is free, else on the same port of
        another loopback address (``127.x.y.z``: the cluster keeps the port terraform asked
        for), else on a free port of ``127.0.0.1``.

        Raises:
            EmulatorError: If the server cannot be set up; nothing is left behind.
        """
        binaries = self.binaries_for(major)
        with self._lock:
            if key in self._servers:
                raise EmulatorError(f"a database server for {key} is running already")
            template = self._template(binaries)
            directory = Path(tempfile.mkdtemp(prefix=f"{_safe(key)}-", dir=self.root))
            try:
                shutil.copytree(template, directory / "data", symlinks=True)
                self._own(directory)
                server = self._start_new(key, directory, binaries, port)
            except BaseException:
                self._discard(directory)
                raise
            self._servers[key] = server
        try:
            with self._admin(server) as run:
                run(f"CREATE ROLE {ident(user)} LOGIN CREATEDB CREATEROLE PASSWORD {password_literal(password)}")
                run(f"GRANT pg_monitor, pg_signal_backend TO {ident(user)}")
                if dbname and dbname != "postgres":
                    run(f"CREATE DATABASE {ident(dbname)} OWNER {ident(user)}")
                    server.dbname = dbname
        except BaseException:
            self.remove(key)
            raise
        return server

    def set_password(self, key: str, user: str, password: str) -> None:
        """``ALTER ROLE user PASSWORD …`` on the server (a password change reaches the database).

        Raises:
            EmulatorError: If there is no such server or the statement fails.
        """
        server = self._server(key)
        with self._admin(server) as run:
            run(f"ALTER ROLE {ident(user)} PASSWORD {password_literal(password)}")

    def dump(self, key: str, name: str) -> Path | None:
        """A dump of the cluster's database (``pg_dump -Fc``) kept as ``name`` until :meth:`close`.

        Returns:
            The dump file, or None when the server is paused (no dump: a restore is empty).

        Raises:
            EmulatorError: If pg_dump fails.
        """
        server = self._server(key)
        if not server.running:
            return None
        dumps = self.root / "snapshots"
        dumps.mkdir(exist_ok=True)
        self._own(dumps)
        target = dumps / f"{_safe(name)}-{secrets.token_hex(4)}.dump"
        self._run(
            [
                str(server.binaries.bindir / "pg_dump"),
                *self._superuser(server),
                "-Fc",
                "-f",
                str(target),
                server.dbname,
            ],
            "pg_dump",
        )
        return target

    def restore(self, key: str, dump: Path) -> None:
        """Load a dump of :meth:`dump` into the cluster's database (a restore from a snapshot).

        Raises:
            EmulatorError: If pg_restore fails.
        """
        server = self._server(key)
        bindir = server.binaries.bindir
        self._run([str(bindir / "pg_restore"), *self._superuser(server), "-d", server.dbname, str(dump)], "pg_restore")

    @staticmethod
    def _superuser(server: Server) -> list[str]:
        return ["-h", str(server.directory), "-p", str(server.port), "-U", SUPERUSER]

    def pause(self, key: str) -> None:
        """Stop the server, keeping its data: connections are refused until :meth:`resume`."""
        server = self._server(key)
        if server.running:
            self._stop(server)
            server.running = False

    def resume(self, key: str) -> None:
        """Start a paused server again, on the same address and port.

        Raises:
            EmulatorError: If it cannot start.
        """
        server = self._server(key)
        if not server.running:
            self._pg_ctl_start(server.directory, server.binaries, server.host, server.port)
            server.running = True

    def remove(self, key: str) -> None:
        """Stop the server of a deleted cluster and remove its data; nothing if there is none."""
        with self._lock:
            server = self._servers.pop(key, None)
        if server is not None:
            self._stop(server)
            self._discard(server.directory)

    def close(self) -> None:
        """Stop every server, remove the directory, end the watchdog."""
        for key in self.server_keys():
            self.remove(key)
        self._discard(self.root)
        if self._watchdog.stdin is not None:
            self._watchdog.stdin.close()
        try:
            self._watchdog.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._watchdog.kill()
            self._watchdog.wait()

    def server_keys(self) -> list[str]:
        """The keys of the servers there are (running or paused)."""
        return list(self._servers)

    # ------------------------------------------------------------------ internals

    def _server(self, key: str) -> Server:
        server = self._servers.get(key)
        if server is None:
            raise EmulatorError(f"no database server for {key}")
        return server

    def _make_root(self, parent: Path | None) -> Path:
        if parent is not None and self._account is not None and not reachable(parent, self._account):
            self._log(
                f"{parent} is not reachable by the {SYSTEM_USER} user: the servers' data go to {tempfile.gettempdir()}"
            )
            parent = None
        try:
            if parent is not None:
                parent.mkdir(parents=True, exist_ok=True)
            root = Path(tempfile.mkdtemp(prefix="databases-", dir=parent))
        except OSError as exc:
            raise EmulatorError(f"cannot create the databases' directory: {exc.strerror or exc}") from exc
        self._own(root)
        return root

    def _template(self, binaries: Binaries) -> Path:
        """An initdb'ed data directory of ``binaries`` (once per emulator), configured and with a certificate."""
        template = self._templates.get(binaries.major)
        if template is not None:
            return template
        base = self.root / f"template-{binaries.major}"
        base.mkdir()
        self._own(base)
        data = base / "data"
        self._run(
            [
                str(binaries.bindir / "initdb"),
                "-D",
                str(data),
                f"--username={SUPERUSER}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            "initdb",
        )
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# tfgen emulator\n" + "".join(f"{name} = {value}\n" for name, value in SETTINGS.items()))
        (data / "pg_hba.conf").write_text(HBA, encoding="utf-8")
        write_certificate(data)
        self._own(base)
        self._templates[binaries.major] = data
        return data

    def _start_new(self, key: str, directory: Path, binaries: Binaries, port: int) -> Server:
        for host, candidate in addresses(port):
            if not bindable(host, candidate):
                continue
            try:
                self._pg_ctl_start(directory, binaries, host, candidate)
            except EmulatorError as error:
                if ADDRESS_IN_USE.search(str(error)):
                    continue  # taken between the check and the start, or no such address here
                raise
            return Server(key, host, candidate, directory, binaries)
        raise EmulatorError(f"no loopback address free for a PostgreSQL server of {key}")

    def _pg_ctl_start(self, directory: Path, binaries: Binaries, host: str, port: int) -> None:
        log = directory / "server.log"
        options = f"-c listen_addresses={host} -p {port} -k {directory}"
        argv = [str(binaries.bindir / "pg_ctl"), "-D", str(directory / "data"), "-l", str(log), "-o", options]
        try:
            self._run([*argv, "-w", "-t", "60", "start"], "pg_ctl start", cwd=directory)
        except EmulatorError as error:
            raise EmulatorError(f"{error}\n{_tail(log)}") from None

    def _stop(self, server: Server) -> None:
        if not server.running:
            return
        argv = [str(server.binaries.bindir / "pg_ctl"), "-D", str(server.data), "-m", "fast", "-w", "-t", "30", "stop"]
        with contextlib.suppress(EmulatorError):
            self._run(argv, "pg_ctl stop", cwd=server.directory)
        server.running = False

    @contextlib.contextmanager
    def _admin(self, server: Server) -> Iterator[Callable[[str], None]]:
        """Statements as the superuser through the server's Unix socket (errors never show a password)."""
        import psycopg

        try:
            with psycopg.connect(
                host=str(server.directory),
                port=server.port,
                user=SUPERUSER,
                dbname="postgres",
                autocommit=True,
                connect_timeout=30,
            ) as conn:

                def run(statement: str) -> None:
                    conn.execute(statement.encode())

                yield run
        except psycopg.Error as exc:
            message = (exc.diag.message_primary if exc.diag else None) or type(exc).__name__
            failure = EmulatorError(f"PostgreSQL server of {server.key}: {message}")
        else:
            return
        raise failure  # outside the except block: the statement (and its password) is not chained

    def _run(self, argv: list[str], what: str, *, cwd: Path | None = None) -> None:
        account = self._account
        env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
        done = subprocess.run(
            argv,
            cwd=cwd or self.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            start_new_session=True,  # the terminal's Ctrl-C goes to the emulator, which stops the servers
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()
            raise EmulatorError(f"{what} failed (exit {done.returncode}): {output[-1500:]}")

    def _own(self, path: Path) -> None:
        """Give ``path`` (and everything in it) to the servers' account; 0700 directories."""
        account = self._account
        for top, dirs, files in os.walk(path):
            os.chmod(top, 0o700)
            if account is not None:
                os.chown(top, account.pw_uid, account.pw_gid)
                for name in dirs + files:
                    os.chown(os.path.join(top, name), account.pw_uid, account.pw_gid, follow_symlinks=False)

    @staticmethod
    def _discard(directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:60]


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
