"""6. Applying a reviewed plan: `tfgen apply --plan FILE` vs `terraform apply FILE`, side by side."""

from __future__ import annotations

import itertools
import os
import statistics
from pathlib import Path

import yaml
from bench_drive import PROBE, Probe, _own_row, _stop_emulator, median_interval, paired_overhead
from common import LOCAL_EXAMPLE, TIMING_HEADER, Bench, cli_config, row, terraform_env
from measure import BenchError, Command, run
from measure import interleaved as interleaved_runs
from report import Section, Verdict, seconds, table

from tfgen.terraform.argv import CommandLines

TARGET = 0.02
"""tfgen's overhead, as a share of ``terraform apply FILE``'s time."""


def run_benchmark(bench: Bench) -> Section:
    """Emulator up, apply once; then, each round, two plans saved by ``tfgen plan --out`` (untimed), one
    applied by ``tfgen apply --plan --auto-approve``, the other by terraform's own argv; destroy, emulator down."""
    section = Section("6. Applying a reviewed plan: `tfgen apply --plan` vs `terraform apply FILE`")
    if bench.terraform is None or bench.mirror is None:
        section.skipped = "needs terraform on PATH and a provider mirror (TFGEN_PLUGIN_MIRROR)"
        return section
    base = bench.scratch("reviewed")
    workdir, cache, plans = base / "W", base / "plugin-cache", base / "plans"
    cache.mkdir()
    plans.mkdir()
    tf_env = terraform_env(cli_config(base, bench.mirror), cache)
    tfgen = str(bench.tfgen)
    options = ["--local", "--workdir", str(workdir), "--plugin-mirror", str(bench.mirror), "--plugin-cache", str(cache)]
    env = {k: v for k, v in os.environ.items() if k not in ("TFGEN_PLUGIN_MIRROR", "TFGEN_PLUGIN_CACHE_DIR")}
    spec = base / "local.yaml"
    data = yaml.safe_load(LOCAL_EXAMPLE.read_text(encoding="utf-8"))
    spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    counter = itertools.count()

    def tfgen_cmd(*args: str) -> Command:
        return Command([tfgen, *args], cwd=base, env=env)  # cwd: where `emulator start` recorded the emulator

    def saved_plan() -> Path:
        """A new tag value planned and saved by ``tfgen plan --out`` (untimed: the factory runs before the clock)."""
        number = next(counter)
        data["tags"] = {**data.get("tags", {}), "bench": f"round-{number}"}
        spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        path = plans / f"{number}.tfplan"
        run(tfgen_cmd("plan", str(spec), "--out", str(path), *options))
        return path

    probes = base / "probes"
    probes.mkdir()

    def by_tfgen(rep: int) -> Command:
        # as the console script runs it, timing each terraform child from inside (bench_drive.PROBE)
        args = ["apply", str(spec), "--plan", str(saved_plan()), "--auto-approve", *options]
        return Command([str(bench.python), "-c", PROBE, str(probes / f"{rep}.json"), tfgen, *args], cwd=base, env=env)

    def by_terraform(rep: int) -> Command:
        argv = CommandLines(workdir.absolute(), bench.terraform or "terraform").apply_argv(saved_plan())
        return Command(argv, cwd=workdir, env=tf_env)

    applied = False
    try:
        bench.log("reviewed: tfgen emulator start")
        run(tfgen_cmd("emulator", "start"))
        bench.log("reviewed: tfgen apply examples/local.yaml --local (about a minute on moto)")
        applied = True
        run(tfgen_cmd("apply", str(spec), "--auto-approve", *options))
        bench.log(f"reviewed: 2 commands x {bench.drive_reps} (each after an untimed tfgen plan --out)")
        results = interleaved_runs({"tfgen": by_tfgen, "terraform": by_terraform}, bench.drive_reps, progress=bench.log)
        inside = [Probe.read(probes / f"{rep}.json") for rep in range(bench.drive_reps)]
    finally:
        if applied:
            bench.log("reviewed: tfgen destroy")
            try:
                run(tfgen_cmd("destroy", str(spec), "--auto-approve", *options))
            except BenchError as exc:
                section.body += [f"`tfgen destroy` failed (the emulator is stopped all the same): {exc}", ""]
        bench.log("reviewed: tfgen emulator stop")
        _stop_emulator(base, tfgen_cmd)

    tf, ours = results["terraform"], results["tfgen"]
    overhead, cpu_overhead = paired_overhead(ours, tf)
    low, high = median_interval([a.seconds - b.seconds for a, b in zip(ours.runs, tf.runs, strict=True)])
    share = overhead / tf.median
    own = [
        run.seconds - (probe.span("apply")[1] - probe.span("apply")[0])
        for run, probe in zip(ours.runs, inside, strict=True)
    ]
    own_share = statistics.median(own) / tf.median
    # as in section 4: met when tfgen's own time is within the target and the paired runs do not show,
    # beyond their noise, a larger overhead (terraform itself running slower under tfgen shows there only)
    verdict = Verdict(
        "`tfgen apply --plan` overhead over `terraform apply FILE`",
        f"≤ {TARGET:.0%} of terraform's time",
        f"own time {own_share:+.1%} ({seconds(statistics.median(own))} on {seconds(tf.median)}); paired "
        f"{share:+.1%} ({seconds(overhead)}; 95% CI {low / tf.median:+.1%} … {high / tf.median:+.1%}); "
        f"CPU {cpu_overhead / tf.cpu:+.1%}",
        own_share <= TARGET and low / tf.median <= TARGET,
    )
    section.verdicts.append(verdict)
    section.body += table(
        TIMING_HEADER,
        [
            row("`terraform apply -json -auto-approve=true FILE` (tfgen's argv, same directory and environment)", tf),
            row(
                "`tfgen apply SPEC --plan FILE --auto-approve --local --workdir W`",
                ours,
                f"{share:+.1%} paired (CPU {cpu_overhead / tf.cpu:+.1%})",
                f"≤ +{TARGET:.0%}",
                verdict,
            ),
        ],
    )
    section.body += [
        "",
        *table(
            [
                "tfgen's own time, per `tfgen apply --plan` (measured inside the process)",
                "median",
                "min – max",
                "share",
            ],
            [
                _own_row("all but `terraform apply`: the wall time minus the apply child's", own, tf.median),
                _own_row(
                    "before `terraform apply` starts (interpreter start-up and exit included)",
                    [
                        run.seconds - probe.end + probe.span("apply")[0]
                        for run, probe in zip(ours.runs, inside, strict=True)
                    ],
                    tf.median,
                ),
                _own_row("of which other terraform commands", [p.others("apply") for p in inside], tf.median),
                _own_row("after `terraform apply` exits", [p.end - p.span("apply")[1] for p in inside], tf.median),
            ],
        ),
    ]
    section.body += [
        "",
        f"Each of the {len(tf.runs)} rounds applies two plans, each saved just before by `tfgen plan --out` "
        "(untimed) with a new value of one tag (examples/local.yaml on moto: every tagged resource is updated), "
        "one by each command, the order alternating; the overhead is the median of the paired differences "
        f"(the difference of the medians is {seconds(statistics.median(r.seconds for r in ours.runs) - tf.median)}). "
        "With `--auto-approve`, `tfgen apply --plan` reads the plan file's record of origin (a zip entry), checks "
        "it, and runs terraform's apply: it does not run `terraform show` (the plan was reviewed when it was "
        "saved). Without `--auto-approve` it shows the plan first, which costs a `terraform show -json` "
        "(the aws provider's start, seconds), not measured here.",
    ]
    if not verdict.passed:
        section.findings.append(
            f"**`tfgen apply --plan` overhead {share:+.1%} ({seconds(overhead)} on {seconds(tf.median)}, 95% CI "
            f"{seconds(low)} … {seconds(high)}; target ≤ {TARGET:.0%}).** tfgen's part is Python start-up and "
            "imports (section 1), loading the spec, and the zip read of the record of origin; a run on a loaded "
            "machine also shows the noise of terraform's own apply (see the spread)."
        )
    return section
