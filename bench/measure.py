"""Timing whole processes: wall time (perf_counter around fork..wait) and the child's peak RSS (wait4)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess  # noqa: TID251 -- the bench starts processes
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class BenchError(RuntimeError):
    """A measured command failed; the message ends with the tail of its output."""


@dataclass(frozen=True)
class Run:
    """One process: wall seconds, peak resident set (KiB, largest process of its tree), exit code, CPU seconds."""

    seconds: float
    maxrss_kb: int
    code: int
    cpu: float
    stdout: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class Command:
    """A command line to measure, with where and how to run it."""

    argv: Sequence[str]
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    ok: tuple[int, ...] = (0,)


def run(command: Command, *, keep_output: bool = False) -> Run:
    """Run ``command`` to completion; output goes to temporary files (no pipe can fill up).

    Raises:
        BenchError: If the exit code is not in ``command.ok``.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(command.argv),
            cwd=command.cwd,
            env=None if command.env is None else dict(command.env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if code not in command.ok:
        tail = (stdout[-1500:] + "\n" + stderr[-2500:]).strip()
        raise BenchError(f"exit {code}: {' '.join(map(str, command.argv))}\n{tail}")
    if not keep_output:
        stdout = stderr = ""
    return Run(seconds, usage.ru_maxrss, code, usage.ru_utime + usage.ru_stime, stdout, stderr)


@dataclass
class Series:
    """Repeated runs of one command."""

    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median wall seconds."""
        return statistics.median(r.seconds for r in self.runs)

    @property
    def cpu(self) -> float:
        """Median CPU seconds (user + system, the process and the children it waited for)."""
        return statistics.median(r.cpu for r in self.runs)

    @property
    def low(self) -> float:
        """Fastest run."""
        return min(r.seconds for r in self.runs)

    @property
    def high(self) -> float:
        """Slowest run."""
        return max(r.seconds for r in self.runs)

    @property
    def rss_kb(self) -> int:
        """Median peak RSS (KiB)."""
        return int(statistics.median(r.maxrss_kb for r in self.runs))


def interleaved(
    commands: Mapping[str, Callable[[int], Command]],
    reps: int,
    *,
    warmup: int = 1,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Series]:
    """Run every command ``reps`` times, round-robin with the order rotated each round.

    ``commands`` maps a label to a factory of the command for repetition ``i``
    (``i < 0`` for warm-up runs, which are not recorded): so each run can get a fresh
    output directory. Interleaving spreads slow drifts of the machine over all commands.
    """
    labels = list(commands)
    for i in range(warmup):
        for label in labels:
            run(commands[label](-1 - i))
    results = {label: Series() for label in labels}
    for rep in range(reps):
        shift = rep % len(labels)
        for label in labels[shift:] + labels[:shift]:
            results[label].runs.append(run(commands[label](rep)))
        if progress is not None:
            progress(f"  round {rep + 1}/{reps}")
    return results


def machine() -> dict[str, str]:
    """CPU, cores, memory and OS of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count() or "?"),
        "memory": memory or "?",
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
    }
