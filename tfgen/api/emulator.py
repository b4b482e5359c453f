"""emulator start, status, stop: a persistent local AWS emulator (moto) for ``--local``.

The emulator is recorded in ``<base_dir>/.tfgen/`` (by default the current directory's),
so commands run from the same directory find it.
"""

from __future__ import annotations

from pathlib import Path

from tfgen.emulator import background
from tfgen.emulator.background import EmulatorInfo


def emulator_start(base_dir: Path | None = None) -> EmulatorInfo:
    """``tfgen emulator start``: start the emulator in the background, or return the one running.

    Raises:
        EmulatorError: If ``.tfgen/`` cannot be written, or the server exits early or does not answer.
    """
    return background.start_background(base_dir or Path.cwd())


def emulator_status(base_dir: Path | None = None) -> EmulatorInfo | None:
    """``tfgen emulator status``: the running emulator, or None.

    Raises:
        EmulatorError: If the recorded emulator is alive but does not answer.
    """
    return background.status(base_dir or Path.cwd())


def emulator_stop(base_dir: Path | None = None) -> bool:
    """``tfgen emulator stop``: stop the background emulator; False if none was running.

    Raises:
        EmulatorError: If the process cannot be signalled or does not die.
    """
    return background.stop_background(base_dir or Path.cwd())
