"""The terraform process: start it, stream its output line by line, forward Ctrl-C, make sure it stops.

Terraform runs in its own process group, so a Ctrl-C in the terminal reaches only us and
we forward it exactly once (terraform then stops cleanly and releases its state lock); a
second Ctrl-C kills terraform's whole group. Output is read from both pipes together with
a selector, without threads.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import IO, Any, NamedTuple

_STOP_GRACE_SECONDS = 60.0
"""How long a terraform we stop on our own (an exception in an event handler) may take."""

_EXIT_DRAIN_SECONDS = 2.0
"""After terraform exits, how long to wait for output still held by a straggler."""


class Exit(NamedTuple):
    """How a supervised terraform process ended."""

    returncode: int
    """Its exit code."""
    interrupted: bool
    """Ctrl-C was pressed (or the cancel event set) while it ran."""
    killed: bool
    """Its process group got SIGKILL (a second Ctrl-C, or it outlived the grace period)."""


def start(argv: list[str], *, cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start terraform in its own process group, stdin closed, stdout and stderr piped; the one Popen.

    Args:
        argv: The command line.
        cwd: Terraform's working directory.
        env: Its whole environment.

    Returns:
        The process; hand it to :func:`supervise` at once.

    Raises:
        FileNotFoundError: The binary is missing.
        PermissionError: The binary is not executable.
    """
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        process_group=0,
    )


def supervise(
    proc: subprocess.Popen[bytes],
    on_stdout: Callable[[str], None],
    on_stderr: Callable[[str], None],
    *,
    cancel: threading.Event | None = None,
) -> Exit:
    """Pump a started process's output line by line until it exits, forwarding Ctrl-C.

    However this returns or raises (an exception from ``on_stdout`` or ``on_stderr``
    included), the process has exited and its pipes are closed.

    Args:
        proc: The process :func:`start` returned.
        on_stdout: Called with each line of stdout, without the newline.
        on_stderr: Called with each line of stderr.
        cancel: When set, terraform is stopped as by one Ctrl-C.

    Returns:
        Its exit code, and whether it was interrupted or killed.
    """
    with _InterruptForwarder(proc) as interrupts:
        pipes = _Pipes(proc)
        try:
            while pipes.open:
                if cancel is not None and cancel.is_set() and not interrupts.presses:
                    interrupts.presses = 1  # as one Ctrl-C: terraform stops cleanly
                    interrupts.stop()
                for fd, line in pipes.read(timeout=0.5):
                    (on_stdout if fd == pipes.stdout_fd else on_stderr)(line)
                if proc.poll() is not None:  # exited; output a straggler still holds comes soon or never
                    for fd, line in pipes.drain(_EXIT_DRAIN_SECONDS):
                        (on_stdout if fd == pipes.stdout_fd else on_stderr)(line)
                    break
            proc.wait()
        except KeyboardInterrupt:  # Ctrl-C just before our handler was installed
            interrupts.presses += 1
        finally:
            _stop(proc, pipes, interrupts)
    return Exit(proc.returncode, interrupted=interrupts.presses > 0, killed=interrupts.killed)


class _InterruptForwarder:
    """While terraform runs, the first Ctrl-C (SIGINT) is forwarded to it, the second kills its group.

    Attributes:
        presses: How many times Ctrl-C was pressed.
        killed: Whether terraform's process group got SIGKILL.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.presses = 0
        self.killed = False
        self._stop_sent = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> _InterruptForwarder:
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            previous = self._previous if self._previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, previous)
            self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.presses += 1
        if self.presses == 1:
            self.stop()
        else:
            self.kill()

    def stop(self) -> None:
        """Send terraform one SIGINT (it stops gracefully and releases its lock); later calls do nothing."""
        if self._stop_sent or self.proc.poll() is not None:
            return
        self._stop_sent = True
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGINT)

    def kill(self) -> None:
        """SIGKILL terraform's process group: terraform, its providers and provisioner commands."""
        if self.proc.poll() is not None:
            return
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


class _Pipes:
    """Line reader over a child's stdout and stderr together, without threads."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        self._streams: dict[int, IO[bytes]] = {proc.stdout.fileno(): proc.stdout, proc.stderr.fileno(): proc.stderr}
        self.stdout_fd = proc.stdout.fileno()
        self._buffers: dict[int, bytes] = dict.fromkeys(self._streams, b"")
        self._selector = selectors.DefaultSelector()
        for fd in self._streams:
            self._selector.register(fd, selectors.EVENT_READ)

    @property
    def open(self) -> bool:
        """Whether either stream may still produce output."""
        return bool(self._selector.get_map())

    def read(self, timeout: float | None) -> Iterator[tuple[int, str]]:
        """Wait up to ``timeout`` for output; yield ``(fd, line)`` for each complete line."""
        if not self.open:
            return
        for key, _ in self._selector.select(timeout):
            fd = int(key.fd)
            chunk = os.read(fd, 65536)
            if not chunk:
                self._selector.unregister(fd)
                rest, self._buffers[fd] = self._buffers[fd], b""
                if rest:
                    yield fd, rest.decode("utf-8", "replace")
                continue
            *lines, self._buffers[fd] = (self._buffers[fd] + chunk).split(b"\n")
            for line in lines:
                yield fd, line.decode("utf-8", "replace").rstrip("\r")

    def drain(self, seconds: float) -> Iterator[tuple[int, str]]:
        """Read until both streams end or ``seconds`` pass without output."""
        deadline = time.monotonic() + seconds
        while self.open and time.monotonic() < deadline:
            yield from self.read(timeout=max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Stop reading and close both pipes."""
        self._selector.close()
        for stream in self._streams.values():
            stream.close()


def _stop(proc: subprocess.Popen[bytes], pipes: _Pipes, interrupts: _InterruptForwarder) -> None:
    """Make sure terraform has exited: ask it to stop, kill its group after a grace period."""
    try:
        if proc.poll() is None:  # we are leaving early: an exception (an event handler's) or Ctrl-C
            interrupts.stop()
            deadline = time.monotonic() + _STOP_GRACE_SECONDS
            while proc.poll() is None and time.monotonic() < deadline:
                for _ in pipes.read(timeout=0.2):  # keep draining: terraform must not block on a full pipe
                    pass
            interrupts.kill()
        proc.wait()
    finally:
        pipes.close()
