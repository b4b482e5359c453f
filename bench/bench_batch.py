"""3. Batch: 1, 10, 100, 1000 generated specs in one process through the library API."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import batch_worker
import report
import yaml
from common import BENCH, EXAMPLE, ROOT, Bench
from measure import Command, run
from report import Section, Verdict, mib, seconds, table

SIZES = (1, 10, 100, 1000)
TARGET_MS = 2.0
MODES = {
    "api": "`render_module(spec)` (no `env`: tfgen's default)",
    "shared": "`render_module(spec, env)` with one `make_environment()` of the caller's",
}


def sizes(bench: Bench, mode: str) -> tuple[int, ...]:
    """Batch sizes of a mode; ``--quick`` stops the slow mode (a compile per spec) at 100."""
    return SIZES[:-1] if bench.quick and mode == "api" else SIZES


def run_benchmark(bench: Bench) -> Section:
    """Time the worker processes, profile the largest batch, measure what the proposed fixes would save."""
    section = Section("3. Batch: many specs in one process (library API)")
    work = bench.scratch("batch")
    samples: dict[tuple[str, int], list[dict[str, Any]]] = {}
    bench.log(f"batch: {sum(len(sizes(bench, m)) for m in MODES) * bench.batch_reps} worker processes")
    for rep in range(bench.batch_reps):
        for count in SIZES:
            for mode in MODES:
                if count not in sizes(bench, mode):
                    continue
                out = work / f"{mode}-{count}-{rep}"
                samples.setdefault((mode, count), []).append(_worker(bench, count, out, shared=mode == "shared"))
                # Kept until bench/run.py removes its scratch directory at the very end, not deleted here: on
                # ext4 without a journal every new inode skips each free inode of its block group that was freed
                # in the last 60-360 s (fs/ext4/ialloc.c, recently_deleted()), so deleting 16,000 inodes here
                # made the next worker's every open() and mkdir() ~250 µs instead of ~12 µs -- the bench
                # charging tfgen for its own clean-up. The files are still written for real (and take ~85 MB
                # per 1,000 modules until the run ends).
        bench.log(f"  round {rep + 1}/{bench.batch_reps}")

    def per_spec(mode: str, count: int, key: str = "seconds") -> float:
        values = [float(r["phases"][key] if key in r["phases"] else r[key]) for r in samples[(mode, count)]]
        return statistics.median(values) / count * 1000

    rows = []
    verdicts = {}
    for mode, label in MODES.items():
        for count in sizes(bench, mode):
            verdict = None
            if count == sizes(bench, mode)[-1]:
                measured = per_spec(mode, count)
                verdict = Verdict(
                    f"batch of {count}, {label}",
                    f"≤ {TARGET_MS:g} ms/spec" + (f" at {SIZES[-1]}" if count != SIZES[-1] else ""),
                    f"{measured:.2f} ms/spec (CPU {per_spec(mode, count, 'cpu'):.2f})",
                    measured <= TARGET_MS,
                )
                verdicts[mode] = verdict
            runs = samples[(mode, count)]
            rows.append(
                [
                    label if count == SIZES[0] else "",
                    count,
                    f"{per_spec(mode, count):.2f} ms",
                    f"{per_spec(mode, count, 'cpu'):.2f} ms ({per_spec(mode, count, 'system'):.2f})",
                    " / ".join(f"{per_spec(mode, count, phase):.2f}" for phase in ("parse", "render", "write")) + " ms",
                    f"{statistics.median(r['create_us'] for r in runs):.0f} µs",
                    seconds(statistics.median(r["seconds"] for r in runs)),
                    mib(statistics.median(r["maxrss_kb"] for r in runs)),
                    f"≤ {TARGET_MS:g} ms" if verdict else "",
                    verdict.mark if verdict else "",
                ]
            )
    section.verdicts += verdicts.values()
    section.body += table(
        [
            "API use",
            "specs",
            "per spec",
            "CPU per spec (kernel)",
            "parse / render / write",
            "new file",
            "batch",
            "peak RSS",
            "target",
            "result",
        ],
        rows,
    )
    section.body += [
        "",
        f"Median of {bench.batch_reps} worker process(es) per row (`bench/batch_worker.py`). Per spec: "
        "`tfgen.spec.loading.parse_spec` (YAML with line tracking, `tfgen.spec.record` validation, cross-field rules), "
        "`tfgen.render.templates.render_module`, `tfgen.render.templates.write_files` into a new directory (atomic: staging directory "
        "+ rename). The variants of `examples/aurora.yaml` differ in name, capacities, instance count, CIDRs and "
        "tags. The clock includes making the environment, so a batch of 1 carries the template compilation. "
        "Kernel: the system part of the CPU time (parse and render make no system calls: it is the write phase's). "
        f"New file: what one empty file cost next to the output just before the batch "
        f"(`batch_worker.create_cost`, {batch_worker.PROBE_FILES} files), a gauge of the filesystem's state; a "
        f"new module is {batch_worker.MODULE_INODES} new inodes (12 files, 3 folders, the directory). Every "
        "output is kept until the end of the run (see `run_benchmark`)."
        + (" `--quick` stops the first mode at 100 specs." if bench.quick else ""),
    ]
    section.body += _filesystem_note(samples, work)
    shared_profile, api_profile = work / "shared.prof", work / "api.prof"
    api_count = 10 if bench.quick else 100
    _worker(bench, SIZES[-1], work / "profiled-shared", shared=True, profile=shared_profile)
    _worker(bench, api_count, work / "profiled-api", shared=False, profile=api_profile)
    section.profiles += [
        f"### cProfile: batch of {SIZES[-1]}, shared environment (top 12 by self time)",
        "",
        *report.profile_table(shared_profile, ROOT, top=12),
        "",
        f"### cProfile: batch of {api_count}, `render_module(spec)` without an environment (top 8 by cumulative time)",
        "",
        *report.profile_table(api_profile, ROOT, top=8, sort="cumulative"),
        "",
    ]
    compile_share = report.cumulative_of(api_profile, "jinja2/environment.py", "compile") / max(
        report.cumulative_of(api_profile, "tfgen/render.py", "render_module"), 1e-9
    )
    compiles_per_call = report.calls_of(api_profile, "jinja2/environment.py", "compile") / max(
        report.calls_of(api_profile, "tfgen/render.py", "render_module"), 1
    )
    from tfgen.render.templates import MODULE_FILES

    # compiling every module template again on every call, rather than once per process
    if not verdicts["api"].passed and compiles_per_call >= 0.9 * len(MODULE_FILES):
        count = sizes(bench, "api")[-1]
        section.findings.append(
            f"**Batch through `render_module(spec)` ({per_spec('api', count):.1f} ms/spec).** Without an `env` "
            "argument `render_module` makes a new Jinja environment per call, so every template is compiled again "
            f"for every spec (`Environment.compile` is {compile_share:.0%} of `render_module` in the profile), and "
            "so does everything that calls it that way (`tfgen.api.render`, one call per spec of "
            "`tfgen render a.yaml b.yaml … -o 'modules/{name}'`). Proposed fix (`tfgen/render.py`): when `env is "
            "None`, use one cached environment (`functools.cache` around `make_environment()`; nothing mutates it "
            "afterwards). That turns this row into the other one."
        )
    if not verdicts["shared"].passed or not verdicts["api"].passed:
        section.findings.append(_fast_path_finding(per_spec, shared_profile, sizes(bench, "api")[-1]))
    return section


SLOW_INODE_US = 30.0
"""Kernel CPU per new inode of the batch (its data and the rename included) above which the filesystem is slow:
where nothing was deleted lately, a module costs ~0.2-0.35 ms of kernel time on ext4, 12-20 µs per inode."""


def _filesystem_note(samples: dict[tuple[str, int], list[dict[str, Any]]], work: Path) -> list[str]:
    """What the filesystem costs per spec in the largest batch: kernel time against the write phase."""
    mode, count = max(samples, key=lambda key: (key[1], key[0] == "shared"))
    runs = samples[(mode, count)]
    write = statistics.median(float(r["phases"]["write"]) for r in runs) / count * 1000
    kernel = statistics.median(float(r["system"]) for r in runs) / count * 1000
    per_inode = kernel / batch_worker.MODULE_INODES * 1000
    probes = sorted(float(r["create_us"]) for row in samples.values() for r in row)
    text = (
        f"Filesystem: in the batch of {count} ({mode}) the kernel took {kernel:.2f} ms/spec of the {write:.2f} "
        f"ms/spec write phase, {per_inode:.0f} µs for each of a module's {batch_worker.MODULE_INODES} new inodes "
        f"(its data and the rename included); tfgen's Python is the rest. An empty file made just before each "
        f"batch cost {statistics.median(probes):.0f} µs (median of {len(probes)} workers, "
        f"{probes[0]:.0f}–{probes[-1]:.0f} µs)."
    )
    if per_inode > SLOW_INODE_US:
        text += " That is slow" + (
            ": this is ext4 without a journal, where allocating an inode skips, one buffer-cache lookup each, "
            "every free inode of the block group freed in the last 60 s (300 s more while its inode table "
            "block is unwritten) -- `recently_deleted()` in `fs/ext4/ialloc.c`. Whatever deleted many files "
            "near where the batch writes lately (this machine's other processes, an earlier bench run's "
            "clean-up) makes every `open(O_CREAT)` and `mkdir` pay for it; rerun on a quiet machine, a few "
            "minutes after the last run, or with `TMPDIR` elsewhere."
            if _ext4_without_journal(work)
            else ": the filesystem, not tfgen, sets this part of the write phase."
        )
    return ["", text]


def _ext4_without_journal(path: Path) -> bool:
    """Whether ``path`` is on ext4 mounted without a journal (Linux only; False when unknown)."""
    try:
        mounts = [line.split()[:3] for line in Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()]
    except OSError:
        return False
    resolved = path.resolve().as_posix()
    found = [
        (point, device, kind)
        for device, point, kind in mounts
        if resolved == point or resolved.startswith(point.rstrip("/") + "/")
    ]
    if not found:
        return False
    _, device, kind = max(found, key=lambda entry: len(entry[0]))
    journal = Path("/sys/fs/ext4") / Path(device).name / "journal_task"
    try:
        return kind == "ext4" and journal.read_text(encoding="utf-8").strip() == "<none>"
    except OSError:
        return False


def _worker(bench: Bench, count: int, out: Path, *, shared: bool, profile: Path | None = None) -> dict[str, Any]:
    argv = [str(bench.python), str(BENCH / "batch_worker.py"), str(EXAMPLE), str(count), str(out)]
    if shared:
        argv.append("--shared-env")
    if profile is not None:
        argv += ["--profile", str(profile)]
    found: dict[str, Any] = json.loads(run(Command(argv, cwd=ROOT), keep_output=True).stdout)
    return found


def _per_item(items: list[Any], action: Callable[[Any], object]) -> float:
    """Median over 3 passes of the mean ms per item."""
    passes = []
    for _ in range(3):
        start = time.perf_counter()
        for item in items:
            action(item)
        passes.append((time.perf_counter() - start) / len(items) * 1000)
    return statistics.median(passes)


def _what_if(scratch: Path, *, compose: bool, auto_reload: bool, count: int = 200) -> dict[str, float]:
    """In this process: what the proposed fixes would save, per spec (only for the fixes that apply)."""
    from tfgen.render.templates import make_environment, render_module, write_files
    from tfgen.spec.loading import parse_spec

    texts = batch_worker.variants(EXAMPLE.read_text(encoding="utf-8"), count)

    def composer(loader: type) -> Callable[[str], object]:
        def action(text: str) -> object:
            parser = loader(text)
            try:
                return parser.get_single_node()
            finally:
                parser.dispose()

        return action

    found: dict[str, float] = {}
    if compose and yaml.__with_libyaml__:
        found["compose (SafeLoader)"] = _per_item(texts, composer(yaml.SafeLoader))
        found["compose (CSafeLoader)"] = _per_item(texts, composer(yaml.CSafeLoader))
    specs = [parse_spec(text, Path(f"v{i}.yaml")).spec for i, text in enumerate(texts)]
    env = make_environment()
    if auto_reload:
        found["render_module"] = _per_item(specs, lambda spec: render_module(spec, env))
        env.auto_reload = False
        found["render_module, auto_reload=False"] = _per_item(specs, lambda spec: render_module(spec, env))
    files = render_module(specs[0], env)
    tmp = scratch / "what-if-write"  # kept, as the workers' outputs are (see run_benchmark)
    names = iter(range(10 * count))
    found["write_files"] = _per_item(specs, lambda _: write_files(files, tmp / f"w{next(names)}"))

    def plain_write(_: object) -> None:
        base = tmp / f"p{next(names)}"
        for folder in sorted({(base / name).parent for name in files}):
            folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (base / name).write_text(text, encoding="utf-8")

    found["plain write_text of the same files"] = _per_item(specs, plain_write)
    return found


HOT_SPOTS = {
    "display_width": "return `len(text)` at once when `text.isascii()` (ASCII has no combining marks, joiners "
    "or regional indicators, so the result is the same) and measure each name once in `align()`, not twice",
}
"""Proposed fixes for tfgen functions already seen at the top of the render profile."""
PURE_YAML = ("reader", "scanner", "parser", "composer")
"""PyYAML's pure-Python front end, which libyaml replaces (the constructor stays Python either way)."""
HOT_SHARE = 0.03
"""A tfgen function (or PyYAML's pure-Python parser) is worth a finding from this share of the profile."""


def _fast_path_finding(per_spec: Callable[..., float], profile: Path, api_count: int) -> str:
    from tfgen.render.templates import MODULE_FILES, make_environment

    count = SIZES[-1]
    yaml_share = report.share_of(profile, [f"site-packages/yaml/{name}.py" for name in PURE_YAML])
    auto_reload = make_environment().auto_reload
    what_if = _what_if(profile.parent, compose=yaml_share >= HOT_SHARE, auto_reload=auto_reload)
    fixes: list[str] = []
    saved = 0.0
    if "compose (CSafeLoader)" in what_if:
        gain = what_if["compose (SafeLoader)"] - what_if["compose (CSafeLoader)"]
        saved += gain
        fixes.append(
            f"PyYAML's pure-Python scanner and parser take {yaml_share:.0%} of the profile: `tfgen/spec/yaml_source.py` "
            "should compose with `yaml.CSafeLoader` when `yaml.__with_libyaml__` (the same nodes with the same "
            "marks, so line numbers stay) and re-parse with `SafeLoader` only to word an error; "
            f"saves ≈ {gain:.2f} ms/spec"
        )
    if auto_reload:
        gain = what_if["render_module"] - what_if["render_module, auto_reload=False"]
        saved += gain
        fixes.append(
            "`make_environment()` leaves `auto_reload` on, so every `get_template` (each file and include, for "
            f"every spec) stats its template: pass `auto_reload=False`; saves ≈ {gain:.2f} ms/spec"
        )
    calls, own = report.builtin_calls(profile, "<built-in method posix.mkdir>")
    folders = {PurePosixPath(name).parent for name in MODULE_FILES}
    if calls > (len(folders) + 2) * count:
        fixes.append(
            f"`tfgen/render.py` `write_files` calls `mkdir` {calls / count:.0f} times per spec (the staging "
            "directory, then `target.parent.mkdir(parents=True, exist_ok=True)` once per file) for "
            f"{len(folders)} distinct folders, {own / count * 1000:.2f} ms/spec under cProfile on this filesystem: "
            "create each distinct parent once (`for folder in sorted({(staging / n).parent for n in files}): "
            "folder.mkdir(parents=True, exist_ok=True)`)"
        )
    hot = report.top_own(profile, ROOT)
    if hot is not None and hot[2] >= HOT_SHARE:
        where, seconds_, share = hot
        fix = HOT_SPOTS.get(where.rsplit("(", 1)[-1].rstrip(")"), "look there first")
        fixes.append(f"tfgen's largest self time in the profile is `{where}` ({seconds_:.2f} s, {share:.0%}): {fix}")
    staging = what_if["write_files"] / max(what_if["plain write_text of the same files"], 1e-9)
    measured = "; ".join(f"{name} {ms:.2f} ms" for name, ms in what_if.items())
    cpu = per_spec("shared", count, "cpu")
    text = (
        f"**Batch: {per_spec('shared', count):.2f} ms/spec at {count} specs with the caller's environment (CPU "
        f"{cpu:.2f}; parse {per_spec('shared', count, 'parse'):.2f}, render "
        f"{per_spec('shared', count, 'render'):.2f}, write {per_spec('shared', count, 'write'):.2f}), "
        f"{per_spec('api', api_count):.2f} ms/spec at {api_count} with tfgen's default environment.** "
        f"Measured here in one process, per spec: {measured}. "
    )
    if fixes:
        text += "Proposed fixes: " + "; ".join(f"({i}) {fix}" for i, fix in enumerate(fixes, 1)) + ". "
    text += (
        f"Atomic writing (`write_files`: staging directory, rename) costs {staging:.1f}× writing the same files "
        "plainly; worth keeping. The rest is rendering, the work plain Jinja2 does too, and the filesystem's "
        "inode allocation (see the note under the table). "
    )
    if saved:
        text += f"Projected with the measured savings: ≈ {per_spec('shared', count) - saved:.2f} ms/spec."
    return text
