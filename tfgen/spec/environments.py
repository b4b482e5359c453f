"""Environments: partial specs merged over the base spec, on the raw YAML, before validation.

A spec may carry ``environments:`` (``dev``, ``staging``, ``prod``...), each a partial
spec. :func:`merge` lays one over the base: mappings merge key by key, everything else
(lists, strings, numbers) replaces the base's value; a section whose kind changes
(``backend.type``, ``serverless.version``) is replaced whole. It works on the parsed data and
keeps, for every key, the line it came from, so a validation error inside an
environment still points at ``FILE:LINE`` of the key that caused it: the
environment's own line when the value came from the environment, the base's line
otherwise (:meth:`Merged.origin` tells which).

The merged spec's cluster name is ``<name>-<environment>`` unless the environment sets
``name``: every environment is its own cluster, working directory and state.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from tfgen.spec import yaml_source

KEY = "environments"
"""The top-level key of the environments section."""


@dataclass
class Merged(yaml_source.Document):
    """The base spec with one environment laid over it, lines included.

    Attributes:
        environment: The environment's name.
        environment_line: Line of ``environments.<name>:`` in the file.
        from_environment: Locations whose value (and line) came from the environment.
        derived_name: True when ``name`` is the base's with ``-<environment>`` appended.
    """

    environment: str = ""
    environment_line: int = 1
    from_environment: set[yaml_source.Loc] = field(default_factory=set)
    derived_name: bool = False

    def line_of(self, loc: yaml_source.Loc) -> int:
        """Line of ``loc`` or its closest ancestor; the environment's line for what neither has."""
        found = self._closest(loc)
        return self.environment_line if found is None else self.lines[found]

    def origin(self, loc: yaml_source.Loc) -> str:
        """``"environment"`` if the value at ``loc`` (or its closest ancestor) came from the environment, else ``"base"``.

        A location neither has (an absent section) counts as the base's, though its
        line is the environment's.
        """
        found = self._closest(loc)
        return "environment" if found in self.from_environment else "base"

    def _closest(self, loc: yaml_source.Loc) -> yaml_source.Loc | None:
        for end in range(len(loc), 0, -1):
            if tuple(loc[:end]) in self.lines:
                return tuple(loc[:end])
        return None


def names(document: yaml_source.Document) -> tuple[str, ...]:
    """The environments of a parsed spec, in file order (empty if it has none or the section is malformed)."""
    data = document.data
    section = data.get(KEY) if isinstance(data, dict) else None
    if not isinstance(section, dict):
        return ()
    return tuple(name for name, value in section.items() if isinstance(value, dict))


def merge(document: yaml_source.Document, environment: str) -> Merged:
    """Lay ``environment`` over the base spec: mappings merge, anything else replaces.

    The result has no ``environments`` key (unless the environment itself has one,
    which validation refuses), and ``name`` defaults to ``<base name>-<environment>``.

    Args:
        document: The parsed spec; its data is a mapping with ``environments.<environment>`` a mapping.
        environment: One of :func:`names`.

    Returns:
        The merged data and the line and origin of every location.

    Raises:
        KeyError: If the spec has no such environment (callers check :func:`names` first).
    """
    base: dict[str, Any] = document.data
    overlay = base[KEY][environment]
    if not isinstance(overlay, dict):
        raise KeyError(environment)
    root: yaml_source.Loc = (KEY, environment)
    data = {key: copy.deepcopy(value) for key, value in base.items() if key != KEY}
    replaced: set[yaml_source.Loc] = set()
    _overlay(data, overlay, (), replaced)
    merged = Merged(data=data, environment=environment, environment_line=document.line_of(root))
    for loc, line in document.lines.items():
        if loc[:1] != (KEY,):
            if not _under(loc, replaced):
                merged.lines[loc] = line
        elif loc[:2] == root and _under(loc[2:], replaced):
            merged.lines[loc[2:]] = line
            merged.from_environment.add(loc[2:])
    base_name = base.get("name")
    if "name" not in overlay and isinstance(base_name, str):
        merged.data["name"] = f"{base_name}-{environment}"
        merged.derived_name = True
    return merged


DISCRIMINATORS = {"backend": ("type", "local"), "serverless": ("version", "v2")}
"""Top-level sections whose kind one key selects (with its default): another kind replaces the whole section."""


def _overlay(
    target: dict[str, Any], overlay: dict[str, Any], at: yaml_source.Loc, replaced: set[yaml_source.Loc]
) -> None:
    for key, value in overlay.items():
        loc = (*at, key)
        if isinstance(value, dict) and isinstance(target.get(key), dict) and not _other_kind(loc, target[key], value):
            _overlay(target[key], value, loc, replaced)  # both mappings: merge key by key
        else:
            target[key] = copy.deepcopy(value)
            replaced.add(loc)


def _other_kind(loc: yaml_source.Loc, base: dict[str, Any], overlay: dict[str, Any]) -> bool:
    """Whether ``overlay`` switches the section at ``loc`` to another kind (e.g. ``backend.type``)."""
    if len(loc) != 1 or loc[0] not in DISCRIMINATORS:
        return False
    tag, default = DISCRIMINATORS[str(loc[0])]
    return tag in overlay and overlay[tag] != base.get(tag, default)


def _under(loc: yaml_source.Loc, replaced: set[yaml_source.Loc]) -> bool:
    """Whether ``loc`` or one of its ancestors (not the root) was replaced."""
    return any(tuple(loc[:end]) in replaced for end in range(1, len(loc) + 1))
