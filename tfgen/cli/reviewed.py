"""``tfgen apply SPEC --plan FILE --auto-approve``: the body both paths of the console script run.

A reviewed plan applied by automation (CI, Atlantis) pays tfgen's start-up beside terraform's
apply, so :mod:`tfgen.cli.fast` runs this without Typer, and :mod:`tfgen.cli.app` calls the same
function for the same invocation: one body, one set of messages and exit codes. Nothing here
imports Typer, the planning code or the prompts (the plan was approved by its review).
"""

from __future__ import annotations

import os
from pathlib import Path

from tfgen import api
from tfgen.cli import commands, output
from tfgen.errors import ExitCode


def apply_approved(
    *,
    spec: Path,
    plan_file: Path,
    env: str | None,
    workdir: Path | None,
    local: bool,
    endpoint: str | None,
    json_lines: bool,
    mirror: Path | None,
    cache: Path | None,
    binary: str,
    lock_timeout: str | None,
) -> int:
    """Apply the saved plan at once (neither read again nor shown) and print what was applied."""
    options = deploy_options(
        workdir, local, endpoint, env, binary=binary, mirror=mirror, cache=cache, lock_timeout=lock_timeout
    )
    outcome = api.apply_reviewed(spec, plan_file, options, output.reporters(json_lines))
    commands.warn(outcome.warnings)
    output.print_migration(outcome)
    if outcome.result is not None:  # always, without a confirm: applied, or an error raised
        output.print_applied("apply", outcome.result, json_lines=json_lines)
    return int(ExitCode.OK)


def deploy_options(
    workdir: Path | None,
    local: bool,
    endpoint: str | None,
    env_name: str | None,
    *,
    binary: str = "terraform",
    mirror: Path | None = None,
    cache: Path | None = None,
    lock_timeout: str | None = None,
) -> api.DeployOptions:
    """The deploy options of a command line: the one place that reads the environment for terraform, AWS and libpq."""
    return api.deploy_options(
        os.environ,
        environment=env_name,
        workdir=workdir,
        local=local,
        endpoint=endpoint,
        terraform=binary,
        plugin_mirror=mirror,
        plugin_cache=cache,
        lock_timeout=lock_timeout,
        notify=commands.note,  # what tfgen does on its own: the emulator started, resources adopted
    )
