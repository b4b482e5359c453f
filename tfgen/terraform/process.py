"""The terraform process: start it, stream its output line by line, forward signals, make sure it stops.

Terraform runs in its own process group, so a Ctrl-C in the terminal reaches only us. The
first Ctrl-C (SIGINT), SIGTERM or SIGHUP tfgen gets while terraform runs is forwarded to it
as one SIGINT (terraform then stops cleanly, saves its state and releases its lock; it
treats SIGTERM the same way); a second one kills terraform's whole group.

Terraform's stdout and stderr are two anonymous files (``O_TMPFILE``, or unlinked at once)
in its working directory, which tfgen reads as they grow, never pipes: if tfgen goes away,
even by ``kill -9``, terraform can still write, and never dies of SIGPIPE half way through an
apply. On Linux terraform also gets SIGINT when tfgen dies (``PR_SET_PDEATHSIG``), so it stops
as after a Ctrl-C, saves its state and stops its providers, instead of applying on alone.
Once terraform has exited, whatever is left of its process group (a provider it could not
stop) is killed: nothing tfgen started outlives the command.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, NamedTuple

from tfgen.errors import TerraformError

_STOP_GRACE_SECONDS = 60.0
"""How long a terraform we stop on our own (an exception in an event handler) may take."""

_POLL_SECONDS = 0.05
"""How often the output files are read while terraform runs (its exit is noticed at once on Linux)."""

_READ_CHUNK = 1 << 20

_PR_SET_PDEATHSIG = 1
"""``prctl`` option (linux/prctl.h): the signal a process gets when its parent dies."""

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals that stop terraform as a Ctrl-C does."""


class Exit(NamedTuple):
    """How a supervised terraform process ended."""

    returncode: int
    """Its exit code."""
    interrupted: bool
    """Ctrl-C, SIGTERM or SIGHUP came (or the cancel event was set) while it ran."""
    killed: bool
    """Its process group got SIGKILL (a second signal, or it outlived the grace period)."""
    signum: int = signal.SIGINT
    """The first signal that interrupted it (SIGINT for the cancel event)."""


@dataclass
class Running:
    """A started terraform: the process and the files its output goes to."""

    proc: subprocess.Popen[bytes]
    stdout: _Output
    stderr: _Output
    pidfd: int | None = field(default=None)

    def close(self) -> None:
        """Close the output files and the pidfd."""
        self.stdout.close()
        self.stderr.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def start(argv: list[str], *, cwd: Path, env: Mapping[str, str], pass_fds: tuple[int, ...] = ()) -> Running:
    """Start terraform in its own process group, stdin closed, its output to files; the one Popen.

    Terraform runs with umask 077: the state, its backups, plans and everything else it
    writes are for the owner only, whatever the caller's umask.

    Args:
        argv: The command line.
        cwd: Terraform's working directory (its output files live there, nameless).
        env: Its whole environment.
        pass_fds: Descriptors it inherits (see :class:`tfgen.terraform.config.CommandEnv`).

    Returns:
        The running process; hand it to :func:`supervise` at once.

    Raises:
        FileNotFoundError: The binary is missing.
        PermissionError: The binary is not executable.
        TerraformError: The output files cannot be created in ``cwd``.
    """
    with contextlib.ExitStack() as undo:
        try:
            stdout = _Output(cwd)
            undo.callback(stdout.close)
            stderr = _Output(cwd)
            undo.callback(stderr.close)
        except OSError as exc:
            raise TerraformError(
                f"cannot start terraform in {cwd}: {exc.strerror or exc}", hint="check that the directory is writable"
            ) from exc
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout.file,
            stderr=stderr.file,
            process_group=0,
            umask=0o077,
            pass_fds=pass_fds,
            # one foreign call with arguments built beforehand: nothing in the child can wait for
            # a lock another thread held at fork time
            preexec_fn=_stop_with_parent(),  # noqa: PLW1509
        )
        undo.pop_all()
    pidfd = None
    with contextlib.suppress(AttributeError, OSError):  # Linux >= 5.3 only
        pidfd = os.pidfd_open(proc.pid)
    return Running(proc, stdout, stderr, pidfd)


def supervise(
    running: Running,
    on_stdout: Callable[[str], None],
    on_stderr: Callable[[str], None],
    *,
    cancel: threading.Event | None = None,
) -> Exit:
    """Hand terraform's output to the callbacks line by line until it exits, forwarding signals.

    However this returns or raises (an exception from ``on_stdout`` or ``on_stderr``
    included), terraform has exited, what was left of its process group is killed, and its
    output files are closed. An :class:`OSError` from a callback (tfgen's own output is
    gone: a closed pipe, a full disk, a hung-up terminal) does not stop terraform: the rest
    of its output is dropped, it finishes what it does, and the error is raised then
    (unless a signal interrupted it).

    Args:
        running: What :func:`start` returned.
        on_stdout: Called with each line of stdout, without the newline.
        on_stderr: Called with each line of stderr.
        cancel: When set, terraform is stopped as by one Ctrl-C.

    Returns:
        Its exit code, and whether it was interrupted or killed.
    """
    proc = running.proc
    lost: list[OSError] = []

    def deliver(handler: Callable[[str], None], lines: list[str]) -> None:
        for line in lines:
            if lost:
                return
            try:
                handler(line)
            except OSError as error:
                lost.append(error)

    with _SignalForwarder(proc) as interrupts:
        try:
            while True:
                if cancel is not None and cancel.is_set() and not interrupts.received:
                    interrupts.received.append(signal.SIGINT)  # as one Ctrl-C: terraform stops cleanly
                    interrupts.stop()
                exited = _wait_exit(running, _POLL_SECONDS)
                deliver(on_stdout, running.stdout.lines())
                deliver(on_stderr, running.stderr.lines())
                if exited:
                    interrupts.exited = True
                    deliver(on_stdout, running.stdout.lines(final=True))
                    deliver(on_stderr, running.stderr.lines(final=True))
                    break
        except KeyboardInterrupt:  # a signal just before our handler was installed
            interrupts.received.append(signal.SIGINT)
        finally:
            _stop(running, interrupts)
    interrupted = bool(interrupts.received)
    if lost and not interrupted:
        raise lost[0]
    first = interrupts.received[0] if interrupted else signal.SIGINT
    return Exit(proc.returncode, interrupted=interrupted, killed=interrupts.killed, signum=first)


class _SignalForwarder:
    """While terraform runs, the first SIGINT, SIGTERM or SIGHUP is forwarded as SIGINT, a second kills its group.

    SIGTERM and SIGHUP are left alone when they are ignored (``nohup``). Handlers live in
    the main thread only; terraform run from another thread is stopped through the cancel
    event.

    Attributes:
        received: The signals received, in order.
        killed: Whether terraform's process group got SIGKILL.
        exited: Set once terraform has exited (it is not reaped yet: its pid still names its group).
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.received: list[int] = []
        self.killed = False
        self.exited = False
        self._stop_sent = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalForwarder:
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            for signum in FORWARDED:
                if signum != signal.SIGINT and signal.getsignal(signum) is signal.SIG_IGN:
                    continue
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
            signal.signal(signum, default if previous is None else previous)  # None: installed outside Python
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            self.stop()
        else:
            self.kill()

    def stop(self) -> None:
        """Send terraform one SIGINT (it stops gracefully and releases its lock); later calls do nothing."""
        if self._stop_sent or self.exited:
            return
        self._stop_sent = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGINT)

    def kill(self) -> None:
        """SIGKILL terraform's process group: terraform, its providers and provisioner commands."""
        if self.exited:
            return
        self.killed = True
        _kill_group(self.proc)


class _Output:
    """A nameless file a child writes to, read here as it grows (its own offset: ``pread``)."""

    def __init__(self, directory: Path) -> None:
        # closed by close(), after the child has exited
        self.file: IO[bytes] = tempfile.TemporaryFile(dir=directory, prefix=".tfgen-output-", buffering=0)  # noqa: SIM115
        self._offset = 0
        self._partial = b""

    def lines(self, *, final: bool = False) -> list[str]:
        """The complete lines written since the last call; with ``final``, the last unterminated one too."""
        chunks = [self._partial]
        while chunk := os.pread(self.file.fileno(), _READ_CHUNK, self._offset):
            self._offset += len(chunk)
            chunks.append(chunk)
        *lines, self._partial = b"".join(chunks).split(b"\n")
        if final and self._partial:
            lines.append(self._partial)
            self._partial = b""
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]

    def close(self) -> None:
        self.file.close()


def _wait_exit(running: Running, timeout: float) -> bool:
    """Wait up to ``timeout`` for terraform to exit; True once it has. It is not reaped (:func:`_stop` does)."""
    if running.pidfd is not None:
        ready, _, _ = select.select([running.pidfd], [], [], timeout)
        if not ready:
            return False
    elif not _has_exited(running.proc):
        time.sleep(timeout)
    return _has_exited(running.proc)


def _has_exited(proc: subprocess.Popen[bytes]) -> bool:
    if proc.returncode is not None:
        return True
    try:
        found = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return found is not None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL terraform's process group, terraform included (while it is not reaped its pid names the group)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _stop(running: Running, interrupts: _SignalForwarder) -> None:
    """Make sure terraform has exited and nothing of its group is left, then reap it and close its files."""
    proc = running.proc
    try:
        if not interrupts.exited:  # we are leaving early: an exception (an event handler's) or a signal
            interrupts.stop()
            deadline = time.monotonic() + _STOP_GRACE_SECONDS
            while not _wait_exit(running, 0.2) and time.monotonic() < deadline:
                pass
            if not _has_exited(proc):
                interrupts.kill()
        _kill_group(proc)  # a provider or provisioner command terraform left behind
        proc.wait()
    finally:
        running.close()


def _stop_with_parent() -> Callable[[], None] | None:
    """On Linux, what the child runs before terraform starts: SIGINT when the thread that started it dies.

    ``kill -9`` of tfgen then stops terraform as a Ctrl-C would: it saves its state and
    stops its providers. None elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    option, signum, zero = ctypes.c_int(_PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGINT), ctypes.c_ulong(0)

    def preexec() -> None:
        prctl(option, signum, zero, zero, zero)
        if os.getppid() != parent:  # tfgen died before the prctl: nobody will tell terraform
            os._exit(1)

    return preexec
