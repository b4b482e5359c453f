"""4. Driving overhead: `tfgen plan --local` vs `terraform plan` on the same working directory and emulator."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
from collections.abc import Callable, Mapping
from pathlib import Path

import report
from common import LOCAL_EXAMPLE, TIMING_HEADER, Bench, cli_config, row, terraform_env
from measure import BenchError, Command, Series, interleaved, run
from report import Section, Verdict, seconds, table

TARGET = 0.05
"""tfgen's overhead, as a share of terraform's own time."""
WORTH = 0.005
"""A part of tfgen's own time (seconds, under cProfile) worth a proposed fix."""


def run_benchmark(bench: Bench) -> Section:
    """Emulator up, apply once, plan repeatedly both ways, destroy, emulator down (always)."""
    section = Section("4. Driving overhead: `tfgen plan --local` vs `terraform plan`")
    if bench.terraform is None or bench.mirror is None:
        section.skipped = "needs terraform on PATH and a provider mirror (TFGEN_PLUGIN_MIRROR)"
        return section
    base = bench.scratch("drive")
    workdir, cache = base / "W", base / "plugin-cache"
    cache.mkdir()
    tf_env = terraform_env(cli_config(base, bench.mirror), cache)
    tfgen = str(bench.tfgen)
    spec = str(LOCAL_EXAMPLE)
    options = ["--local", "--workdir", str(workdir), "--plugin-mirror", str(bench.mirror), "--plugin-cache", str(cache)]
    env = {k: v for k, v in os.environ.items() if k not in ("TFGEN_PLUGIN_MIRROR", "TFGEN_PLUGIN_CACHE_DIR")}

    def tfgen_cmd(*args: str) -> Command:
        return Command([tfgen, *args], cwd=base, env=env)  # cwd: where `emulator start` recorded the emulator

    once: dict[str, float] = {}
    applied = False
    try:
        bench.log("driving: tfgen emulator start")
        run(tfgen_cmd("emulator", "start"))
        bench.log("driving: tfgen apply examples/local.yaml --local (about a minute on moto)")
        applied = True
        once["apply"] = run(tfgen_cmd("apply", spec, "--auto-approve", *options)).seconds
        # tfgen's own argv for the plan (tfgen.terraform.Terraform.plan_argv)
        plan = [bench.terraform, "plan", "-no-color", "-input=false", f"-out={workdir / 'tfgen.tfplan'}"]
        plan += ["-json", "-detailed-exitcode"]
        commands = {
            "tfgen": lambda rep: tfgen_cmd("plan", spec, *options),
            "terraform": lambda rep: Command(plan, cwd=workdir, env=tf_env, ok=(0, 2)),
        }
        bench.log(f"driving: 2 commands x {bench.drive_reps}")
        results = interleaved(commands, bench.drive_reps, progress=bench.log)
        version = Series([run(Command([bench.terraform, "version", "-json"], env=tf_env)) for _ in range(5)])
        profile = base / "tfgen-plan.prof"
        run(
            Command(
                [str(bench.python), "-m", "cProfile", "-o", str(profile), tfgen, "plan", spec, *options],
                cwd=base,
                env=env,
            )
        )
    finally:
        if applied:
            bench.log("driving: tfgen destroy")
            try:
                once["destroy"] = run(tfgen_cmd("destroy", spec, "--auto-approve", *options)).seconds
            except BenchError as exc:
                section.body += [f"`tfgen destroy` failed (the emulator is stopped all the same): {exc}", ""]
        bench.log("driving: tfgen emulator stop")
        _stop_emulator(base, tfgen_cmd)

    tf, ours = results["terraform"], results["tfgen"]
    overhead, cpu_overhead = paired_overhead(ours, tf)
    share = overhead / tf.median
    verdict = Verdict(
        "`tfgen plan --local` overhead over `terraform plan`",
        f"≤ {TARGET:.0%} of terraform's time",
        f"{share:+.1%} ({seconds(overhead)} on {seconds(tf.median)}; CPU {cpu_overhead / tf.cpu:+.1%})",
        share <= TARGET,
    )
    section.verdicts.append(verdict)
    section.body += table(
        TIMING_HEADER,
        [
            row("`terraform plan` by hand (same flags, environment, working directory)", tf),
            row(
                "`tfgen plan examples/local.yaml --local --workdir W`",
                ours,
                f"{share:+.1%} (CPU {cpu_overhead / tf.cpu:+.1%})",
                f"≤ +{TARGET:.0%}",
                verdict,
            ),
            row("`terraform version -json` (tfgen runs it before every command)", version),
        ],
    )
    section.body += [
        "",
        f"Once each, not repeated: `tfgen apply` {seconds(once.get('apply', 0.0))}, `tfgen destroy` "
        f"{seconds(once.get('destroy', 0.0))} (examples/local.yaml on moto). The emulator is `tfgen emulator start` in "
        "a scratch directory, stopped in a `finally`. terraform gets what tfgen gives it: a `TF_CLI_CONFIG_FILE` with "
        "the same `filesystem_mirror`, the same `TF_PLUGIN_CACHE_DIR`, `TF_IN_AUTOMATION=1`, `TF_INPUT=0`, "
        "`CHECKPOINT_DISABLE=1`, and tfgen's argv (`plan -no-color -input=false -out=… -json -detailed-exitcode`). "
        "CPU includes terraform's provider plugin; peak RSS is the largest process of the tree (the aws provider). "
        f"The overhead is the median of the {len(tf.runs)} paired differences (each round runs both, back to back), "
        f"which cancels most of the machine's drift; the difference of the medians is {seconds(ours.median - tf.median)}.",
    ]
    breakdown = _breakdown(profile)
    section.profiles += [
        "### cProfile of one `tfgen plan --local`: where tfgen's own time goes",
        "",
        *table(["part", "seconds (under cProfile)"], [(name, f"{value:.3f} s") for name, value in breakdown.items()]),
        "",
    ]
    if not verdict.passed:
        section.findings.append(_finding(tf, (overhead, cpu_overhead), version, breakdown))
    return section


def _breakdown(profile: Path) -> dict[str, float]:
    total = report.total_of(profile)
    plan = report.cumulative_of(profile, "tfgen/terraform.py", "plan")
    return {
        "whole process": total,
        "`terraform plan` subprocess (`Terraform.plan`)": plan,
        "`terraform version -json` (`Terraform.version`)": report.cumulative_of(
            profile, "tfgen/terraform.py", "version"
        ),
        "render + write the working directory (`workdir.prepare`)": report.cumulative_of(
            profile, "tfgen/workdir.py", "prepare"
        ),
        "of which Jinja compiles templates (`Environment.compile`)": report.cumulative_of(
            profile, "jinja2/environment.py", "compile"
        ),
        "find the emulator (`emulator.running_emulator`)": report.cumulative_of(
            profile, "tfgen/emulator.py", "running_emulator"
        ),
        "import `tfgen.cli` (typer, pydantic, jinja2, the spec model)": report.cumulative_of(
            profile, "tfgen/cli.py", "<module>"
        ),
        "import `tfgen.deploy` (terraform wrapper, python-terraform, progress)": report.cumulative_of(
            profile, "tfgen/deploy.py", "<module>"
        ),
        "everything but `terraform plan`": total - plan,
    }


def paired_overhead(ours: Series, theirs: Series) -> tuple[float, float]:
    """Median of the per-round differences (wall, CPU): both ran back to back in each round."""
    pairs = list(zip(ours.runs, theirs.runs, strict=True))
    return (
        statistics.median(a.seconds - b.seconds for a, b in pairs),
        statistics.median(a.cpu - b.cpu for a, b in pairs),
    )


def _finding(tf: Series, overheads: tuple[float, float], version: Series, breakdown: Mapping[str, float]) -> str:
    overhead, cpu_overhead = overheads
    parts = "; ".join(f"{name} {value * 1000:.0f} ms" for name, value in list(breakdown.items())[2:-1])
    version_ms = breakdown["`terraform version -json` (`Terraform.version`)"]
    compile_ms = breakdown["of which Jinja compiles templates (`Environment.compile`)"]
    fixes, saving = [], 0.0
    if version_ms > WORTH:
        saving += version.median
        fixes.append(
            "`tfgen/terraform.py`: remember the version check per binary (resolved path, size, mtime) in the user "
            f"cache directory instead of running `terraform version -json` ({seconds(version.median)}) before every "
            "command"
        )
    if compile_ms > WORTH:
        saving += compile_ms
        fixes.append(
            f"the module and root templates compile in every plan ({compile_ms * 1000:.0f} ms under cProfile): "
            "`tfgen/workdir.py` `prepare()` should render through an environment with a bytecode cache under the "
            "user cache directory (`render.make_environment(bytecode_cache=...)`)"
        )
    text = (
        f"**Driving overhead {overhead / tf.median:+.1%} ({seconds(overhead)} on {seconds(tf.median)}; CPU "
        f"{seconds(cpu_overhead)} more; target ≤ {TARGET:.0%}).** Under cProfile, tfgen's own parts: {parts}. "
    )
    if fixes:
        text += "Proposed fixes: " + "; ".join(f"({i}) {fix}" for i, fix in enumerate(fixes, 1)) + ". "
        text += f"Together they save ≈ {saving * 1000:.0f} ms: ≈ {(overhead - saving) / tf.median:+.1%}. "
    return text + (
        "The rest is Python start-up and imports (section 1). Plan times on moto vary by hundreds of ms from run "
        "to run (see min – max): a fixed cost of a few hundred ms sits right at 5 % of a 6 s plan, so the verdict "
        "can flip between runs on a busy machine; the CPU figure is the steadier one."
    )


def _stop_emulator(base: Path, tfgen_cmd: Callable[..., Command]) -> None:
    """``tfgen emulator stop``; if that fails, end the one process the emulator record names."""
    try:
        run(tfgen_cmd("emulator", "stop"))
        return
    except BenchError:
        pass
    record = base / ".tfgen" / "emulator.json"
    try:
        pid = int(json.loads(record.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)  # the emulator this bench started, by its recorded id
