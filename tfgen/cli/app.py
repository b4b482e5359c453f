"""The command line (Typer): declares commands and options, asks the user, nothing more.

Every command parses its arguments, calls one function of :mod:`tfgen.api` (or, for
``render`` and ``validate``, the body it shares with the fast path in
:mod:`tfgen.cli.commands`), and prints through :mod:`tfgen.cli.output`. Prompts live
here and reach the library as callbacks. User errors (:class:`~tfgen.errors.TfgenError`)
are shown in exactly one place, :func:`tfgen.cli.commands.run_command`; anything else is
a bug and keeps its traceback. The console script starts in :mod:`tfgen.cli.main`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.exceptions import TyperException

from tfgen import DEFAULT_MODULE_DIR, api
from tfgen.cli import adopt, commands, output, planning, prompts, reviewed, rotation
from tfgen.cli import backup as copy
from tfgen.cli.options import (
    AutoApproveOpt,
    CacheOpt,
    DbnameOpt,
    EndpointOpt,
    EnvOpt,
    HostOpt,
    JsonOpt,
    LocalOpt,
    LockTimeoutOpt,
    MirrorOpt,
    PlanFileOpt,
    PortOpt,
    SpecArg,
    TerraformOpt,
    UserOpt,
    WorkdirOpt,
    YesOpt,
)
from tfgen.cli.reviewed import deploy_options
from tfgen.errors import ExitCode, TfgenError, UsageError

if TYPE_CHECKING:  # deploy pulls in terraform and emulator code: tfgen.api imports it on first use
    from tfgen.deploy import operations as deploy

app = typer.Typer(
    name="tfgen",
    help="Render, deploy and diagnose Aurora PostgreSQL Serverless Terraform modules from a YAML spec.",
    no_args_is_help=True,
    # --install-completion / --show-completion; the shell's requests come back with _TFGEN_COMPLETE set
    add_completion=True,
    # locals may hold credentials or passwords: never print them
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        commands.show_version()
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Render, deploy and diagnose Aurora PostgreSQL Serverless Terraform modules."""


@app.command()
def validate(spec: SpecArg, env: EnvOpt = None, workdir: WorkdirOpt = None) -> None:
    """Validate a spec and every environment: exit 0, or 2 with one FILE:LINE: field: message per problem."""
    commands.validate_spec(spec=spec, env=env, workdir=workdir)


@app.command()
def render(
    specs: Annotated[list[Path], typer.Argument(help="Spec file(s) (YAML).", show_default=False)],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Module directory; {name} and {stem} stand for each spec's name and file stem."
        ),
    ] = DEFAULT_MODULE_DIR,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 with a diff and each file's drift if OUT differs.")
    ] = False,
    env: EnvOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files edited by hand or not tfgen's.")] = False,
) -> None:
    """Render the Terraform module of a spec (each file atomically; hand edits refused), or check it for drift."""
    code = commands.render_specs(specs=specs, out=out, check=check, env=env, force=force)
    if code:
        raise typer.Exit(code)


@app.command()
def update(
    spec: SpecArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Module directory, as for render.")] = DEFAULT_MODULE_DIR,
    env: EnvOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing; print the diff it would make.")] = False,
    base_spec: Annotated[
        Path | None,
        typer.Option("--base-spec", help="For a module without a manifest: the spec it was rendered from."),
    ] = None,
) -> None:
    """Re-render a module keeping hand edits: a three-way merge per file; conflicts marked, listed, exit 1."""
    commands.update_spec(spec=spec, out=out, env=env, dry_run=dry_run, base_spec=base_spec)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec (for yaml-language-server and other editors)."""
    sys.stdout.write(api.schema_text())


@app.command()
def new(
    # a str, not a Path: Path("sub/") drops the slash that says "a directory"
    path: Annotated[
        str,
        typer.Argument(
            help="File to create, or a directory for aurora.yaml (created if the path ends with /).",
        ),
    ] = "aurora.yaml",
) -> None:
    """Write an annotated starter spec."""
    written = api.new_spec(path)
    commands.echo(f"wrote {written}; edit it, then: tfgen render {written}")
    commands.echo("a cluster that exists already: tfgen import CLUSTER_ID --region REGION writes its spec")


# ----------------------------------------------------------------------------- deploy


@app.command()
def plan(
    spec: Annotated[
        Path, typer.Argument(help="Spec file (YAML), or a directory of specs to plan them all.", show_default=False)
    ],
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
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="With a directory: how many plans run at once.")] = 4,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also save the plan to this file (0600) for review; apply exactly it with apply --plan.",
            show_default=False,
        ),
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 with no changes, 2 with changes, 1 on any error (as terraform plan -detailed-exitcode).",
        ),
    ] = False,
) -> None:
    """Render the module and show what terraform would change (the plan is saved).

    With a directory, plans every spec in it (every environment, or the one --env names),
    in parallel, and ends with a summary table; the exit code is the worst plan's.
    """
    if not spec.is_dir():  # one spec: the body the fast parser runs too
        code = planning.plan_spec(
            spec=spec,
            env=env,
            workdir=workdir,
            local=local,
            endpoint=endpoint,
            json_lines=json_lines,
            mirror=mirror,
            cache=cache,
            binary=binary,
            lock_timeout=lock_timeout,
            yes=yes,
            out=out,
            detailed_exitcode=detailed_exitcode,
        )
    else:
        try:
            options = deploy_options(
                workdir, local, endpoint, env, binary=binary, mirror=mirror, cache=cache, lock_timeout=lock_timeout
            )
            code, changes = _plan_directory(spec, options, json_lines=json_lines, yes=yes, jobs=jobs, out=out)
        except TfgenError as error:
            if detailed_exitcode and error.exit_code != ExitCode.INTERRUPTED:
                error.exit_code = ExitCode.FAILED  # 2 means "changes" there: a bad spec is an error like any other
            raise
        code = commands.detailed_plan_exit_code(code, changes) if detailed_exitcode else code
    if code:
        raise typer.Exit(code)


def _plan_directory(
    spec: Path, options: deploy.DeployOptions, *, json_lines: bool, yes: bool, jobs: int, out: Path | None
) -> tuple[int, bool]:
    """Plan the specs of a directory; the exit code as documented, and whether any plan has changes."""
    if out is not None:
        raise UsageError("--out saves the plan of one spec; plan the specs of a directory one by one")
    if json_lines:
        raise UsageError("--json shows the events of one plan; plan the specs of a directory one by one")
    # several plans at once cannot share a terminal prompt: a migration needs --yes
    result = api.plan_directory(
        spec,
        options,
        jobs=jobs,
        on_done=output.print_row,
        confirm_migration=prompts.confirm_migration(yes) if yes else None,
    )
    output.print_summary(result)
    changes = any(row.outcome is not None and row.outcome.plan.changes_present for row in result.rows)
    return int(result.exit_code), changes


def _plan_and_apply_command(verb: str, doc: str) -> Callable[..., None]:
    """Declare ``tfgen apply`` or ``tfgen destroy``: the same options, and ``tfgen.api.<verb>``."""

    def command(
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
        plan_file: PlanFileOpt = None,
    ) -> None:
        if plan_file is not None and verb != "apply":
            raise UsageError(f"--plan is for tfgen apply; tfgen {verb} plans and shows its own plan")
        if plan_file is not None and auto_approve:  # the same body as on the fast path
            reviewed.apply_approved(
                spec=spec,
                plan_file=plan_file,
                env=env,
                workdir=workdir,
                local=local,
                endpoint=endpoint,
                json_lines=json_lines,
                mirror=mirror,
                cache=cache,
                binary=binary,
                lock_timeout=lock_timeout,
            )
            return
        options = deploy_options(
            workdir, local, endpoint, env, binary=binary, mirror=mirror, cache=cache, lock_timeout=lock_timeout
        )
        extra = {} if plan_file is None else {"plan_file": plan_file, "approved": auto_approve}
        prompts.require_approval(auto_approve, verb)
        confirm = prompts.show_and_confirm(verb, auto_approve=auto_approve, json_lines=json_lines)
        run: Callable[..., deploy.Outcome] = getattr(api, verb)  # looked up now: tfgen.api imports deploy on first use
        outcome = run(
            spec,
            options,
            output.reporters(json_lines),
            confirm,
            confirm_migration=prompts.confirm_migration(yes),
            **extra,
        )
        commands.warn(outcome.warnings)
        output.print_migration(outcome)
        if outcome.result is None:
            if outcome.plan.changes_present:
                commands.echo(f"{verb} cancelled; nothing was changed", err=True)
                raise typer.Exit(int(ExitCode.FAILED))
            output.print_plan(outcome, json_lines=json_lines)
            return
        output.print_applied(verb, outcome.result, json_lines=json_lines)

    command.__name__ = command.__qualname__ = verb
    command.__doc__ = doc
    return app.command(name=verb)(command)


apply = _plan_and_apply_command("apply", "Plan, confirm, and apply exactly that plan, with progress.")
destroy = _plan_and_apply_command(
    "destroy", "Plan the destruction of everything the spec deployed, confirm, and apply it."
)
rotate = app.command(name="rotate")(rotation.rotate)


@app.command(name="output")
def output_command(
    spec: SpecArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print the outputs as one JSON object.")] = False,
    show_sensitive: Annotated[bool, typer.Option("--show-sensitive", help="Show sensitive values.")] = False,
    env: EnvOpt = None,
    workdir: WorkdirOpt = None,
    local: LocalOpt = False,
    endpoint: EndpointOpt = None,
    binary: TerraformOpt = "terraform",
) -> None:
    """Print the deployed module's outputs (sensitive values masked)."""
    values = api.output(
        spec, deploy_options(workdir, local, endpoint, env, binary=binary), show_sensitive=show_sensitive
    )
    output.print_outputs(values, json_out=json_out)


# ----------------------------------------------------------------------------- runbook


@app.command()
def doctor(
    spec: SpecArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as one JSON document.")] = False,
    slow: Annotated[float, typer.Option("--slow", help="Report queries running longer than this (seconds).")] = 300,
    host: HostOpt = None,
    port: PortOpt = None,
    user: UserOpt = None,
    dbname: DbnameOpt = None,
    workdir: WorkdirOpt = None,
    local: LocalOpt = False,
    endpoint: EndpointOpt = None,
    binary: TerraformOpt = "terraform",
    env: EnvOpt = None,
) -> None:
    """Run the runbook's checks against the deployed cluster: PASS / WARN / FAIL with evidence."""
    report = api.doctor(
        spec,
        deploy_options(workdir, local, endpoint, env, binary=binary),
        connection=api.ConnectionOverrides(host=host, port=port, user=user, dbname=dbname),
        slow_seconds=slow,
    )
    output.print_doctor(report, json_out=json_out)
    if report.failed:
        raise typer.Exit(int(ExitCode.FAILED))


@app.command()
def backup(
    spec: SpecArg,
    out: Annotated[
        Path, typer.Option("--out", help="CSV file (appears when complete), - for stdout, a FIFO, a device.")
    ],
    table: Annotated[str | None, typer.Option("--table", help="Table to copy (quoted as an identifier).")] = None,
    schema: Annotated[str | None, typer.Option("--schema", help="Schema of the table.")] = None,
    query: Annotated[
        str | None, typer.Option("--query", help="Copy the rows of this SELECT (not with --table).")
    ] = None,
    host: HostOpt = None,
    port: PortOpt = None,
    user: UserOpt = None,
    dbname: DbnameOpt = None,
    workdir: WorkdirOpt = None,
    local: LocalOpt = False,
    endpoint: EndpointOpt = None,
    binary: TerraformOpt = "terraform",
    env: EnvOpt = None,
) -> None:
    """Copy a table to CSV safely: quoted names, no half-written file, row count and sha256."""
    copy.backup(
        spec=spec,
        out=out,
        table=table,
        schema=schema,
        query=query,
        host=host,
        port=port,
        user=user,
        dbname=dbname,
        workdir=workdir,
        local=local,
        endpoint=endpoint,
        binary=binary,
        env=env,
    )


@app.command()
def insights(
    spec: SpecArg,
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Turn Performance Insights on or off.", show_default=False)
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    local: LocalOpt = False,
    endpoint: EndpointOpt = None,
    env: EnvOpt = None,
) -> None:
    """Turn Performance Insights on or off for the cluster (ModifyDBCluster)."""
    if enable is None:
        raise UsageError("say --enable or --disable")
    verb = "enable" if enable else "disable"
    prompts.require_approval(yes, f"{verb} Performance Insights", flag="--yes")
    if not yes and not typer.confirm(f"{verb.capitalize()} Performance Insights of {spec}?", default=False, err=True):
        commands.echo("cancelled", err=True)
        raise typer.Exit(int(ExitCode.FAILED))
    commands.echo(api.insights(spec, deploy_options(None, local, endpoint, env), enable=enable))
    commands.echo(
        f"note: also set performance_insights: {str(enable).lower()} in {spec} (module variable "
        "performance_insights_enabled), or the next apply sets it back",
        err=True,
    )


emulator_app = typer.Typer(help="A persistent local AWS emulator (moto) for --local.", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")
adopt.register(app)


@emulator_app.command("start")
def emulator_start() -> None:
    """Start the emulator in the background (recorded in .tfgen/ of this directory)."""
    from tfgen.emulator.endpoint import health

    info = api.emulator_start(Path.cwd())
    commands.echo(f"emulator running at {info.url} (pid {info.pid})")
    databases = (health(info.url) or {}).get("databases")
    if isinstance(databases, dict) and databases.get("detail"):
        commands.echo(f"databases: {databases['detail']}")


@emulator_app.command("status")
def emulator_status() -> None:
    """Print the emulator's URL, or exit 1 if it is not running."""
    info = api.emulator_status(Path.cwd())
    if info is None:
        commands.echo("emulator not running", err=True)
        raise typer.Exit(int(ExitCode.FAILED))
    commands.echo(info.url)


@emulator_app.command("stop")
def emulator_stop() -> None:
    """Stop the background emulator started from this directory."""
    stopped = api.emulator_stop(Path.cwd())
    commands.echo("emulator stopped" if stopped else "emulator was not running")


def main(argv: list[str] | None = None) -> int:
    """Run the Typer command line (``sys.argv[1:]`` by default) and return the exit code."""
    return commands.run_command(functools.partial(_run_typer, argv))


def _run_typer(argv: list[str] | None) -> int:
    command = typer.main.get_command(app)
    try:
        # without standalone mode, a typer.Exit raised by a command comes back as the return value
        code = command.main(args=argv, prog_name="tfgen", standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except TyperException as error:  # typer's (vendored click's) usage errors
        show = getattr(error, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"error: {error.format_message()}", err=True)
        words = sys.argv[1:] if argv is None else argv
        if "--detailed-exitcode" in words and error.exit_code == ExitCode.USAGE:
            return int(ExitCode.FAILED)  # there, 2 means "changes": a usage error is an error like any other
        return int(error.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except SystemExit as done:  # shell completion (--show-completion, _TFGEN_COMPLETE) ends with sys.exit
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    return code if isinstance(code, int) else int(ExitCode.OK)
