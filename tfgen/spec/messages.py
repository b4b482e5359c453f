"""Validation problems as people read them: ``dotted.field: message``, with its line and a hint.

:mod:`tfgen.spec.loading` puts ``FILE:LINE:`` in front. The wording adds what a bare
issue cannot say: the field a misspelt key probably meant, the serverless version or
backend type a field belongs to, the kind of value found, and whether quotes should be
added or removed.
"""

from __future__ import annotations

import datetime
import difflib
import re
from typing import Any

from tfgen.spec import environments
from tfgen.spec.backends import BACKEND_TYPES, CloudBackend, S3Backend
from tfgen.spec.model import ServerlessV1, ServerlessV2, Spec
from tfgen.spec.record import Issue, Record
from tfgen.spec.yaml_source import Document, Loc

Found = tuple[Loc, int, str]
"""One problem: its location in the spec, its line, and ``field.path: message``."""


def located(document: Document, loc: Loc, message: str) -> Found:
    """A problem at ``loc`` of ``document``, with its line and dotted path."""
    return loc, document.line_of(loc), f"{dotted(loc)}: {message}"


def in_environment(document: environments.Merged, loc: Loc, text: str) -> str:
    """Say which environment a problem is in.

    The path under ``environments.<name>`` when the environment set the value, else the
    base spec's path followed by the environment's name.
    """
    name = document.environment
    if document.origin(loc) == "environment":
        return f"{environments.KEY}.{name}.{text}"
    if loc[:1] == ("name",) and document.derived_name:
        return (
            f"{text} (environment {name} names the cluster {document.data.get('name')!r}; "
            f"set {environments.KEY}.{name}.name to choose another)"
        )
    return f"{text} (environment {name})"


def dotted(loc: Loc) -> str:
    """``loc`` as people write it: ``alarms.custom[0].name``; ``(top level)`` for the document."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


_UNIONS = {"serverless": ("version", ("v2", "v1")), "backend": ("type", BACKEND_TYPES)}
"""Tagged unions of the spec: the field, its discriminator and its values."""
_MAPPING_TYPES = frozenset({"dict_type", "model_type", "model_attributes_type"})
KINDS: dict[type, str] = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    datetime.date: "a date",
    datetime.datetime: "a timestamp",
}


def format_issue(issue: Issue, document: Document) -> tuple[int, str]:
    """Word one validation problem for people: its line, then ``field.path: message`` with a hint."""
    loc: Loc = issue["loc"]
    kind = issue["type"]
    line = document.line_of(loc)
    value = issue.get("input")
    if kind == "missing":
        return line, f"{dotted(loc)}: required field is missing"
    if kind == "extra_forbidden":
        return line, f"{dotted(loc)}: unknown field{_suggestion(loc)}"
    if kind in ("union_tag_invalid", "union_tag_not_found") and loc and loc[-1] in _UNIONS:
        tag, values = _UNIONS[str(loc[-1])]
        allowed = " or ".join(", ".join(repr(v) for v in values).rsplit(", ", 1))
        if kind == "union_tag_not_found":
            return line, f"{dotted((*loc, tag))}: required field is missing; one of {allowed}"
        return document.line_of((*loc, tag)), f"{dotted((*loc, tag))}: must be {allowed}"
    message: str = issue["msg"]
    if kind in _MAPPING_TYPES:
        message = f"must be a mapping, got {_describe(value)}"
    elif kind == "literal_error":
        if issue.get("ctx", {}).get("expected") == "True":
            message = "must be true"
    elif kind.endswith("_type"):
        message = f"{message}, got {_describe(value)}"
        if kind == "string_type" and isinstance(value, int | float | datetime.date) and not isinstance(value, bool):
            message += "; put it in quotes"
        elif kind in ("int_type", "float_type") and isinstance(value, str) and _is_number(value):
            message += "; remove the quotes"
    if len(loc) >= 2 and loc[-1] == "[key]":
        # the location of a bad mapping key: the key itself, then "[key]"
        return line, f"{dotted(loc[:-2])}: key {loc[-2]!r} {message}"
    return line, f"{dotted(loc)}: {message}"


def _is_number(text: str) -> bool:
    return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", text.strip(), re.ASCII) is not None


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime.date):
        return f"{KINDS[type(value)][2:]} {value.isoformat()}"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}"


def _suggestion(loc: Loc) -> str:
    known = _known_fields(loc[:-1])
    key = str(loc[-1])
    other_version = _other_serverless_version(loc)
    if other_version:
        return f" (only valid with serverless.version: {other_version})"
    if len(loc) == 2 and loc[0] == "backend":
        if key.startswith("dynamodb"):
            return "; DynamoDB locking is deprecated: the S3 backend locks with a lock object (use_lockfile, on by default)"
        kinds = [kind for kind, model in (("s3", S3Backend), ("cloud", CloudBackend)) if key in model.model_fields]
        if kinds:
            return f" (only valid with backend.type: {' or '.join(kinds)})"
    aliased = _aliased(loc)
    if aliased is not None:
        return f"; the key is {aliased!r}"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    if len(loc) == 1:  # the list names the cluster's fields; where its state lives and its environments are apart
        known = [name for name in known if name not in ("backend", environments.KEY)]
    return f"; expected one of: {', '.join(sorted(known))}" if known else ""


def _other_serverless_version(loc: Loc) -> str | None:
    if len(loc) != 2 or loc[0] != "serverless":
        return None
    key = str(loc[1])
    if key in ServerlessV2.model_fields and key not in ServerlessV1.model_fields:
        return "v2"
    if key in ServerlessV1.model_fields and key not in ServerlessV2.model_fields:
        return "v1"
    return None


def _known_fields(loc: Loc) -> list[str]:
    if loc == ("serverless",):
        return sorted(set(ServerlessV2.model_fields) | set(ServerlessV1.model_fields))
    if loc == ("backend",):
        return sorted(set(S3Backend.model_fields) | set(CloudBackend.model_fields))
    model = _record_at(loc)
    return list(model.model_keys) if model is not None else []


def _record_at(loc: Loc) -> type[Record] | None:
    """The record whose fields the mapping at ``loc`` holds (``None`` where it is no record)."""
    model: Any = Spec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_keys.get(part) if isinstance(model, type) and issubclass(model, Record) else None
        if field is None:
            return None
        model = _model_of(field.annotation)
    return model if isinstance(model, type) and issubclass(model, Record) else None


def _aliased(loc: Loc) -> str | None:
    """The key to write when ``loc`` ends in a field's attribute name rather than its key (``global``)."""
    model = _record_at(loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model is not None else None
    return field.key if field is not None and field.key != loc[-1] else None


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
