"""The persistent background emulator of ``tfgen emulator start|status|stop``.

:func:`start_background` runs ``python -m tfgen.emulator.server serve`` as its own
process on a free ``127.0.0.1`` port and records it in ``<base>/.tfgen/emulator.json``
(a lock file serialises concurrent starts); :func:`status` and :func:`stop_background`
find it there. A record whose process is gone, or whose pid another program now has, is
stale and removed: tfgen never signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from tfgen.emulator.endpoint import HOST, free_port, health, require_moto, wait_until
from tfgen.errors import EmulatorError

__all__ = [
    "EXIT_ADDRESS_IN_USE",
    "EmulatorInfo",
    "start_background",
    "state_path",
    "status",
    "stop_background",
]

EXIT_ADDRESS_IN_USE = 98
"""Exit code of the server process when its port is taken: :func:`start_background` tries another."""

_SERVER_MODULE = "tfgen.emulator.server"
_STATE_DIR = ".tfgen"
_STATE_FILE = "emulator.json"
_LOG_FILE = "emulator.log"
_LOCK_FILE = "emulator.lock"
_PORT_ATTEMPTS = 3

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


def state_path(base_dir: Path) -> Path:
    """Where the background server is recorded: ``base_dir/.tfgen/emulator.json``."""
    return base_dir / _STATE_DIR / _STATE_FILE


def start_background(base_dir: Path, *, timeout: float = 30.0, databases: bool = True) -> EmulatorInfo:
    """Start a persistent emulator process, or return the one already running.

    The server is ``python -m tfgen.emulator.server serve`` in a new session on a free
    ``127.0.0.1`` port, so it outlives the command and ignores the terminal's Ctrl-C.
    Its output goes to ``.tfgen/emulator.log``. It is recorded only once it answers.
    Its Aurora PostgreSQL clusters get real PostgreSQL servers (when the machine has the
    binaries), with their data under ``.tfgen/``; stopping it stops them.

    Args:
        base_dir: Directory that holds ``.tfgen/``; created if missing.
        timeout: Seconds to wait for the new server to answer.
        databases: False to keep the clusters API records only (no PostgreSQL servers).

    Returns:
        The running server (call :func:`status` first to know whether it was new).

    Raises:
        EmulatorError: If moto is not installed, the state directory cannot be written, or the server
            exits early or does not answer in time (it is then killed).
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
            info = _spawn(log, base_dir, timeout, databases=databases)
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


def _spawn(log: Path, cwd: Path, timeout: float, *, databases: bool) -> EmulatorInfo | None:
    """Start one server process; None if its port was taken meanwhile."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", _SERVER_MODULE, "serve", "--port", str(port), "--data-dir", str(log.parent)]
    if not databases:
        command.append("--no-databases")
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
            if code == EXIT_ADDRESS_IN_USE:
                return None
            if code is not None:
                raise EmulatorError(
                    f"the emulator exited with code {code} before answering",
                    hint=f"see {log}:\n{_tail(log)}",
                )
            doc = health(url, timeout=1.0)
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
    doc = health(info.url)
    if doc is not None and doc.get("pid") == info.pid:
        return "ours"
    cmdline = _cmdline(info.pid)
    if cmdline is not None and _SERVER_MODULE not in cmdline:
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
        if wait_until(lambda: not _pid_alive(pid), wait):
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


def _tail(path: Path, lines: int = 10) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
