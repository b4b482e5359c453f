"""``tfgen plan SPEC`` of one spec file: the body both paths of the console script run.

tfgen's start-up is what ``tfgen plan`` adds to ``terraform plan`` (BENCHMARKS.md, section 4),
so :mod:`tfgen.cli.fast` runs this without Typer, and :mod:`tfgen.cli.app` calls the same
function for a spec file: one body, one set of messages and exit codes. A directory of specs
stays with :mod:`tfgen.cli.app`. The prompt asked before a state migration (Typer's) is
imported only where it can be asked: with ``--yes`` or a terminal on stdin.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tfgen import api
from tfgen.cli import commands, output
from tfgen.cli.reviewed import deploy_options
from tfgen.errors import ExitCode, TfgenError

if TYPE_CHECKING:
    from tfgen.deploy.operations import ConfirmMigration


def plan_spec(
    *,
    spec: Path,
    env: str | None,
    workdir: Path | None,
    local: bool,
    endpoint: str | None,
    json_lines: bool,
    mirror: Path | None,
    cache: Path | None,
    binary: str,
    lock_timeout: str | None,
    yes: bool,
    out: Path | None,
    detailed_exitcode: bool,
) -> int:
    """Plan one spec, print the plan (and where it was saved with ``out``); the exit code as documented.

    Raises:
        TfgenError: As :func:`tfgen.api.plan` raises; with ``detailed_exitcode``, its exit code is 1
            (2 means "changes" there), unless the plan was interrupted.
    """
    try:
        options = deploy_options(
            workdir, local, endpoint, env, binary=binary, mirror=mirror, cache=cache, lock_timeout=lock_timeout
        )
        outcome = api.plan(spec, options, output.reporters(json_lines), confirm_migration=_confirm(yes), out=out)
    except TfgenError as error:
        if detailed_exitcode and error.exit_code != ExitCode.INTERRUPTED:
            error.exit_code = ExitCode.FAILED  # 2 means "changes" there: a bad spec is an error like any other
        raise
    commands.warn(outcome.warnings)
    output.print_migration(outcome)
    output.print_plan(outcome, json_lines=json_lines)
    if out is not None:
        commands.echo(
            f"plan saved to {outcome.plan.plan_file}; apply exactly it with: tfgen apply {spec} --plan {out} "
            "(and the same --env, --workdir and --local or --endpoint)",
            err=True,
        )
    changes = outcome.plan.changes_present
    return commands.detailed_plan_exit_code(0, changes) if detailed_exitcode else int(ExitCode.OK)


def _confirm(yes: bool) -> ConfirmMigration | None:
    """:func:`tfgen.cli.prompts.confirm_migration`, or None where it would be None (no --yes, no terminal)."""
    if not yes and not sys.stdin.isatty():
        return None
    from tfgen.cli import prompts  # Typer's prompt

    return prompts.confirm_migration(yes)
