"""The console-script entry point: ``render``, ``validate`` and ``--version`` without Typer.

:mod:`tfgen.cli.app` is the command line: Typer declares every command and option and owns
``--help``, usage errors and shell completion. Importing Typer and parsing with it costs more
than rendering a module, so :func:`main` first tries :func:`parse_fast`, which accepts only
complete, well-formed invocations of the hot commands; anything else (help, an unknown,
unusual or incomplete option, another command, a completion request) goes to Typer unchanged.

Both paths call the command functions below, and show user errors in one place,
:func:`run_command`. ``tests/test_entry.py`` holds :func:`parse_fast` to exactly the
arguments Typer passes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from tfgen import DEFAULT_MODULE_DIR, __version__
from tfgen.errors import DriftError, ExitCode, TfgenError, UsageError


def echo(message: str, *, err: bool = False) -> None:
    """Print a line to stdout (or stderr) and flush it, as ``typer.echo`` does."""
    stream = sys.stderr if err else sys.stdout
    stream.write(f"{message}\n")
    stream.flush()


def warn(lines: Sequence[str]) -> None:
    """Print each line to stderr as ``warning: <line>``."""
    for line in lines:
        echo(f"warning: {line}", err=True)


def report(error: TfgenError, prefix: str = "") -> None:
    """Show a user error: a drift's diff on stdout, then ``error: <prefix><line>`` and the hint on stderr."""
    if isinstance(error, DriftError):
        sys.stdout.write(error.diff)
        sys.stdout.flush()
    for line in error.lines():
        echo(f"error: {prefix}{line}", err=True)
    if error.hint:
        echo(f"hint: {error.hint}", err=True)


def run_command(command: Callable[[], int]) -> int:
    """Run a command and return its exit code: the one place a user error becomes a message and a code.

    A :class:`~tfgen.errors.TfgenError` is reported and exits with its ``exit_code``; anything
    else is a bug and keeps its traceback.
    """
    try:
        try:
            return int(command())
        except TfgenError as error:
            report(error)
            return int(error.exit_code)
    except BrokenPipeError:
        # the reader went away (`tfgen render --check | head`): exit 1 without a traceback, as
        # Typer does, and send what stdout still buffers to /dev/null so the flush at exit succeeds
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.FAILED)


def user_cache_dir() -> Path:
    """The user's cache directory for tfgen (``$XDG_CACHE_HOME/tfgen``): the CLI's one reading of it."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tfgen"


# ----------------------------------------------------------------------------- the commands both paths call


def show_version() -> int:
    """``tfgen --version``."""
    echo(f"tfgen {__version__}")
    return ExitCode.OK


def validate_spec(spec: Path, env: str | None) -> int:
    """``tfgen validate``: validate a spec and each of its environments (or only ``env``).

    Raises:
        SpecError: If the spec or an environment is invalid.
        UsageError: If ``env`` is not one of the spec's environments.
    """
    from tfgen import api

    shown: set[str] = set()
    for loaded in api.validate(spec, env):
        # an environment repeats what the base spec already warned about
        warn([line for line in loaded.warnings if line not in shown])
        shown.update(loaded.warnings)
        where = f"{spec} --env {loaded.environment}" if loaded.environment else str(spec)
        state = f", state {loaded.spec.state_location}" if loaded.spec.state_location != "local" else ""
        echo(f"{where}: valid ({loaded.spec.name}, Serverless {loaded.spec.serverless.version}{state})")
    return ExitCode.OK


def render_specs(specs: list[Path], out: Path, check: bool, env: str | None) -> int:
    """``tfgen render``: render (or ``check``) the module of each spec; returns the worst spec's exit code.

    The error of a single spec propagates; with several specs each failure is reported and
    the other specs still run.

    Raises:
        UsageError: If several specs would share one ``out`` (no ``{name}`` or ``{stem}`` in it).
        TfgenError: The error of a single spec, as :func:`tfgen.api.render` raises it.
    """
    if len(specs) > 1 and "{" not in str(out):
        raise UsageError("several specs need an --out with {name} or {stem}, e.g. -o 'modules/{name}'")
    worst = ExitCode.OK
    for spec in specs:
        try:
            _render_one(spec, out, check=check, env=env)
        except TfgenError as error:
            if len(specs) == 1:
                raise
            report(error)
            worst = max(worst, error.exit_code)
    return worst


def _render_one(spec: Path, out: Path, *, check: bool, env: str | None) -> None:
    from tfgen import api

    template_cache = user_cache_dir() / "templates" / __version__
    outcome = api.render(spec, out, environment=env, check=check, template_cache=template_cache)
    warn(outcome.loaded.warnings)
    directory = outcome.directory
    if outcome.written is None:
        echo(f"{directory}: up to date with {spec}")
        return
    result = outcome.written
    for name in result.foreign:
        echo(f"note: {directory / name} was not written by tfgen (left in place)", err=True)
    if result.changed:
        echo(f"{directory}: wrote {len(result.changed)} file(s), {len(result.unchanged)} unchanged")
    else:
        echo(f"{directory}: up to date ({len(result.unchanged)} files)")


# ----------------------------------------------------------------------------- the fast path

# The options of the hot commands as tfgen.cli.app declares them for Typer: spelling -> parameter.
_ENV = {"--env": "env", "-e": "env"}
_RENDER = {**_ENV, "--out": "out", "-o": "out"}
_RENDER_FLAGS = {"--check": "check"}


def parse_fast(argv: Sequence[str]) -> functools.partial[int] | None:
    """The command function and arguments of a common invocation, or None to leave it to Typer.

    Accepts ``--version``, and ``render`` / ``validate`` with their specs and options in any
    order (``-o X``, ``-oX``, ``--out X``, ``--out=X``; the last of a repeated option wins;
    ``--`` ends the options). Declines, among others, help, unknown options, a missing,
    empty or dash-led option value, and a wrong number of specs.
    """
    if list(argv) == ["--version"]:
        return functools.partial(show_version)
    if not argv:
        return None
    command, *words = argv
    if command == "validate":
        parsed = _split(words, _ENV, {})
        if parsed is None or len(parsed[0]) != 1:
            return None
        (spec,), given = parsed
        return functools.partial(validate_spec, spec=Path(spec), env=given.get("env"))
    if command == "render":
        parsed = _split(words, _RENDER, _RENDER_FLAGS)
        if parsed is None or not parsed[0]:
            return None
        specs, given = parsed
        return functools.partial(
            render_specs,
            specs=[Path(spec) for spec in specs],
            out=Path(given["out"]) if "out" in given else DEFAULT_MODULE_DIR,
            check="check" in given,
            env=given.get("env"),
        )
    return None


def _split(
    words: Sequence[str], options: Mapping[str, str], flags: Mapping[str, str]
) -> tuple[list[str], dict[str, str]] | None:
    """The positional words and ``{parameter: value}`` (``""`` for a flag), or None on anything unusual."""
    positional: list[str] = []
    given: dict[str, str] = {}
    rest = iter(words)
    for word in rest:
        if word == "--":
            positional.extend(rest)
        elif not word.startswith("-"):
            positional.append(word)
        elif word in flags:
            given[flags[word]] = ""
        else:
            name, value = _option(word, rest)
            if name not in options or not value or value.startswith("-"):
                return None
            given[options[name]] = value
    if "" in positional:  # Path("") would be the current directory
        return None
    return positional, given


def _option(word: str, rest: Iterator[str]) -> tuple[str, str]:
    """An option's name and value: ``--name=value``, ``-nvalue``, or the next word."""
    if word.startswith("--"):
        name, equals, value = word.partition("=")
        return name, value if equals else next(rest, "")
    return word[:2], word[2:] or next(rest, "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``sys.argv[1:]`` by default) and return its exit code.

    The fast path runs what :func:`parse_fast` accepts; everything else goes to
    :func:`tfgen.cli.app.main` (Typer) as it came.
    """
    words = sys.argv[1:] if argv is None else list(argv)
    # a shell asking for completions sets _TFGEN_COMPLETE: Typer answers it
    command = None if "_TFGEN_COMPLETE" in os.environ else parse_fast(words)
    if command is None:
        from tfgen.cli import app as cli

        return cli.main(None if argv is None else list(argv))
    try:
        return run_command(command)
    except KeyboardInterrupt:
        # as under Typer, which turns Ctrl-C in a command into exit code 130 and says nothing
        return int(ExitCode.INTERRUPTED)


def run() -> None:
    """Console-script entry point (``tfgen``, ``python -m tfgen``)."""
    sys.exit(main())
