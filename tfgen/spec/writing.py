"""A spec as YAML text, with comments: what ``tfgen import`` writes.

Block style, keys in the order given, every scalar quoted as YAML needs it (``"16.6"`` stays a
string), a comment above any key by its path (``("serverless", "min_capacity")``) and a header.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

Comments = Mapping[tuple[str, ...], str]
_WIDTH = 100


def dump(data: Mapping[str, Any], comments: Comments, header: Sequence[str] = ()) -> str:
    """``data`` as YAML: ``header`` lines first (as comments), a comment above each key of ``comments``."""
    lines = [f"# {line}".rstrip() for text in header for line in (_wrap(text, 2) if text else [""])]
    if lines:
        lines.append("")
    _mapping(data, (), 0, comments, lines)
    return "\n".join(lines) + "\n"


def _wrap(text: str, indent: int) -> list[str]:
    return textwrap.wrap(text, width=max(40, _WIDTH - indent - 2), break_on_hyphens=False) or [""]


def _scalar(value: Any) -> str:
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()


def _mapping(data: Mapping[str, Any], path: tuple[str, ...], indent: int, comments: Comments, lines: list[str]) -> None:
    pad = " " * indent
    for index, (key, value) in enumerate(data.items()):
        here = (*path, key)
        if here in comments:
            if indent == 0 and index and lines and lines[-1]:
                lines.append("")
            lines.extend(f"{pad}# {line}" for line in _wrap(comments[here], indent))
        _entry(f"{pad}{key}:", value, here, indent, comments, lines)


def _entry(prefix: str, value: Any, path: tuple[str, ...], indent: int, comments: Comments, lines: list[str]) -> None:
    if isinstance(value, Mapping) and value:
        lines.append(prefix)
        _mapping(value, path, indent + 2, comments, lines)
    elif isinstance(value, list) and value:
        lines.append(prefix)
        pad = " " * (indent + 2)
        for number, item in enumerate(value):
            if isinstance(item, Mapping) and item:
                inner: list[str] = []
                _mapping(item, (*path, str(number)), indent + 4, comments, inner)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{prefix} {_scalar(value)}")
