"""Render N variants of a spec in one process through tfgen's library API; print the timings as JSON.

Usage: python batch_worker.py SPEC COUNT OUT_DIR [--shared-env] [--profile FILE]

Per spec: ``tfgen.spec.parse_spec`` (YAML + validation), ``tfgen.render.render_module``
and ``tfgen.render.write_files`` into ``OUT_DIR/<name>``. Without ``--shared-env``
``render_module`` is called as ``tfgen.api.render`` calls it (no environment: it makes
its own); with it, one ``make_environment()`` serves the whole batch. The variants
(names, capacities, CIDRs, instance counts, tags) are made before the clock starts.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import yaml

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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--shared-env", action="store_true")
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args(argv)

    from tfgen.render import make_environment, render_module, write_files
    from tfgen.spec import parse_spec

    texts = variants(args.spec.read_text(encoding="utf-8"), args.count)
    paths = [Path(f"variant-{i:04d}.yaml") for i in range(args.count)]
    phases = {"parse": 0.0, "render": 0.0, "write": 0.0}
    profiler = cProfile.Profile() if args.profile else None
    clock = time.perf_counter
    if profiler is not None:
        profiler.enable()
    start, start_cpu = clock(), time.process_time()
    env = make_environment() if args.shared_env else None
    for text, path in zip(texts, paths, strict=True):
        t0 = clock()
        loaded = parse_spec(text, path)
        t1 = clock()
        files = render_module(loaded.spec, env)
        t2 = clock()
        write_files(files, args.out / loaded.spec.name)
        t3 = clock()
        phases["parse"] += t1 - t0
        phases["render"] += t2 - t1
        phases["write"] += t3 - t2
    seconds, cpu = clock() - start, time.process_time() - start_cpu
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    written = sum(1 for _ in args.out.iterdir())
    if written != args.count:
        raise SystemExit(f"expected {args.count} module directories in {args.out}, found {written}")
    result = {
        "count": args.count,
        "seconds": seconds,
        "cpu": cpu,
        "phases": phases,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
