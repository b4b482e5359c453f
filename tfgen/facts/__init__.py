"""The AWS rules tfgen relies on, read from ``aws.toml`` (one place, each rule with its source).

Validation (:mod:`tfgen.spec.rules`), the rendered module, doctor and the emulator's strict
mode all read these values; none of them hard-codes an AWS limit. Like :mod:`tfgen.errors`,
this package imports nothing of tfgen and every layer may use it.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import marshal
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "AwsRefusal",
    "Major",
    "aws_refusal",
    "default_engine_version",
    "engine_major",
    "engine_majors",
    "force_new",
    "major_upgrade_downtime",
    "max_connections",
    "max_connections_rows",
    "minor_of",
    "paused_zero_metrics",
    "raw",
    "resolve_engine_version",
    "upgrade_targets",
    "v1_max_connections",
]


@dataclass(frozen=True)
class Major:
    """What AWS offers for one Aurora PostgreSQL major version."""

    major: int
    serverless_v2_minimum: tuple[int, int]
    """Lowest (major, minor) with Serverless v2 (db.serverless) instances."""
    pause_minimum: tuple[int, int]
    """Lowest (major, minor) whose Serverless v2 minimum capacity may be 0 (auto-pause)."""
    io_optimized_minimum: tuple[int, int]
    """Lowest (major, minor) with Aurora I/O-Optimized storage (``aurora-iopt1``)."""
    lts: str
    """The long-term-support minor, e.g. ``16.8``."""
    retired: frozenset[str]
    """Minors AWS no longer creates clusters with."""
    end_of_standard_support: datetime.date


_SOURCE = Path(__file__).with_name("aws.toml")
_CACHE_FORMAT = 1


@functools.cache
def raw() -> dict[str, Any]:
    """The parsed data file.

    Parsing its TOML costs more than the rest of loading a spec (10–40 ms), so the parsed form is
    kept beside the package's bytecode, as Python keeps a module's (``__pycache__``, unless
    bytecode is not written), and used while the file's modification time and size are those it
    was parsed from.
    """
    stat = _SOURCE.stat()
    key = (_CACHE_FORMAT, stat.st_mtime_ns, stat.st_size)
    cache = _cache_path()
    try:
        cached_key, data = marshal.loads(cache.read_bytes())  # noqa: S302 (trusted as the .pyc files beside it are)
        if cached_key == key and isinstance(data, dict):
            return data
    except (OSError, ValueError, EOFError, TypeError):
        pass  # no cache yet, or an unreadable one: parse
    import tomllib

    data = tomllib.loads(_SOURCE.read_text(encoding="utf-8"))
    if not sys.dont_write_bytecode:
        try:
            content = marshal.dumps((key, data))
        except ValueError:  # a value marshal cannot keep (a TOML date): parse each time instead
            return data
        _write_cache(cache, content, stat.st_mode & 0o666)
    return data


def _cache_path() -> Path:
    """Where Python would keep the bytecode of a module beside the data file (``sys.pycache_prefix`` honoured)."""
    name = f"{_SOURCE.name}.{sys.implementation.cache_tag}.marshal"
    if sys.pycache_prefix:
        return Path(sys.pycache_prefix, *_SOURCE.parent.absolute().parts[1:], name)
    return _SOURCE.parent / "__pycache__" / name


def _write_cache(path: Path, content: bytes, mode: int) -> None:
    """Write ``content`` to ``path`` atomically (readable as the data file is); a folder that cannot be written is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            os.fchmod(handle, mode)  # as Python gives a .pyc its source's mode: every user may read it
            with os.fdopen(handle, "wb") as file:
                file.write(content)
            os.replace(name, path)
        except BaseException:
            os.unlink(name)
            raise
    except OSError:
        pass


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


@functools.cache
def engine_majors() -> dict[int, Major]:
    """The Aurora PostgreSQL majors tfgen knows, by number."""
    return {
        row["major"]: Major(
            major=row["major"],
            serverless_v2_minimum=_version(row["serverless_v2_minimum"]),
            pause_minimum=_version(row["pause_minimum"]),
            io_optimized_minimum=_version(row["io_optimized_minimum"]),
            lts=row["lts"],
            retired=frozenset(row["retired"]),
            end_of_standard_support=datetime.date.fromisoformat(row["end_of_standard_support"]),
        )
        for row in raw()["engine"]
    }


def engine_major(version: str) -> Major | None:
    """The row of ``version``'s major (``"16"`` or ``"16.8"``), or None for a major tfgen does not know."""
    return engine_majors().get(int(version.split(".", 1)[0]))


def default_engine_version(serverless_version: str) -> str:
    """The engine version of a spec that names none: a major for v2, a pinned minor for v1."""
    return str(raw()["engine_default"][serverless_version])


@functools.cache
def force_new(resource: str) -> frozenset[str]:
    """Arguments of ``resource`` (e.g. ``aws_rds_cluster``) whose change makes the provider replace it."""
    return frozenset(raw()["provider"]["force_new"][resource])


@functools.cache
def max_connections_rows() -> tuple[tuple[float, int], ...]:
    """AWS's table of Serverless v2 ``max_connections`` by maximum ACU (Aurora PostgreSQL)."""
    return tuple((float(acu), int(value)) for acu, value in raw()["max_connections"]["rows"])


@functools.cache  # a pure function of the data file, asked several times per spec (alarms, view, README)
def max_connections(min_capacity: float, max_capacity: float) -> int:
    """``max_connections`` of a Serverless v2 instance with this capacity range.

    AWS's table interpolated linearly between rows (its formula is linear in memory), 5,000 from
    the last row up, and at most 2,000 when the minimum capacity is 0 or 0.5 ACU. The rendered
    module computes the same in HCL from its variables (``local.max_connections``).
    """
    facts = raw()["max_connections"]
    rows = max_connections_rows()
    value: float = facts["ceiling"]
    if max_capacity <= rows[0][0]:
        value = rows[0][1] * max_capacity / rows[0][0]
    else:
        for (low_acu, low), (high_acu, high) in itertools.pairwise(rows):
            if low_acu <= max_capacity <= high_acu:
                value = low + (high - low) * (max_capacity - low_acu) / (high_acu - low_acu)
                break
    result = int(value)
    if min_capacity <= facts["low_minimum_at_most"]:
        result = min(result, int(facts["low_minimum_cap"]))
    return result


def v1_max_connections(capacity: int) -> int:
    """``max_connections`` of a Serverless v1 cluster at ``capacity`` ACU."""
    return int(dict(raw()["max_connections_v1"]["rows"])[capacity])


def minor_of(version: str) -> tuple[int, int] | None:
    """``"16.8"`` → ``(16, 8)``; None for a major alone (``"16"``) or anything else."""
    try:
        return _version(version)
    except ValueError:
        return None


def resolve_engine_version(version: str) -> str:
    """The minor a major alone stands for (the major's LTS minor, ``[minor_upgrade]``); a minor as is.

    A major tfgen does not know is returned as is.
    """
    row = engine_major(version) if version.isdigit() else None
    return row.lts if row is not None else version


def upgrade_targets(major: int) -> tuple[int, ...]:
    """The majors a cluster of ``major`` may be upgraded to in place (``[major_upgrade]``); () if none or unknown."""
    return tuple(int(target) for target in raw()["major_upgrade"]["targets"].get(str(major), ()))


def major_upgrade_downtime() -> str:
    """What a major version upgrade costs the cluster's clients, in a sentence (``[major_upgrade]``)."""
    return str(raw()["major_upgrade"]["downtime"])


@dataclass(frozen=True)
class AwsRefusal:
    """An error AWS answers with (``[errors.*]`` of ``aws.toml``)."""

    code: str
    message: str


def aws_refusal(name: str, **fields: str) -> AwsRefusal:
    """The error ``[errors.<name>]``, its message filled in with ``fields``."""
    row = raw()["errors"][name]
    return AwsRefusal(code=str(row["code"]), message=str(row["message"]).format(**fields))


def paused_zero_metrics() -> tuple[str, ...]:
    """The metrics a paused Serverless v2 instance still emits, as 0 (the others it does not emit)."""
    return tuple(raw()["paused"]["zero_metrics"])
