"""What the benchmarks share: paths, the :class:`Bench` state, table rows, terraform's environment."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import contexts
from measure import BenchError, Command, Series
from report import Verdict, mib, seconds, spread

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TEMPLATES = ROOT / "templates"
EXAMPLE = ROOT / "examples" / "aurora.yaml"
LOCAL_EXAMPLE = ROOT / "examples" / "local.yaml"


@dataclass
class Bench:
    """What every benchmark shares: options, the interpreter, the scratch directory, the example's context."""

    python: Path
    tmp: Path
    reps: int
    batch_reps: int
    drive_reps: int
    terraform: str | None
    mirror: Path | None
    log: Callable[[str], None]
    quick: bool = False
    versions: dict[str, str] = field(default_factory=dict)
    _exported: contexts.Exported | None = None
    _expected: dict[str, str] | None = None

    @property
    def tfgen(self) -> Path:
        """The console script, as users run it."""
        return self.python.parent / "tfgen"

    def scratch(self, name: str) -> Path:
        """A fresh directory under the bench's temporary directory."""
        path = self.tmp / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def context(self) -> tuple[contexts.Exported, dict[str, str]]:
        """The example's render context (exported from tfgen once) and tfgen's files for it.

        Raises:
            BenchError: If the exported context does not reproduce tfgen's render exactly.
        """
        if self._exported is None or self._expected is None:
            from tfgen.render import templates as render
            from tfgen.spec.loading import load_spec

            try:
                self._exported, self._expected = contexts.checked(load_spec(EXAMPLE).spec, render.make_environment())
            except ValueError as error:
                raise BenchError(str(error)) from None
        return self._exported, self._expected

    def render_command(self, out: Path) -> Callable[[int], Command]:
        """``tfgen render examples/aurora.yaml -o OUT/r<rep>``: a fresh directory every time."""
        return lambda rep: Command([str(self.tfgen), "render", str(EXAMPLE), "-o", str(out / f"r{rep}")], cwd=ROOT)


def compare(expected: Mapping[str, str], directory: Path, also: str | None = None) -> tuple[bool, int]:
    """Whether ``directory`` holds exactly the expected files (and ``also``), and how many are byte-identical."""
    found = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    if also is not None and also in found:
        found.remove(also)
    elif also is not None:
        return False, 0
    same = sum(
        1
        for name, text in expected.items()
        if (directory / name).is_file() and (directory / name).read_text(encoding="utf-8") == text
    )
    return found == set(expected), same


def same_files_note(name: str, expected: Mapping[str, str], directory: Path, also: str | None = None) -> str:
    """'<name> wrote 11/11 files byte-identical to tfgen's (same file set: yes)'; ``also``: one more file it must write."""
    ok, same = compare(expected, directory, also)
    file_set = ("yes" if ok else "NO") + (f", with `{also}`" if also else "")
    return f"{name} wrote {same}/{len(expected)} files byte-identical to tfgen's (same file set: {file_set})"


TIMING_HEADER = ["command", "median", "min – max", "CPU", "peak RSS", "ratio", "target", "result"]
"""Columns of a process-timing table: wall-clock median and spread, median CPU (user + system), peak RSS."""


def row(label: str, series: Series, ratio: str = "", target: str = "", verdict: Verdict | None = None) -> list[str]:
    """A row of a :data:`TIMING_HEADER` table."""
    return [
        label,
        seconds(series.median),
        spread(series),
        seconds(series.cpu),
        mib(series.rss_kb),
        ratio,
        target,
        verdict.mark if verdict else "",
    ]


def ratio_text(ours: Series, other: Series, name: str) -> str:
    """'2.10× NAME (CPU 2.05×)'."""
    return f"{ours.median / other.median:.2f}× {name} (CPU {ours.cpu / other.cpu:.2f}×)"


def cli_config(directory: Path, mirror: Path, *, break_lock: bool = False) -> Path:
    """A terraform CLI config that installs providers from ``mirror`` only."""
    path = directory / "bench.tfrc"
    lines = ["plugin_cache_may_break_dependency_lock_file = true"] if break_lock else []
    lines += ["provider_installation {", "  filesystem_mirror {", f'    path = "{mirror}"', "  }", "}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def terraform_env(config: Path, cache: Path | None) -> dict[str, str]:
    """What tfgen gives terraform: the CLI config, the plugin cache, automation mode, no checkpoint."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_PLUGIN_CACHE_DIR", "TF_CLI_CONFIG_FILE")}
    env.update(TF_CLI_CONFIG_FILE=str(config), TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
    if cache is not None:
        env["TF_PLUGIN_CACHE_DIR"] = str(cache)
    return env
