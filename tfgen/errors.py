"""The one family of user-facing errors, and the exit codes every command shares."""

from __future__ import annotations

import enum
import signal


class ExitCode(enum.IntEnum):
    """Process exit codes, the same for every command."""

    OK = 0
    FAILED = 1
    """A check found a difference, or terraform failed."""
    USAGE = 2
    """Bad input: the spec or the command line."""
    HUNG_UP = 129
    """SIGHUP (the terminal went away): 128 + 1, as a shell reports it."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT): 128 + 2."""
    TERMINATED = 143
    """SIGTERM: 128 + 15."""


def interrupted_exit_code(signum: int) -> ExitCode:
    """The exit code of a command stopped by ``signum`` (SIGINT, SIGTERM or SIGHUP): 128 + its number."""
    return {signal.SIGHUP: ExitCode.HUNG_UP, signal.SIGTERM: ExitCode.TERMINATED}.get(
        signal.Signals(signum), ExitCode.INTERRUPTED
    )


PLAN_CHANGES = 2
"""``tfgen plan --detailed-exitcode``: the plan has changes (as ``terraform plan -detailed-exitcode``;
every error is then 1, so that 2 means only this)."""


class TfgenError(Exception):
    """Base of every error caused by the user's input or environment.

    The CLI prints these as ``error: <message>`` (plus the hint) and exits with
    ``exit_code``; anything else escaping a command is a bug and keeps its traceback.

    Args:
        message: One line saying what went wrong.
        hint: Optional line saying what to do about it.
    """

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The message as the lines to print (a spec error may have several)."""
        return [self.message]


class SpecError(TfgenError):
    """Raised when a spec file is missing, unreadable, not YAML, or invalid.

    Args:
        problems: One ``FILE:LINE: field.path: message`` string per problem.
    """

    exit_code = ExitCode.USAGE

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        super().__init__(problems[0] if len(problems) == 1 else f"{len(problems)} problems in spec", hint)
        self.problems = problems

    def lines(self) -> list[str]:
        return list(self.problems)


class UsageError(TfgenError):
    """Raised when command-line arguments are inconsistent (e.g. an output dir that is a file)."""

    exit_code = ExitCode.USAGE


class RenderError(TfgenError):
    """Raised when a template fails to render or the output cannot be written."""


class DriftError(TfgenError):
    """Raised by ``render --check`` when the directory differs from a fresh render.

    Args:
        diff: The unified diff between the directory and the fresh render.
        files: One line per file that differs, saying how (the spec changed, edited by hand, …).
    """

    def __init__(self, message: str, diff: str, files: list[str] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.diff = diff
        self.files = files or []

    def lines(self) -> list[str]:
        return [self.message, *self.files]


class HandEditError(TfgenError):
    """Raised when a render would overwrite files tfgen did not write, or edited since (without ``--force``),
    and when ``tfgen update`` leaves conflicts in files (written with conflict markers).

    Args:
        files: One line per file, naming it and saying why.
    """

    def __init__(self, message: str, files: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.files = files

    def lines(self) -> list[str]:
        return [self.message, *self.files]


class TerraformError(TfgenError):
    """Raised when terraform is missing, too old, or a terraform command fails."""


class EmulatorError(TfgenError):
    """Raised when the local AWS emulator cannot be started, reached or stopped, or refuses a lifecycle event."""


class CommandInterrupted(TfgenError):
    """Raised when a command is interrupted: Ctrl-C (exit 130), SIGTERM (143) or SIGHUP (129).

    Args:
        signum: The signal that interrupted it.
    """

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str, hint: str | None = None, *, signum: int = signal.SIGINT) -> None:
        super().__init__(message, hint)
        self.signum = signum
        self.exit_code = interrupted_exit_code(signum)
