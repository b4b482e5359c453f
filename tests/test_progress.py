"""Progress reporters: terraform's JSON events as live display, plain logs, or JSON lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tfgen.deploy import layout, progress

RESOURCE = {"addr": "module.cluster.aws_rds_cluster.this"}
EVENTS = [
    {"type": "apply_start", "hook": {"resource": RESOURCE, "action": "create"}},
    {"type": "apply_progress", "hook": {"resource": RESOURCE, "action": "create", "elapsed_seconds": 10}},
    {"type": "apply_complete", "hook": {"resource": RESOURCE, "action": "create", "elapsed_seconds": 31}},
    {
        "type": "diagnostic",
        "diagnostic": {
            "severity": "warning",
            "summary": "creating RDS Cluster: boom",
            "detail": "first\\nsecond",
            "range": {"filename": "module/main.tf", "start": {"line": 42}},
        },
    },
    {"type": "change_summary", "@message": "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."},
    {"type": "log", "@message": "chatter"},
]


def test_plain_reporter_one_line_per_event() -> None:
    out = io.StringIO()
    reporter = progress.make_reporter(out, json_lines=False, title="apply", terminal=False)
    assert isinstance(reporter, progress.PlainReporter)
    reporter.expect([("module.cluster.aws_rds_cluster.this", "create")])
    for event in EVENTS:
        reporter.handle(event)
    reporter.close()
    assert out.getvalue().splitlines() == [
        "applying 1 change(s)",
        "module.cluster.aws_rds_cluster.this: create started",
        "module.cluster.aws_rds_cluster.this: still creating... 10s",
        "module.cluster.aws_rds_cluster.this: created in 31s",
        "warning: creating RDS Cluster: boom (module/main.tf:42)",
        "  first\\nsecond",
    ]


def test_errors_are_left_to_the_final_report() -> None:
    out = io.StringIO()
    reporter = progress.make_reporter(out, json_lines=False, title="apply", terminal=False)
    reporter.handle({"type": "diagnostic", "diagnostic": {"severity": "error", "summary": "boom"}})
    assert out.getvalue() == ""


def test_json_reporter_passes_events_through() -> None:
    out = io.StringIO()
    reporter = progress.make_reporter(out, json_lines=True, title="apply")
    for event in EVENTS:
        reporter.handle(event)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == EVENTS


def test_live_reporter_rows_states_and_bar() -> None:
    out = io.StringIO()
    reporter = progress.make_reporter(out, json_lines=False, title="tfgen apply", terminal=True)
    assert isinstance(reporter, progress.LiveReporter)
    reporter.expect([("module.cluster.aws_rds_cluster.this", "create"), ("module.cluster.aws_vpc.x", "delete")])
    for event in EVENTS[:3]:
        reporter.handle(event)
    reporter.handle(
        {"type": "apply_errored", "hook": {"resource": {"addr": "module.cluster.aws_vpc.x"}, "action": "delete"}}
    )
    reporter.handle(EVENTS[3])
    reporter.close()
    text = out.getvalue()
    assert "resource (in module.cluster)" in text
    assert "rds_cluster.this" in text
    assert "created" in text
    assert "31s" in text
    assert "failed" in text
    assert "2/2 resources done" in text
    assert "warning: creating RDS Cluster: boom (module/main.tf:42)" in text


# ----------------------------------------------------------------------------- the live display at 80x24

FIXTURES = Path(__file__).parent / "fixtures" / "events"
WIDTH, HEIGHT = 80, 24


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def recorded(name: str) -> list[progress.Event]:
    """Events of a real ``tfgen apply --json`` / ``destroy --json`` of examples/local.yaml on the emulator, by phase."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def live(phase: str, clock: FakeClock) -> progress.LiveReporter:
    """A live display of ``phase`` on an 80x24 terminal that is never drawn (tests read :func:`screen`)."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=WIDTH, height=HEIGHT, force_terminal=True, color_system=None)
    return progress.LiveReporter(io.StringIO(), f"tfgen {phase}", phase=phase, clock=clock, console=console)


def screen(reporter: progress.LiveReporter) -> list[str]:
    """What one refresh of ``reporter`` draws on an 80x24 terminal, line by line."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=WIDTH, height=HEIGHT, record=True, color_system=None)
    console.print(reporter._render())
    return console.export_text().rstrip("\n").splitlines()


def planned(events: list[progress.Event]) -> list[tuple[str, str]]:
    return [(e["change"]["resource"]["addr"], e["change"]["action"]) for e in events if e["type"] == "planned_change"]


def test_the_status_line_names_the_phase_before_terraforms_first_event() -> None:
    clock = FakeClock()
    reporter = live("plan", clock)
    seen = [screen(reporter)[-1]]  # drawn as soon as the display exists: before terraform starts
    for event in recorded("destroy-plan.jsonl"):
        reporter.handle(event)
        if screen(reporter)[-1] != seen[-1]:
            seen.append(screen(reporter)[-1])
    reporter.close()
    seen.append(screen(reporter)[-1])
    assert seen[0] == "tfgen plan · 0s · starting terraform"
    assert seen[1] == "tfgen plan · 0s · loading providers"  # the version event: the providers start (seconds)
    assert "tfgen plan · 0s · refreshing 1 resource(s), 0 done" in seen
    assert "tfgen plan · 0s · refreshing 20 resource(s), 20 done" in seen
    assert "tfgen plan · 0s · planning: 20 change(s) so far" in seen
    assert seen[-1] == "tfgen plan · 0s · Plan: 0 to add, 0 to change, 20 to destroy. Reading the plan…"


def test_elapsed_times_tick_every_second_between_terraforms_events() -> None:
    clock = FakeClock()
    reporter = live("apply", clock)
    cluster = "module.cluster.aws_rds_cluster.this"
    reporter.expect([(cluster, "create"), ("module.cluster.aws_rds_cluster_instance.this[0]", "create")])
    reporter.handle({"type": "apply_start", "hook": {"resource": {"addr": cluster}, "action": "create"}})
    shown = []
    for second in range(25):
        if second == 10:  # terraform says so only every 10 s
            hook = {"resource": {"addr": cluster}, "action": "create", "elapsed_seconds": 10}
            reporter.handle({"type": "apply_progress", "hook": hook})
        row = next(line for line in screen(reporter) if line.startswith("rds_cluster.this "))
        shown.append(row.split()[-1])
        status = screen(reporter)[-1]
        assert f" tfgen apply · {progress.clock_time(second)} · " in status, status
        clock.now += 1
    assert shown == [f"{s}s" for s in range(25)]


def test_time_reads_as_minutes_past_a_minute() -> None:
    assert [progress.clock_time(s) for s in (0, 9.9, 59, 60, 65, 3599, 3600, 7380)] == [
        "0s", "9s", "59s", "1m00s", "1m05s", "59m59s", "1h00m", "2h03m"
    ]  # fmt: skip


@pytest.mark.parametrize("phase", ["apply", "destroy"])
def test_a_recorded_apply_fits_80x24_and_keeps_resources_apart(phase: str) -> None:
    plan, apply = recorded(f"{phase}-plan.jsonl"), recorded(f"{phase}-apply.jsonl")
    changes = planned(plan)
    clock = FakeClock()
    reporter = live(phase, clock)
    reporter.expect(changes)
    frames = [screen(reporter)]
    for event in apply:
        clock.now += 0.5
        reporter.handle(event)
        frames.append(screen(reporter))
    reporter.close()
    frames.append(screen(reporter))
    for frame in frames:
        assert len(frame) < HEIGHT, "\n".join(frame)
        assert all(len(line) <= WIDTH for line in frame), "\n".join(frame)
        assert frame[-1].lstrip("━╸╺ ").startswith(f"tfgen {phase} · "), "\n".join(frame)  # the progress line
        names = [line.split("  ")[0] for line in frame[1:-1]]
        assert len(set(names)) == len(names) == len(changes), "\n".join(frame)
    last = frames[-1]
    for key in ('["cpu"]', '["connections"]', '["capacity"]', '["acu_utilization"]', "[0]", "[1]"):
        assert any(key in line for line in last), key
    assert last[0].startswith("resource")
    assert "module.cluster" not in "\n".join(last[1:])  # shared by most rows: said once, not on each
    assert last[-1].endswith(f"tfgen {phase} · {'37s' if phase == 'apply' else '36s'} · 20/20 resources done")


def test_init_says_what_it_does() -> None:
    clock = FakeClock()
    reporter = live("init", clock)
    seen = [screen(reporter)[0]]
    for event in recorded("apply-init.jsonl"):
        reporter.handle(event)
        seen.append(screen(reporter)[0])
    assert list(dict.fromkeys(seen)) == [
        "tfgen init · 0s · starting terraform",
        "tfgen init · 0s · loading providers",
        "tfgen init · 0s · Initializing the backend",
        "tfgen init · 0s · Initializing modules",
        "tfgen init · 0s · Initializing provider plugins",
        "tfgen init · 0s · Terraform has created a lock file .terraform.lock.hcl to reco…",  # 80 columns
        "tfgen init · 0s · Terraform has been successfully initialized!",
    ]


def test_a_long_apply_folds_finished_rows_and_keeps_the_progress_line() -> None:
    clock = FakeClock()
    reporter = live("apply", clock)
    addresses = [f'module.cluster.module.alarms.aws_cloudwatch_metric_alarm.custom["alarm_{n:02d}"]' for n in range(40)]
    reporter.expect([(address, "create") for address in addresses])
    for address in addresses[:30]:
        reporter.handle({"type": "apply_start", "hook": {"resource": {"addr": address}, "action": "create"}})
        reporter.handle({"type": "apply_complete", "hook": {"resource": {"addr": address}, "action": "create"}})
    for address in addresses[30:33]:
        reporter.handle({"type": "apply_start", "hook": {"resource": {"addr": address}, "action": "create"}})
    frame = screen(reporter)
    assert len(frame) < HEIGHT
    assert all(len(line) <= WIDTH for line in frame)
    assert frame[1].startswith("… 30 done")
    assert sum(" creating " in line for line in frame[1:-1]) == 3
    assert sum(" pending" in line for line in frame[1:-1]) == 7
    assert frame[-1].lstrip("━╸╺ ").startswith("tfgen apply · 0s · applying: 30/40 done, 3 running")
    assert 'custom["alarm_30"]' in "\n".join(frame)


def test_short_names_drop_the_shared_module_and_keep_instance_keys() -> None:
    addresses = [
        "module.cluster.aws_rds_cluster.this",
        'module.cluster.aws_cloudwatch_metric_alarm.builtin["acu_utilization"]',
        'module.cluster.aws_cloudwatch_metric_alarm.builtin["cpu"]',
        "module.cluster.data.aws_partition.monitoring",
    ]
    assert layout.short_names(addresses, 40) == {
        "module.cluster.aws_rds_cluster.this": "rds_cluster.this",
        'module.cluster.aws_cloudwatch_metric_alarm.builtin["acu_utilization"]': (
            'clo_metr_alar.builtin["acu_utilization"]'  # 40 characters, one type shortened alike
        ),
        'module.cluster.aws_cloudwatch_metric_alarm.builtin["cpu"]': 'clo_metr_alar.builtin["cpu"]',
        "module.cluster.data.aws_partition.monitoring": "data.partition.monitoring",
    }


def test_short_names_mark_other_modules_and_never_collide() -> None:
    addresses = ["aws_vpc.local", "module.cluster.aws_vpc.local", "module.net[0].aws_vpc.local", "other_vpc.local"]
    names = layout.short_names(addresses, 60)
    assert names == {
        "aws_vpc.local": "vpc.local",
        "module.cluster.aws_vpc.local": "cluster/vpc.local",
        "module.net[0].aws_vpc.local": "net[0]/vpc.local",
        "other_vpc.local": "other_vpc.local",
    }
    clash = layout.short_names(["aws_x.a", "x.a"], 60)
    assert clash == {"aws_x.a": "aws_x.a", "x.a": "x.a"}


def test_fit_rows_folds_done_then_pending_then_running() -> None:
    states = ["done"] * 5 + ["failed"] + ["running"] * 3 + ["pending"] * 6
    assert layout.fit_rows(states, 20).rows == list(range(15))
    fitted = layout.fit_rows(states, 12)
    assert (fitted.done, fitted.pending, fitted.running, fitted.lines) == (5, 0, 0, 11)
    fitted = layout.fit_rows(states, 8)
    assert (fitted.done, fitted.pending, fitted.running, fitted.lines) == (5, 4, 0, 8)
    assert fitted.rows == [5, 6, 7, 8, 9, 10]
    fitted = layout.fit_rows(["running"] * 10, 4)
    assert (fitted.running, fitted.lines) == (7, 4)
