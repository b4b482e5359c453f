"""What plain Jinja2 needs to render tfgen's templates without tfgen: the ``hcl`` filter and recorded calls.

Standalone on purpose (standard library and Jinja2 only): the plain-Jinja2 baseline
(``plain_render.py``) imports it.

``hcl`` is ``tfgen.render.hcl.value`` itself, loaded from ``tfgen/render/hcl.py`` as a file, so
both renderers do the same formatting work and the outputs can be compared byte for byte,
without importing the tfgen package. :class:`Replay` answers a call the templates make
(``checkov_skips("aws_rds_cluster.this")``) from the table the bench recorded while
tfgen rendered the same spec.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _tfgen_hcl() -> Any:
    """tfgen's own ``hcl`` module, loaded as a file: the same formatting, without importing tfgen."""
    path = Path(__file__).resolve().parent.parent / "tfgen" / "render" / "hcl.py"
    spec = importlib.util.spec_from_file_location("tfgen_hcl", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hcl = _tfgen_hcl().value
"""The ``hcl`` filter: ``tfgen.render.hcl.value``."""


def call_key(args: Sequence[Any]) -> str:
    """The key of a recorded call's arguments."""
    return json.dumps(list(args), sort_keys=True)


class Replay:
    """A callable that answers the calls recorded for it (and fails on any other)."""

    def __init__(self, calls: Sequence[tuple[Sequence[Any], Any]]) -> None:
        self.table = {call_key(args): result for args, result in calls}

    def __call__(self, *args: Any) -> Any:
        return self.table[call_key(args)]
