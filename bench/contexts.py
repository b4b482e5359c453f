"""tfgen's render context as plain data, for the plain-Jinja2 script (``plain_render.py``).

:func:`export` turns ``tfgen.render.templates.context(spec)`` into JSON-able data once:
spec records (tfgen.spec.record) and dataclasses become objects of their fields and properties, and
every callable the templates use (``variable.attribute_lines()``,
``checkov_skips("aws_rds_cluster.this")``) becomes the table of the calls made
while rendering the spec with tfgen's own Jinja environment. That render must give
exactly what ``tfgen.render.templates.render_module`` gives, so the data is known to be
complete, whatever the templates look like today.

Encodings: ``{"__obj__": {...}}`` is an object (attribute access), ``{"__calls__":
[[args, result], ...]}`` a recorded callable.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from plain_filters import call_key

OBJ = "__obj__"
CALLS = "__calls__"


class Obj:
    """A model or dataclass instance reduced to its public attributes."""

    def __init__(self, attributes: dict[str, Any]) -> None:
        self.__dict__.update(attributes)


class Recorder:
    """Wraps a callable of the context and remembers each call's arguments and result."""

    def __init__(self, name: str, function: Callable[..., Any], convert: Callable[[Any], Any]) -> None:
        self.name = name
        self.function = function
        self.convert = convert
        self.calls: dict[str, tuple[list[Any], Any]] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"{self.name}: keyword arguments are not recorded")
        key = call_key(args)
        if key not in self.calls:
            self.calls[key] = (list(args), self.convert(self.function(*args)))
        return self.calls[key][1]


@dataclass
class Exported:
    """The context as plain Python objects (with recorders), ready to render and to serialise."""

    values: dict[str, Any]
    recorders: list[Recorder] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The context encoded for ``plain_render.py``."""
        return {key: _encode(value) for key, value in self.values.items()}


def export(values: Mapping[str, Any]) -> Exported:
    """Convert a tfgen render context; call :meth:`Exported.to_json` after rendering with it."""
    exported = Exported(values={})

    def convert(value: Any, name: str = "") -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, enum.Enum):
            return convert(value.value)
        if isinstance(value, PurePath):
            return str(value)
        if isinstance(value, Mapping):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(item) for item in value]
        if isinstance(value, set | frozenset):
            return sorted(convert(item) for item in value)
        if callable(value) and not isinstance(value, type):
            recorder = Recorder(name, value, convert)
            exported.recorders.append(recorder)
            return recorder
        if dataclasses.is_dataclass(value) or hasattr(type(value), "model_fields"):
            return Obj(_attributes(value, convert))
        raise TypeError(f"cannot export {type(value).__name__} ({name or 'a value'}) from the render context")

    exported.values = {key: convert(value, key) for key, value in values.items()}
    return exported


def _attributes(value: Any, convert: Callable[..., Any]) -> dict[str, Any]:
    cls = type(value)
    names: list[str] = []
    if dataclasses.is_dataclass(value):
        names += [f.name for f in dataclasses.fields(value)]
    else:
        names += list(cls.model_fields)
    own = [c for c in cls.__mro__ if c.__module__.split(".")[0] == "tfgen"]
    for klass in own:
        for attr, member in vars(klass).items():
            if attr.startswith("_") or attr in names:
                continue
            if isinstance(member, property) or inspect.isfunction(member):
                names.append(attr)
    attributes: dict[str, Any] = {}
    for attr in names:
        try:
            member = getattr(value, attr)
        except Exception:  # noqa: S112 -- a property that does not apply to this spec; templates will not read it
            continue
        attributes[attr] = convert(member, attr)
    return attributes


def _encode(value: Any) -> Any:
    if isinstance(value, Obj):
        return {OBJ: {k: _encode(v) for k, v in vars(value).items()}}
    if isinstance(value, Recorder):
        return {CALLS: [[args, _encode(result)] for args, result in value.calls.values()]}
    if isinstance(value, dict):
        if OBJ in value or CALLS in value:
            raise ValueError(f"the context holds a mapping with a key {OBJ} or {CALLS}")
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    return value


def checked(spec: Any, env: Any) -> tuple[Exported, dict[str, str]]:
    """A spec's context (:func:`export`) and tfgen's files for it, the context checked to render exactly those.

    ``spec`` is a ``tfgen.spec.model.Spec``, ``env`` tfgen's ``make_environment()``.

    Raises:
        ValueError: Naming the files the exported context does not reproduce.
    """
    from tfgen.render import templates as render

    expected = render.render_module(spec, env)
    exported = export(render.context(spec))
    differing = [
        name for name, text in expected.items() if env.get_template(f"module/{name}.j2").render(exported.values) != text
    ]
    if differing:
        raise ValueError(f"the exported context does not reproduce tfgen's render of {differing}")
    return exported, expected


def export_batch(example: Path, count: int, path: Path) -> None:
    """Write ``count`` variants (``batch_worker.variants``) with their checked contexts, for ``plain_batch.py``."""
    import batch_worker

    from tfgen.render import templates as render
    from tfgen.spec.loading import parse_spec

    env = render.make_environment()
    specs = []
    for index, text in enumerate(batch_worker.variants(example.read_text(encoding="utf-8"), count)):
        spec = parse_spec(text, Path(f"variant-{index:04d}.yaml")).spec
        exported, _ = checked(spec, env)
        specs.append({"name": spec.name, "text": text, "context": json.dumps(exported.to_json())})
    path.write_text(json.dumps({"files": list(render.MODULE_FILES), "specs": specs}), encoding="utf-8")


if __name__ == "__main__":
    # python contexts.py EXAMPLE COUNT OUT: the batch's variants and contexts, for plain_batch.py (bench_batch.py runs it)
    export_batch(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
