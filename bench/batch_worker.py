"""Render N variants of a spec in one process through tfgen's library API; print the timings as JSON.

Usage: python batch_worker.py SPEC COUNT OUT_DIR [--shared-env] [--profile FILE]

Per spec: ``tfgen.spec.loading.parse_spec`` (YAML + validation), ``tfgen.render.templates.render_module``
and ``tfgen.render.templates.write_files`` into ``OUT_DIR/<name>``. Without ``--shared-env``
``render_module`` is called as ``tfgen.api.render`` calls it (no environment: it makes
its own); with it, one ``make_environment()`` serves the whole batch. The variants
(names, capacities, CIDRs, instance counts, tags) are made before the clock starts.

Before the clock starts, the worker also measures what a new file costs at the output
location (``create_us``: empty files made in a fresh folder next to ``OUT_DIR``, kept):
a new module is :data:`MODULE_INODES` new inodes, and their allocation is the part of
the write phase that depends on the filesystem's state rather than on tfgen (see
``bench_batch.py``). ``system`` is the kernel CPU time of the batch (parse and render
make no system calls, so it is the write phase's). ``phases`` are wall-clock seconds per phase,
``phases_cpu`` the process's CPU seconds per phase (what other work on the machine changes least).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import yaml

PROBE_FILES = 160
MODULE_INODES = 19
"""New inodes per module written into a new directory: 15 files, ``tests/``, ``examples/``,
``examples/complete/`` and the module directory itself."""

MAX_CAPACITIES = (2, 4, 8, 16, 32, 64, 128, 256)
MIN_CAPACITIES = (0, 0.5, 1, 2)


def variants(base_text: str, count: int) -> list[str]:
    """``count`` valid specs derived from ``base_text``, all different."""
    base: dict[str, Any] = yaml.safe_load(base_text)
    texts = []
    for i in range(count):
        spec = copy.deepcopy(base)
        name = f"{base['name']}-{i:04d}"
        spec["name"] = name
        serverless = spec.setdefault("serverless", {})
        maximum = MAX_CAPACITIES[i % len(MAX_CAPACITIES)]
        minimum = min(MIN_CAPACITIES[i % len(MIN_CAPACITIES)], maximum)
        serverless.update(max_capacity=maximum, min_capacity=minimum, instances=1 + i % 3)
        if minimum == 0:
            serverless["seconds_until_auto_pause"] = 300 + 60 * (i % 10)
        else:
            serverless.pop("seconds_until_auto_pause", None)
        network = spec.setdefault("network", {})
        network["allowed_cidr_blocks"] = [f"10.{(i // 256) % 256}.{i % 256}.0/24", f"172.{16 + i % 16}.0.0/16"]
        spec.setdefault("tags", {})["variant"] = str(i)
        for alarm in spec.get("alarms", {}).get("custom", []):
            if "DBClusterIdentifier" in (alarm.get("dimensions") or {}):
                alarm["dimensions"]["DBClusterIdentifier"] = name
        texts.append(yaml.safe_dump(spec, sort_keys=False))
    return texts


def create_cost(parent: Path, name: str, count: int = PROBE_FILES) -> float:
    """Microseconds per new empty file in a new folder ``parent/name`` (left in place: see ``bench_batch.py``)."""
    folder = parent / name
    folder.mkdir(parents=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    start = time.perf_counter()
    for i in range(count):
        os.close(os.open(folder / f"f{i}", flags, 0o666))
    return (time.perf_counter() - start) / count * 1e6


class Phases:
    """The batch's clocks: wall and CPU seconds of each phase, and the whole batch's wall, CPU and kernel time."""

    def __init__(self) -> None:
        self.wall = {"parse": 0.0, "render": 0.0, "write": 0.0}
        self.cpu = dict.fromkeys(self.wall, 0.0)
        self.start = self.end = self._totals()

    @staticmethod
    def now() -> tuple[float, float]:
        """Wall and CPU clocks now."""
        return time.perf_counter(), time.process_time()

    @staticmethod
    def _totals() -> tuple[float, float, float]:
        """Wall, CPU and kernel clocks now."""
        return time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_stime

    def add(self, phase: str, since: tuple[float, float]) -> tuple[float, float]:
        """Charge ``phase`` the time from ``since`` to now; return now (where the next phase starts)."""
        now = self.now()
        self.wall[phase] += now[0] - since[0]
        self.cpu[phase] += now[1] - since[1]
        return now

    def stop(self) -> None:
        """The batch's end."""
        self.end = self._totals()

    def result(self, count: int, create_us: float) -> dict[str, Any]:
        """What a worker prints (JSON): see the module's docstring."""
        seconds, cpu, system = (end - start for end, start in zip(self.end, self.start, strict=True))
        return {
            "count": count,
            "seconds": seconds,
            "cpu": cpu,
            "system": system,
            "create_us": create_us,
            "phases": self.wall,
            "phases_cpu": self.cpu,
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--shared-env", action="store_true")
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args(argv)

    from tfgen.render.templates import make_environment, render_module, write_files
    from tfgen.spec.loading import parse_spec

    texts = variants(args.spec.read_text(encoding="utf-8"), args.count)
    paths = [Path(f"variant-{i:04d}.yaml") for i in range(args.count)]
    create_us = create_cost(args.out.parent, f".probe-{args.out.name}")
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    clock = Phases()
    env = make_environment() if args.shared_env else None
    for text, path in zip(texts, paths, strict=True):
        mark = clock.now()
        loaded = parse_spec(text, path)
        mark = clock.add("parse", mark)
        files = render_module(loaded.spec, env)
        mark = clock.add("render", mark)
        write_files(files, args.out / loaded.spec.name)
        clock.add("write", mark)
    clock.stop()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    written = sum(1 for _ in args.out.iterdir())
    if written != args.count:
        raise SystemExit(f"expected {args.count} module directories in {args.out}, found {written}")
    result = clock.result(args.count, create_us)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
