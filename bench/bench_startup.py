"""1. Start-up: `tfgen --version` and `tfgen render` against `import jinja2, yaml` and a plain-Jinja2 script."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import report
from common import BENCH, EXAMPLE, ROOT, TEMPLATES, TIMING_HEADER, Bench, ratio_text, row, same_files_note
from measure import Command, Series, interleaved, run
from report import Section, Verdict, seconds, table

TARGET_RATIO = 1.5

HEAVY = (
    "boto3",
    "botocore",
    "psycopg",
    "moto",
    "python_terraform",
    "werkzeug",
    "rich",
    "pydantic",
    "typer",
    "click",
    "jsonschema",
    "hcl2",
    "requests",
    # tfgen's own driver modules: they pull in subprocess, sockets, urllib, ssl, threads
    "tfgen.emulator.server",
    "tfgen.terraform.commands",
    "tfgen.terraform.process",
    "tfgen.emulator.background",
    "tfgen.emulator.fixes",
    "tfgen.emulator.endpoint",
    "tfgen.deploy.operations",
    "tfgen.deploy.workdir",
    "tfgen.deploy.progress",
    "tfgen.ops.database",
    "tfgen.ops.aws",
    "tfgen.ops.cluster",
    "tfgen.ops.metrics",
    "tfgen.ops.runbook",
)
"""Modules that have no business on the render path."""

GROUPS = {
    "tfgen": "tfgen (its own modules)",
    "typer": "typer + click (CLI)",
    "click": "typer + click (CLI)",
    "shellingham": "typer + click (CLI)",
    "annotated_doc": "typer + click (CLI)",
    "pydantic": "pydantic (validation)",
    "pydantic_core": "pydantic (validation)",
    "annotated_types": "pydantic (validation)",
    "typing_inspection": "pydantic (validation)",
    "typing_extensions": "pydantic (validation)",
    "jinja2": "jinja2 + markupsafe",
    "markupsafe": "jinja2 + markupsafe",
    "yaml": "yaml",
    "_yaml": "yaml",
}

COMPILE_CODE = """
import sys, time
import jinja2
from tfgen.render import templates as render
t = time.perf_counter()
env = render.make_environment()
if len(sys.argv) > 1:  # what-if: a bytecode cache in this folder
    env.bytecode_cache = jinja2.FileSystemBytecodeCache(sys.argv[1])
for name in render.MODULE_FILES:
    env.get_template(f"module/{name}.j2")
print(time.perf_counter() - t)
"""
"""Prints the seconds to load (compile) the module templates in a fresh process."""


COMPILING_WORTH_MS = 5.0
"""Template compilation inside `tfgen render` worth a finding."""


@dataclass(frozen=True)
class Facts:
    """What the start-up finding is built from, besides the timings."""

    compile_ms: float
    """Loading the module templates in a fresh process, no bytecode cache."""
    cached_ms: float
    """The same with a warm ``FileSystemBytecodeCache``."""
    compiling_ms: float
    """Template compilation inside a second ``tfgen render`` (cProfile)."""
    version_imports: list[str]
    """Which of pydantic, jinja2, yaml ``tfgen --version`` imports."""
    auto_reload: bool
    """Whether tfgen's Jinja environment checks templates for changes on every use."""


def _load_ms(python: str, args: list[str]) -> float:
    """Median of 3 fresh processes: ms to load the module templates (:data:`COMPILE_CODE`)."""
    samples = [
        float(run(Command([python, "-c", COMPILE_CODE, *args], cwd=ROOT), keep_output=True).stdout) * 1000
        for _ in range(3)
    ]
    return statistics.median(samples)


def _heavy(module: str) -> str:
    for name in HEAVY:
        if module == name or module.startswith(name + "."):
            return name
    return ""


def _uses(importer: str, module: str) -> list[str]:
    """Names of ``module`` that ``importer`` (a tfgen module) uses, read from its source."""
    if not importer.startswith("tfgen."):
        return []
    path = ROOT / Path(*importer.split(".")).with_suffix(".py")
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        return []
    short = module.rsplit(".", 1)[-1]
    return sorted(set(re.findall(rf"\b{re.escape(short)}\.([A-Za-z_]\w*)", source)))


def run_benchmark(bench: Bench) -> Section:
    """Measure, check outputs, profile imports."""
    from tfgen.render.manifest import MANIFEST

    section = Section("1. Start-up: whole processes")
    exported, expected = bench.context()
    work = bench.scratch("startup")
    context_file = work / "context.json"
    context_file.write_text(json.dumps({"files": list(expected), "context": exported.to_json()}), encoding="utf-8")
    py = str(bench.python)
    plain_script = [py, str(BENCH / "plain_render.py"), str(EXAMPLE), str(context_file), str(TEMPLATES)]
    commands = {
        "import": lambda rep: Command([py, "-c", "import jinja2, yaml"], cwd=ROOT),
        "plain": lambda rep: Command([*plain_script, str(work / f"plain{rep}")], cwd=ROOT),
        "version": lambda rep: Command([str(bench.tfgen), "--version"], cwd=ROOT),
        "render": bench.render_command(work / "tfgen"),
    }
    bench.log(f"start-up: {len(commands)} commands x {bench.reps}")
    results = interleaved(commands, bench.reps, progress=bench.log)
    base, plain, render = results["import"], results["plain"], results["render"]
    ratio = render.median / plain.median
    verdict = Verdict(
        "`tfgen render` start-up vs the plain-Jinja2 script",
        f"≤ {TARGET_RATIO:g}×",
        f"{ratio:.2f}× ({seconds(render.median)} vs {seconds(plain.median)}; CPU {render.cpu / plain.cpu:.2f}×)",
        ratio <= TARGET_RATIO,
    )

    stderrs = [
        run(
            Command([py, "-X", "importtime", str(bench.tfgen), "render", str(EXAMPLE), "-o", str(work / f"imp{rep}")]),
            keep_output=True,
        ).stderr
        for rep in range(3)
    ]
    times = report.importtimes(stderrs)
    parents = report.importers(stderrs[0])
    by_tfgen = sorted({_heavy(name) for name in times if _heavy(name)})
    described = []
    for name in by_tfgen:
        importer = parents.get(name, "?")
        uses = _uses(importer, name)
        why = f" for {', '.join(f'`{u}`' for u in uses)}" if uses else ""
        described.append(f"`{name}` ({times[name][1]:.0f} ms, imported by `{importer}`{why})")
    measured = "; ".join(described) or "none"
    heavy_verdict = Verdict(
        "nothing heavy imported by `tfgen render`", "none of the list below", measured, not by_tfgen
    )
    compile_ms = _load_ms(py, [])
    bytecode_dir = work / "jinja-bytecode"
    bytecode_dir.mkdir()
    _load_ms(py, [str(bytecode_dir)])  # fills the cache
    cached_ms = _load_ms(py, [str(bytecode_dir)])
    # what `tfgen render` itself spends compiling templates (zero once tfgen uses a bytecode cache)
    profile = work / "render.prof"
    render_argv = [str(bench.tfgen), "render", str(EXAMPLE), "-o", str(work / "profiled")]
    run(Command([py, "-m", "cProfile", "-o", str(profile), *render_argv], cwd=ROOT))
    run(Command([py, "-m", "cProfile", "-o", str(profile), *render_argv], cwd=ROOT))  # a second run, as users run it
    compiling_ms = report.cumulative_of(profile, "jinja2/environment.py", "compile") * 1000
    version_times = report.importtimes(
        [run(Command([py, "-X", "importtime", str(bench.tfgen), "--version"]), keep_output=True).stderr]
    )
    version_imports = sorted({name.split(".")[0] for name in version_times} & {"pydantic", "jinja2", "yaml"})
    from tfgen.render.templates import make_environment

    facts = Facts(compile_ms, cached_ms, compiling_ms, version_imports, make_environment().auto_reload)

    section.body += table(
        TIMING_HEADER,
        [
            row("`python -c 'import jinja2, yaml'` (baseline)", base),
            row("plain-Jinja2 script (`bench/plain_render.py`)", plain, ratio_text(plain, base, "baseline")),
            row("`tfgen --version`", results["version"], ratio_text(results["version"], base, "baseline")),
            row(
                "`tfgen render examples/aurora.yaml -o TMP`",
                render,
                ratio_text(render, plain, "plain"),
                f"≤ {TARGET_RATIO:g}× plain",
                verdict,
            ),
        ],
    )
    section.body += [
        "",
        "Output check: " + same_files_note("the plain script", expected, work / "plain0") + "; "
        # tfgen render also writes the module's manifest (tfgen.render.manifest), which the library render does not
        f"{same_files_note('`tfgen render`', expected, work / 'tfgen' / 'r0', also=MANIFEST)}.",
        "",
        f"Heavy modules imported by `tfgen render`: {heavy_verdict.measured} → {heavy_verdict.mark}. "
        f"Checked: {', '.join(f'`{name}`' for name in HEAVY)}.",
        "",
        f"Compiling the module templates (`make_environment()` + `get_template` of each) takes {compile_ms:.0f} ms "
        f"in every process (tfgen and the plain script both pay it); with a warm `jinja2.FileSystemBytecodeCache` "
        f"it would take {cached_ms:.0f} ms (what-if, measured here). Inside a second `tfgen render` run, "
        f"compiling takes {compiling_ms:.0f} ms (cProfile).",
    ]
    section.verdicts += [verdict, heavy_verdict]
    groups = _groups(times, parents)
    section.profiles += [
        "### `python -X importtime` of `tfgen render` (top 10 by cumulative, median of 3 runs)",
        "",
        *report.importtime_table(times),
        "",
        "By package (self times summed; a standard-library module counts for the package that imported it first):",
        "",
        *table(["package", "import time"], [(name, f"{ms:.0f} ms") for name, ms in groups.items()]),
        "",
    ]
    if not verdict.passed or not heavy_verdict.passed:
        section.findings.append(_finding(render, plain, groups, by_tfgen, times, parents, facts, verdict.passed))
    return section


def _groups(times: Mapping[str, tuple[float, float]], parents: Mapping[str, str]) -> dict[str, float]:
    """Self times summed per package; a standard-library module counts for the package that imported it first."""

    def group(name: str) -> str:
        seen = set()
        while name not in seen:
            seen.add(name)
            known = GROUPS.get(name.split(".", maxsplit=1)[0])
            if known is not None:
                return known
            if name not in parents:
                return "interpreter start-up (site, encodings, .pth files)"
            name = parents[name]
        return "interpreter start-up (site, encodings, .pth files)"

    sums: dict[str, float] = {}
    for name, (own, _) in times.items():
        sums[group(name)] = sums.get(group(name), 0.0) + own
    return dict(sorted(sums.items(), key=lambda item: item[1], reverse=True))


def _finding(
    render: Series,
    plain: Series,
    groups: Mapping[str, float],
    heavy: list[str],
    times: Mapping[str, tuple[float, float]],
    parents: Mapping[str, str],
    facts: Facts,
    ratio_passed: bool,
) -> str:
    budget = (TARGET_RATIO - 1) * plain.median * 1000
    gap = (render.median - plain.median) * 1000
    typer_ms = groups.get("typer + click (CLI)", 0.0)
    pydantic_ms = groups.get("pydantic (validation)", 0.0)
    spec_ms = times.get("tfgen.spec.model", (0.0, 0.0))[0]
    parts = [
        f"**Start-up: `tfgen render` is {render.median / plain.median:.2f}× the plain-Jinja2 script** "
        f"({gap:.0f} ms more; the target allows {budget:.0f} ms more). ",
        f"Import time by package (`-X importtime`, self times summed): typer + click {typer_ms:.0f} ms, "
        f"pydantic and its dependencies {pydantic_ms:.0f} ms, tfgen's own modules "
        f"{groups.get('tfgen (its own modules)', 0.0):.0f} ms (of which `tfgen.spec.model` {spec_ms:.0f} ms: "
        "building the spec's records and validators); the plain script imports none of these. ",
        f"Compiling the templates costs {facts.compile_ms:.0f} ms in a fresh process; a second `tfgen render` "
        f"spends {facts.compiling_ms:.0f} ms on it (cProfile). Proposed fixes, largest first: ",
    ]
    fixes = []
    for name in heavy:
        importer = parents.get(name, "?")
        uses = _uses(importer, name)
        what = f" only for {', '.join(f'`{u}`' for u in uses)}" if uses else ""
        fixes.append(
            f"`{importer}` imports `{name}`{what}, which costs {times[name][1]:.0f} ms with what it imports "
            f"(subprocess, sockets, urllib, ssl, threads): move {'those names' if uses else 'what it needs'} "
            "into a module without dependencies (or import inside the function that needs it)"
        )
    if facts.compiling_ms > COMPILING_WORTH_MS:
        fixes.append(
            "let `tfgen render` use a Jinja bytecode cache (`jinja2.FileSystemBytecodeCache` in the user cache "
            "directory, a folder per tfgen version, e.g. `api.render(..., template_cache=...)` from the CLI)"
            + (" and `auto_reload=False`" if facts.auto_reload else "")
            + f": template loading {facts.compile_ms:.0f} → {facts.cached_ms:.0f} ms from the second run on"
        )
    if facts.version_imports:
        fixes.append(
            f"`tfgen --version` imports {', '.join(facts.version_imports)}: `tfgen/cli/commands.py` imports `tfgen.api` (hence "
            "the spec model) at module level; importing it inside the commands makes `--version` and `--help` "
            "skip all of that"
        )
    if fixes:
        parts.append("; ".join(f"({i}) {fix}" for i, fix in enumerate(fixes, 1)) + ". ")
    else:
        parts.append("none left inside tfgen's own code on this path. ")
    floor = typer_ms + pydantic_ms + spec_ms
    if not ratio_passed and floor > budget:
        parts.append(
            f"{'Even then t' if fixes else 'T'}he CLI layer, validation and the spec model take {floor:.0f} ms, "
            f"more than the {budget:.0f} ms budget by themselves."
        )
    return "".join(parts)
