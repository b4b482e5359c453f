"""Safe YAML loading that remembers the line of every key and value.

PyYAML's ``safe_load`` throws positions away; validation messages need them
(``FILE:LINE: field.path: message``). This module composes the node graph with the
safe loader and builds plain Python data while recording, for each path of keys and
indices, the line where it appears. Aliases are expanded with a node budget, so an
alias bomb ("billion laughs") is an error, not an out-of-memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]

MAX_BYTES = 1_000_000
"""A spec describes one cluster; anything larger than this is not a spec."""
MAX_NODES = 20_000
"""Upper bound on values after alias expansion."""


class YamlSourceError(Exception):
    """Raised when the text cannot become spec data.

    Args:
        line: 1-based line of the problem (1 when unknown).
        message: What is wrong.
    """

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Document:
    """Parsed YAML data with the line of every path inside it."""

    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """Line of ``loc``, or of its closest ancestor that exists in the file."""
        for end in range(len(loc), -1, -1):
            found = self.lines.get(tuple(loc[:end]))
            if found is not None:
                return found
        return 1


def read_text(path: Path) -> str:
    """Read a spec file as UTF-8 text with size and encoding checks.

    Raises:
        YamlSourceError: If the file is too large, binary, or not UTF-8.
        OSError: If the file cannot be read (the caller words it).
    """
    with path.open("rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise YamlSourceError(1, f"file is larger than {MAX_BYTES // 1000} kB; a spec describes one cluster")
    if b"\x00" in raw:
        raise YamlSourceError(1, "file is binary, not YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlSourceError(line, "file is not valid UTF-8 text") from None


def parse(text: str) -> Document:
    """Parse YAML text into data plus line numbers.

    Raises:
        YamlSourceError: On malformed YAML, duplicate keys, non-string keys,
            tags other than the safe ones, or too many nodes.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        doc = Document(data=None)
        if node is not None:
            builder = _Builder(loader, doc)
            doc.data = builder.build(node, ())
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "malformed YAML"
        raise YamlSourceError(line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(1, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, doc: Document) -> None:
        self.loader = loader
        self.doc = doc
        self.count = 0

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlSourceError(node.start_mark.line + 1, f"more than {MAX_NODES} values (alias expansion?)")
        self.doc.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, index)) for index, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise YamlSourceError(node.start_mark.line + 1, f"invalid YAML: {exc.problem}") from None

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = self.loader.construct_object(key_node, deep=True)
            # the key's line, recorded before its value, wins over the value's own line
            if not isinstance(key, str):
                raise YamlSourceError(line, f"key {key!r} must be a string")
            if key in result:
                raise YamlSourceError(line, f"duplicate key {key!r}")
            self.doc.lines[(*loc, key)] = line
            result[key] = self.build(value_node, (*loc, key))
        return result
