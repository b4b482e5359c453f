"""The command line: declares commands and options, formats output, nothing more.

Every command calls one function of :mod:`tfgen.api`. User errors
(:class:`~tfgen.errors.TfgenError`) are rendered in exactly one place,
:func:`tfgen.cli.main.run_command`; anything else is a bug and keeps its traceback.
The console script starts in :mod:`tfgen.cli.main`, which runs common invocations of
``render``, ``validate`` and ``--version`` without importing Typer (through the same
command functions as the commands below) and hands everything else to :func:`main`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.exceptions import TyperException

from tfgen import DEFAULT_MODULE_DIR
from tfgen.cli import main as entry
from tfgen.errors import ExitCode, SpecError, UsageError
from tfgen.ops.results import Status

if TYPE_CHECKING:  # deploy pulls in terraform and emulator code: imported by the commands that need it
    from tfgen.deploy import fleet, progress
    from tfgen.deploy import operations as deploy
    from tfgen.ops import runbook
    from tfgen.terraform.driver import PlanResult

app = typer.Typer(
    name="tfgen",
    help="Render, deploy and diagnose Aurora PostgreSQL Serverless Terraform modules from a YAML spec.",
    no_args_is_help=True,
    add_completion=False,
    # locals may hold credentials or passwords: never print them
    pretty_exceptions_show_locals=False,
)

SpecArg = Annotated[Path, typer.Argument(help="Spec file (YAML).", show_default=False)]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        help="The spec's environment (required by plan/apply/destroy/output when the spec has environments).",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        entry.show_version()
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Render, deploy and diagnose Aurora PostgreSQL Serverless Terraform modules."""


@app.command()
def validate(spec: SpecArg, env: EnvOpt = None) -> None:
    """Validate a spec and every environment: exit 0, or 2 with one FILE:LINE: field: message per problem."""
    entry.validate_spec(spec=spec, env=env)


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
        bool, typer.Option("--check", help="Write nothing; exit 1 with a diff if OUT differs from a fresh render.")
    ] = False,
    env: EnvOpt = None,
) -> None:
    """Render the Terraform module of a spec (atomically), or check it for drift."""
    code = entry.render_specs(specs=specs, out=out, check=check, env=env)
    if code:
        raise typer.Exit(code)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec (for yaml-language-server and other editors)."""
    from tfgen import api

    typer.echo(api.schema_text(), nl=False)


@app.command()
def new(
    path: Annotated[Path, typer.Argument(help="File to create, or a directory for aurora.yaml.")] = Path("aurora.yaml"),
) -> None:
    """Write an annotated starter spec."""
    from tfgen import api

    written = api.new_spec(path)
    typer.echo(f"wrote {written}; edit it, then: tfgen render {written}")


# ----------------------------------------------------------------------------- deploy

WorkdirOpt = Annotated[
    Path | None, typer.Option("--workdir", help="Working directory (state lives here). Default: .tfgen/<name>/.")
]
LocalOpt = Annotated[bool, typer.Option("--local", help="Use the local AWS emulator (moto) instead of real AWS.")]
EndpointOpt = Annotated[
    str | None,
    typer.Option("--endpoint", help="URL of a running emulator to use (implies --local).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print terraform's events as JSON lines.")]
MirrorOpt = Annotated[
    Path | None,
    typer.Option(
        "--plugin-mirror", envvar="TFGEN_PLUGIN_MIRROR", help="Install providers from this filesystem mirror."
    ),
]
CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--plugin-cache",
        envvar="TFGEN_PLUGIN_CACHE_DIR",
        help="Shared provider cache. Default: <user cache dir>/tfgen/plugin-cache.",
        show_default=False,
    ),
]
TerraformOpt = Annotated[
    str, typer.Option("--terraform", envvar="TFGEN_TERRAFORM", help="terraform (or tofu) executable.")
]
AutoApproveOpt = Annotated[bool, typer.Option("--auto-approve", help="Apply the plan without asking.")]
LockTimeoutOpt = Annotated[
    str | None,
    typer.Option(
        "--lock-timeout", help="Wait this long for the state lock (e.g. 5m) instead of failing.", show_default=False
    ),
]
YesOpt = Annotated[
    bool, typer.Option("--yes", help="Migrate the state without asking when the spec's backend changed.")
]

_SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "read": "<="}


def _options(
    workdir: Path | None,
    local: bool,
    endpoint: str | None,
    mirror: Path | None,
    cache: Path | None,
    binary: str,
    env_name: str | None = None,
    lock_timeout: str | None = None,
) -> deploy.DeployOptions:
    from tfgen.deploy import operations as deploy
    from tfgen.terraform.driver import TerraformSettings

    # the one place that reads the environment for terraform
    env = dict(os.environ)
    if cache is None:
        cache = entry.user_cache_dir() / "plugin-cache"
    settings = TerraformSettings(env=env, binary=binary, plugin_mirror=mirror, plugin_cache_dir=cache)
    return deploy.DeployOptions(
        terraform=settings,
        workdir=workdir,
        local=local,
        endpoint=endpoint,
        environment=env_name,
        lock_timeout=lock_timeout,
    )


def _reporters(json_lines: bool) -> deploy.ReporterFactory:
    from tfgen.deploy import progress

    def factory(phase: str) -> progress.Reporter:
        if json_lines:
            return progress.JsonReporter(sys.stdout)
        if phase in ("apply", "destroy"):
            return progress.make_reporter(sys.stdout, json_lines=False, title=f"tfgen {phase}")
        return progress.PlainReporter(sys.stderr)  # init and plan: summaries and diagnostics only

    return factory


def _print_plan(outcome: deploy.Outcome, *, json_lines: bool) -> None:
    if not outcome.plan.changes_present:
        typer.echo(f"{outcome.directory}: no changes; the infrastructure matches the spec", err=json_lines)
        return
    _print_changes(outcome.plan, json_lines=json_lines)


def _print_changes(planned: PlanResult, *, json_lines: bool) -> None:
    echo = functools.partial(typer.echo, err=json_lines)
    echo(f"Plan: {planned.add} to add, {planned.change} to change, {planned.remove} to destroy.")
    for change in planned.resource_changes:
        echo(f"  {_SYMBOLS.get(change.action, ' ')} {change.address} ({change.action})")


def _require_approval(auto_approve: bool, verb: str) -> None:
    if not auto_approve and not sys.stdin.isatty():
        raise UsageError(
            f"refusing to {verb} without confirmation: there is no terminal to ask on", hint="pass --auto-approve"
        )


def _confirm_migration(yes: bool) -> deploy.ConfirmMigration | None:
    """--yes migrates; a terminal asks; otherwise None (the library refuses and says to pass --yes)."""
    if not yes and not sys.stdin.isatty():
        return None

    def confirm(migration: deploy.Migration) -> bool:
        typer.echo(
            f"The spec's backend changed: the state ({migration.state.describe()}) moves from "
            f"{migration.source} to {migration.destination}.",
            err=True,
        )
        return yes or typer.confirm("Migrate the state?", default=False, err=True)

    return confirm


def _print_migration(outcome: deploy.Outcome) -> None:
    migration = outcome.migration
    if migration is not None:
        typer.echo(
            f"state migrated from {migration.source} to {migration.destination} ({migration.state.describe()}); "
            f"the state as it was is kept in {migration.backup}",
            err=True,
        )


def _show_and_confirm(verb: str, *, auto_approve: bool, json_lines: bool) -> deploy.Confirm:
    def confirm(planned: PlanResult) -> bool:
        _print_changes(planned, json_lines=json_lines)
        if auto_approve:
            return True
        return typer.confirm(f"{verb.capitalize()} these changes?", default=False, err=True)

    return confirm


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
) -> None:
    """Render the module and show what terraform would change (the plan is saved).

    With a directory, plans every spec in it (every environment, or the one --env names),
    in parallel, and ends with a summary table; the exit code is the worst plan's.
    """
    from tfgen.deploy import operations as deploy

    options = _options(workdir, local, endpoint, mirror, cache, binary, env, lock_timeout)
    if spec.is_dir():
        if json_lines:
            raise UsageError("--json shows the events of one plan; plan the specs of a directory one by one")
        _plan_directory(spec, options, jobs=jobs, yes=yes)
        return
    outcome = deploy.plan(spec, options, _reporters(json_lines), _confirm_migration(yes))
    entry.warn(outcome.loaded.warnings)
    _print_migration(outcome)
    _print_plan(outcome, json_lines=json_lines)


def _plan_directory(directory: Path, options: deploy.DeployOptions, *, jobs: int, yes: bool) -> None:
    from tfgen.deploy import fleet

    def done(row: fleet.Row) -> None:
        if row.outcome is not None:
            entry.warn(row.outcome.loaded.warnings)
        if row.result == "skipped":
            return
        if row.error is not None:
            # a spec error names its file and line already
            entry.report(row.error, prefix="" if isinstance(row.error, SpecError) else f"{row.label}: ")
        else:
            typer.echo(f"{row.label}: {_counts(row)}", err=True)

    # several plans at once cannot share a terminal prompt: a migration needs --yes
    result = fleet.plan_all(
        directory, options, jobs=jobs, on_done=done, confirm_migration=_confirm_migration(yes) if yes else None
    )
    _print_summary(result)
    if result.exit_code:
        raise typer.Exit(int(result.exit_code))


def _counts(row: fleet.Row) -> str:
    if row.result == "no changes":
        return "no changes"
    return f"{row.add} to add, {row.change} to change, {row.remove} to destroy"


def _print_summary(result: fleet.FleetPlan) -> None:
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
        typer.echo("  ".join(cells).rstrip())
    failed = sum(row.result in ("failed", "interrupted") for row in result.rows)
    typer.echo(f"{len(result.rows)} plan(s), {failed} failed" + (", interrupted" if result.interrupted else ""))


def _plan_and_apply(
    run: Callable[..., deploy.Outcome],
    verb: str,
    spec: Path,
    options: deploy.DeployOptions,
    *,
    json_lines: bool,
    auto_approve: bool,
    yes: bool,
) -> None:
    _require_approval(auto_approve, verb)
    confirm = _show_and_confirm(verb, auto_approve=auto_approve, json_lines=json_lines)
    outcome = run(spec, options, _reporters(json_lines), confirm, _confirm_migration(yes))
    entry.warn(outcome.loaded.warnings)
    _print_migration(outcome)
    if outcome.result is None:
        if outcome.plan.changes_present:
            typer.echo(f"{verb} cancelled", err=True)
            raise typer.Exit(int(ExitCode.FAILED))
        _print_plan(outcome, json_lines=json_lines)
        return
    done = outcome.result
    typer.echo(f"{verb} complete: {done.add} added, {done.change} changed, {done.remove} destroyed.", err=json_lines)


@app.command()
def apply(
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
) -> None:
    """Plan, confirm, and apply exactly that plan, with progress."""
    from tfgen.deploy import operations as deploy

    options = _options(workdir, local, endpoint, mirror, cache, binary, env, lock_timeout)
    _plan_and_apply(deploy.apply, "apply", spec, options, json_lines=json_lines, auto_approve=auto_approve, yes=yes)


@app.command()
def destroy(
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
) -> None:
    """Plan the destruction of everything the spec deployed, confirm, and apply it."""
    from tfgen.deploy import operations as deploy

    options = _options(workdir, local, endpoint, mirror, cache, binary, env, lock_timeout)
    _plan_and_apply(deploy.destroy, "destroy", spec, options, json_lines=json_lines, auto_approve=auto_approve, yes=yes)


@app.command()
def output(
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
    from tfgen.deploy import operations as deploy

    options = _options(workdir, local, endpoint, None, None, binary, env)
    values = deploy.outputs(spec, options)
    shown = {
        name: (SENSITIVE_MASK if item.sensitive and not show_sensitive else item.value) for name, item in values.items()
    }
    if json_out:
        typer.echo(json.dumps(shown, indent=2, sort_keys=True))
        return
    for name, value in shown.items():
        text = value if isinstance(value, str) else json.dumps(value)
        typer.echo(f"{name} = {text}")


SENSITIVE_MASK = "(sensitive)"

# ----------------------------------------------------------------------------- runbook

HostOpt = Annotated[str | None, typer.Option("--host", help="Database host (default: the endpoint output, PGHOST).")]
PortOpt = Annotated[int | None, typer.Option("--port", help="Database port (default: the port output, PGPORT).")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Database user (default: the master user, PGUSER).")]
DbnameOpt = Annotated[str | None, typer.Option("--dbname", help="Database (default: the spec's database, PGDATABASE).")]


def _overrides(host: str | None, port: int | None, user: str | None, dbname: str | None) -> runbook.ConnectionOverrides:
    from tfgen.ops import runbook

    return runbook.ConnectionOverrides(host=host, port=port, user=user, dbname=dbname)


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
    from tfgen.ops import runbook

    options = _options(workdir, local, endpoint, None, None, binary, env_name=env)
    report = runbook.doctor(spec, options, _overrides(host, port, user, dbname), dict(os.environ), slow_seconds=slow)
    if json_out:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        width = max(len(result.name) for result in report.results)
        for result in report.results:
            typer.echo(f"{result.status!s:<4}  {result.name:<{width}}  {result.evidence}")
            if result.next_step and result.status is not Status.PASS:
                typer.echo(f"{'':<4}  {'':<{width}}  next: {result.next_step}")
    if report.failed:
        raise typer.Exit(int(ExitCode.FAILED))


@app.command()
def backup(
    spec: SpecArg,
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (appears only when complete).")],
    table: Annotated[str | None, typer.Option("--table", help="Table to copy (quoted as an identifier).")] = None,
    schema: Annotated[str | None, typer.Option("--schema", help="Schema of the table.")] = None,
    query: Annotated[str | None, typer.Option("--query", help="Copy the rows of this SELECT instead.")] = None,
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
    from tfgen.ops import runbook

    options = _options(workdir, local, endpoint, None, None, binary, env_name=env)
    with _backup_progress() as on_progress:
        result = runbook.backup(
            spec,
            options,
            _overrides(host, port, user, dbname),
            dict(os.environ),
            table=table,
            schema=schema,
            query=query,
            out=out,
            on_progress=on_progress,
        )
    typer.echo(f"backed up {result.rows} rows ({result.bytes} bytes) to {result.path}; sha256 {result.sha256}")


@contextlib.contextmanager
def _backup_progress() -> Iterator[Callable[[int, int], None] | None]:
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("copying")

        def update(rows: int, size: int) -> None:
            bar.update(task, description=f"copying: ~{rows} rows, {size} bytes")

        yield update


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
    from tfgen.ops import runbook

    if enable is None:
        raise UsageError("say --enable or --disable")
    verb = "enable" if enable else "disable"
    _require_approval(yes, f"{verb} Performance Insights")
    if not yes and not typer.confirm(f"{verb.capitalize()} Performance Insights of {spec}?", default=False, err=True):
        typer.echo("cancelled", err=True)
        raise typer.Exit(int(ExitCode.FAILED))
    options = _options(None, local, endpoint, None, None, "terraform", env_name=env)
    typer.echo(runbook.insights(spec, options, enable=enable))
    typer.echo(
        f"note: also set performance_insights: {str(enable).lower()} in {spec} (module variable "
        "performance_insights_enabled), or the next apply sets it back",
        err=True,
    )


emulator_app = typer.Typer(help="A persistent local AWS emulator (moto) for --local.", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")


@emulator_app.command("start")
def emulator_start() -> None:
    """Start the emulator in the background (recorded in .tfgen/ of this directory)."""
    from tfgen.emulator import background

    info = background.start_background(Path.cwd())
    typer.echo(f"emulator running at {info.url} (pid {info.pid})")


@emulator_app.command("status")
def emulator_status() -> None:
    """Print the emulator's URL, or exit 1 if it is not running."""
    from tfgen.emulator import background

    info = background.status(Path.cwd())
    if info is None:
        typer.echo("emulator not running", err=True)
        raise typer.Exit(int(ExitCode.FAILED))
    typer.echo(info.url)


@emulator_app.command("stop")
def emulator_stop() -> None:
    """Stop the background emulator started from this directory."""
    from tfgen.emulator import background

    stopped = background.stop_background(Path.cwd())
    typer.echo("emulator stopped" if stopped else "emulator was not running")


def main(argv: list[str] | None = None) -> int:
    """Run the Typer command line (``sys.argv[1:]`` by default) and return the exit code."""
    return entry.run_command(functools.partial(_run_typer, argv))


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
        return int(error.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    return code if isinstance(code, int) else int(ExitCode.OK)
