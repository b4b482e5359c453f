"""The local AWS emulator's server: moto on 127.0.0.1, for ``--local`` and ``tfgen emulator``.

``--local`` points the aws provider at a moto server on loopback instead of real AWS.
The server is, in order of preference:

1. the URL given with ``--endpoint`` (nothing is started),
2. the persistent background server recorded in ``<base>/.tfgen/emulator.json``
   (started by ``tfgen emulator start``, see :mod:`tfgen.emulator.background`), when it
   is running,
3. an in-process server on a free ``127.0.0.1`` port, stopped when the command ends.

Every server started here has :func:`~tfgen.emulator.fixes.apply_moto_fixes` applied and
answers tfgen's health route besides moto's API. ``python -m tfgen.emulator.server serve``
is the body of the background process. moto and werkzeug are imported inside functions
only, so importing this module is cheap and has no side effects.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tfgen.emulator.background import EXIT_ADDRESS_IN_USE, status
from tfgen.emulator.backing import attach, detach, release_all
from tfgen.emulator.databases import Databases
from tfgen.emulator.dispatch import TRACE_VARIABLE, action, serialised
from tfgen.emulator.dispatch import log as _log
from tfgen.emulator.endpoint import (
    HEALTH_PATH,
    HEALTH_SERVICE,
    HOST,
    RESET_PATH,
    check_endpoint,
    check_reachable,
    health,
    require_moto,
    reset,
    wait_until,
)
from tfgen.emulator.events import EVENTS_PATH
from tfgen.emulator.fixes import apply_moto_fixes
from tfgen.emulator.postgres import find_binaries, unavailable_reason
from tfgen.errors import EmulatorError

if TYPE_CHECKING:
    from types import FrameType, TracebackType
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from werkzeug.serving import BaseWSGIServer

__all__ = ["Emulator", "main", "reset_moto", "running_emulator", "serve"]


# ------------------------------------------------------------------------- the server


def _make_server(
    host: str, port: int, *, fixes: bool = True, databases: tuple[bool, str] = (False, ""), logged: bool = False
) -> BaseWSGIServer:
    """Build (bind, not start) a threaded moto WSGI server with tfgen's routes.

    ``logged``: the server writes to a log of its own (the background process), so it notes a
    client that went away before its answer and, with ``TFGEN_EMULATOR_TRACE=1``, every request.
    An in-process server (``--local`` without a background emulator) writes nothing: its
    standard error is the user's terminal.

    ``databases`` says whether real databases back its clusters, and which or why not (for
    the health document).
    """
    require_moto()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    applied = apply_moto_fixes() if fixes else ()

    class QuietHandler(MotoRequestHandler):
        """moto's handler without one log line per request."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

        def connection_dropped(self, error: BaseException, environ: WSGIEnvironment | None = None) -> None:
            # a client that went away before its answer: rare, and the first thing to look for when
            # an apply finds a resource "already exists" (its SDK retried a request AWS had done)
            if logged:
                _log(f"connection dropped: {action(environ or {})}: {error!r}")

    app = _with_tfgen_routes(DomainDispatcherApplication(create_backend_app), applied, databases, logged)
    return make_server(host, port, app, threaded=True, request_handler=QuietHandler)


def _with_tfgen_routes(
    app: WSGIApplication, fixes: tuple[str, ...], databases: tuple[bool, str], logged: bool = False
) -> WSGIApplication:
    """Answer ``GET /_tfgen/health`` with who is serving, ``POST /_tfgen/reset`` with
    :func:`reset_moto` and ``POST /_tfgen/events/<event>`` with a lifecycle event
    (:mod:`tfgen.emulator.lifecycle`); pass the rest to moto. All but the health route run
    one at a time (:func:`tfgen.emulator.dispatch.serialised`).
    """
    import moto

    body = json.dumps(
        {
            "service": HEALTH_SERVICE,
            "pid": os.getpid(),
            "moto": moto.__version__,
            "fixes": list(fixes),
            "databases": {"enabled": databases[0], "detail": databases[1]},
        }
    ).encode()

    def routes(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        route = (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        if route == ("POST", RESET_PATH):
            reset_moto()
            return _json(start_response, b"{}")
        path = str(route[1] or "")
        if route[0] == "POST" and path.startswith(EVENTS_PATH):
            return _lifecycle_event(environ, start_response, path.removeprefix(EVENTS_PATH))
        return app(environ, start_response)

    serialised_routes = serialised(routes, logged=logged, trace=logged and os.environ.get(TRACE_VARIABLE) == "1")

    def tfgen_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")) == ("GET", HEALTH_PATH):
            return _json(start_response, body)  # answered while a long request runs
        return serialised_routes(environ, start_response)

    return tfgen_app


def _lifecycle_event(environ: WSGIEnvironment, start_response: StartResponse, event: str) -> list[bytes]:
    """Run a lifecycle event with the request's JSON object as its arguments; 400 with the reason if refused."""
    from tfgen.emulator.lifecycle import run_event

    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        arguments = json.loads(environ["wsgi.input"].read(size) or b"{}") if size else {}
        if not isinstance(arguments, dict):
            raise EmulatorError("the arguments of an event are a JSON object")
        state = run_event(event, arguments)
    except (EmulatorError, ValueError) as exc:
        return _json(start_response, json.dumps({"error": str(exc)}).encode(), "400 Bad Request")
    return _json(start_response, json.dumps(state).encode())


def _json(start_response: StartResponse, body: bytes, status: str = "200 OK") -> list[bytes]:
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def reset_moto() -> None:
    """Empty moto's in-process state, as ``POST /moto-api/reset`` does, at a fraction of its cost.

    moto's reset re-creates every backend in use in place (so that a stale reference sees
    an empty one), then drops them all; the next request creates each backend again.
    Creating the IAM backend loads AWS's managed policies and creating an EC2 backend
    loads the public AMIs, so this costs a second or more per test. Here the backends
    whose class keeps moto's plain ``reset`` are dropped without being re-created first;
    the few that override it to release something outside themselves (S3 frees its
    bucket names and closes its files, Batch stops its job threads) are left to moto's
    reset, which then runs as usual. The result is the same: every backend is created
    anew, empty, on its next request (the server keeps no backend between requests, so
    none is left holding a dropped one).
    """
    from moto.core.base_backend import BackendDict, BaseBackend, backend_lock
    from moto.moto_api._internal.models import moto_api_backend

    release_all()  # the clusters' servers go with the clusters
    with backend_lock:
        for backends in BackendDict._instances:  # type: ignore[misc]
            for account in backends.values():
                for region, backend in list(account.items()):
                    if type(backend).reset is BaseBackend.reset:
                        del account[region]
        moto_api_backend.reset()


def open_databases(data_dir: Path | None) -> tuple[bool, str]:
    """Back the emulator's Aurora PostgreSQL clusters with real servers when this machine can run them.

    Args:
        data_dir: The emulator's own directory (the servers' data go under it).

    Returns:
        Whether real databases back the clusters, and one line for the log and the health
        document: which, or why not.

    Raises:
        EmulatorError: If the servers' directory cannot be created.
    """
    binaries = find_binaries()
    reason = unavailable_reason(binaries)
    if reason is not None:
        return False, f"clusters are API records only (no database to connect to): {reason}"
    databases = Databases(data_dir, binaries, _log)
    attach(databases)
    return True, databases.describe()


class Emulator:
    """An in-process moto server on a free ``127.0.0.1`` port, fixes applied.

    Use as a context manager (``with Emulator() as url:``) or call :meth:`start` and
    :meth:`stop`. moto keeps its state per process, so by default :meth:`start`
    resets it: the server begins empty, like a fresh AWS account.

    Args:
        port: Port to listen on; 0 picks a free one.
        reset: Whether :meth:`start` clears moto's in-process state.
        timeout: Seconds to wait for the server to answer.
        databases: Whether Aurora PostgreSQL clusters get real PostgreSQL servers (when
            the machine has the binaries; see :mod:`tfgen.emulator.databases`). Off by
            default: an emulator that lives for one command would start servers nobody
            can connect to once it ends. moto's state is the process's: while one in-process
            emulator runs with databases, every cluster created in the process gets one.
        data_dir: Where the servers' data go (None: the system's temporary directory).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        reset: bool = True,
        timeout: float = 10.0,
        databases: bool = False,
        data_dir: Path | None = None,
    ) -> None:
        self._port = port
        self._reset = reset
        self._timeout = timeout
        self._databases = databases
        self._data_dir = data_dir
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint URL; only while running.

        Raises:
            EmulatorError: If the server is not running.
        """
        if self._server is None:
            raise EmulatorError("the emulator is not running")
        return f"http://{HOST}:{self._server.server_port}"

    def start(self) -> str:
        """Start serving in a daemon thread and wait until it answers.

        Returns:
            The endpoint URL.

        Raises:
            EmulatorError: If it is already running, the port cannot be bound, or it
                does not answer in time.
        """
        if self._server is not None:
            raise EmulatorError("the emulator is already running")
        databases = open_databases(self._data_dir) if self._databases else (False, "clusters are API records only")
        try:
            server = _make_server(HOST, self._port, databases=databases)
        except OSError as exc:
            if self._databases:
                detach()
            raise EmulatorError(
                f"cannot listen on {HOST}:{self._port}: {exc.strerror or exc}",
                hint="choose another port or let tfgen pick one",
            ) from exc
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="tfgen-emulator", daemon=True)
        self._thread.start()
        try:
            url = self.url
            if not wait_until(lambda: health(url, timeout=1.0) is not None, self._timeout):
                raise EmulatorError(f"the emulator at {url} did not answer within {self._timeout:g}s")
            if self._reset:
                reset(url)
        except BaseException:
            self.stop()
            raise
        return url

    def stop(self) -> None:
        """Stop serving and release the port, then stop every database server; does nothing if not running."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        if server is not None and self._databases:
            detach()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running_emulator(base_dir: Path | None = None, endpoint: str | None = None) -> Iterator[str]:
    """Provide an emulator URL for the duration of a command.

    ``endpoint``, when given, wins (nothing is started, but it must accept
    connections). Otherwise the background server recorded under ``base_dir`` is
    reused when it is running. Otherwise an in-process :class:`Emulator` is started
    and stopped on exit, whatever the exit (error, Ctrl-C).

    Args:
        base_dir: Directory whose ``.tfgen/emulator.json`` may record a background
            server; None to never reuse one.
        endpoint: URL of an emulator the user runs, from ``--endpoint``.

    Yields:
        The endpoint URL, without a trailing slash.

    Raises:
        EmulatorError: If ``endpoint`` is invalid or does not accept connections, the
            recorded server does not answer, or a new one cannot be started.
    """
    if endpoint is not None:
        url = check_endpoint(endpoint)
        check_reachable(url)
        yield url
        return
    if base_dir is not None:
        info = status(base_dir)
        if info is not None:
            yield info.url
            return
    with Emulator() as url:
        yield url


# ------------------------------------------------------------- `python -m tfgen.emulator.server`


def serve(port: int, *, fixes: bool = True, databases: bool = True, data_dir: Path | None = None) -> int:
    """Run a moto server on ``127.0.0.1:port`` in the foreground until SIGTERM/SIGINT.

    This is the body of the background process started by :func:`~tfgen.emulator.background.start_background`.
    Every database server it started is stopped when it stops (and by the watchdog of
    :mod:`tfgen.emulator.databases` if it is killed).

    Args:
        port: Port to listen on.
        fixes: Whether to apply :func:`~tfgen.emulator.fixes.apply_moto_fixes` (off only to reproduce moto's
            own behaviour).
        databases: Whether Aurora PostgreSQL clusters get real PostgreSQL servers.
        data_dir: Where their data go.

    Returns:
        The process exit code: 0 when stopped, 98 if the port is taken.
    """
    try:
        backing = open_databases(data_dir) if databases else (False, "clusters are API records only (--no-databases)")
    except EmulatorError as exc:
        print(f"tfgen emulator: {exc}", file=sys.stderr)
        return 1
    try:
        server = _make_server(HOST, port, fixes=fixes, databases=backing, logged=True)
    except OSError as exc:
        detach()
        print(f"tfgen emulator: cannot listen on {HOST}:{port}: {exc}", file=sys.stderr)
        return EXIT_ADDRESS_IN_USE

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"tfgen emulator: serving on http://{HOST}:{port} (pid {os.getpid()})", flush=True)
    _log(backing[1])
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
        detach()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tfgen.emulator.server serve --port N [--no-fixes]``."""
    parser = argparse.ArgumentParser(prog="python -m tfgen.emulator.server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run a moto server on 127.0.0.1")
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--no-fixes", action="store_true", help="do not correct moto (to reproduce its gaps)")
    serve_parser.add_argument("--no-databases", action="store_true", help="no PostgreSQL server behind the clusters")
    serve_parser.add_argument("--data-dir", type=Path, default=None, help="where the clusters' databases live")
    args = parser.parse_args(argv)
    return serve(args.port, fixes=not args.no_fixes, databases=not args.no_databases, data_dir=args.data_dir)


if __name__ == "__main__":
    sys.exit(main())
