"""The plain-Jinja2 baseline: render tfgen's module templates without tfgen.

Usage: python plain_render.py SPEC.yaml CONTEXT.json TEMPLATES_DIR OUT_DIR

It does what any Jinja2 generator must do and nothing more: load the YAML spec,
load the render context (precomputed once by the bench from tfgen's API, see
``contexts.py``), render the same template files with the same Jinja settings, and
write the files. It imports neither tfgen nor pydantic nor typer.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import jinja2
import yaml
from plain_filters import Replay, hcl


def decode(item: dict[str, Any]) -> Any:
    """`json.loads` object hook: an encoded object or recorded callable of `contexts.py`, else the mapping."""
    if len(item) == 1:
        if "__obj__" in item:
            return types.SimpleNamespace(**item["__obj__"])
        if "__calls__" in item:
            return Replay(item["__calls__"])
    return item


def environment(templates: Path) -> jinja2.Environment:
    """tfgen's Jinja settings (``tfgen.render.templates.make_environment``) on a plain ``FileSystemLoader``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 -- HCL and Markdown
        auto_reload=False,  # as tfgen's: templates do not change while it runs
    )
    env.filters["hcl"] = hcl
    return env


def main(argv: list[str]) -> int:
    spec_file, context_file, templates, out = (Path(arg) for arg in argv)
    yaml.safe_load(spec_file.read_text(encoding="utf-8"))  # the spec is read as tfgen reads it
    document = json.loads(context_file.read_text(encoding="utf-8"), object_hook=decode)
    env = environment(templates)
    for name in document["files"]:
        text = env.get_template(f"module/{name}.j2").render(document["context"])
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
