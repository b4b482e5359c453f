"""What the deploy and runbook commands print: plans, summaries, outputs, reports, progress.

Formatting only: every value comes from :mod:`tfgen.api`. Nothing here imports Typer.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tfgen.cli.commands import echo, report, warn
from tfgen.errors import SpecError

if TYPE_CHECKING:  # deploy pulls in terraform and emulator code
    from tfgen.deploy import fleet, progress
    from tfgen.deploy import operations as deploy
    from tfgen.deploy import review as review_
    from tfgen.ops.backup import BackupResult
    from tfgen.ops.runbook import DoctorReport
    from tfgen.terraform.results import ApplyResult, PlanResult

_SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "read": "<="}


def reporters(json_lines: bool) -> deploy.ReporterFactory:
    """Progress of each phase: JSON lines on stdout, else on a terminal a live display (a table for apply/destroy)."""
    from tfgen.deploy import progress

    def factory(phase: str) -> progress.Reporter:
        if json_lines:
            return progress.JsonReporter(sys.stdout)
        if phase in ("apply", "destroy"):
            return progress.make_reporter(sys.stdout, json_lines=False, title=f"tfgen {phase}", phase=phase)
        # init and plan: a status line on a terminal, else warnings only (the CLI prints summaries and errors)
        return progress.make_reporter(sys.stderr, json_lines=False, title=f"tfgen {phase}", phase=phase)

    return factory


def print_plan(outcome: deploy.Outcome, *, json_lines: bool) -> None:
    """What a plan would change (and the data it would lose), or that it would change nothing."""
    if not outcome.plan.changes_present:
        echo(f"{outcome.directory}: no changes; the infrastructure matches the spec", err=json_lines)
        return
    print_changes(outcome.plan, json_lines=json_lines)
    print_data_loss(outcome.plan, json_lines=json_lines)
    print_major_upgrade(outcome.plan, json_lines=json_lines)


def print_changes(planned: PlanResult, *, json_lines: bool) -> None:
    """``Plan: N to add, …``, one line per resource change, and under each update or replacement its attributes.

    Each attribute as ``path: old -> new`` (sensitive values and values known only after the
    apply as terraform shows them), ``# forces replacement`` on those that force one. On
    stderr when stdout carries JSON lines; there, each diff is a ``resource_diff`` event.
    """
    review = _review(planned)
    imports = f"{planned.imported} to import, " if planned.imported else ""
    echo(
        f"Plan: {imports}{planned.add} to add, {planned.change} to change, {planned.remove} to destroy.",
        err=json_lines,
    )
    if review is not None and review.restored_from is not None:
        echo(f"The cluster is created from a backup: {review.restored_from}.", err=json_lines)
        if json_lines:
            echo(json.dumps({"type": "restore", "@module": "tfgen", "source": review.restored_from}))
    for change in planned.resource_changes:
        diff = review.diff(change.address) if review is not None else None
        label = f"import, {change.action}" if change.importing and change.action != "import" else change.action
        if diff is not None and diff.replaced_by:
            label += f": forced by {', '.join(diff.replaced_by)}"
        echo(f"  {_SYMBOLS.get(change.action, ' ')} {change.address} ({label})", err=json_lines)
        for attribute in diff.changes if diff is not None else ():
            forces = "  # forces replacement" if attribute.forces_replacement else ""
            echo(f"      {attribute.path}: {attribute.before_text} -> {attribute.after_text}{forces}", err=json_lines)
    if json_lines and review is not None:
        for diff in review.diffs:
            echo(json.dumps(diff.to_json(), sort_keys=True))


def print_data_loss(planned: PlanResult, *, json_lines: bool) -> str | None:
    """The warning block of a plan that loses data (on stderr; ``data_loss`` events with ``--json``).

    Returns:
        The name to type to apply it (the cluster's), or None when the plan loses nothing.
    """
    review = _review(planned)
    if review is None or not review.data_loss:
        return None
    name = review.cluster_name or review.data_loss[0].address
    rule = "!" * 78
    echo(f"{rule}\nWARNING: THIS PLAN LOSES DATA of cluster {name}:", err=True)
    for loss in review.data_loss:
        echo(f"  {loss.address}: {loss.reason}", err=True)
        if json_lines:
            echo(json.dumps({"type": "data_loss", "@module": "tfgen", "address": loss.address, "reason": loss.reason}))
    echo(rule, err=True)
    return name


def print_major_upgrade(planned: PlanResult, *, json_lines: bool) -> str | None:
    """The warning block of a plan that upgrades the cluster's major version, with its downtime (on stderr).

    Returns:
        The name to type to apply it (the cluster's), or None when the plan upgrades no major.
    """
    review = _review(planned)
    if review is None or not review.major_upgrades:
        return None
    rule = "!" * 78
    echo(rule, err=True)
    for upgrade in review.major_upgrades:
        echo(f"  {upgrade.address}: {upgrade.reason}", err=True)
        if json_lines:
            echo(json.dumps(upgrade.to_json(), sort_keys=True))
    echo(rule, err=True)
    return review.cluster_name or review.major_upgrades[0].address


def _review(planned: PlanResult) -> review_.PlanReview | None:
    from tfgen.deploy import review  # loaded already: the plan came from it

    return planned.review if isinstance(planned, review.ReviewedPlan) else None


def print_deletions(planned: PlanResult, *, json_lines: bool) -> None:
    """Before a destroy is confirmed: the final snapshot of each cluster it deletes, or loudly that none is taken."""
    from tfgen.deploy import safety  # loaded already: the plan came from it

    if not isinstance(planned, safety.DestroyPlan):
        return
    for cluster in planned.clusters:
        if cluster.final_snapshot is not None:
            echo(f"final snapshot: {cluster.final_snapshot} (taken as {cluster.address} is deleted)", err=json_lines)
        else:
            echo(
                f"WARNING: NO FINAL SNAPSHOT: {cluster.address} is deleted without one (skip_final_snapshot); "
                "its data is gone for good",
                err=True,
            )


def print_applied(verb: str, done: ApplyResult, *, json_lines: bool) -> None:
    """``apply complete: …`` (or destroy)."""
    imported = f"{done.imported} imported, " if done.imported else ""
    echo(
        f"{verb} complete: {imported}{done.add} added, {done.change} changed, {done.remove} destroyed.",
        err=json_lines,
    )


def print_migration(outcome: deploy.Outcome) -> None:
    """Where the state moved, if it did."""
    migration = outcome.migration
    if migration is not None:
        echo(
            f"state migrated from {migration.source} to {migration.destination} ({migration.state.describe()}); "
            f"the state as it was is kept in {migration.backup}",
            err=True,
        )


def describe_migration(migration: deploy.Migration) -> str:
    """The question's preamble: what moves where."""
    return (
        f"The spec's backend changed: the state ({migration.state.describe()}) moves from "
        f"{migration.source} to {migration.destination}."
    )


def print_row(row: fleet.Row) -> None:
    """One plan of a directory, as it ends: its warnings, then its counts or its error."""
    if row.outcome is not None:
        warn(row.outcome.warnings)
    if row.result == "skipped":
        return
    if row.error is not None:
        # a spec error names its file and line already
        report(row.error, prefix="" if isinstance(row.error, SpecError) else f"{row.label}: ")
    else:
        echo(f"{row.label}: {_counts(row)}", err=True)


def _counts(row: fleet.Row) -> str:
    if row.result == "no changes":
        return "no changes"
    return f"{row.add} to add, {row.change} to change, {row.remove} to destroy"


def print_summary(result: fleet.FleetPlan) -> None:
    """The table of a directory's plans: spec, environment, adds/changes/destroys, result."""
    header = ("SPEC", "ENV", "ADD", "CHANGE", "DESTROY", "RESULT")
    table: list[tuple[str, ...]] = [header]
    for row in result.rows:
        numbers = [str(n) if n is not None else "-" for n in (row.add, row.change, row.remove)]
        outcome = row.result
        if row.result == "failed" and row.error is not None:
            outcome = f"failed (exit {int(row.error.exit_code)})"
        table.append((str(row.spec), row.environment or "-", *numbers, outcome))
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    for line in table:
        cells = [
            cell.rjust(width) if 2 <= column <= 4 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        echo("  ".join(cells).rstrip())
    failed = sum(row.result in ("failed", "interrupted") for row in result.rows)
    echo(f"{len(result.rows)} plan(s), {failed} failed" + (", interrupted" if result.interrupted else ""))


def print_outputs(values: dict[str, Any], *, json_out: bool) -> None:
    """Outputs as one JSON object, or ``name = value`` lines (strings bare, the rest as JSON)."""
    if json_out:
        echo(json.dumps(values, indent=2, sort_keys=True))
        return
    for name, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value)
        echo(f"{name} = {text}")


def print_doctor(result: DoctorReport, *, json_out: bool) -> None:
    """The doctor's report: one JSON document, or a line per check (and its next step unless it passed)."""
    if json_out:
        echo(json.dumps(result.to_json(), indent=2))
        return
    from tfgen.ops.results import Status  # only the doctor's report: not on the deploy paths

    width = max(len(check.name) for check in result.results)
    for check in result.results:
        echo(f"{check.status!s:<4}  {check.name:<{width}}  {check.evidence}")
        if check.next_step and check.status is not Status.PASS:
            echo(f"{'':<4}  {'':<{width}}  next: {check.next_step}")


def print_backup(result: BackupResult) -> None:
    """What ``tfgen backup`` wrote: on stderr when stdout carries the CSV (``--out -``)."""
    to_stdout = str(result.path) == "-"
    where = "standard output" if to_stdout else result.path
    echo(f"backed up {result.rows} rows ({result.bytes} bytes) to {where}; sha256 {result.sha256}", err=to_stdout)


@contextlib.contextmanager
def backup_progress() -> Iterator[Callable[[int, int], None] | None]:
    """``tfgen backup``'s progress on a terminal: a callback for rows and bytes so far (None elsewhere)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("copying")

        def update(rows: int, size: int) -> None:
            bar.update(task, description=f"copying: ~{rows} rows, {size} bytes")

        yield update
