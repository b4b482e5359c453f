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
import resource
import sys
import time
from pathlib import Path
from typing import Any

import jinja2
import yaml
from batch_worker import create_cost
from plain_filters import hcl
from plain_render import decode

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def main(argv: list[str]) -> int:
    contexts_file, templates, out = (Path(arg) for arg in argv)
    document = json.loads(contexts_file.read_text(encoding="utf-8"))
    files: list[str] = document["files"]
    specs: list[dict[str, str]] = document["specs"]
    create_us = create_cost(out.parent, f".probe-{out.name}")
    phases = {"parse": 0.0, "render": 0.0, "write": 0.0}
    phases_cpu = dict.fromkeys(phases, 0.0)
    clock, cpu_clock = time.perf_counter, time.process_time
    start, start_cpu, start_system = clock(), cpu_clock(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 -- HCL and Markdown
        auto_reload=False,  # as tfgen's: templates do not change during the batch
    )
    env.filters["hcl"] = hcl
    for item in specs:
        t0, c0 = clock(), cpu_clock()
        yaml.load(item["text"], Loader=_LOADER)  # noqa: S506 -- a safe loader (libyaml's when present)
        context: dict[str, Any] = json.loads(item["context"], object_hook=decode)
        t1, c1 = clock(), cpu_clock()
        rendered = {name: env.get_template(f"module/{name}.j2").render(context) for name in files}
        t2, c2 = clock(), cpu_clock()
        module = out / item["name"]
        for name, text in rendered.items():
            target = module / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        t3, c3 = clock(), cpu_clock()
        for phase, (wall, cpu) in zip(
            phases, ((t1 - t0, c1 - c0), (t2 - t1, c2 - c1), (t3 - t2, c3 - c2)), strict=True
        ):
            phases[phase] += wall
            phases_cpu[phase] += cpu
    seconds, cpu = clock() - start, cpu_clock() - start_cpu
    system = resource.getrusage(resource.RUSAGE_SELF).ru_stime - start_system
    result = {
        "count": len(specs),
        "seconds": seconds,
        "cpu": cpu,
        "system": system,
        "create_us": create_us,
        "phases": phases,
        "phases_cpu": phases_cpu,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
