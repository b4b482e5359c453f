"""How a record validates data: each annotation compiled once into a check.

:class:`tfgen.spec.record.Record` calls :func:`record_check` when a record class is
defined, so an annotation records cannot validate fails at import, not on the first
spec. A check takes a value, its location and the list of issues found so far; it
returns the (possibly converted) value, or ``_BAD`` after recording its problems, so
validation goes on and every problem is collected. Issue ``type`` names follow
pydantic's, which :mod:`tfgen.spec.messages` words for people.
"""

from __future__ import annotations

import math
import operator
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from tfgen.spec.record import AfterValidator, BeforeValidator, Check, FieldInfo, Invalid, Issue, Loc, Record

_BAD: Any = type("_Bad", (), {"__repr__": lambda self: "BAD"})()
"""What a check returns after recording its problem."""


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


def record_check(cls: type[Record]) -> Check:
    """The check of a record class: its fields' checks, required fields, unknown fields refused."""
    fields = [(name, info.key, info, _check_for(info.annotation)) for name, info in cls.model_fields.items()]
    known = frozenset(cls.model_keys)

    def check(value: Any, loc: Loc, issues: list[Issue]) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            return _issue(issues, "model_type", loc, "must be a mapping", value, class_name=cls.__name__)
        values: dict[str, Any] = {}
        bad = False
        for name, key, info, field_check in fields:
            if key in value:
                checked = field_check(value[key], (*loc, key), issues)
                bad = bad or checked is _BAD
                values[name] = checked
            elif info.is_required():
                _issue(issues, "missing", (*loc, key), "required field is missing", value)
                bad = True
            else:
                values[name] = info.get_default()
        for name in value:
            if name not in known:
                _issue(issues, "extra_forbidden", (*loc, name), "unknown field", value[name])
                bad = True
        return _BAD if bad else cls._build(values)

    return check
