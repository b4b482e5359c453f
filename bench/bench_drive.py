"""4. Driving overhead: `tfgen plan --local` vs `terraform plan` on the same working directory and emulator."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
        # tfgen's own argv for the plan (tfgen.terraform.commands.Terraform.plan_argv)
        plan = [bench.terraform, "plan", "-no-color", "-input=false", f"-out={workdir / 'tfgen.tfplan'}"]
        plan += ["-json", "-detailed-exitcode"]
        probes = base / "probes"
        probes.mkdir()

        def probed(rep: int) -> Command:
            # `tfgen plan` as the console script runs it, timing each terraform child from inside
            argv = [str(bench.python), "-c", PROBE, str(probes / f"{rep}.json"), tfgen, "plan", spec, *options]
            return Command(argv, cwd=base, env=env)

        commands = {
            "tfgen": probed,
            "terraform": lambda rep: Command(plan, cwd=workdir, env=tf_env, ok=(0, 2)),
        }
        bench.log(f"driving: 2 commands x {bench.drive_reps}")
        results = interleaved(commands, bench.drive_reps, progress=bench.log)
        inside = [Probe.read(probes / f"{rep}.json") for rep in range(bench.drive_reps)]
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
    low, high = median_interval([a.seconds - b.seconds for a, b in zip(ours.runs, tf.runs, strict=True)])
    own = [run.seconds - (probe.plan[1] - probe.plan[0]) for run, probe in zip(ours.runs, inside, strict=True)]
    share, own_share = overhead / tf.median, statistics.median(own) / tf.median
    # met when tfgen's own time is within the target and the paired runs do not show, beyond their
    # noise, a larger overhead (terraform itself running slower under tfgen would show there only)
    verdict = Verdict(
        "`tfgen plan --local` overhead over `terraform plan`",
        f"≤ {TARGET:.0%} of terraform's time",
        f"own time {own_share:+.1%} ({seconds(statistics.median(own))} on {seconds(tf.median)}); paired "
        f"{share:+.1%} (95% CI {low / tf.median:+.1%} … {high / tf.median:+.1%}); CPU {cpu_overhead / tf.cpu:+.1%}",
        own_share <= TARGET and low / tf.median <= TARGET,
    )
    section.verdicts.append(verdict)
    section.body += table(
        TIMING_HEADER,
        [
            row("`terraform plan` by hand (same flags, environment, working directory)", tf),
            row(
                "`tfgen plan examples/local.yaml --local --workdir W`",
                ours,
                f"{share:+.1%} paired (CPU {cpu_overhead / tf.cpu:+.1%})",
                f"≤ +{TARGET:.0%}",
                verdict,
            ),
            row("`terraform version -json` (tfgen runs it once per terraform binary and working directory)", version),
        ],
    )
    section.body += [
        "",
        *table(
            ["tfgen's own time, per `tfgen plan` (measured inside the process)", "median", "min – max", "share"],
            [
                _own_row("all but `terraform plan`: the wall time minus the plan child's", own, tf.median),
                _own_row(
                    "before `terraform plan` starts (interpreter start-up and exit included)",
                    [run.seconds - probe.end + probe.plan[0] for run, probe in zip(ours.runs, inside, strict=True)],
                    tf.median,
                ),
                _own_row(
                    "of which other terraform commands (`version`, `init`)", [p.others() for p in inside], tf.median
                ),
                _own_row("after `terraform plan` exits", [p.end - p.plan[1] for p in inside], tf.median),
            ],
        ),
        "",
        "terraform commands per `tfgen plan`: "
        + ", ".join(f"`{' + '.join(names)}` ×{count}" for names, count in _commands(inside).items())
        + ".",
    ]
    section.body += [
        "",
        f"Once each, not repeated: `tfgen apply` {seconds(once.get('apply', 0.0))}, `tfgen destroy` "
        f"{seconds(once.get('destroy', 0.0))} (examples/local.yaml on moto). The emulator is `tfgen emulator start` in "
        "a scratch directory, stopped in a `finally`. terraform gets what tfgen gives it: a `TF_CLI_CONFIG_FILE` with "
        "the same `filesystem_mirror`, the same `TF_PLUGIN_CACHE_DIR`, `TF_IN_AUTOMATION=1`, `TF_INPUT=0`, "
        "`CHECKPOINT_DISABLE=1`, and tfgen's argv (`plan -no-color -input=false -out=… -json -detailed-exitcode`). "
        "CPU includes terraform's provider plugin; peak RSS is the largest process of the tree (the aws provider). "
        f"The overhead is the median of the {len(tf.runs)} paired differences (each round runs both, back to back, "
        "the order alternating), which cancels most of the machine's drift; its 95% confidence interval is "
        f"distribution-free (order statistics of the differences); the difference of the medians is "
        f"{seconds(ours.median - tf.median)}. A plan on moto varies by hundreds of ms from run to run, so the paired "
        "figure stays noisy; tfgen's own time is measured in each tfgen run as well: `tfgen plan` runs through "
        "`python -c` with a probe that times each terraform child tfgen starts (`Terraform._execute`), and its wall "
        "time (measured outside, fork to exit) minus its `terraform plan` child is what tfgen itself costs (other "
        "terraform commands it runs, such as `version` or `init`, included), whatever the plan's own time does. The two agree unless terraform itself runs slower under tfgen. The target is met when "
        "tfgen's own time is within it and the paired interval does not lie wholly above it (a slower terraform "
        "under tfgen would show there).",
    ]
    breakdown = _breakdown(profile)
    section.profiles += [
        "### cProfile of one `tfgen plan --local`: where tfgen's own time goes",
        "",
        *table(["part", "seconds (under cProfile)"], [(name, f"{value:.3f} s") for name, value in breakdown.items()]),
        "",
    ]
    if not verdict.passed:
        section.findings.append(
            _finding(tf, (overhead, cpu_overhead), statistics.median(own), (low, high), version, breakdown)
        )
    return section


def _breakdown(profile: Path) -> dict[str, float]:
    total = report.total_of(profile)
    plan = report.cumulative_of(profile, "tfgen/terraform/commands.py", "plan")
    return {
        "whole process": total,
        "`terraform plan` subprocess (`Terraform.plan`)": plan,
        "`terraform version -json` (`Terraform.version`)": report.cumulative_of(
            profile, "tfgen/terraform/commands.py", "version"
        ),
        "check the working directory is current (`workdir.prepare`)": report.cumulative_of(
            profile, "tfgen/deploy/workdir.py", "prepare"
        ),
        "of which rendering (`workdir._render`; only when something changed)": report.cumulative_of(
            profile, "tfgen/deploy/workdir.py", "_render"
        ),
        "of which Jinja compiles templates (`Environment.compile`)": report.cumulative_of(
            profile, "jinja2/environment.py", "compile"
        ),
        "find the emulator (`emulator.running_emulator`)": report.cumulative_of(
            profile, "tfgen/emulator/server.py", "running_emulator"
        ),
        "import `tfgen.cli.app`": report.cumulative_of(profile, "tfgen/cli/app.py", "<module>"),
        "import `tfgen.deploy.operations` (spec model, emulator, terraform wrapper, progress)": report.cumulative_of(
            profile, "tfgen/deploy/operations.py", "<module>"
        ),
        "everything but `terraform plan`": total - plan,
    }


PROBE = """
import json, sys, time
began = time.perf_counter()
import tfgen.terraform.commands
spans = []
execute = tfgen.terraform.commands.Terraform._execute
def timed(self, argv, *args, **kwargs):
    start = time.perf_counter()
    try:
        return execute(self, argv, *args, **kwargs)
    finally:
        spans.append([argv[1] if len(argv) > 1 else "?", start - began, time.perf_counter() - began])
tfgen.terraform.commands.Terraform._execute = timed
out, script = sys.argv[1], sys.argv[2]
sys.argv = [script, *sys.argv[3:]]
code = 0
try:
    with open(script, encoding="utf-8") as source:
        exec(compile(source.read(), script, "exec"), {"__name__": "__main__", "__file__": script})
except SystemExit as exc:
    code = exc.code
finally:
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"spans": spans, "end": time.perf_counter() - began}, handle)
sys.exit(code)
"""
"""``python -c PROBE OUT.json TFGEN ARGS...``: runs the console script ``TFGEN`` with ``ARGS`` as a user's shell
does, and writes to OUT.json when each terraform child started and ended, and when tfgen was done (seconds since
the probe started). Importing ``tfgen.terraform.commands`` first moves nothing: ``plan`` imports it anyway."""


@dataclass(frozen=True)
class Probe:
    """What the probe saw in one tfgen run: the terraform children (name, start, end) and tfgen's end."""

    spans: list[tuple[str, float, float]]
    end: float

    @classmethod
    def read(cls, path: Path) -> Probe:
        """Read the probe's file.

        Raises:
            BenchError: If the probe wrote nothing usable.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            spans = [(str(name), float(start), float(end)) for name, start, end in data["spans"]]
            return cls(spans, float(data["end"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"the tfgen probe wrote no timings to {path}: {exc}") from None

    def span(self, command: str) -> tuple[float, float]:
        """When the terraform child ``command`` (``plan``, ``apply``) started and ended.

        Raises:
            BenchError: If tfgen ran no such command.
        """
        for name, start, end in self.spans:
            if name == command:
                return start, end
        raise BenchError(f"tfgen ran no `terraform {command}`, only {[name for name, _, _ in self.spans]}")

    @property
    def plan(self) -> tuple[float, float]:
        """When ``terraform plan`` started and ended (:meth:`span`)."""
        return self.span("plan")

    def others(self, command: str = "plan") -> float:
        """Seconds in terraform children other than ``command`` (``version``, ``init``): tfgen's, not terraform's."""
        return sum(end - start for name, start, end in self.spans if name != command)


def _own_row(label: str, values: list[float], reference: float) -> list[str]:
    middle = statistics.median(values)
    return [label, seconds(middle), f"{seconds(min(values))} – {seconds(max(values))}", f"{middle / reference:+.1%}"]


def _commands(probes: list[Probe]) -> dict[tuple[str, ...], int]:
    found: dict[tuple[str, ...], int] = {}
    for probe in probes:
        names = tuple(name for name, _, _ in probe.spans)
        found[names] = found.get(names, 0) + 1
    return found


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval of the median: order statistics chosen by the binomial law."""
    ordered = sorted(values)
    n = len(ordered)
    # the widest k with P(Binomial(n, 1/2) < k) <= (1 - level) / 2: [x_(k), x_(n+1-k)] covers the median
    k, tail = 0, 0.0
    while k < n // 2:
        tail_next = tail + math.comb(n, k) / 2**n
        if tail_next > (1 - level) / 2:
            break
        tail, k = tail_next, k + 1
    if k == 0:
        return ordered[0], ordered[-1]  # too few runs for the level: the whole range
    return ordered[k - 1], ordered[n - k]


def paired_overhead(ours: Series, theirs: Series) -> tuple[float, float]:
    """Median of the per-round differences (wall, CPU): both ran back to back in each round."""
    pairs = list(zip(ours.runs, theirs.runs, strict=True))
    return (
        statistics.median(a.seconds - b.seconds for a, b in pairs),
        statistics.median(a.cpu - b.cpu for a, b in pairs),
    )


def _finding(
    tf: Series,
    overheads: tuple[float, float],
    own: float,
    interval: tuple[float, float],
    version: Series,
    breakdown: Mapping[str, float],
) -> str:
    overhead, cpu_overhead = overheads
    parts = "; ".join(f"{name} {value * 1000:.0f} ms" for name, value in list(breakdown.items())[2:-1])
    version_ms = breakdown["`terraform version -json` (`Terraform.version`)"]
    render_ms = breakdown["of which rendering (`workdir._render`; only when something changed)"]
    fixes = []
    if version_ms > WORTH:
        fixes.append(
            f"`terraform version -json` ran ({seconds(version.median)} each): its version is remembered per binary "
            "file unless the binary is a script or a link to another program (a version manager's shim), which is "
            "checked every time; point tfgen at the real binary"
        )
    if render_ms > WORTH:
        fixes.append(
            f"the working directory was rendered again ({render_ms * 1000:.0f} ms under cProfile) although nothing "
            "changed between the runs: something in `workdir._render_key` (or a written file) changes per run"
        )
    text = (
        f"**Driving overhead {overhead / tf.median:+.1%} ({seconds(overhead)} on {seconds(tf.median)}, 95% CI "
        f"{seconds(interval[0])} … {seconds(interval[1])}; tfgen's own time {seconds(own)} = "
        f"{own / tf.median:+.1%}; CPU {seconds(cpu_overhead)} more; target ≤ {TARGET:.0%}).** "
        f"Under cProfile, tfgen's own parts: {parts}. "
    )
    if fixes:
        text += "To look at: " + "; ".join(f"({i}) {fix}" for i, fix in enumerate(fixes, 1)) + ". "
    if own / tf.median <= TARGET:
        text += (
            "tfgen's own time is within the target, but the paired runs show more, beyond their noise: terraform "
            "itself ran slower under tfgen (its environment, the reading of its output; compare `TF_LOG=trace` of "
            "both), or other work on the machine hit the tfgen runs more (see the load average). "
        )
    return text + "The rest is Python start-up and imports (section 1)."


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
