"""The questions deploy commands ask on a terminal, as callbacks for the library.

``apply`` and ``destroy`` show the plan and ask before applying it: ``y`` for an ordinary plan,
the cluster's name typed for a plan that loses data (:func:`tfgen.cli.output.print_data_loss`) or
upgrades the major version (:func:`tfgen.cli.output.print_major_upgrade`: the cluster goes offline).
Without a terminal nothing is asked: the command refuses unless ``--auto-approve`` (or, for a
state migration, ``--yes``) says yes beforehand.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from tfgen.cli import commands, output
from tfgen.errors import UsageError

if TYPE_CHECKING:  # deploy pulls in terraform and emulator code: tfgen.api imports it on first use
    from tfgen.deploy import operations as deploy
    from tfgen.terraform.results import PlanResult


def require_approval(approved: bool, verb: str, flag: str = "--auto-approve") -> None:
    """Refuse to go on unasked without a terminal; ``flag`` is the command's own option that approves.

    Raises:
        UsageError: If nothing approved and stdin is not a terminal.
    """
    if not approved and not sys.stdin.isatty():
        raise UsageError(
            f"refusing to {verb} without confirmation: there is no terminal to ask on", hint=f"pass {flag}"
        )


def confirm_migration(yes: bool) -> deploy.ConfirmMigration | None:
    """--yes migrates; a terminal asks; otherwise None (the library refuses and says to pass --yes)."""
    if not yes and not sys.stdin.isatty():
        return None

    def confirm(migration: deploy.Migration) -> bool:
        commands.echo(output.describe_migration(migration), err=True)
        return yes or typer.confirm("Migrate the state?", default=False, err=True)

    return confirm


def show_and_confirm(verb: str, *, auto_approve: bool, json_lines: bool) -> deploy.Confirm:
    """Show the plan (its diffs, final snapshots, data loss), then ask: ``y``, or the cluster's name typed."""

    def confirm(planned: PlanResult) -> bool:
        output.print_changes(planned, json_lines=json_lines)
        output.print_deletions(planned, json_lines=json_lines)
        lost = output.print_data_loss(planned, json_lines=json_lines)
        upgraded = output.print_major_upgrade(planned, json_lines=json_lines)
        name = lost or upgraded
        if auto_approve:
            return True
        if name is None:
            return typer.confirm(f"{verb.capitalize()} these changes?", default=False, err=True)
        what = "loses data" if lost else "upgrades the major version (downtime)"
        typed = typer.prompt(
            f"This plan {what}. Type the cluster's name ({name}) to {verb}",
            default="",
            show_default=False,
            err=True,
        )
        if typed.strip() != name:
            commands.echo(f"{typed.strip()!r} is not the cluster's name {name!r}", err=True)
            return False
        return True

    return confirm
