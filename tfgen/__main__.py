"""``python -m tfgen``."""

from tfgen.cli import run

run()
