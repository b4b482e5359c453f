"""What plain Jinja2 needs to render tfgen's templates without tfgen: the ``hcl`` filter and recorded calls.

Standalone on purpose (standard library and Jinja2 only): the plain-Jinja2 baseline
(``plain_render.py``) imports it, and the bench copies it into the copier and
cookiecutter templates it generates, as their Jinja extension ``local_extensions``.

``hcl`` is ``tfgen.render.hcl.value`` itself, loaded from ``tfgen/hcl.py`` as a file (or from
the copy ``tfgen_hcl.py`` next to this module), so every renderer does the same
formatting work and the outputs can be compared byte for byte, without importing the
tfgen package. ``recorded_call`` answers a call the templates make
(``checkov_skips("aws_rds_cluster.this")``) from the table the bench recorded while
tfgen rendered the same spec.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2.ext import Extension


def _tfgen_hcl() -> Any:
    """tfgen's own ``hcl`` module, loaded as a file: the same formatting, without importing tfgen."""
    try:
        import tfgen_hcl  # a copy of tfgen/hcl.py next to this file, in the peers' templates

        return tfgen_hcl
    except ImportError:
        path = Path(__file__).resolve().parent.parent / "tfgen" / "hcl.py"
        spec = importlib.util.spec_from_file_location("tfgen_hcl", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}") from None
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


def recorded_call(table: Mapping[str, Any], *args: Any) -> Any:
    """``table``'s answer to ``args`` (copier and cookiecutter contexts hold data, not callables)."""
    return table[call_key(args)]


class HclExtension(Extension):
    """Adds the ``hcl`` filter and the ``recorded_call`` global to a Jinja environment."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters["hcl"] = hcl
        environment.globals["recorded_call"] = recorded_call
