"""A local AWS emulator (moto) for ``--local`` and ``tfgen emulator start|status|stop``.

``--local`` points the aws provider at a moto server on loopback instead of real AWS.
The server is, in order of preference:

1. the URL given with ``--endpoint`` (nothing is started),
2. the persistent background server recorded in ``<base>/.tfgen/emulator.json``
   (started by ``tfgen emulator start``), when it is running,
3. an in-process server on a free ``127.0.0.1`` port, stopped when the command ends.

:func:`provider_override` renders the ``provider "aws"`` override that sends every
service the module uses to that URL with dummy credentials.

moto is not AWS: :func:`apply_moto_fixes` is the one place where the gaps that make
terraform misbehave are corrected, and every server this module starts has them
applied. moto and werkzeug are imported inside functions only, so importing this
module is cheap and has no side effects.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tfgen.errors import EmulatorError

if TYPE_CHECKING:
    from types import FrameType, TracebackType
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from werkzeug.serving import BaseWSGIServer

__all__ = [
    "AWS_SERVICES",
    "HOST",
    "OVERRIDE_FILENAME",
    "Emulator",
    "EmulatorInfo",
    "apply_moto_fixes",
    "provider_override",
    "require_moto",
    "running_emulator",
    "start_background",
    "state_path",
    "status",
    "stop_background",
    "write_provider_override",
]

HOST = "127.0.0.1"
"""The only address an emulator started by tfgen listens on."""

AWS_SERVICES: tuple[str, ...] = (
    "backup",
    "cloudwatch",
    "ec2",
    "iam",
    "kms",
    "logs",
    "rds",
    "s3",
    "secretsmanager",
    "sns",
    "sts",
)
"""Names of the aws provider's ``endpoints {}`` arguments the rendered module needs.

Every name is an argument of ``endpoints`` in hashicorp/aws 5.100 (checked against
``terraform providers schema -json``). A service missing here would silently go to
real AWS with the dummy credentials and fail there, so add to it with the templates.
"""

OVERRIDE_FILENAME = "tfgen_local_override.tf"
"""Name of the provider override file; terraform merges ``*_override.tf`` last."""

_STATE_DIR = ".tfgen"
_STATE_FILE = "emulator.json"
_LOG_FILE = "emulator.log"
_LOCK_FILE = "emulator.lock"
_HEALTH_PATH = "/_tfgen/health"  # S3 bucket names cannot start with "_"
_HEALTH_SERVICE = "tfgen-emulator"
_EXIT_ADDRESS_IN_USE = 98
_PORT_ATTEMPTS = 3
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ENDPOINT_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?$")
_FIX_MARK = "__tfgen_moto_fix__"

# Background servers started by this process, kept so they can be reaped (no zombies).
_SPAWNED: dict[int, subprocess.Popen[bytes]] = {}


@dataclasses.dataclass(frozen=True)
class EmulatorInfo:
    """A persistent background emulator, as recorded in ``.tfgen/emulator.json``.

    Attributes:
        pid: Process id of the server.
        port: TCP port it listens on, on ``127.0.0.1``.
        url: Endpoint URL for the aws provider, e.g. ``http://127.0.0.1:41234``.
        log: File the server's output goes to.
    """

    pid: int
    port: int
    url: str
    log: Path


# --------------------------------------------------------------------------- moto fixes


def apply_moto_fixes() -> tuple[str, ...]:
    """Patch moto's fidelity gaps that make terraform misbehave; idempotent.

    This is the one place moto is corrected. Each fix patches the smallest piece of
    moto that produces the wrong answer, and is skipped (not listed) if that piece no
    longer exists in the installed moto.

    Fixes:
        ``rds-scaling-configuration-info``: moto 5.2.5 returns an empty
        ``ScalingConfigurationInfo`` element in DescribeDBClusters (and in the
        Create/Modify/Delete responses) for every cluster. AWS returns it only for
        engine mode ``serverless`` (Aurora Serverless v1); for a provisioned cluster,
        Serverless v2 included, the element is absent. With the empty element the aws
        provider stores an empty ``scaling_configuration`` block, and every later plan
        of a Serverless v2 cluster shows an update. The patched
        ``DBCluster.scaling_configuration_info`` property returns nothing unless the
        engine mode is ``serverless``.

        ``ec2-security-group-rule-description``: moto 5.2.5 reads a security group
        rule's description only from its CIDR range, so DescribeSecurityGroupRules
        drops the ``Description`` of a rule that references a security group. AWS
        returns it for every kind of rule; without it every plan shows
        ``+ description`` on an ``aws_vpc_security_group_ingress_rule`` with
        ``referenced_security_group_id``. The patched ``SecurityGroupRule.description``
        falls back to the description stored with the referenced group.

        ``iam-aws-managed-policies``: every AWS account has AWS's managed policies
        (``arn:aws:iam::aws:policy/...``); moto loads them only when configured to. The
        module attaches ``service-role/AmazonRDSEnhancedMonitoringRole`` to its
        enhanced-monitoring role, which fails with NoSuchEntity without them. The fix
        turns moto's ``iam.load_aws_managed_policies`` setting on (IAM backends created
        afterwards have the policies; the emulator resets moto when it starts).

        ``rds-performance-insights``: moto 5.2.5 drops ``EnablePerformanceInsights``
        of CreateDBCluster/CreateDBInstance and never returns
        ``PerformanceInsightsEnabled``; AWS stores and returns it. The aws provider then
        reads ``false`` and every plan of a module with Performance Insights on shows an
        update. The fix keeps the flag given at creation (Modify* already stores it as
        ``enable_performance_insights``) and adds the ``performance_insights_enabled``
        property moto's serializer reads.

        ``rds-delete-automated-cluster-snapshots``: moto 5.2.5 keeps a deleted
        cluster's automated snapshot (``rds:<id>-<YYYY-MM-DD-HH-MM>``). AWS deletes
        automated backups with the cluster (``DeleteAutomatedBackups`` defaults to
        true), so a cluster destroyed and created again within the same minute (a
        replacement, or destroy then apply) fails in moto with
        DBClusterSnapshotAlreadyExistsFault. The patched
        ``RDSBackend.delete_db_cluster`` removes them, as AWS does.

    Returns:
        The names of the fixes in force after the call.
    """
    # moto is imported here, never at module import time (it is slow and heavy).
    from moto.core.config import default_user_config
    from moto.ec2.models.security_groups import SecurityGroupRule
    from moto.rds.models import DBCluster

    def scaling_configuration_info(self: Any, original: Callable[[Any], Any]) -> Any:
        if getattr(self, "engine_mode", None) != "serverless":
            return None  # AWS omits ScalingConfigurationInfo
        return original(self)

    def description(self: Any, original: Callable[[Any], Any]) -> Any:
        found = original(self)
        if found is None and isinstance(getattr(self, "source_group", None), dict):
            found = self.source_group.get("Description")
        return found

    fixes = [
        ("rds-scaling-configuration-info", DBCluster, "scaling_configuration_info", scaling_configuration_info),
        ("ec2-security-group-rule-description", SecurityGroupRule, "description", description),
    ]
    applied = [name for name, cls, attr, fix in fixes if _patch_property(cls, attr, fix)]
    from moto.rds.models import DBInstance, RDSBackend

    if _patch_method(RDSBackend, "delete_db_cluster", _delete_automated_snapshots_too):
        applied.append("rds-delete-automated-cluster-snapshots")
    if all(
        _remember_flag(cls, "enable_performance_insights", "performance_insights_enabled")
        for cls in (DBCluster, DBInstance)
    ):
        applied.append("rds-performance-insights")
    default_user_config.setdefault("iam", {})["load_aws_managed_policies"] = True
    applied.append("iam-aws-managed-policies")
    return tuple(applied)


def _patch_property(cls: type, attr: str, fix: Callable[[Any, Callable[[Any], Any]], Any]) -> bool:
    """Wrap the property ``cls.attr`` as ``fix(self, original_getter)``, once.

    Returns:
        Whether the fix is in force (False if moto no longer has that property).
    """
    current = cls.__dict__.get(attr)
    if not isinstance(current, property) or current.fget is None:
        return False
    if getattr(current.fget, _FIX_MARK, False):
        return True
    original = current.fget

    def getter(self: Any) -> Any:
        return fix(self, original)

    setattr(getter, _FIX_MARK, True)
    getter.__doc__ = f"Patched by tfgen.emulator.server.apply_moto_fixes. {original.__doc__ or ''}"
    setattr(cls, attr, property(getter))
    return True


def _delete_automated_snapshots_too(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    cluster = original(backend, *args, **kwargs)
    for snapshot_id, snapshot in list(backend.cluster_snapshots.items()):
        if (
            snapshot.snapshot_type == "automated"
            and snapshot.cluster.db_cluster_identifier == cluster.db_cluster_identifier
        ):
            del backend.cluster_snapshots[snapshot_id]
    return cluster


def _patch_method(cls: type, name: str, fix: Callable[..., Any]) -> bool:
    """Wrap the method ``cls.name`` as ``fix(original, self, *args, **kwargs)``, once.

    Returns:
        Whether the fix is in force (False if moto no longer has that method).
    """
    current = cls.__dict__.get(name)
    if not callable(current):
        return False
    if getattr(current, _FIX_MARK, False):
        return True
    original = current

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return fix(original, self, *args, **kwargs)

    setattr(method, _FIX_MARK, True)
    method.__doc__ = f"Patched by tfgen.emulator.server.apply_moto_fixes. {original.__doc__ or ''}"
    setattr(cls, name, method)
    return True


def _remember_flag(cls: type, kwarg: str, attr: str) -> bool:
    """Keep the boolean keyword ``kwarg`` of ``cls.__init__`` and expose it as property ``attr``, once.

    Returns:
        Whether the fix is in force (False if moto now has ``attr`` itself).
    """
    init = cls.__dict__["__init__"]
    if getattr(init, _FIX_MARK, False):
        return True
    if attr in cls.__dict__:
        return False  # a newer moto models it: nothing to fix

    def patched_init(self: Any, *args: Any, **kwargs: Any) -> None:
        value = kwargs.get(kwarg)
        init(self, *args, **kwargs)
        setattr(self, kwarg, bool(value))

    def getter(self: Any) -> bool:
        return bool(getattr(self, kwarg, False))

    setattr(patched_init, _FIX_MARK, True)
    cls.__init__ = patched_init  # type: ignore[misc]
    setattr(cls, attr, property(getter))
    return True


# --------------------------------------------------------------------- provider override


def provider_override(endpoint: str, region: str) -> str:
    """Render a ``provider "aws"`` override that sends every service to ``endpoint``.

    The text is for :data:`OVERRIDE_FILENAME` in the module directory (terraform merges
    ``*_override.tf`` files into the base ``provider "aws"`` block, which must exist).
    It is ``terraform fmt`` clean.

    ``skip_requesting_account_id`` is deliberately not set: the provider then asks the
    emulator's STS for the account id (moto's ``123456789012``). Without it the
    provider does not know the account, takes moto's ``UserId`` on a security group
    reference for another account's, and every plan shows
    ``referenced_security_group_id`` changing from ``123456789012/sg-...`` to ``sg-...``.

    Args:
        endpoint: The emulator URL, e.g. ``http://127.0.0.1:41234``.
        region: AWS region name for the provider, e.g. ``eu-west-1``.

    Returns:
        The HCL text, ending with a newline.

    Raises:
        EmulatorError: If ``endpoint`` is not an http(s) URL or ``region`` is not a
            region name.
    """
    url = _check_endpoint(endpoint)
    if not _REGION_RE.match(region):
        raise EmulatorError(f"not an AWS region name: {region!r}", hint="use e.g. us-east-1")
    settings: list[tuple[str, str]] = [
        ("region", f'"{region}"'),
        ("access_key", '"test"'),
        ("secret_key", '"test"'),
        ("skip_credentials_validation", "true"),
        ("skip_metadata_api_check", "true"),
        ("s3_use_path_style", "true"),
    ]
    lines = [
        "# Written by tfgen --local: sends the aws provider to a local AWS emulator.",
        "# Not part of the module; do not commit.",
        'provider "aws" {',
        *_aligned(settings, "  "),
        "",
        "  endpoints {",
        *_aligned([(name, f'"{url}"') for name in AWS_SERVICES], "    "),
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def write_provider_override(directory: Path, endpoint: str, region: str) -> Path:
    """Write :func:`provider_override` to ``directory / OVERRIDE_FILENAME``.

    Args:
        directory: The terraform working directory.
        endpoint: The emulator URL.
        region: AWS region name.

    Returns:
        The path written; the caller removes it when the command ends.

    Raises:
        EmulatorError: If the arguments are invalid or the file cannot be written.
    """
    path = directory / OVERRIDE_FILENAME
    text = provider_override(endpoint, region)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise EmulatorError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _aligned(pairs: Iterable[tuple[str, str]], indent: str) -> list[str]:
    items = list(pairs)
    width = max(len(key) for key, _ in items)
    return [f"{indent}{key.ljust(width)} = {value}" for key, value in items]


def _check_endpoint(endpoint: str) -> str:
    url = endpoint.rstrip("/")
    if not _ENDPOINT_RE.match(url) or not urllib.parse.urlsplit(url).hostname:
        raise EmulatorError(f"not an emulator URL: {endpoint!r}", hint="use e.g. --endpoint http://127.0.0.1:5000")
    return url


# ------------------------------------------------------------------------- the server


def require_moto() -> None:
    """Check that moto, which only the ``local`` extra installs, can be imported.

    Raises:
        EmulatorError: If moto is not installed.
    """
    if importlib.util.find_spec("moto") is None:
        raise EmulatorError("the local AWS emulator needs moto, which is not installed: install tfgen[local]")


def _make_server(host: str, port: int, *, fixes: bool = True) -> BaseWSGIServer:
    """Build (bind, not start) a threaded moto WSGI server with the health route."""
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

    app = _with_health(DomainDispatcherApplication(create_backend_app), applied)
    return make_server(host, port, app, threaded=True, request_handler=QuietHandler)


def _with_health(app: WSGIApplication, fixes: tuple[str, ...]) -> WSGIApplication:
    """Answer ``GET /_tfgen/health`` with who is serving; pass the rest to moto."""
    import moto

    body = json.dumps(
        {
            "service": _HEALTH_SERVICE,
            "pid": os.getpid(),
            "moto": moto.__version__,
            "fixes": list(fixes),
        }
    ).encode()

    def health_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == _HEALTH_PATH and environ.get("REQUEST_METHOD") == "GET":
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            start_response("200 OK", headers)
            return [body]
        return app(environ, start_response)

    return health_app


def _health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The health document of the tfgen emulator at ``url``, or None if none answers."""
    try:
        with urllib.request.urlopen(url + _HEALTH_PATH, timeout=timeout) as response:  # noqa: S310 (http only)
            doc = json.loads(response.read().decode())
    except (OSError, ValueError):
        return None
    if isinstance(doc, dict) and doc.get("service") == _HEALTH_SERVICE:
        return doc
    return None


class Emulator:
    """An in-process moto server on a free ``127.0.0.1`` port, fixes applied.

    Use as a context manager (``with Emulator() as url:``) or call :meth:`start` and
    :meth:`stop`. moto keeps its state per process, so by default :meth:`start`
    resets it: the server begins empty, like a fresh AWS account.

    Args:
        port: Port to listen on; 0 picks a free one.
        reset: Whether :meth:`start` clears moto's in-process state.
        timeout: Seconds to wait for the server to answer.
    """

    def __init__(self, port: int = 0, *, reset: bool = True, timeout: float = 10.0) -> None:
        self._port = port
        self._reset = reset
        self._timeout = timeout
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
            EmulatorError: If moto is not installed, it is already running, the port
                cannot be bound, or it does not answer in time.
        """
        if self._server is not None:
            raise EmulatorError("the emulator is already running")
        try:
            server = _make_server(HOST, self._port)
        except OSError as exc:
            raise EmulatorError(
                f"cannot listen on {HOST}:{self._port}: {exc.strerror or exc}",
                hint="choose another port or let tfgen pick one",
            ) from exc
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="tfgen-emulator", daemon=True)
        self._thread.start()
        try:
            url = self.url
            if not _wait_until(lambda: _health(url, timeout=1.0) is not None, self._timeout):
                raise EmulatorError(f"the emulator at {url} did not answer within {self._timeout:g}s")
            if self._reset:
                _post(url + "/moto-api/reset")
        except BaseException:
            self.stop()
            raise
        return url

    def stop(self) -> None:
        """Stop serving and release the port; does nothing if not running."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

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
        url = _check_endpoint(endpoint)
        _check_reachable(url)
        yield url
        return
    if base_dir is not None:
        info = status(base_dir)
        if info is not None:
            yield info.url
            return
    with Emulator() as url:
        yield url


def _check_reachable(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or HOST
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=3.0):
            pass
    except OSError as exc:
        raise EmulatorError(
            f"nothing accepts connections at {url}: {exc.strerror or exc}",
            hint="start the emulator, or drop --endpoint to let tfgen start one",
        ) from exc


# ----------------------------------------------------------------- background server


def state_path(base_dir: Path) -> Path:
    """Where the background server is recorded: ``base_dir/.tfgen/emulator.json``."""
    return base_dir / _STATE_DIR / _STATE_FILE


def start_background(base_dir: Path, *, timeout: float = 30.0) -> EmulatorInfo:
    """Start a persistent emulator process, or return the one already running.

    The server is ``python -m tfgen.emulator.server serve`` in a new session on a free
    ``127.0.0.1`` port, so it outlives the command and ignores the terminal's Ctrl-C.
    Its output goes to ``.tfgen/emulator.log``. It is recorded only once it answers.

    Args:
        base_dir: Directory that holds ``.tfgen/``; created if missing.
        timeout: Seconds to wait for the new server to answer.

    Returns:
        The running server (call :func:`status` first to know whether it was new).

    Raises:
        EmulatorError: If moto is not installed, the state directory cannot be written, or the server exits
            early or does not answer in time (it is then killed).
    """
    require_moto()
    base_dir = base_dir.resolve()
    state_dir = base_dir / _STATE_DIR
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmulatorError(f"cannot create {state_dir}: {exc.strerror or exc}") from exc
    with _locked(state_dir):
        existing = status(base_dir)
        if existing is not None:
            return existing
        log = state_dir / _LOG_FILE
        for _ in range(_PORT_ATTEMPTS):
            info = _spawn(log, base_dir, timeout)
            if info is not None:
                _write_state(state_path(base_dir), info)
                return info
        raise EmulatorError(f"no free port found for the emulator in {_PORT_ATTEMPTS} attempts")


def status(base_dir: Path) -> EmulatorInfo | None:
    """The recorded background server if it is running; cleans up stale state.

    A record whose process is gone, or whose pid now belongs to another program, is
    stale: the state file is removed and None returned.

    Args:
        base_dir: Directory that holds ``.tfgen/``.

    Returns:
        The running server, or None.

    Raises:
        EmulatorError: If the recorded server process is alive but does not answer.
    """
    path = state_path(base_dir)
    info = _read_state(path)
    if info is None:
        return None
    state = _identify(info)
    if state == "ours":
        return info
    if state == "unresponsive":
        raise EmulatorError(
            f"the emulator (pid {info.pid}) is running but does not answer at {info.url}",
            hint=f"run `tfgen emulator stop`; its log is {info.log}",
        )
    path.unlink(missing_ok=True)
    return None


def stop_background(base_dir: Path, *, timeout: float = 10.0) -> bool:
    """Stop the recorded background server (only that process) and remove the record.

    Args:
        base_dir: Directory that holds ``.tfgen/``.
        timeout: Seconds to wait after SIGTERM before SIGKILL.

    Returns:
        True if a server was stopped, False if none was running (stale state is
        removed either way).

    Raises:
        EmulatorError: If the process cannot be signalled or does not die.
    """
    path = state_path(base_dir)
    info = _read_state(path)
    if info is None:
        return False
    if _identify(info) not in ("ours", "unresponsive"):
        path.unlink(missing_ok=True)
        return False
    _terminate(info.pid, timeout)
    path.unlink(missing_ok=True)
    return True


def _spawn(log: Path, cwd: Path, timeout: float) -> EmulatorInfo | None:
    """Start one server process; None if its port was taken meanwhile."""
    port = _free_port()
    url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "tfgen.emulator.server", "serve", "--port", str(port)]
    env = {**os.environ, "MOTO_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    try:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
    except OSError as exc:
        raise EmulatorError(f"cannot start the emulator: {exc.strerror or exc}") from exc
    _SPAWNED[proc.pid] = proc
    try:
        deadline = time.monotonic() + timeout
        while True:
            code = proc.poll()
            if code == _EXIT_ADDRESS_IN_USE:
                return None
            if code is not None:
                raise EmulatorError(
                    f"the emulator exited with code {code} before answering",
                    hint=f"see {log}:\n{_tail(log)}",
                )
            doc = _health(url, timeout=1.0)
            if doc is not None and doc.get("pid") == proc.pid:
                return EmulatorInfo(pid=proc.pid, port=port, url=url, log=log)
            if time.monotonic() > deadline:
                raise EmulatorError(
                    f"the emulator did not answer at {url} within {timeout:g}s",
                    hint=f"see {log}",
                )
            time.sleep(0.1)
    except BaseException:
        _terminate(proc.pid, 5.0)
        raise


def _identify(info: EmulatorInfo) -> Literal["ours", "unresponsive", "dead", "foreign"]:
    if not _pid_alive(info.pid):
        return "dead"
    doc = _health(info.url)
    if doc is not None and doc.get("pid") == info.pid:
        return "ours"
    cmdline = _cmdline(info.pid)
    if cmdline is not None and "tfgen.emulator.server" not in cmdline:
        return "foreign"  # the pid was reused by another program
    return "unresponsive"


def _terminate(pid: int, timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError as exc:
            raise EmulatorError(f"not allowed to stop the emulator (pid {pid})") from exc
        if _wait_until(lambda: not _pid_alive(pid), wait):
            break
    else:
        raise EmulatorError(f"the emulator (pid {pid}) did not stop")
    _SPAWNED.pop(pid, None)


def _pid_alive(pid: int) -> bool:
    proc = _SPAWNED.get(pid)
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes (Linux only; elsewhere assume alive)
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def _read_state(path: Path) -> EmulatorInfo | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return EmulatorInfo(pid=int(doc["pid"]), port=int(doc["port"]), url=str(doc["url"]), log=Path(doc["log"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)  # unreadable or foreign: treat as stale
        return None


def _write_state(path: Path, info: EmulatorInfo) -> None:
    doc = {"pid": info.pid, "port": info.port, "url": info.url, "log": str(info.log)}
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        _terminate(info.pid, 5.0)
        raise EmulatorError(f"cannot write {path}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise concurrent ``start``s on one base directory (POSIX; no-op elsewhere)."""
    try:
        import fcntl  # POSIX only
    except ImportError:
        yield
        return
    with (state_dir / _LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def _post(url: str) -> None:
    request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310 (http only)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
    except OSError as exc:
        raise EmulatorError(f"the emulator did not accept {url}: {exc}") from exc


def _tail(path: Path, lines: int = 10) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ------------------------------------------------------------- `python -m tfgen.emulator.server`


def serve(port: int, *, fixes: bool = True) -> int:
    """Run a moto server on ``127.0.0.1:port`` in the foreground until SIGTERM/SIGINT.

    This is the body of the background process started by :func:`start_background`.

    Args:
        port: Port to listen on.
        fixes: Whether to apply :func:`apply_moto_fixes` (off only to reproduce moto's
            own behaviour).

    Returns:
        The process exit code: 0 when stopped, 98 if the port is taken.
    """
    try:
        server = _make_server(HOST, port, fixes=fixes)
    except OSError as exc:
        print(f"tfgen emulator: cannot listen on {HOST}:{port}: {exc}", file=sys.stderr)
        return _EXIT_ADDRESS_IN_USE

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"tfgen emulator: serving on http://{HOST}:{port} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tfgen.emulator.server serve --port N [--no-fixes]``."""
    parser = argparse.ArgumentParser(prog="python -m tfgen.emulator.server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run a moto server on 127.0.0.1")
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--no-fixes", action="store_true", help="do not correct moto (to reproduce its gaps)")
    args = parser.parse_args(argv)
    return serve(args.port, fixes=not args.no_fixes)


if __name__ == "__main__":
    sys.exit(main())
