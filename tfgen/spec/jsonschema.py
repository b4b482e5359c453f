"""JSON Schema: of any record, and of the spec for editors (yaml-language-server).

Validator functions (patterns, CIDR checks) are not expressible here; editors get
types, enums, bounds, required and unknown fields, which covers most typing mistakes.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from tfgen.spec import environments
from tfgen.spec.model import Spec
from tfgen.spec.record import FieldInfo, Record, dump


def json_schema() -> dict[str, Any]:
    """JSON Schema of the spec, for editors (yaml-language-server)."""
    schema = record_schema(Spec)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tfgen Aurora PostgreSQL Serverless spec"
    # an environment is a partial spec: the same fields, none required, no environments of its own; its
    # sections (mappings) merge over the base's, so they are partial too and checked once merged
    section = schema["properties"][environments.KEY]
    section["propertyNames"] = {"pattern": "^[a-z][a-z0-9]*(-[a-z0-9]+)*$", "maxLength": 20}
    section["additionalProperties"] = {
        "type": "object",
        "properties": {
            name: {"type": "object"} if _is_section(value) else value
            for name, value in schema["properties"].items()
            if name != environments.KEY
        },
        "additionalProperties": False,
    }
    return schema


def _is_section(property_schema: dict[str, Any]) -> bool:
    """Whether a property of the spec's schema is a section (a model, or a union of models)."""
    if "$ref" in property_schema or property_schema.get("type") == "object":
        return True
    return any("$ref" in option for option in property_schema.get("oneOf", []) + property_schema.get("anyOf", []))


def record_schema(cls: type[Record]) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of ``cls``: records as ``$defs``, constraints as keywords."""
    defs: dict[str, Any] = {}
    schema = _record_schema(cls, defs)
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def _record_schema(cls: type[Record], defs: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for key, info in cls.model_keys.items():
        prop = _schema_for(info.annotation, defs)
        prop["title"] = key.replace("_", " ").title()
        if info.is_required():
            required.append(key)
        else:
            default = dump(info.default)
            prop["default"] = default
        properties[key] = prop
    schema: dict[str, Any] = {"type": "object", "title": cls.__name__, "properties": properties}
    if cls.__doc__:
        schema["description"] = " ".join(cls.__doc__.split())
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def _ref(cls: type[Record], defs: dict[str, Any]) -> dict[str, Any]:
    if cls.__name__ not in defs:
        defs[cls.__name__] = {}  # reserve: records may refer to each other
        defs[cls.__name__] = _record_schema(cls, defs)
    return {"$ref": f"#/$defs/{cls.__name__}"}


def _schema_for(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(hint)
    if origin is Annotated:
        inner, *metadata = get_args(hint)
        schema = _schema_for(inner, defs)
        for item in metadata:
            if isinstance(item, FieldInfo):
                _apply_constraints(schema, item)
        return schema
    if hint is Any:
        return {}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if hint in simple:
        return {"type": simple[hint]}
    if origin is Literal:
        values = list(get_args(hint))
        schema = {"const": values[0]} if len(values) == 1 else {"enum": values}
        kinds = {simple[type(value)] for value in values if type(value) in simple}
        if len(kinds) == 1:
            schema["type"] = kinds.pop()
        return schema
    if origin is list:
        return {"type": "array", "items": _schema_for(get_args(hint)[0], defs)}
    if origin is dict:
        key, item = get_args(hint)
        schema = {"type": "object", "additionalProperties": _schema_for(item, defs)}
        key_schema = _schema_for(key, defs)
        key_schema.pop("type", None)
        if key_schema:
            schema["propertyNames"] = key_schema
        return schema
    if origin in (Union, types.UnionType):
        options = [_schema_for(option, defs) for option in get_args(hint)]
        return {"anyOf": [option if option else {"type": "null"} for option in options]}
    if hint is type(None):
        return {"type": "null"}
    if isinstance(hint, type) and issubclass(hint, Record):
        return _ref(hint, defs)
    raise TypeError(f"no JSON Schema for {hint!r}")


def _apply_constraints(schema: dict[str, Any], info: FieldInfo) -> None:
    if info.discriminator and "anyOf" in schema:
        members = [option for option in schema.pop("anyOf") if option.get("type") != "null"]
        schema["oneOf"] = members
        schema["discriminator"] = {"propertyName": info.discriminator}
    keywords = {
        "minimum": info.ge,
        "exclusiveMinimum": info.gt,
        "maximum": info.le,
        "exclusiveMaximum": info.lt,
    }
    for keyword, bound in keywords.items():
        if bound is not None:
            schema[keyword] = bound
    if info.min_length is not None:
        schema["minItems" if schema.get("type") == "array" else "minLength"] = info.min_length
    if info.max_length is not None:
        schema["maxItems" if schema.get("type") == "array" else "maxLength"] = info.max_length
