"""Safe YAML loading that remembers the line of every key and value.

PyYAML's ``safe_load`` throws positions away; validation messages need them
(``FILE:LINE: field.path: message``). This module composes the node graph with the
safe loader and builds plain Python data while recording, for each path of keys and
indices, the line where it appears. Aliases are expanded with a node budget, so an
alias bomb ("billion laughs") is an error, not an out-of-memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from tfgen.spec.source import YamlSourceError

Loc = tuple[str | int, ...]

MAX_NODES = 20_000
"""Upper bound on values after alias expansion."""
MAX_DEPTH = 50
"""Upper bound on nesting; a spec is a few levels deep."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
"""Lists and mappings are built as plain data; any other tag on them (!!set, !!python/...) is refused."""
_Pair = tuple[yaml.Node, yaml.Node, bool]
"""A key node, its value node, and whether the pair came from a merge key (``<<``)."""


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


def parse(text: str) -> Document:
    """Parse YAML text into data plus line numbers.

    Composes with libyaml's safe loader when PyYAML has it (about 15 times faster);
    a text libyaml refuses is parsed again by the pure-Python loader, whose messages
    say more, so every error reads the same either way.

    Raises:
        YamlSourceError: On malformed YAML, duplicate keys, non-string keys,
            tags other than the safe ones, or too many nodes.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _parse_with(fast, text)
        except YamlSourceError as error:
            if not error.from_parser:
                raise  # found while building the data: the same with either loader
    return _parse_with(yaml.SafeLoader, text)


def _parse_with(loader_class: Any, text: str) -> Document:
    try:
        # the reader checks every character when the loader is created
        loader = loader_class(text)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise YamlSourceError(line, f"invalid YAML: {exc.reason} (character {exc.character!r})", True) from None
    try:
        node = loader.get_single_node()
        doc = Document(data=None)
        if node is not None:
            _check_tags(node)
            builder = _Builder(loader, doc)
            doc.data = builder.build(node, ())
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "malformed YAML"
        if exc.context and problem.startswith("but "):
            # e.g. "expected a single document in the stream" + "but found another document"
            problem = f"{exc.context} {problem}"
        raise YamlSourceError(line, f"invalid YAML: {problem}", True) from None
    except RecursionError:
        # PyYAML composes nested collections recursively
        line = getattr(loader, "line", 0) + 1
        raise YamlSourceError(line, f"values nested more than {MAX_DEPTH} levels deep", True) from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(1, f"invalid YAML: {exc}", True) from None
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, doc: Document) -> None:
        self.loader = loader
        self.doc = doc
        self.count = 0
        self.active: set[int] = set()
        """Ids of the collection nodes being built: meeting one again means a recursive alias."""
        self.merging: set[int] = set()
        """Ids of the mappings whose merge keys are being resolved."""
        self.flattened: dict[int, list[_Pair]] = {}

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlSourceError(line, f"more than {MAX_NODES} values (alias expansion?)")
        self.doc.lines.setdefault(loc, line)
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if node.tag == _STR_TAG:
                return node.value  # what SafeConstructor.construct_yaml_str returns, without its dispatch
            try:
                return self.loader.construct_object(node, deep=True)
            except yaml.constructor.ConstructorError as exc:
                raise YamlSourceError(line, f"invalid YAML: {exc.problem}") from None
            except (ValueError, OverflowError, TypeError) as exc:  # e.g. 2025-13-01, !!int 0x
                raise YamlSourceError(line, f"invalid YAML: cannot read {node.value!r} ({exc})") from None
        if node.tag not in _PLAIN_COLLECTION_TAGS:
            raise YamlSourceError(line, f"invalid YAML: unsupported tag {node.tag!r} on a list or mapping")
        if id(node) in self.active:
            raise YamlSourceError(line, "recursive alias: a value contains itself")
        if len(loc) >= MAX_DEPTH:
            raise YamlSourceError(line, f"values nested more than {MAX_DEPTH} levels deep")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, loc)
            return [self.build(item, (*loc, index)) for index, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        result: dict[str, Any] = {}
        own: set[str] = set()
        for key_node, value_node, merged in self._pairs(node):
            line = key_node.start_mark.line + 1
            key = self._key(key_node)
            if key in own:
                raise YamlSourceError(line, f"duplicate key {key!r}")
            if key in result:
                if merged:
                    continue  # the first merged mapping that has the key wins
                # a key of this mapping overrides a merged one: forget the merged value's lines
                self._forget((*loc, key))
            if not merged:
                own.add(key)
            # the key's line, recorded before its value, wins over the value's own line
            self.doc.lines[(*loc, key)] = line
            result[key] = self.build(value_node, (*loc, key))
        return result

    def _key(self, node: yaml.Node) -> str:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.ScalarNode):
            # never construct a collection key: it could be an alias bomb
            kind = "a mapping" if isinstance(node, yaml.MappingNode) else "a list"
            raise YamlSourceError(line, f"keys must be strings, not {kind}")
        try:
            key = node.value if node.tag == _STR_TAG else self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise YamlSourceError(line, f"invalid YAML: {exc.problem}") from None
        except (ValueError, OverflowError, TypeError) as exc:
            raise YamlSourceError(line, f"invalid YAML: cannot read {node.value!r} ({exc})") from None
        if not isinstance(key, str):
            raise YamlSourceError(line, f"key {node.value or 'null'} must be a string; put it in quotes")
        return key

    def _pairs(self, node: yaml.MappingNode) -> list[_Pair]:
        """The mapping's pairs with YAML merge keys (``<<``) resolved, without changing the node.

        Merged pairs come first, flagged, each key once (earlier merged mappings win); the
        mapping's own pairs follow and override them.
        """
        known = self.flattened.get(id(node))
        if known is not None:
            return known
        merged: list[_Pair] = []
        seen: set[tuple[str, str]] = set()
        own: list[_Pair] = []
        self.merging.add(id(node))
        try:
            for key_node, value_node in node.value:
                if key_node.tag != _MERGE_TAG:
                    own.append((key_node, value_node, False))
                    continue
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise YamlSourceError(
                            source.start_mark.line + 1, "invalid YAML: << must merge a mapping or a list of mappings"
                        )
                    if id(source) in self.merging:
                        raise YamlSourceError(source.start_mark.line + 1, "recursive alias: a mapping merges itself")
                    # within one source its own keys override what it merged; across sources the first wins
                    effective = {_ident(key): (key, value, True) for key, value, _ in self._pairs(source)}
                    for ident, pair in effective.items():
                        if ident not in seen:
                            seen.add(ident)
                            merged.append(pair)
        finally:
            self.merging.discard(id(node))
        pairs = merged + own
        self.flattened[id(node)] = pairs
        return pairs

    def _forget(self, loc: Loc) -> None:
        for known in [known for known in self.doc.lines if known[: len(loc)] == loc]:
            del self.doc.lines[known]


_SAFE_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "merge")
)


def _check_tags(root: yaml.Node) -> None:
    """Refuse any tag but YAML's plain ones, anywhere: also in values a merge would shadow."""
    seen: set[int] = set()
    stack = [root]
    scalar, sequence = yaml.ScalarNode, yaml.SequenceNode  # the composer makes exactly these (and MappingNode)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is scalar:  # most nodes; an alias of a scalar is checked again, which is cheap
            if node.tag not in _SAFE_SCALAR_TAGS:
                raise YamlSourceError(node.start_mark.line + 1, f"invalid YAML: unsupported tag {node.tag!r}")
            continue
        if id(node) in seen:
            continue  # an alias of a collection: checked once (an alias bomb stays linear)
        seen.add(id(node))
        if node.tag not in _PLAIN_COLLECTION_TAGS:
            raise YamlSourceError(node.start_mark.line + 1, f"invalid YAML: unsupported tag {node.tag!r}")
        if kind is sequence:
            stack.extend(node.value)
        else:
            for pair in node.value:
                stack.extend(pair)


def _ident(key: yaml.Node) -> tuple[str, str]:
    """What makes two key nodes the same key before they are constructed."""
    return (key.tag, key.value) if isinstance(key, yaml.ScalarNode) else ("", str(id(key)))
