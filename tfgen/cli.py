"""The command line: declares commands and options, formats output, nothing more.

Every command calls one function of :mod:`tfgen.api`. User errors
(:class:`~tfgen.errors.TfgenError`) are rendered in exactly one place,
:func:`main`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from tfgen import __version__, api
from tfgen.errors import DriftError, ExitCode, TfgenError, UsageError

app = typer.Typer(
    name="tfgen",
    help="Render, deploy and diagnose Aurora PostgreSQL Serverless Terraform modules from a YAML spec.",
    no_args_is_help=True,
    add_completion=False,
    # locals may hold credentials or passwords: never print them
    pretty_exceptions_show_locals=False,
)

SpecArg = Annotated[Path, typer.Argument(help="Spec file (YAML).", show_default=False)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tfgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Render, deploy and diagnose Aurora PostgreSQL Serverless Terraform modules."""


def _warn(lines: list[str]) -> None:
    for line in lines:
        typer.echo(f"warning: {line}", err=True)


@app.command()
def validate(spec: SpecArg) -> None:
    """Validate a spec: exit 0, or 2 with one FILE:LINE: field: message per problem."""
    loaded = api.validate(spec)
    _warn(loaded.warnings)
    typer.echo(f"{spec}: valid ({loaded.spec.name}, Serverless {loaded.spec.serverless.version})")


@app.command()
def render(
    specs: Annotated[list[Path], typer.Argument(help="Spec file(s) (YAML).", show_default=False)],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Module directory; {name} and {stem} stand for each spec's name and file stem."
        ),
    ] = api.DEFAULT_MODULE_DIR,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 with a diff if OUT differs from a fresh render.")
    ] = False,
) -> None:
    """Render the Terraform module of a spec (atomically), or check it for drift."""
    if len(specs) > 1 and "{" not in str(out):
        raise UsageError("several specs need an --out with {name} or {stem}, e.g. -o 'modules/{name}'")
    worst = ExitCode.OK
    for spec in specs:
        try:
            _render_one(spec, out, check=check)
        except TfgenError as error:
            if len(specs) == 1:
                raise
            _report(error)
            worst = max(worst, error.exit_code)
    if worst:
        raise typer.Exit(int(worst))


def _render_one(spec: Path, out: Path, *, check: bool) -> None:
    outcome = api.render(spec, out, check=check)
    _warn(outcome.loaded.warnings)
    directory = outcome.directory
    if outcome.written is None:
        typer.echo(f"{directory}: up to date with {spec}")
        return
    result = outcome.written
    for name in result.foreign:
        typer.echo(f"note: {directory / name} was not written by tfgen (left in place)", err=True)
    if result.changed:
        typer.echo(f"{directory}: wrote {len(result.changed)} file(s), {len(result.unchanged)} unchanged")
    else:
        typer.echo(f"{directory}: up to date ({len(result.unchanged)} files)")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec (for yaml-language-server and other editors)."""
    typer.echo(api.schema_text(), nl=False)


@app.command()
def new(
    path: Annotated[Path, typer.Argument(help="File to create, or a directory for aurora.yaml.")] = Path("aurora.yaml"),
) -> None:
    """Write an annotated starter spec."""
    written = api.new_spec(path)
    typer.echo(f"wrote {written}; edit it, then: tfgen render {written}")


def _report(error: TfgenError) -> None:
    if isinstance(error, DriftError):
        sys.stdout.write(error.diff)
        sys.stdout.flush()
    lines = error.lines()
    if len(lines) == 1:
        typer.echo(f"error: {lines[0]}", err=True)
    else:
        for line in lines:
            typer.echo(f"error: {line}", err=True)
    if error.hint:
        typer.echo(f"hint: {error.hint}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (the console script exits with it)."""
    command = typer.main.get_command(app)
    try:
        # without standalone mode, a typer.Exit raised by a command comes back as the return value
        code = command.main(args=argv, prog_name="tfgen", standalone_mode=False)
    except TfgenError as error:
        _report(error)
        return int(error.exit_code)
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


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
