"""tfgen: Aurora PostgreSQL Serverless Terraform modules from a short YAML spec.

The library API is :mod:`tfgen.api`; its functions are also reachable here
(``tfgen.validate``, ``tfgen.plan``, …), imported on first use so that ``import tfgen``
stays cheap. The exception: ``tfgen.render`` is the rendering subpackage, so the
render command's function is ``tfgen.api.render``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

DEFAULT_MODULE_DIR = Path("modules/aurora_serverless")
"""Where ``tfgen render`` writes the module unless told otherwise."""

_SUBPACKAGES = frozenset({"render"})
"""API names that a subpackage of tfgen already has."""


def __getattr__(name: str) -> Any:
    """``tfgen.api`` and its functions, imported on first use."""
    if name.startswith("__") or name in _SUBPACKAGES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    api = importlib.import_module("tfgen.api")
    if name == "api":
        return api
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
