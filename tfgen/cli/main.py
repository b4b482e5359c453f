"""The console script (``tfgen``, ``python -m tfgen``): the fast parser first, else Typer.

:mod:`tfgen.cli.app` is the command line: Typer declares every command and option and
owns ``--help``, usage errors and shell completion. :func:`main` first tries
:func:`tfgen.cli.fast.parse_fast`, which runs common ``render``, ``validate`` and
``--version`` invocations through the same command bodies (:mod:`tfgen.cli.commands`)
without importing Typer; anything else, and every shell-completion request, goes to
:func:`tfgen.cli.app.main` as it came.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from tfgen.cli.commands import run_command
from tfgen.cli.fast import parse_fast
from tfgen.errors import ExitCode

COMPLETE_VAR = "_TFGEN_COMPLETE"
"""Set by the completion scripts Typer installs when the shell asks for completions."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``sys.argv[1:]`` by default) and return its exit code.

    The fast path runs what :func:`~tfgen.cli.fast.parse_fast` accepts; everything else
    goes to :func:`tfgen.cli.app.main` (Typer) as it came.
    """
    words = sys.argv[1:] if argv is None else list(argv)
    # a shell asking for completions sets _TFGEN_COMPLETE: Typer answers it
    command = None if COMPLETE_VAR in os.environ else parse_fast(words)
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
