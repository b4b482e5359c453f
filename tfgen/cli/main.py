"""The console script (``tfgen``, ``python -m tfgen``): the fast parser first, else Typer.

:mod:`tfgen.cli.app` is the command line: Typer declares every command and option and
owns ``--help``, usage errors and shell completion. :func:`main` first tries
:func:`tfgen.cli.fast.parse_fast`, which runs common ``render``, ``validate``,
``apply --plan --auto-approve`` and ``--version`` invocations through the same command
bodies (:mod:`tfgen.cli.commands`, :mod:`tfgen.cli.reviewed`) without importing Typer; anything else, and every shell-completion request, goes to
:func:`tfgen.cli.app.main` as it came.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType

from tfgen.cli.commands import run_command
from tfgen.cli.fast import parse_fast
from tfgen.errors import ExitCode, interrupted_exit_code

COMPLETE_VAR = "_TFGEN_COMPLETE"
"""Set by the completion scripts Typer installs when the shell asks for completions."""

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Handled like Ctrl-C: the command unwinds (its clean-up runs) and exits with 128 + the signal's number."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``sys.argv[1:]`` by default) and return its exit code.

    The fast path runs what :func:`~tfgen.cli.fast.parse_fast` accepts; everything else
    goes to :func:`tfgen.cli.app.main` (Typer) as it came. SIGTERM and SIGHUP stop a
    command as Ctrl-C does (:func:`stopping_signals`): it exits with 143 or 129, not 130.
    """
    return _main_with_signals(argv, gc_paused=False)


def _main_with_signals(argv: Sequence[str] | None, *, gc_paused: bool) -> int:
    """:func:`main`, told whether :func:`run` paused the garbage collector for the start-up."""
    with stopping_signals() as received:
        code = _main(argv, gc_paused=gc_paused)
    if code == ExitCode.INTERRUPTED and received:
        return int(interrupted_exit_code(received[0]))
    return code


def _main(argv: Sequence[str] | None, *, gc_paused: bool) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    # a shell asking for completions sets _TFGEN_COMPLETE: Typer answers it
    command = None if COMPLETE_VAR in os.environ else parse_fast(words)
    if command is None:
        from tfgen.cli import app as cli

        _end_start_up(gc_paused)
        return cli.main(None if argv is None else list(argv))
    _end_start_up(gc_paused)
    try:
        return run_command(command)
    except KeyboardInterrupt:
        # as under Typer, which turns Ctrl-C in a command into exit code 130 and says nothing
        return int(ExitCode.INTERRUPTED)


@contextlib.contextmanager
def stopping_signals() -> Iterator[list[int]]:
    """While the block runs, SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread, as Ctrl-C does.

    Every clean-up written for Ctrl-C (a partial file removed, terraform stopped and its state
    saved, see :mod:`tfgen.terraform.process`) then runs for them too. A signal that is
    ignored (``nohup`` ignores SIGHUP) stays ignored. The previous handlers come back at the end.

    Yields:
        The signals received (SIGINT included), in order: the first one sets the exit code.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = {}
    for signum in STOPPING_SIGNALS:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN or (signum == signal.SIGINT and current is not signal.default_int_handler):
            continue  # ignored, or somebody else's Ctrl-C handler
        previous[signum] = signal.signal(signum, stop)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: set outside Python


def run() -> None:
    """Console-script entry point (``tfgen``, ``python -m tfgen``).

    The cyclic garbage collector waits for the start-up: importing the command's modules makes
    thousands of objects (modules, classes, functions) and no garbage, yet every 700 of them a
    collection walks the young ones and every 10th of those a larger part of the heap: about a
    tenth of what a short command such as ``apply --plan`` computes (``valgrind --tool=callgrind``,
    BENCHMARKS.md section 6). Once the modules are in (:func:`_end_start_up`) they are frozen (kept
    out of every later collection) and collection resumes for the command's own objects. At exit
    they are frozen again: the interpreter's last collection would only walk what exit frees anyway.
    """
    gc.disable()
    try:
        code = _main_with_signals(None, gc_paused=True)
    finally:
        gc.freeze()
    sys.exit(code)


def _end_start_up(gc_paused: bool) -> None:
    """The command's modules are imported: resume the collection :func:`run` paused, without them.

    A program that calls :func:`main` keeps its own collector settings (``gc_paused`` False).
    """
    if gc_paused:
        gc.freeze()
        gc.enable()
