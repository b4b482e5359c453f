"""``python -m tfgen``."""

from tfgen.entry import run

run()
