"""The plain-Jinja2 batch: the reference for the batch target, on the same machine and filesystem.

Usage: python plain_batch.py CONTEXTS.json TEMPLATES_DIR OUT_DIR

``CONTEXTS.json`` (written by ``bench_batch.py`` from tfgen's API, before this process starts)
holds the same variants ``batch_worker.py`` renders: each spec's YAML text and its render context
as ``plain_render.py`` reads one (``contexts.py``). Per spec, as in ``batch_worker.py``'s phases:

- parse: ``yaml.safe_load`` of the text (libyaml's loader when PyYAML has it) and ``json.loads`` of
  the context, the cheapest stand-in for a generator's own context building;
- render: the same template files with the same Jinja settings, one environment for the batch;
- write: ``mkdir`` and ``write_text`` of each file into ``OUT_DIR/<name>`` (no lock, no flush).

It does less than tfgen on purpose (no line tracking, no validation, no cross-field rules, no
context building, no lock): its time is what Jinja2 and the filesystem cost on this machine, the
floor under any generator of these files. It imports neither tfgen nor pydantic nor typer, and
prints the timings as ``batch_worker.py`` does (JSON).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from batch_worker import Phases, create_cost
from plain_render import decode, environment

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def main(argv: list[str]) -> int:
    contexts_file, templates, out = (Path(arg) for arg in argv)
    document = json.loads(contexts_file.read_text(encoding="utf-8"))
    files: list[str] = document["files"]
    specs: list[dict[str, str]] = document["specs"]
    create_us = create_cost(out.parent, f".probe-{out.name}")
    clock = Phases()
    env = environment(templates)
    for item in specs:
        mark = clock.now()
        yaml.load(item["text"], Loader=_LOADER)  # noqa: S506 -- a safe loader (libyaml's when present)
        context: dict[str, Any] = json.loads(item["context"], object_hook=decode)
        mark = clock.add("parse", mark)
        rendered = {name: env.get_template(f"module/{name}.j2").render(context) for name in files}
        mark = clock.add("render", mark)
        module = out / item["name"]
        for name, text in rendered.items():
            target = module / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        clock.add("write", mark)
    clock.stop()
    result = clock.result(len(specs), create_us)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
