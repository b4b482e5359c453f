"""Python values as HCL expressions, already in ``terraform fmt`` style.

Rendering must not start terraform (``terraform fmt`` per file would dominate
render time), so the one thing fmt would change in generated values — the
alignment of ``=`` in runs of single-line map entries — is done here.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def string(value: str) -> str:
    """A quoted HCL string literal; ``${`` and ``%{`` stay literal."""
    # most strings (names, descriptions) need no escaping: six `in` tests cost half of seven replaces
    if not ("\\" in value or '"' in value or "\n" in value or "\r" in value or "\t" in value or "{" in value):
        return f'"{value}"'
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        .replace("${", "$${")
        .replace("%{", "%%{")
    )
    return f'"{escaped}"'


def number(value: float) -> str:
    """An HCL number: integral values without a fractional part."""
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def key(name: str) -> str:
    """A map key: bare when it is an identifier, quoted otherwise."""
    return name if _IDENT.fullmatch(name) else string(name)


def value(data: Any, indent: int = 0) -> str:
    """Render ``data`` as an HCL expression whose continuation lines start at ``indent``."""
    kind = type(data)  # exact types first (bool has no subclasses); subclasses take the general path below
    if kind is str:
        return string(data)
    if kind is bool:
        return "true" if data else "false"
    if kind is int or kind is float:
        return number(data)
    if data is None:
        return "null"
    if isinstance(data, (int, float)):
        return number(data)
    if isinstance(data, str):
        return string(data)
    if isinstance(data, Mapping):
        return _mapping(data, indent)
    if isinstance(data, Sequence):
        items = [value(item, indent) for item in data]
        if any("\n" in item for item in items):
            inner = " " * (indent + 2)
            nested = [value(item, indent + 2) for item in data]
            return "[\n" + "".join(f"{inner}{item},\n" for item in nested) + " " * indent + "]"
        return "[" + ", ".join(items) + "]"
    raise TypeError(f"cannot render {type(data).__name__} as HCL")


def _mapping(data: Mapping[str, Any], indent: int) -> str:
    if not data:
        return "{}"
    inner = " " * (indent + 2)
    entries = [(key(str(k)), value(v, indent + 2)) for k, v in data.items()]
    return "{\n" + "".join(f"{inner}{line}\n" for line in align(entries)) + " " * indent + "}"


def display_width(text: str) -> int:
    """Width of a key as ``terraform fmt`` measures it when it aligns ``=``.

    HCL counts grapheme clusters (Unicode UAX #29) per token, and a quoted key is three
    tokens: the quotes count one each, whatever follows the opening quote.
    """
    if text.isascii():
        return len(text)
    # imported only for non-ASCII keys: the common case stays free of it
    import regex

    if len(text) >= 2 and text[0] == text[-1] == '"':
        return 2 + len(regex.findall(r"\X", text[1:-1]))
    return len(regex.findall(r"\X", text))


def align(entries: Sequence[tuple[str, str]]) -> list[str]:
    """``name = value`` lines with ``=`` aligned in runs of single-line values, as fmt does."""
    lines: list[str] = []
    run: list[tuple[str, str]] = []
    for name, text in entries:
        if "\n" in text:
            if run:
                lines += _aligned(run)
                run = []
            lines.append(f"{name} = {text}")
        else:
            run.append((name, text))
    if run:
        lines += _aligned(run)
    return lines


def _aligned(run: list[tuple[str, str]]) -> list[str]:
    """One run of single-line entries, ``=`` aligned (each name measured once)."""
    widths = [display_width(name) for name, _ in run]
    width = max(widths)
    return [f"{name}{' ' * (width - own)} = {text}" for (name, text), own in zip(run, widths, strict=True)]


@functools.lru_cache(maxsize=4096)
def block(
    header: str, entries: tuple[tuple[str, str], ...], nested: tuple[tuple[str, tuple[str, ...]], ...] = ()
) -> str:
    """``header {``, its ``entries`` aligned, each nested block (a name, its lines) after a blank line, ``}``.

    No final newline. Memoised: a batch of specs renders the same blocks (a variable whose default
    is the same) again and again, and a block is a pure function of its text.
    """
    lines = [f"{header} {{", *(f"  {line}" for line in align(entries))]
    for name, inner in nested:
        lines += ["", f"  {name} {{", *(f"    {line}" for line in inner), "  }"]
    lines.append("}")
    return "\n".join(lines)
