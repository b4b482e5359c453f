"""``python -m tfgen``."""

from tfgen.cli.main import run

run()
