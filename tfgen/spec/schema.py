"""Strict, frozen, typed records: the validation the spec needs, without a framework.

:mod:`tfgen.spec.model` declares its sections as :class:`Record` subclasses with type hints
and ``Annotated`` constraints, the way pydantic models are written. This module
validates YAML data against them strictly (no coercion: ``"8"`` is not a number,
``true`` is not ``1``), collects every problem with its location instead of stopping
at the first, dumps records back to plain data, and describes them as JSON Schema.

Why not pydantic: ``tfgen render`` runs in pre-commit hooks and CI on every push, and
importing pydantic and building the spec's validators cost ~90 ms of a ~200 ms
start-up (BENCHMARKS.md, issue 7). This module needs ~1 ms to import and to build
every validator, and validates a spec in well under a millisecond.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``Any``, ``Literal[...]``,
``list[T]``, ``dict[K, V]``, ``T | None``, unions (tagged by a discriminator field
when made of records), records, and ``Annotated[T, ...]`` with :func:`Field`
constraints, :class:`AfterValidator` and :class:`BeforeValidator`. Anything else is a
programming error, reported when the class is defined.

Errors are :class:`Issue` mappings ``{type, loc, msg, input, ctx}`` in a
:class:`ValidationError`; :mod:`tfgen.spec.model` words them for people (line numbers,
"did you mean", hints). A key of a mapping that fails validation has the location
``(..., key, "[key]")``.
"""

from __future__ import annotations

import math
import operator
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, dataclass_transform, get_args, get_origin

__all__ = [
    "AfterValidator",
    "BeforeValidator",
    "Field",
    "FieldInfo",
    "Invalid",
    "Issue",
    "Record",
    "ValidationError",
    "json_schema",
]

Issue = dict[str, Any]
"""One problem: ``type``, ``loc`` (tuple of keys and indexes), ``msg``, ``input``, optionally ``ctx``."""

Loc = tuple[str | int, ...]
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()
_BAD: Any = type("_Bad", (), {"__repr__": lambda self: "BAD"})()
"""What a check returns after recording its problem."""

Check = Callable[[Any, Loc, list[Issue]], Any]
"""Validate a value at a location: the (possibly converted) value, or ``_BAD`` after appending issues."""


class Invalid(ValueError):
    """Raised by a validator function: the value is wrong, ``message`` says why (no field name)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(ValueError):
    """Data that does not fit a record: every problem found, in document order of the fields."""

    def __init__(self, title: str, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} problem(s) validating {title}")
        self.title = title
        self.issues = issues

    def errors(self) -> list[Issue]:
        """The problems (the same list each call)."""
        return self.issues


class FieldInfo:
    """A field's default, constraints and options (see :func:`Field`)."""

    __slots__ = (
        "annotation",
        "default",
        "discriminator",
        "exclude",
        "ge",
        "gt",
        "le",
        "lt",
        "max_length",
        "min_length",
        "name",
    )

    def __init__(self, **options: Any) -> None:
        self.annotation: Any = None
        self.name = ""
        self.default: Any = options.pop("default", _MISSING)
        self.exclude: bool = options.pop("exclude", False)
        self.discriminator: str | None = options.pop("discriminator", None)
        self.ge: float | None = options.pop("ge", None)
        self.gt: float | None = options.pop("gt", None)
        self.le: float | None = options.pop("le", None)
        self.lt: float | None = options.pop("lt", None)
        self.min_length: int | None = options.pop("min_length", None)
        self.max_length: int | None = options.pop("max_length", None)
        if options:
            raise TypeError(f"unknown Field option(s): {', '.join(options)}")

    def is_required(self) -> bool:
        """True when the field has no default."""
        return self.default is _MISSING

    def get_default(self) -> Any:
        """A fresh copy of the default (lists and mappings are never shared between records)."""
        default = self.default
        if isinstance(default, list | dict):
            return type(default)(default)
        return default


def Field(
    default: Any = _MISSING,
    *,
    exclude: bool = False,
    discriminator: str | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
) -> Any:
    """Constraints in ``Annotated[...]``, or a field's default with options.

    Args:
        default: The field's value when the data leaves it out.
        exclude: Leave the field out of :meth:`Record.model_dump`.
        discriminator: For a union of records: the field whose value picks the record.
        ge: Numbers: greater than or equal to.
        gt: Numbers: greater than.
        le: Numbers: less than or equal to.
        lt: Numbers: less than.
        min_length: Strings (characters) and lists (items): at least this long.
        max_length: Strings and lists: at most this long.
    """
    return FieldInfo(
        default=default,
        exclude=exclude,
        discriminator=discriminator,
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
        min_length=min_length,
        max_length=max_length,
    )


class AfterValidator:
    """``Annotated`` metadata: call ``func(value)`` after the type check; it returns the value or raises :class:`Invalid`."""

    __slots__ = ("func",)

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func


class BeforeValidator:
    """``Annotated`` metadata: call ``func(value)`` on the raw input before the type check."""

    __slots__ = ("func",)

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func


_R = TypeVar("_R", bound="Record")


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(Field,))
class Record:
    """A frozen record validated from plain data; subclasses declare fields as type hints.

    Unknown fields are refused, nothing is coerced, ``inf``/``nan`` are not numbers.
    """

    model_fields: typing.ClassVar[dict[str, FieldInfo]] = {}
    """The fields in declaration order, with their annotations (type hints with extras)."""
    __check: typing.ClassVar[Check | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = typing.get_type_hints(cls, include_extras=True)  # each class's own module resolves its hints
        fields: dict[str, FieldInfo] = {}
        for name, hint in hints.items():
            if name.startswith("_") or get_origin(hint) is typing.ClassVar or name == "model_fields":
                continue
            value = cls.__dict__.get(name, _MISSING)
            info = value if isinstance(value, FieldInfo) else FieldInfo(default=value)
            if type(info.default) is int and _is_float(hint):
                info.default = float(info.default)  # as validation would have made it
            info.annotation = hint
            info.name = name
            fields[name] = info
            if name in cls.__dict__:
                delattr(cls, name)  # instances carry the values; the class keeps model_fields
        cls.model_fields = fields
        cls.__check = _record_check(cls)  # an annotation records cannot check fails here, not later

    def __init__(self, **data: Any) -> None:
        """Validate ``data`` (field values) into a record.

        Raises:
            ValidationError: With every problem found.
        """
        validated = type(self).model_validate(data)
        object.__setattr__(self, "__dict__", dict(validated.__dict__))

    # ------------------------------------------------------------------ validation

    @classmethod
    def _checker(cls) -> Check:
        check = cls.__check
        assert check is not None, "Record itself validates nothing"
        return check

    @classmethod
    def model_validate(cls: type[_R], data: Any) -> _R:
        """Validate plain data (a mapping of field values) into a record.

        Raises:
            ValidationError: With every problem found.
        """
        issues: list[Issue] = []
        value = cls._checker()(data, (), issues)
        if issues:
            raise ValidationError(cls.__name__, issues)
        return typing.cast(_R, value)

    @classmethod
    def _build(cls: type[_R], values: dict[str, Any]) -> _R:
        record = object.__new__(cls)
        object.__setattr__(record, "__dict__", values)
        return record

    # ------------------------------------------------------------------ plain data

    def model_dump(
        self, *, mode: str = "python", exclude: set[str] | None = None, exclude_none: bool = False
    ) -> dict[str, Any]:
        """The record as plain data (nested records too); ``exclude=True`` fields left out.

        ``mode`` is accepted for symmetry with JSON output: every value is JSON-ready already.
        """
        del mode
        return _dump_record(self, exclude or set(), exclude_none)

    def model_copy(self: _R, *, update: Mapping[str, Any] | None = None) -> _R:
        """A copy with some fields replaced (not re-validated: the caller vouches for the values)."""
        values = dict(self.__dict__)
        for name, value in (update or {}).items():
            if name not in self.model_fields:
                raise TypeError(f"{type(self).__name__} has no field {name!r}")
            values[name] = value
        return self._build(values)

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        """JSON Schema (draft 2020-12) of the data this record validates."""
        return json_schema(cls)

    # ------------------------------------------------------------------ object protocol

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # records hold lists and mappings

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({inner})"

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self.__dict__.items())


def _is_float(hint: Any) -> bool:
    """Whether values of ``hint`` are floats (through ``Annotated`` and ``| None``)."""
    if get_origin(hint) is Annotated:
        return _is_float(get_args(hint)[0])
    if get_origin(hint) in (Union, types.UnionType):
        members = [member for member in get_args(hint) if member is not type(None)]
        return len(members) == 1 and _is_float(members[0])
    return hint is float


def _dump(value: Any, exclude_none: bool) -> Any:
    if isinstance(value, Record):
        return _dump_record(value, set(), exclude_none)
    if isinstance(value, list):
        return [_dump(item, exclude_none) for item in value]
    if isinstance(value, dict):
        return {key: _dump(item, exclude_none) for key, item in value.items()}
    return value


def _dump_record(record: Record, exclude: set[str], exclude_none: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in record.model_fields.items():
        if info.exclude or name in exclude:
            continue
        value = record.__dict__[name]
        if exclude_none and value is None:
            continue
        out[name] = _dump(value, exclude_none)
    return out


# --------------------------------------------------------------------------- checks


def _issue(issues: list[Issue], kind: str, loc: Loc, msg: str, value: Any, **ctx: Any) -> Any:
    issue: Issue = {"type": kind, "loc": loc, "msg": msg, "input": value}
    if ctx:
        issue["ctx"] = ctx
    issues.append(issue)
    return _BAD


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _check_for(hint: Any) -> Check:
    """The check of one annotation (see the module docstring for what is supported)."""
    origin = get_origin(hint)
    if origin is Annotated:
        inner, *metadata = get_args(hint)
        return _annotated_check(inner, metadata)
    if hint is Any:
        return lambda value, loc, issues: value
    if hint is str:
        return _type_check(str, "string_type", "must be a valid string")
    if hint is bool:
        return _type_check(bool, "bool_type", "must be a valid boolean")
    if hint is int:
        return _type_check(int, "int_type", "must be a valid integer")
    if hint is float:
        return _float_check
    if origin is Literal:
        return _literal_check(get_args(hint))
    if origin is list:
        return _list_check(_check_for(get_args(hint)[0]), None, None)
    if origin is dict:
        key, item = get_args(hint)
        return _dict_check(_check_for(key), _check_for(item))
    if origin in (Union, types.UnionType):
        return _union_check(get_args(hint), None)
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint._checker()
    raise TypeError(f"records cannot validate {hint!r}")


def _type_check(kind: type, error: str, message: str) -> Check:
    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        if type(value) is kind:  # exact type: bool is not an int, a float is not an int
            return value
        if kind is str and isinstance(value, str):
            return str(value)
        return _issue(issues, error, loc, message, value)

    return check


def _float_check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
    if type(value) is float:
        if not math.isfinite(value):
            return _issue(issues, "finite_number", loc, "must be a finite number", value)
        return value
    if type(value) is int:
        return float(value)
    return _issue(issues, "float_type", loc, "must be a valid number", value)


def _literal_check(allowed: tuple[Any, ...]) -> Check:
    words = [repr(option) for option in allowed]
    expected = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"

    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        for option in allowed:
            if type(value) is type(option) and value == option:  # True is not 1
                return option
        return _issue(issues, "literal_error", loc, f"must be {expected}", value, expected=expected)

    return check


def _list_check(item: Check, min_length: int | None, max_length: int | None) -> Check:
    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        if not isinstance(value, list):
            return _issue(issues, "list_type", loc, "must be a valid list", value)
        out = []
        bad = False
        for index, element in enumerate(value):
            checked = item(element, (*loc, index), issues)
            bad = bad or checked is _BAD
            out.append(checked)
        if bad:
            return _BAD
        return _length(out, loc, issues, min_length, max_length, "item", "List")

    return check


def _length(
    value: Any, loc: Loc, issues: list[Issue], min_length: int | None, max_length: int | None, noun: str, what: str
) -> Any:
    size = len(value)
    if min_length is not None and size < min_length:
        kind = "string_too_short" if what == "String" else "too_short"
        message = f"must have at least {_plural(min_length, noun)}"
        if what == "List":
            message += f", got {size}"
        return _issue(issues, kind, loc, message, value, min_length=min_length)
    if max_length is not None and size > max_length:
        kind = "string_too_long" if what == "String" else "too_long"
        message = f"must have at most {_plural(max_length, noun)}"
        if what == "List":
            message += f", got {size}"
        return _issue(issues, kind, loc, message, value, max_length=max_length)
    return value


def _dict_check(key: Check, item: Check) -> Check:
    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        if not isinstance(value, dict):
            return _issue(issues, "dict_type", loc, "must be a mapping", value)
        out = {}
        bad = False
        for name, element in value.items():
            checked_key = key(name, (*loc, name, "[key]"), issues)
            checked = item(element, (*loc, name), issues)
            if checked_key is _BAD or checked is _BAD:
                bad = True
            else:
                out[checked_key] = checked
        return _BAD if bad else out

    return check


_KIND_WORDS = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _union_check(options: tuple[Any, ...], discriminator: str | None) -> Check:
    nullable = type(None) in options
    members = tuple(option for option in options if option is not type(None))
    if discriminator is not None:
        inner = _tagged_check(members, discriminator)
    elif len(members) == 1:
        inner = _check_for(members[0])
    else:
        inner = _first_fit_check(members)
    if not nullable:
        return inner
    return lambda value, loc, issues: None if value is None else inner(value, loc, issues)


def _first_fit_check(members: tuple[Any, ...]) -> Check:
    """A plain union: the first member that accepts the value (members are tried in order)."""
    checks = [_check_for(member) for member in members]
    words: list[str] = []
    for member in members:
        base = get_args(member)[0] if get_origin(member) is Annotated else member
        word = _KIND_WORDS.get(base, getattr(base, "__name__", str(base)))
        if word not in words:
            words.append(word)
    expected = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"

    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        found: list[Issue] = []
        for member_check in checks:
            attempt: list[Issue] = []
            checked = member_check(value, loc, attempt)
            if not attempt:
                return checked
            if not all(issue["type"].endswith("_type") for issue in attempt) and not found:
                found = attempt  # the member that took the type but not the value explains best
        if found:
            issues.extend(found)
            return _BAD
        return _issue(issues, "union_type", loc, f"must be {expected}", value)

    return check


def _tagged_check(members: tuple[Any, ...], tag: str) -> Check:
    by_tag: dict[Any, type[Record]] = {}
    for member in members:
        if not (isinstance(member, type) and issubclass(member, Record)):
            raise TypeError(f"a discriminated union holds records, not {member!r}")
        literal = member.model_fields[tag].annotation
        for value in get_args(literal):
            by_tag[value] = member
    expected = ", ".join(repr(value) for value in by_tag)

    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        if isinstance(value, tuple(by_tag.values())):
            return value
        if not isinstance(value, dict):
            return _issue(issues, "model_attributes_type", loc, "must be a mapping", value)
        if tag not in value:
            return _issue(issues, "union_tag_not_found", loc, f"no {tag!r} field", value, discriminator=repr(tag))
        chosen = value[tag]
        member = by_tag.get(chosen) if isinstance(chosen, str) else None
        if member is None:
            return _issue(
                issues,
                "union_tag_invalid",
                loc,
                f"{tag} {chosen!r} is not one of {expected}",
                value,
                discriminator=repr(tag),
                tag=str(chosen),
                expected_tags=expected,
            )
        return member._checker()(value, loc, issues)

    return check


def _annotated_check(inner: Any, metadata: list[Any]) -> Check:
    """``Annotated[inner, ...]``: the inner type's check, then each constraint and validator in order."""
    info = next((item for item in metadata if isinstance(item, FieldInfo) and item.discriminator), None)
    if info is not None:
        base = _union_check(get_args(inner), info.discriminator)
    elif get_origin(inner) is list:
        sizes = [item for item in metadata if isinstance(item, FieldInfo)]
        base = _list_check(
            _check_for(get_args(inner)[0]),
            next((item.min_length for item in sizes if item.min_length is not None), None),
            next((item.max_length for item in sizes if item.max_length is not None), None),
        )
        metadata = [item for item in metadata if not isinstance(item, FieldInfo)]
    else:
        base = _check_for(inner)
    befores = [item.func for item in metadata if isinstance(item, BeforeValidator)]
    steps = [step for item in metadata if not isinstance(item, BeforeValidator) and (step := _step(item)) is not None]

    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        for func in befores:
            value = func(value)
        value = base(value, loc, issues)
        for step in steps:
            if value is _BAD:
                return _BAD
            value = step(value, loc, issues)
        return value

    return check


def _step(item: Any) -> Check | None:
    if isinstance(item, AfterValidator):
        func = item.func

        def after(value: Any, loc: Loc, issues: list[Issue]) -> Any:
            try:
                return func(value)
            except Invalid as exc:
                return _issue(issues, "tfgen", loc, exc.message, value)

        return after
    if isinstance(item, FieldInfo):
        return _constraint_check(item)
    raise TypeError(f"records do not understand the annotation {item!r}")


_BOUNDS = (
    ("gt", "greater_than", "greater than", operator.gt),
    ("ge", "greater_than_equal", "greater than or equal to", operator.ge),
    ("lt", "less_than", "less than", operator.lt),
    ("le", "less_than_equal", "less than or equal to", operator.le),
)


def _constraint_check(info: FieldInfo) -> Check | None:
    bounds = [
        (bound, kind, f"must be {words} {bound}", holds)
        for option, kind, words, holds in _BOUNDS
        if (bound := getattr(info, option)) is not None
    ]
    if not bounds and info.min_length is None and info.max_length is None:
        return None

    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        if isinstance(value, str):
            return _length(value, loc, issues, info.min_length, info.max_length, "character", "String")
        for bound, kind, message, holds in bounds:
            if not holds(value, bound):
                return _issue(issues, kind, loc, message, value, **{kind: bound})
        return value

    return check


def _record_check(cls: type[Record]) -> Check:
    fields = [(name, info, _check_for(info.annotation)) for name, info in cls.model_fields.items()]
    known = frozenset(cls.model_fields)

    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            return _issue(issues, "model_type", loc, "must be a mapping", value, class_name=cls.__name__)
        values: dict[str, Any] = {}
        bad = False
        for name, info, field_check in fields:
            if name in value:
                checked = field_check(value[name], (*loc, name), issues)
                bad = bad or checked is _BAD
                values[name] = checked
            elif info.is_required():
                _issue(issues, "missing", (*loc, name), "required field is missing", value)
                bad = True
            else:
                values[name] = info.get_default()
        for name in value:
            if name not in known:
                _issue(issues, "extra_forbidden", (*loc, name), "unknown field", value[name])
                bad = True
        return _BAD if bad else cls._build(values)

    return check


# --------------------------------------------------------------------------- JSON Schema


def json_schema(cls: type[Record]) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of ``cls``: records as ``$defs``, constraints as keywords.

    Validator functions (patterns, CIDR checks) are not expressible here; editors get
    types, enums, bounds, required and unknown fields, which covers most typing mistakes.
    """
    defs: dict[str, Any] = {}
    schema = _record_schema(cls, defs)
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def _record_schema(cls: type[Record], defs: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, info in cls.model_fields.items():
        prop = _schema_for(info.annotation, defs)
        prop["title"] = name.replace("_", " ").title()
        if info.is_required():
            required.append(name)
        else:
            default = _dump(info.default, False)
            prop["default"] = default
        properties[name] = prop
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
