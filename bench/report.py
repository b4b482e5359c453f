"""Markdown for BENCHMARKS.md, and the profile summaries (``-X importtime``, cProfile) in it."""

from __future__ import annotations

import pstats
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from measure import Series


@dataclass(frozen=True)
class Verdict:
    """One target: what, the target, what was measured, and whether it was met."""

    what: str
    target: str
    measured: str
    passed: bool

    @property
    def mark(self) -> str:
        """PASS or MISS."""
        return "PASS" if self.passed else "**MISS**"


@dataclass
class Section:
    """A section of the report: its markdown, its verdicts, its findings for the misses."""

    title: str
    body: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def seconds(value: float) -> str:
    """Seconds, or milliseconds below one second."""
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def spread(series: Series) -> str:
    """min–max of a series."""
    return f"{seconds(series.low)} – {seconds(series.high)}"


def mib(kib: float) -> str:
    """KiB as MiB."""
    return f"{kib / 1024:.0f} MiB"


# ----------------------------------------------------------------------------- -X importtime


def importtimes(stderr_runs: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Module → (median self ms, median cumulative ms) over several ``-X importtime`` outputs."""
    samples: dict[str, list[tuple[int, int]]] = {}
    for text in stderr_runs:
        for line in text.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|", 2))
            samples.setdefault(name, []).append((int(own), int(cumulative)))
    return {
        name: (statistics.median(s for s, _ in values) / 1000, statistics.median(c for _, c in values) / 1000)
        for name, values in samples.items()
    }


def importers(text: str) -> dict[str, str]:
    """Module → the module whose import imported it (from one ``-X importtime`` output)."""
    entries: list[tuple[int, str]] = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        raw = line.split("|", 2)[2]
        name = raw.strip()
        entries.append(((len(raw) - len(raw.lstrip()) - 1) // 2, name))
    parents: dict[str, str] = {}
    for index, (level, name) in enumerate(entries):
        for later_level, later in entries[index + 1 :]:
            if later_level == level - 1:
                parents[name] = later
                break
    return parents


def importtime_table(times: dict[str, tuple[float, float]], top: int = 10) -> list[str]:
    """The ``top`` modules by cumulative import time."""
    ranked = sorted(times.items(), key=lambda item: item[1][1], reverse=True)[:top]
    return table(
        ["module", "self", "cumulative"], [(f"`{name}`", f"{s:.1f} ms", f"{c:.1f} ms") for name, (s, c) in ranked]
    )


# ----------------------------------------------------------------------------- cProfile


def _where(key: tuple[str, int, str], root: Path) -> str:
    filename, line, function = key
    if filename == "~":
        return function
    path = Path(filename)
    for base in (root, *(p for p in path.parents if p.name == "site-packages")):
        try:
            return f"{path.relative_to(base)}:{line}({function})"
        except ValueError:
            continue
    return f"{path.name}:{line}({function})"


def profile_table(path: Path, root: Path, *, top: int = 10, sort: str = "tottime") -> list[str]:
    """The ``top`` functions of a cProfile dump by self time (or cumulative)."""
    stats = pstats.Stats(str(path))
    entries = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    index = 2 if sort == "tottime" else 3
    ranked = sorted(entries.items(), key=lambda item: item[1][index], reverse=True)[:top]
    rows = []
    for key, (_, calls, own, cumulative, _) in ranked:
        rows.append((f"`{_where(key, root)}`", calls, f"{own:.3f} s", f"{cumulative:.3f} s", f"{own / total:.0%}"))
    return table(["function", "calls", "self", "cumulative", "self share"], rows)


def cumulative_of(path: Path, suffix: str, function: str) -> float:
    """Cumulative seconds of the function ``function`` in files ending with ``suffix`` (0 if absent)."""
    stats = pstats.Stats(str(path))
    found = 0.0
    for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if name == function and filename.endswith(suffix):
            found = max(found, cumulative)
    return found


def total_of(path: Path) -> float:
    """Total profiled seconds."""
    return float(pstats.Stats(str(path)).total_tt)  # type: ignore[attr-defined]
