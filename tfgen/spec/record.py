"""Strict, frozen, typed records: how the spec's sections are declared and turned back into data.

:mod:`tfgen.spec.model` declares its sections as :class:`Record` subclasses with type hints
and ``Annotated`` constraints, the way pydantic models are written. A record validates
plain data strictly (no coercion: ``"8"`` is not a number, ``true`` is not ``1``) and
collects every problem with its location instead of stopping at the first
(:mod:`tfgen.spec.validation` compiles each class's checks once, when it is defined);
it dumps back to plain data, and describes itself as JSON Schema
(:mod:`tfgen.spec.jsonschema`).

Why not pydantic: ``tfgen render`` runs in pre-commit hooks and CI on every push, and
importing pydantic and building the spec's validators cost ~90 ms of a ~200 ms
start-up (BENCHMARKS.md, issue 7). Records need ~1 ms to import and to build
every validator, and validate a spec in well under a millisecond.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``Any``, ``Literal[...]``,
``list[T]``, ``dict[K, V]``, ``T | None``, unions (tagged by a discriminator field
when made of records), records, and ``Annotated[T, ...]`` with :func:`Field`
constraints, :class:`AfterValidator` and :class:`BeforeValidator`. Anything else is a
programming error, reported when the class is defined.

Errors are :class:`Issue` mappings ``{type, loc, msg, input, ctx}`` in a
:class:`ValidationError`; :mod:`tfgen.spec.messages` words them for people (line numbers,
"did you mean", hints). A key of a mapping that fails validation has the location
``(..., key, "[key]")``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, TypeVar, Union, dataclass_transform, get_args, get_origin

__all__ = [
    "AfterValidator",
    "BeforeValidator",
    "Field",
    "FieldInfo",
    "Invalid",
    "Issue",
    "Record",
    "ValidationError",
]

Issue = dict[str, Any]
"""One problem: ``type``, ``loc`` (tuple of keys and indexes), ``msg``, ``input``, optionally ``ctx``."""

Loc = tuple[str | int, ...]
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()

Check = Callable[[Any, Loc, list[Issue]], Any]
"""Validate a value at a location: the (possibly converted) value, or a marker after appending issues
(see :mod:`tfgen.spec.validation`)."""


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
        "alias",
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
        self.alias: str | None = options.pop("alias", None)
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

    @property
    def key(self) -> str:
        """The field's key in the data: its alias, else its name."""
        return self.alias or self.name

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
    alias: str | None = None,
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
        alias: The field's key in the data when it cannot be the attribute's name (``global``, a
            Python keyword); validation, dumps, JSON Schema and messages use the alias.
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
        alias=alias,
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
    """The fields in declaration order, with their annotations (type hints with extras), by attribute name."""
    model_keys: typing.ClassVar[dict[str, FieldInfo]] = {}
    """The same fields by their key in the data (:attr:`FieldInfo.key`: the alias where there is one)."""
    __check: typing.ClassVar[Check | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = typing.get_type_hints(cls, include_extras=True)  # each class's own module resolves its hints
        fields: dict[str, FieldInfo] = {}
        for name, hint in hints.items():
            if name.startswith("_") or get_origin(hint) is typing.ClassVar or name in ("model_fields", "model_keys"):
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
        cls.model_keys = {info.key: info for info in fields.values()}
        # validation recognises nested records by this class, so it imports this module: imported here,
        # when the first record class is defined, not at the top
        from tfgen.spec.validation import record_check

        cls.__check = record_check(cls)  # an annotation records cannot check fails here, not later

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
        """The record as plain data (nested records too) under the data's keys; ``exclude=True`` fields left out.

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
        from tfgen.spec.jsonschema import record_schema  # only `tfgen schema` and editors need it

        return record_schema(cls)

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


_SCALARS = frozenset({str, int, float, bool, type(None)})


def dump(value: Any, exclude_none: bool = False) -> Any:
    """``value`` as plain data: records (nested too) become mappings of their fields."""
    if type(value) in _SCALARS:  # most values: one lookup instead of three isinstance checks
        return value
    if isinstance(value, Record):
        return _dump_record(value, set(), exclude_none)
    if isinstance(value, list):
        return [dump(item, exclude_none) for item in value]
    if isinstance(value, dict):
        return {key: dump(item, exclude_none) for key, item in value.items()}
    return value


def _dump_record(record: Record, exclude: set[str], exclude_none: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in record.model_fields.items():
        if info.exclude or name in exclude:
            continue
        value = record.__dict__[name]
        if exclude_none and value is None:
            continue
        out[info.key] = dump(value, exclude_none)
    return out
