"""What both paths of the console script share: the command bodies they run, and the error funnel.

:mod:`tfgen.cli.fast` (``render``, ``validate`` and ``--version`` without Typer) and
:mod:`tfgen.cli.app` (Typer, every command) call the same functions here for those commands,
and every command runs inside :func:`run_command`, the one place a
:class:`~tfgen.errors.TfgenError` becomes ``error: …``, a hint and an exit code. Nothing
here imports Typer: this module is on the ``tfgen render`` path of pre-commit hooks.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from tfgen import __version__, api
from tfgen.errors import PLAN_CHANGES, DriftError, ExitCode, HandEditError, TfgenError, UsageError


def echo(message: str, *, err: bool = False) -> None:
    """Print a line to stdout (or stderr) and flush it, as ``typer.echo`` does."""
    stream = sys.stderr if err else sys.stdout
    stream.write(f"{message}\n")
    stream.flush()


def note(line: str) -> None:
    """Print ``note: <line>`` to stderr."""
    echo(f"note: {line}", err=True)


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

    A :class:`~tfgen.errors.TfgenError` is reported and exits with its ``exit_code``. An
    :class:`OSError` that reaches here (tfgen's own output failed: a full disk, a hung-up
    terminal) is one line and exit 1; a closed pipe (``tfgen plan | head -1``) says nothing,
    as ``cmd | head`` expects. Anything else is a bug and keeps its traceback.
    """
    code = int(ExitCode.FAILED)
    try:
        try:
            code = int(command())
            sys.stdout.flush()  # a full disk shows now, not as a traceback when Python exits
        except TfgenError as error:
            code = int(error.exit_code)
            report(error)
    except OSError as error:
        code = code or int(ExitCode.FAILED)
        output = error.filename is None and error.errno in _OUTPUT_ERRNOS  # library code names its files
        reason = error.strerror or str(error)
        where = "cannot write to standard output" if output else error.filename
        try:
            if error.errno != errno.EPIPE:  # the reader went away: nothing to say, as `cmd | head` expects
                echo(f"error: {where}: {reason}" if where else f"error: {reason}", err=True)
        except OSError:
            _to_devnull(sys.stderr)
        if output:
            _to_devnull(sys.stdout)
    return code


_OUTPUT_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}
"""How writing to standard output fails: a closed pipe, a full disk or quota, a hung-up terminal, a file too big."""


def _to_devnull(stream: TextIO) -> None:
    """What the broken stream still buffers goes to /dev/null, so that the flush at exit succeeds."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


# ----------------------------------------------------------------------------- the commands both paths call


def show_version() -> int:
    """``tfgen --version``."""
    echo(f"tfgen {__version__}")
    return ExitCode.OK


def validate_spec(spec: Path, env: str | None, workdir: Path | None = None) -> int:
    """``tfgen validate``: validate a spec and each of its environments (or only ``env``).

    A deployed cluster's engine version (the local state in ``workdir`` or the default working
    directory) is checked against the spec's (:func:`tfgen.api.validate`).

    Raises:
        SpecError: If the spec or an environment is invalid.
        UsageError: If ``env`` is not one of the spec's environments.
    """
    shown: set[str] = set()
    for loaded in api.validate(spec, env, workdir):
        # an environment repeats what the base spec already warned about
        warn([line for line in loaded.warnings if line not in shown])
        shown.update(loaded.warnings)
        where = f"{spec} --env {loaded.environment}" if loaded.environment else str(spec)
        state = f", state {loaded.spec.state_location}" if loaded.spec.state_location != "local" else ""
        echo(f"{where}: valid ({loaded.spec.name}, Serverless {loaded.spec.serverless.version}{state})")
    return ExitCode.OK


def render_specs(specs: list[Path], out: Path, check: bool, env: str | None, force: bool = False) -> int:
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
            _render_one(spec, out, check=check, env=env, force=force)
        except TfgenError as error:
            if len(specs) == 1:
                raise
            report(error)
            worst = max(worst, error.exit_code)
    return worst


def _render_one(spec: Path, out: Path, *, check: bool, env: str | None, force: bool) -> None:
    template_cache = api.template_cache_dir(os.environ)
    outcome = api.render(
        spec, out, environment=env, check=check, force=force, template_cache=template_cache, on_wait=note
    )
    warn(outcome.loaded.warnings)
    directory = outcome.directory
    if outcome.written is None:
        echo(f"{directory}: up to date with {spec}")
        return
    result = outcome.written
    for name in result.foreign:
        note(f"{directory / name} was not written by tfgen (left in place)")
    for name in result.removed:
        note(f"{directory / name}: removed (tfgen no longer renders it)")
    for name in result.kept:
        note(f"{directory / name}: tfgen no longer renders it, but it was edited by hand: kept")
    if result.changed:
        echo(f"{directory}: wrote {len(result.changed)} file(s), {len(result.unchanged)} unchanged")
    else:
        echo(f"{directory}: up to date ({len(result.unchanged)} files)")


def update_spec(spec: Path, out: Path, env: str | None, dry_run: bool, base_spec: Path | None = None) -> int:
    """``tfgen update``: merge a fresh render into the module, keeping hand edits; say what happened to each file.

    Raises:
        HandEditError: If files have (or, with ``dry_run``, would have) conflicts: they are listed.
        TfgenError: As :func:`tfgen.api.update` raises it.
    """
    template_cache = api.template_cache_dir(os.environ)
    loaded, result = api.update(
        spec, out, environment=env, dry_run=dry_run, base_spec=base_spec, template_cache=template_cache, on_wait=note
    )
    warn(loaded.warnings)
    if dry_run:
        sys.stdout.write(result.diff)
    directory = result.directory
    would = "would be " if dry_run else ""
    for names, what in (
        (result.updated, "updated (unedited)"),
        (result.merged, "merged: your edits kept"),
        (result.added, "added"),
        (result.removed, "removed (tfgen no longer renders it)"),
        (result.kept, "kept: tfgen no longer renders it, but it was edited"),
        (result.left_deleted, "left deleted (tfgen did not change it)"),
    ):
        for name in names:
            echo(f"{directory / name}: {would}{what}")
    if result.conflicts:
        raise HandEditError(
            f"{directory}: {len(result.conflicts)} file(s) {'would have' if dry_run else 'with'} conflicts",
            [f"{directory / name}: both you and tfgen changed the same lines" for name in result.conflicts],
            hint=None if dry_run else "resolve the <<<<<<< ||||||| ======= >>>>>>> blocks, then `tfgen render --check`",
        )
    if not dry_run:
        echo(f"{directory}: up to date with {spec} ({len(result.unchanged)} files unchanged)")
    return ExitCode.OK


def detailed_plan_exit_code(code: int, changes: bool) -> int:
    """``tfgen plan --detailed-exitcode``: 1 if a plan failed, else 2 if any has changes, else 0 (130 stays)."""
    if code == ExitCode.INTERRUPTED:
        return code
    if code:
        return int(ExitCode.FAILED)
    return PLAN_CHANGES if changes else int(ExitCode.OK)
