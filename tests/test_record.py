"""tfgen.spec.record: the strict record validation under the spec (wording for people is test_spec's)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import jsonschema
import pytest

from tfgen.spec.record import AfterValidator, BeforeValidator, Field, Invalid, Record, ValidationError


def _even(value: int) -> int:
    if value % 2:
        raise Invalid("must be even")
    return value


class Inner(Record):
    """An inner section."""

    size: Annotated[int, Field(ge=1, le=10), AfterValidator(_even)] = 2
    ratio: float = 1
    label: Annotated[str, Field(min_length=1, max_length=3)] | None = None


class Cat(Record):
    kind: Literal["cat"]
    lives: int = 9


class Dog(Record):
    kind: Literal["dog"] = "dog"
    good: bool = True


def _default_kind(value: Any) -> Any:
    return {"kind": "dog", **value} if isinstance(value, dict) and "kind" not in value else value


class Outer(Record):
    name: str
    items: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=2)] = ["a", "b"]
    labels: dict[Annotated[str, Field(max_length=4)], str] = {}
    inner: Inner = Inner()
    pet: Annotated[Cat | Dog, BeforeValidator(_default_kind), Field(discriminator="kind")] = Dog()
    value: Annotated[str, Field(min_length=1)] | int | float = 0
    on: Literal[True] = True
    hidden: int = Field(default=0, exclude=True)


def issues(data: Any) -> list[tuple[str, tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as info:
        Outer.model_validate(data)
    return [(issue["type"], issue["loc"], issue["msg"]) for issue in info.value.errors()]


def test_valid_data_with_defaults() -> None:
    outer = Outer.model_validate({"name": "x", "inner": {"size": 4, "ratio": 3}})
    assert outer.name == "x"
    assert outer.inner == Inner(size=4, ratio=3.0)
    assert outer.inner.ratio == 3.0
    assert type(outer.inner.ratio) is float  # ints become floats in float fields
    assert type(Inner().ratio) is float  # defaults too, as JSON dumps of the spec rely on it
    assert outer.pet == Dog()
    assert outer.items == ["a", "b"]


def test_nothing_is_coerced() -> None:
    assert issues({"name": 5, "inner": {"size": True, "ratio": "1.5"}, "on": 1}) == [
        ("string_type", ("name",), "must be a valid string"),
        ("int_type", ("inner", "size"), "must be a valid integer"),
        ("float_type", ("inner", "ratio"), "must be a valid number"),
        ("literal_error", ("on",), "must be True"),  # 1 == True in Python, not here
    ]
    assert issues({"name": "x", "inner": {"size": 2.0}}) == [("int_type", ("inner", "size"), "must be a valid integer")]


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_numbers_are_finite(number: float) -> None:
    assert issues({"name": "x", "inner": {"ratio": number}}) == [
        ("finite_number", ("inner", "ratio"), "must be a finite number")
    ]


def test_constraints_then_validators_in_order() -> None:
    assert issues({"name": "x", "inner": {"size": 12}}) == [
        ("less_than_equal", ("inner", "size"), "must be less than or equal to 10")
    ]
    assert issues({"name": "x", "inner": {"size": 3}}) == [("tfgen", ("inner", "size"), "must be even")]
    assert issues({"name": "x", "inner": {"label": ""}}) == [
        ("string_too_short", ("inner", "label"), "must have at least 1 character")
    ]
    assert issues({"name": "x", "inner": {"label": "abcd"}}) == [
        ("string_too_long", ("inner", "label"), "must have at most 3 characters")
    ]


def test_every_problem_is_reported_declared_fields_first_then_unknown() -> None:
    assert issues({"zzz": 1, "inner": {"nope": 2, "size": 0}}) == [
        ("missing", ("name",), "required field is missing"),
        ("greater_than_equal", ("inner", "size"), "must be greater than or equal to 1"),
        ("extra_forbidden", ("inner", "nope"), "unknown field"),
        ("extra_forbidden", ("zzz",), "unknown field"),
    ]


def test_lists_check_items_then_length() -> None:
    assert issues({"name": "x", "items": ["a", ""]}) == [
        ("string_too_short", ("items", 1), "must have at least 1 character")
    ]
    assert issues({"name": "x", "items": ["a"]}) == [("too_short", ("items",), "must have at least 2 items, got 1")]
    assert issues({"name": "x", "items": "ab"}) == [("list_type", ("items",), "must be a valid list")]


def test_mapping_keys_are_located_as_key() -> None:
    assert issues({"name": "x", "labels": {"toolong": "v", 3: "w", "ok": 4}}) == [
        ("string_too_long", ("labels", "toolong", "[key]"), "must have at most 4 characters"),
        ("string_type", ("labels", 3, "[key]"), "must be a valid string"),
        ("string_type", ("labels", "ok"), "must be a valid string"),
    ]
    assert issues({"name": "x", "labels": []}) == [("dict_type", ("labels",), "must be a mapping")]


def test_tagged_unions() -> None:
    assert Outer.model_validate({"name": "x", "pet": {"kind": "cat", "lives": 3}}).pet == Cat(kind="cat", lives=3)
    assert Outer.model_validate({"name": "x", "pet": {"good": False}}).pet == Dog(good=False)  # before-validator
    assert issues({"name": "x", "pet": {"kind": "cow"}})[0][:2] == ("union_tag_invalid", ("pet",))
    assert issues({"name": "x", "pet": {"kind": 1}})[0][:2] == ("union_tag_invalid", ("pet",))
    assert issues({"name": "x", "pet": "cat"})[0][:2] == ("model_attributes_type", ("pet",))
    # a member's own problems are located under the union field, without the tag
    assert issues({"name": "x", "pet": {"kind": "cat", "lives": "9"}}) == [
        ("int_type", ("pet", "lives"), "must be a valid integer")
    ]


def test_plain_unions_pick_the_first_member_that_fits() -> None:
    assert Outer.model_validate({"name": "x", "value": 3}).value == 3
    assert Outer.model_validate({"name": "x", "value": 2.5}).value == 2.5
    assert Outer.model_validate({"name": "x", "value": "on"}).value == "on"
    assert issues({"name": "x", "value": True}) == [("union_type", ("value",), "must be a string or a number")]
    # the member that took the type explains what is wrong with the value
    assert issues({"name": "x", "value": ""}) == [("string_too_short", ("value",), "must have at least 1 character")]
    assert issues({"name": "x", "value": float("nan")}) == [("finite_number", ("value",), "must be a finite number")]


def test_not_a_mapping() -> None:
    with pytest.raises(ValidationError) as info:
        Outer.model_validate(["name"])
    assert info.value.errors()[0]["type"] == "model_type"
    assert info.value.errors()[0]["loc"] == ()


def test_records_are_frozen_compared_by_value_and_never_share_defaults() -> None:
    first = Outer.model_validate({"name": "x"})
    second = Outer.model_validate({"name": "x"})
    assert first == second
    assert first.items is not second.items
    with pytest.raises(AttributeError, match="frozen"):
        first.name = "y"  # type: ignore[misc]
    changed = first.model_copy(update={"name": "y"})
    assert (changed.name, first.name) == ("y", "x")
    with pytest.raises(TypeError):
        first.model_copy(update={"nope": 1})
    with pytest.raises(ValidationError):
        Inner(size=3)


def test_dump_leaves_out_excluded_fields() -> None:
    outer = Outer.model_validate({"name": "x", "hidden": 5, "pet": {"kind": "cat"}})
    assert outer.hidden == 5
    dumped = outer.model_dump()
    assert "hidden" not in dumped
    assert dumped["inner"] == {"size": 2, "ratio": 1.0, "label": None}
    assert dumped["pet"] == {"kind": "cat", "lives": 9}
    assert outer.inner.model_dump(exclude={"size"}, exclude_none=True) == {"ratio": 1.0}


def test_json_schema_accepts_and_refuses_like_the_records() -> None:
    schema = Outer.model_json_schema()
    assert schema["required"] == ["name"]
    jsonschema.Draft202012Validator.check_schema(schema)
    good = {"name": "x", "inner": {"size": 4}, "pet": {"kind": "cat"}, "value": 1.5, "labels": {"a": "b"}}
    jsonschema.validate(good, schema)
    Outer.model_validate(good)
    for bad in (
        {"name": "x", "inner": {"size": 11}},
        {"name": "x", "items": ["a"]},
        {"name": "x", "labels": {"toolong": "b"}},
        {"name": "x", "pet": {"kind": "cow"}},
        {"name": "x", "extra": 1},
        {"name": "x", "on": False},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        with pytest.raises(ValidationError):
            Outer.model_validate(bad)


def test_unsupported_annotations_fail_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match="cannot validate"):

        class Broken(Record):
            when: set[int]

    with pytest.raises(TypeError, match="unexpected keyword"):
        Field(pattern="x")  # type: ignore[call-arg]


class Aliased(Record):
    """A field whose key in the data is a Python keyword."""

    global_: Annotated[int, Field(ge=0)] | None = Field(None, alias="global")
    plain: int = 1


def test_an_alias_is_the_key_in_validation_dumps_and_schema() -> None:
    record = Aliased.model_validate({"global": 3})
    assert record.global_ == 3
    assert record.model_dump() == {"global": 3, "plain": 1}
    assert Aliased.model_validate(record.model_dump()) == record
    assert list(Aliased.model_json_schema()["properties"]) == ["global", "plain"]
    assert list(Aliased.model_keys) == ["global", "plain"] and list(Aliased.model_fields) == ["global_", "plain"]


def test_an_aliased_field_is_located_by_its_key_and_its_name_is_unknown() -> None:
    with pytest.raises(ValidationError) as info:
        Aliased.model_validate({"global": -1, "global_": 2})
    assert [(issue["loc"], issue["type"]) for issue in info.value.errors()] == [
        (("global",), "greater_than_equal"),
        (("global_",), "extra_forbidden"),
    ]
