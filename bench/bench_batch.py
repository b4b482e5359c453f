"""3. Batch: 1, 10, 100, 1000 generated specs in one process through the library API."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import batch_worker
import report
from common import BENCH, EXAMPLE, ROOT, TEMPLATES, Bench
from measure import Command, run
from report import Section, Verdict, mib, seconds, table

SIZES = (1, 10, 100, 1000)
TARGET_MS = 2.0
PHASES = ("parse", "render", "write")
MODES = {
    "api": "`render_module(spec)` (no `env`: tfgen's default)",
    "shared": "`render_module(spec, env)` with one `make_environment()` of the caller's",
}
PLAIN = "plain"
"""The reference row: ``plain_batch.py``, plain Jinja2 on the same variants (no target)."""
LABELS = {**MODES, PLAIN: "plain-Jinja2 batch (`bench/plain_batch.py`), reference: no target"}


def sizes(bench: Bench, mode: str) -> tuple[int, ...]:
    """Batch sizes of a mode; ``--quick`` stops the slow mode (a compile per spec) at 100; the reference runs the largest."""
    if mode == PLAIN:
        return SIZES[-1:]
    return SIZES[:-1] if bench.quick and mode == "api" else SIZES


def run_benchmark(bench: Bench) -> Section:
    """Time the worker processes and profile the largest batch."""
    section = Section("3. Batch: many specs in one process (library API)")
    work = bench.scratch("batch")
    samples: dict[tuple[str, int], list[dict[str, Any]]] = {}
    plain_contexts = work / "plain-contexts.json"
    bench.log(f"batch: render contexts of {SIZES[-1]} variants for the plain-Jinja2 batch")
    # in a process of its own: a child inherits its parent's peak RSS (Linux keeps ru_maxrss across fork and
    # exec), and the contexts of 1000 variants would have raised the bench's, so every worker's reported one
    run(
        Command(
            [str(bench.python), str(BENCH / "contexts.py"), str(EXAMPLE), str(SIZES[-1]), str(plain_contexts)], cwd=ROOT
        )
    )
    bench.log(f"batch: {(sum(len(sizes(bench, m)) for m in MODES) + 1) * bench.batch_reps} worker processes")
    for rep in range(bench.batch_reps):
        for count in SIZES:
            modes = [mode for mode in LABELS if count in sizes(bench, mode)]
            # the order rotates each round: a later worker finds more inodes in use (see "new file")
            shift = rep % len(modes)
            for mode in modes[shift:] + modes[:shift]:
                out = work / f"{mode}-{count}-{rep}"
                if mode == PLAIN:
                    found = _plain_worker(bench, plain_contexts, out)
                else:
                    found = _worker(bench, count, out, shared=mode == "shared")
                samples.setdefault((mode, count), []).append(found)
                # Kept until bench/run.py removes its scratch directory at the very end, not deleted here: on
                # ext4 without a journal every new inode skips each free inode of its block group that was freed
                # in the last 60-360 s (fs/ext4/ialloc.c, recently_deleted()), so deleting 16,000 inodes here
                # made the next worker's every open() and mkdir() ~250 µs instead of ~12 µs -- the bench
                # charging tfgen for its own clean-up. The files are still written for real (and take ~85 MB
                # per 1,000 modules until the run ends).
        bench.log(f"  round {rep + 1}/{bench.batch_reps}")

    def per_spec(mode: str, count: int, key: str = "seconds", phases: str = "phases") -> float:
        values = [float(r[phases][key] if key in r[phases] else r[key]) for r in samples[(mode, count)]]
        return statistics.median(values) / count * 1000

    rows = []
    verdicts = {}
    for mode, label in LABELS.items():
        for count in sizes(bench, mode):
            verdict = None
            if mode in MODES and count == sizes(bench, mode)[-1]:
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
                    label if count == sizes(bench, mode)[0] else "",
                    count,
                    f"{per_spec(mode, count):.2f} ms",
                    f"{per_spec(mode, count, 'cpu'):.2f} ms ({per_spec(mode, count, 'system'):.2f})",
                    " / ".join(f"{per_spec(mode, count, phase):.2f}" for phase in PHASES) + " ms",
                    " / ".join(f"{per_spec(mode, count, phase, 'phases_cpu'):.2f}" for phase in PHASES) + " ms",
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
            "… CPU",
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
        "`tfgen.spec.model.parse_spec` (YAML with line tracking, `tfgen.spec.schema` validation, cross-field rules), "
        "`tfgen.render.templates.render_module`, `tfgen.render.templates.write_files` into a new directory (under a `flock` "
        "of the directory; the library writer flushes only files that replace others and writes the files of a "
        "directory it has just made straight to their names, so a new module costs no `fsync` and no rename; "
        "`tfgen render` and `tfgen update` write each file atomically, a temporary file flushed and renamed into "
        "place, flush every folder, and write the manifest). The variants of `examples/aurora.yaml` differ in name, capacities, instance count, CIDRs and "
        "tags. The clock includes making the environment, so a batch of 1 carries the template compilation. "
        "Kernel: the system part of the CPU time (parse and render make no system calls: it is the write phase's). "
        "… CPU: each phase's CPU time (`time.process_time`), which the load of other work changes least. "
        f"New file: what one empty file cost next to the output just before the batch "
        f"(`batch_worker.create_cost`, {batch_worker.PROBE_FILES} files), a gauge of the filesystem's state; a "
        f"new module is {batch_worker.MODULE_INODES} new inodes (15 files, 3 folders, the directory). Every "
        "output is kept until the end of the run (see `run_benchmark`)."
        + (" `--quick` stops the first mode at 100 specs." if bench.quick else ""),
        "",
        f"The reference row renders the same {SIZES[-1]} variants with plain Jinja2 (`bench/plain_batch.py`): "
        "`yaml.safe_load` (libyaml) of each spec and `json.loads` of its render context (exported from tfgen's API "
        "before the process starts, as for the start-up script), the same templates with the same Jinja settings in "
        "one environment, and `mkdir` + `write_text` of each file into a new directory: no line tracking, no "
        "validation, no context building, no lock. It has no target; it is the floor that Jinja2 and this "
        "filesystem give any generator of these files on this machine (its peak RSS holds the 1000 contexts, "
        "read before its clock starts; the three workers of a batch size run in an order that rotates each round). "
        + _identity(work / f"{PLAIN}-{SIZES[-1]}-0", work / f"shared-{SIZES[-1]}-0")
        + f" tfgen's batch of {SIZES[-1]} (`render_module(spec, env)`) takes "
        f"{per_spec('shared', SIZES[-1]) / per_spec(PLAIN, SIZES[-1]):.2f}× the reference's time per spec "
        f"(CPU {per_spec('shared', SIZES[-1], 'cpu') / per_spec(PLAIN, SIZES[-1], 'cpu'):.2f}×).",
    ]
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
    for mode, verdict in verdicts.items():
        if not verdict.passed:
            section.findings.append(
                f"**Batch through {MODES[mode]}: {verdict.measured}, target {verdict.target}.** "
                f"The plain-Jinja2 reference takes {per_spec(PLAIN, SIZES[-1]):.2f} ms/spec "
                f"(CPU {per_spec(PLAIN, SIZES[-1], 'cpu'):.2f}) on this machine. "
                "See the cProfile tables of this section for where the time goes."
            )
    return section


def _worker(bench: Bench, count: int, out: Path, *, shared: bool, profile: Path | None = None) -> dict[str, Any]:
    argv = [str(bench.python), str(BENCH / "batch_worker.py"), str(EXAMPLE), str(count), str(out)]
    if shared:
        argv.append("--shared-env")
    if profile is not None:
        argv += ["--profile", str(profile)]
    found: dict[str, Any] = json.loads(run(Command(argv, cwd=ROOT), keep_output=True).stdout)
    return found


def _plain_worker(bench: Bench, contexts_file: Path, out: Path) -> dict[str, Any]:
    argv = [str(bench.python), str(BENCH / "plain_batch.py"), str(contexts_file), str(TEMPLATES), str(out)]
    found: dict[str, Any] = json.loads(run(Command(argv, cwd=ROOT), keep_output=True).stdout)
    return found


def _identity(plain: Path, tfgen: Path) -> str:
    """'Output check: all N of its modules are byte-identical to tfgen's (same file sets).', or how many are not."""
    modules = sorted(p.name for p in tfgen.iterdir())
    differing = 0
    for name in modules:
        ours = {p.relative_to(tfgen / name): p for p in (tfgen / name).rglob("*") if p.is_file()}
        theirs = {p.relative_to(plain / name): p for p in (plain / name).rglob("*") if p.is_file()}
        if ours.keys() != theirs.keys() or any(ours[k].read_bytes() != theirs[k].read_bytes() for k in ours):
            differing += 1
    if differing:
        return f"Output check: **{differing} of its {len(modules)} modules differ from tfgen's** (file set or bytes)."
    return f"Output check: all {len(modules)} of its modules are byte-identical to tfgen's (same file sets)."
