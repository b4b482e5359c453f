"""``tfgen rotate``: a new master password on the deployed cluster and in its secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfgen import api
from tfgen.cli import commands, output, prompts
from tfgen.cli.options import (
    AutoApproveOpt,
    CacheOpt,
    EndpointOpt,
    EnvOpt,
    JsonOpt,
    LocalOpt,
    LockTimeoutOpt,
    MirrorOpt,
    SpecArg,
    TerraformOpt,
    WorkdirOpt,
    YesOpt,
)
from tfgen.cli.reviewed import deploy_options
from tfgen.errors import ExitCode

if TYPE_CHECKING:  # deploy pulls in terraform and emulator code: tfgen.api imports it on first use
    from tfgen.deploy.rotation import Rotation
    from tfgen.terraform.results import PlanResult


def rotate(
    spec: SpecArg,
    auto_approve: AutoApproveOpt = False,
    env: EnvOpt = None,
    workdir: WorkdirOpt = None,
    local: LocalOpt = False,
    endpoint: EndpointOpt = None,
    json_lines: JsonOpt = False,
    mirror: MirrorOpt = None,
    cache: CacheOpt = None,
    binary: TerraformOpt = "terraform",
    lock_timeout: LockTimeoutOpt = None,
    yes: YesOpt = False,
) -> int:
    """Set a new master password on the cluster and in its secret (write_only: one apply; rds_managed: RDS rotates its secret)."""
    options = deploy_options(
        workdir, local, endpoint, env, binary=binary, mirror=mirror, cache=cache, lock_timeout=lock_timeout
    )
    show_and_confirm = prompts.show_and_confirm("rotate", auto_approve=auto_approve, json_lines=json_lines)

    def confirm(planned: PlanResult) -> bool:
        # asked only for write_only (an apply): rds_managed's rotation by RDS is what the command says
        prompts.require_approval(auto_approve, "rotate")
        return show_and_confirm(planned)

    done: Rotation = api.rotate(
        spec, options, output.reporters(json_lines), confirm, confirm_migration=prompts.confirm_migration(yes)
    )
    if done.secret_arn is not None:
        commands.echo(
            f"rotation of {done.secret_arn} started: RDS sets the new password on the cluster and in the secret"
        )
        return 0
    outcome = done.outcome
    assert outcome is not None  # write_only rotates by applying
    commands.warn(outcome.warnings)
    output.print_migration(outcome)
    if outcome.result is None:
        commands.echo("rotate cancelled; nothing was changed", err=True)
        return int(ExitCode.FAILED)
    output.print_applied("apply", outcome.result, json_lines=json_lines)
    commands.echo(f"master password rotated (master_password_version {done.version}): the secret holds the new one")
    return 0
