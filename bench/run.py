"""tfgen's benchmarks: `make bench` runs this and writes BENCHMARKS.md.

    python bench/run.py            # every section, writes BENCHMARKS.md
    python bench/run.py --quick    # fewer repetitions, skips 4 and 6; prints, writes nothing
                                   # unless --output is given

Each section re-measures one of tfgen's current targets:

1. start-up of `tfgen --version` / `tfgen render` vs `import jinja2, yaml` and a plain-Jinja2 script
3. 1..1000 specs in one process through the library API
4. `tfgen plan --local` vs `terraform plan` on the same working directory and emulator
6. `tfgen apply --plan FILE` vs `terraform apply FILE` (a plan saved by `tfgen plan --out`)
7. `tfgen backup` of a 2-million-row table vs `psql \\copy` (quick: 200,000 rows)

The earlier comparisons with copier and cookiecutter (section 2) and of provider installs
(section 5) are kept as dated text in `bench/earlier.md`, copied into BENCHMARKS.md.

Run it with the project's interpreter (`.venv/bin/python`): tfgen is measured as installed there.
Timing targets live here and in BENCHMARKS.md, never in the test suite.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess  # noqa: TID251 -- the bench starts processes
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import bench_backup
import bench_batch
import bench_drive
import bench_reviewed
import bench_startup
import measure
import yaml
from common import Bench
from report import Section, table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "BENCHMARKS.md"
EARLIER = Path(__file__).resolve().parent / "earlier.md"
"""Figures of comparisons no longer re-measured, with their date (copied into the report)."""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _find_mirror(given: Path | None) -> Path | None:
    if given is not None:
        return given
    if os.environ.get("TFGEN_PLUGIN_MIRROR"):
        return Path(os.environ["TFGEN_PLUGIN_MIRROR"])
    found = subprocess.run([str(ROOT / ".ci" / "find-mirror")], capture_output=True, text=True, check=False)
    return Path(found.stdout.strip()) if found.stdout.strip() else None


def _versions(python: Path, terraform: str | None, mirror: Path | None) -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for name in ("tfgen", "jinja2", "pyyaml", "typer", "moto"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["pyyaml"] += " (libyaml available)" if yaml.__with_libyaml__ else " (no libyaml)"
    if terraform is not None:
        out = subprocess.run([terraform, "version", "-json"], capture_output=True, text=True, check=False).stdout
        try:
            found["terraform"] = json.loads(out)["terraform_version"]
        except (ValueError, KeyError):
            found["terraform"] = "?"
    if mirror is not None:
        providers = sorted(f"{p.parent.name} {p.name}" for p in mirror.glob("*/*/*/*") if p.is_dir())
        found["providers in the mirror"] = ", ".join(providers) or "none"
    return found


def _bytecode_cache(prefix: Path) -> None:
    """Let every child process cache bytecode (in ``prefix``), as a normal installation does.

    With ``PYTHONDONTWRITEBYTECODE`` set (some sandboxes and CI images set it) the
    editable tfgen is compiled from source on every start, which would measure the
    environment, not tfgen. ``PYTHONPYCACHEPREFIX`` keeps the caches out of the
    source tree; the warm-up runs fill it.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)


def _run_section(name: str, function: Callable[[Bench], Section], bench: Bench) -> Section:
    started = time.perf_counter()
    try:
        section = function(bench)
    except Exception as exc:  # report it in BENCHMARKS.md and go on with the other sections
        _log(traceback.format_exc())
        section = Section(name, error=f"{type(exc).__name__}: {exc}")
    _log(f"{name}: {time.perf_counter() - started:.0f} s")
    return section


def _markdown(results: list[Section], bench: Bench, args: argparse.Namespace, started: datetime.datetime) -> str:
    info = measure.machine()
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{'python bench/run.py --quick' if args.quick else 'make bench'}` (`bench/run.py`) on "
        f"{started:%Y-%m-%d %H:%M} UTC; do not edit by hand. Targets are checked here, never in the test suite. "
        f"Process timings are the median of {bench.reps} interleaved runs ({bench.drive_reps} in sections 4 and 6), "
        "after one warm-up run each; "
        "peak RSS is `ru_maxrss` of each child (`os.wait4`). Other work on the machine shows in the spread "
        "(min – max) and in the load average below.",
        "",
        "## Machine and versions",
        "",
        *table(
            ["", ""],
            [
                ("machine", f"{info['cpu']}, {info['cores']} cores, {info['memory']} RAM"),
                ("OS", info["os"]),
                *((name, version) for name, version in bench.versions.items()),
            ],
        ),
        "",
        "## Summary",
        "",
    ]
    verdicts = [v for s in results for v in s.verdicts]
    lines += table(["target", "goal", "measured", "result"], [(v.what, v.target, v.measured, v.mark) for v in verdicts])
    for section in results:
        if section.skipped or section.error:
            lines.append(f"| {section.title} | | {'skipped: ' + section.skipped if section.skipped else 'ERROR'} | |")
    for section in results:
        lines += ["", f"## {section.title}", ""]
        if section.skipped:
            lines.append(f"Skipped: {section.skipped}.")
        elif section.error:
            lines.append(f"**Error:** `{section.error.splitlines()[0]}` (see the output of the run).")
        lines += section.body
    profiles = [line for s in results for line in s.profiles]
    if profiles:
        lines += ["", "## Profiles", "", *profiles]
    findings = [f for s in results for f in s.findings]
    lines += ["", "## Findings", ""]
    if findings:
        lines += [item for finding in findings for item in (f"- {finding}", "")]
    else:
        lines += ["Every target is met.", ""]
    lines += [EARLIER.read_text(encoding="utf-8").rstrip(), ""]
    lines += [
        "## How it is measured",
        "",
        "- Whole processes are timed with `time.perf_counter()` around `Popen` … `os.wait4`, their output going to "
        "temporary files; the commands of one table run round-robin, the order rotated each round, so drifts "
        "of the machine spread over all of them. Each `render` writes into a new directory.",
        "- The plain-Jinja2 script gets tfgen's render context of the example as JSON, exported once from tfgen's "
        "API (`bench/contexts.py`: models and dataclasses become objects, calls the templates make become "
        "recorded answers); it reads the spec with `yaml.safe_load`, renders the same template files with the "
        "same Jinja settings and writes them. Its output is checked to be byte-identical to tfgen's.",
        "- Child processes cache bytecode in a scratch `PYTHONPYCACHEPREFIX` (and `PYTHONDONTWRITEBYTECODE` is "
        "unset for them), as on a normal installation; otherwise the editable tfgen would be compiled from "
        "source on every start.",
        "- `python bench/run.py --help` lists the options (`--quick`, `--reps`, `--only`, `--output`).",
        "",
    ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run tfgen's benchmarks and write BENCHMARKS.md.")
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions, skip 4 and 6, write only with --output"
    )
    parser.add_argument("--reps", type=int, help="repetitions of each process timing (default 15, quick 3)")
    parser.add_argument(
        "--only", help="comma-separated sections to run: startup,batch,drive,reviewed,backup (default: all)", default=""
    )
    parser.add_argument("--output", type=Path, help=f"report file (default {DEFAULT_OUTPUT.name}; none with --quick)")
    parser.add_argument(
        "--plugin-mirror", type=Path, help="provider mirror (default: TFGEN_PLUGIN_MIRROR, .ci/find-mirror)"
    )
    parser.add_argument("--terraform", default=shutil.which("terraform"), help="terraform binary (default: on PATH)")
    args = parser.parse_args(argv)

    python = Path(sys.executable)
    if not (python.parent / "tfgen").exists():
        parser.error(f"run me with the project's interpreter (.venv/bin/python): no tfgen next to {python}")
    started = datetime.datetime.now(datetime.UTC)
    wanted = {"startup", "batch", "backup"} if args.quick else {"startup", "batch", "drive", "reviewed", "backup"}
    if args.only:
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    mirror = _find_mirror(args.plugin_mirror)
    if mirror is not None and not mirror.is_dir():
        _log(f"no provider mirror at {mirror}: section 4 will be skipped")
        mirror = None
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tfgen-bench-") as tmp:
        _bytecode_cache(Path(tmp) / "pycache")
        bench = Bench(
            python=python,
            tmp=Path(tmp),
            reps=args.reps or (3 if args.quick else 15),
            batch_reps=1 if args.quick else 3,
            drive_reps=args.reps or (3 if args.quick else 11),
            terraform=args.terraform,
            mirror=mirror.absolute() if mirror is not None else None,
            log=_log,
            quick=args.quick,
        )
        bench.versions = _versions(python, args.terraform, bench.mirror)
        plan: list[tuple[str, Callable[[Bench], Section]]] = [
            ("startup", bench_startup.run_benchmark),
            ("batch", bench_batch.run_benchmark),
            ("drive", bench_drive.run_benchmark),
            ("reviewed", bench_reviewed.run_benchmark),
            ("backup", bench_backup.run_benchmark),
        ]
        results = [_run_section(name, function, bench) for name, function in plan if name in wanted]
        bench.versions["load average (1 min) at start / end"] = f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"
        text = _markdown(results, bench, args, started)
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        _log(f"wrote {output}")
    print(text)
    failed = [s.title for s in results if s.error]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
