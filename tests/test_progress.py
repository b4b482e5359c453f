"""Progress reporters: terraform's JSON events as live display, plain logs, or JSON lines."""

from __future__ import annotations

import io
import json

from tfgen.deploy import progress

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
    assert "module.cluster.aws_rds_cluster.this" in text
    assert "created" in text
    assert "31s" in text
    assert "failed" in text
    assert "2/2 resources" in text
    assert "warning: creating RDS Cluster: boom (module/main.tf:42)" in text
