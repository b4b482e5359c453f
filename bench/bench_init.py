"""5. Provider install: `terraform init` of 5 working directories, with and without a shared plugin cache."""

from __future__ import annotations

import shutil
import statistics
import zipfile
from dataclasses import dataclass
from pathlib import Path

from common import LOCAL_EXAMPLE, ROOT, Bench, cli_config, terraform_env
from measure import Command, disk_usage, run
from report import Section, mib, seconds, size, table

DIRECTORIES = 5


@dataclass(frozen=True)
class Setup:
    """One way of installing the provider."""

    label: str
    mirror: str
    """``unpacked`` or ``packed``."""
    cache: bool
    break_lock: bool = False


@dataclass
class Outcome:
    """Medians over the repetitions."""

    first: float
    later: float
    total: float
    per_dir: float
    cache: float
    rss_kb: float


def run_benchmark(bench: Bench) -> Section:
    """Init fresh directories one after the other; time each, then `du` their `.terraform` and the cache."""
    section = Section(f"5. Provider install: `terraform init` of {DIRECTORIES} working directories")
    if bench.terraform is None or bench.mirror is None:
        section.skipped = "needs terraform on PATH and a provider mirror (TFGEN_PLUGIN_MIRROR)"
        return section
    work = bench.scratch("init")
    module = work / "module"
    run(Command([str(bench.tfgen), "render", str(LOCAL_EXAMPLE), "-o", str(module)], cwd=ROOT))
    unpacked = any(path.is_dir() for path in bench.mirror.glob("*/*/*/*/*"))  # host/namespace/type/version/os_arch
    mirrors = {"unpacked" if unpacked else "packed": bench.mirror}
    setups = [
        Setup("the mirror as installed, no cache", next(iter(mirrors)), cache=False),
        Setup("the mirror as installed, shared cache", next(iter(mirrors)), cache=True),
    ]
    if unpacked:
        bench.log("provider install: making a packed (zip) copy of the mirror, as registry downloads are")
        mirrors["packed"] = _packed_copy(bench.mirror, work / "packed-mirror")
        setups += [
            Setup("packed (zip) mirror, no cache", "packed", cache=False),
            Setup("packed (zip) mirror, shared cache", "packed", cache=True),
            Setup("packed mirror, shared cache, `plugin_cache_may_break_dependency_lock_file`", "packed", True, True),
        ]
    outcomes = {setup.label: _measure(bench, setup, mirrors[setup.mirror], module) for setup in setups}
    section.body += table(
        [
            "setup",
            "1st init",
            f"2nd–{DIRECTORIES}th (median)",
            f"all {DIRECTORIES}",
            "`.terraform` per dir",
            "cache",
            f"disk for {DIRECTORIES} dirs",
            "peak RSS",
        ],
        [
            [
                label,
                seconds(o.first),
                seconds(o.later),
                seconds(o.total),
                size(o.per_dir),
                size(o.cache) if setup.cache else "–",
                size(o.per_dir * DIRECTORIES + o.cache),
                mib(o.rss_kb),
            ]
            for setup, (label, o) in zip(setups, outcomes.items(), strict=True)
        ],
    )
    section.body += [
        "",
        f"No target (informational). Each directory holds the module rendered from `examples/local.yaml` "
        f"(hashicorp/aws only) and no lock file; `terraform init -input=false`, one directory after the other, with "
        f"a fresh cache per repetition; medians of {bench.init_reps} repetitions. Disk is `du` of `.terraform` "
        f"(symlinks not followed). This machine's mirror is {'unpacked' if unpacked else 'packed'}: "
        + (
            "terraform links its provider directory instead of copying it, with or without a cache, so the packed "
            "copy (made by the bench) shows what a registry-style install costs."
            if unpacked
            else "terraform extracts the provider into each directory unless the cache holds it."
        ),
    ]
    if unpacked:
        section.findings += _findings(outcomes, setups)
    return section


def _measure(bench: Bench, setup: Setup, mirror: Path, module: Path) -> Outcome:
    firsts, laters, totals, disks, caches, rss = [], [], [], [], [], []
    for rep in range(bench.init_reps):
        base = bench.scratch(f"init-{rep}")
        cache = base / "cache" if setup.cache else None
        if cache is not None:
            cache.mkdir()
        env = terraform_env(cli_config(base, mirror, break_lock=setup.break_lock), cache)
        times = []
        for index in range(DIRECTORIES):
            directory = base / f"dir{index}"
            shutil.copytree(module, directory)
            result = run(
                Command([bench.terraform or "terraform", "init", "-input=false", "-no-color"], cwd=directory, env=env)
            )
            times.append(result.seconds)
            rss.append(result.maxrss_kb)
            disks.append(disk_usage(directory / ".terraform"))
        firsts.append(times[0])
        laters.append(statistics.median(times[1:]))
        totals.append(sum(times))
        caches.append(disk_usage(cache) if cache is not None else 0)
        shutil.rmtree(base, ignore_errors=True)
    bench.log(f"  {setup.label}: {statistics.median(totals):.1f} s for {DIRECTORIES}")
    return Outcome(
        first=statistics.median(firsts),
        later=statistics.median(laters),
        total=statistics.median(totals),
        per_dir=statistics.median(disks),
        cache=statistics.median(caches),
        rss_kb=statistics.median(rss),
    )


def _packed_copy(mirror: Path, target: Path) -> Path:
    """The packed layout: ``<host>/<namespace>/<type>/terraform-provider-<type>_<version>_<os_arch>.zip``."""
    for platform_dir in sorted(path for path in mirror.glob("*/*/*/*/*") if path.is_dir()):
        version, provider = platform_dir.parent.name, platform_dir.parent.parent
        archive_path = (
            target
            / provider.relative_to(mirror)
            / f"terraform-provider-{provider.name}_{version}_{platform_dir.name}.zip"
        )
        archive_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for file in sorted(platform_dir.iterdir()):
                archive.write(file, file.name)
    return target


def _findings(outcomes: dict[str, Outcome], setups: list[Setup]) -> list[str]:
    packed = [outcomes[s.label] for s in setups if s.mirror == "packed"]
    if len(packed) < 3:
        return []
    no_cache, cached, breaking = packed
    if breaking.later > 0.5 * cached.later:
        return []
    return [
        "**Provider install with the shared cache (informational).** From a packed mirror a plain shared cache "
        f"saves disk ({size(cached.per_dir)} per directory instead of {size(no_cache.per_dir)}) but little time "
        f"({seconds(cached.later)} per fresh directory after the first, {seconds(no_cache.later)} without a cache): "
        "terraform ≥ 1.4 does not trust a cached provider for a directory whose lock file lacks its checksum. "
        "tfgen therefore sets `TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE` whenever it uses its shared cache "
        "(`tfgen/terraform/config.py`; terraform still writes the lock file with the checksum it computes), so a new "
        f"tfgen working directory costs what the last row shows: {seconds(breaking.later)}. On this machine's "
        "unpacked mirror terraform only makes symlinks, so none of this matters here."
    ]
