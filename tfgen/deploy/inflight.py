"""What an apply leaves in its working directory while it runs: the mark that it began; the password's version.

Every apply marks its working directory (:data:`MARKER`, the time it began) before terraform
starts and removes the mark when it succeeds: a mark found by a later command means an apply was
interrupted, and :mod:`tfgen.deploy.recovery` adopts what it created. The write-only master
password's version lives here too (:data:`VERSION_FILE`, a ``*.auto.tfvars.json`` terraform
reads by itself): ``tfgen rotate`` increases it, and so does the adoption of a cluster.

Kept apart from the adoption (its AWS lookups and records): applying a reviewed plan marks and
clears the directory and imports nothing else of recovery's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfgen.deploy import imports

if TYPE_CHECKING:
    import datetime

MARKER = ".tfgen-apply.json"
"""Written before terraform applies, removed when the apply succeeds: found later, an apply was interrupted."""
VERSION_FILE = "tfgen_password.auto.tfvars.json"
"""``{"master_password_version": N}``: the write-only password's version (absent: 1)."""
VERSION_VARIABLE = "master_password_version"

CLUSTER_ADDRESS = "module.cluster.aws_rds_cluster.this"


# ----------------------------------------------------------------------------- the mark of an apply


def _now() -> str:
    """The time now, as ``datetime.now(UTC).isoformat()`` writes it (:mod:`datetime` is imported to read it back)."""
    now = time.time_ns()
    seconds, nanoseconds = divmod(now, 1_000_000_000)
    fraction = f".{nanoseconds // 1000:06d}" if nanoseconds >= 1000 else ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + fraction + "+00:00"


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def interrupted_since(directory: Path) -> datetime.datetime | None:
    """When the interrupted apply (the earliest of several) began; None if no apply was interrupted here."""
    started = _read_json(directory / MARKER).get("started")
    if not isinstance(started, str):
        return None
    import datetime  # here: an apply that finds no mark (the usual one) needs none

    try:
        return datetime.datetime.fromisoformat(started)
    except ValueError:
        return None


def begin(directory: Path) -> None:
    """Mark the working directory before terraform applies (an earlier interrupted apply's mark is kept)."""
    if interrupted_since(directory) is None:
        _write_json(directory / MARKER, {"started": _now()})


def finish(directory: Path) -> None:
    """The apply succeeded: remove the mark and the import blocks it needed (they are in the state now)."""
    clear_mark(directory)
    imports.clear(directory)


def clear_mark(directory: Path) -> None:
    """A destroy succeeded: what the interrupted apply left was imported and destroyed with the rest."""
    (directory / MARKER).unlink(missing_ok=True)


# ----------------------------------------------------------------------------- the password's version


def password_version(directory: Path) -> int:
    """The write-only password's current version in this working directory (1 before any rotation)."""
    value = _read_json(directory / VERSION_FILE).get(VERSION_VARIABLE)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def set_password_version(directory: Path, version: int) -> None:
    """Record the version the next plan passes to the module (mode 0600)."""
    _write_json(directory / VERSION_FILE, {VERSION_VARIABLE: version})


def read_local_state(directory: Path) -> str:
    """The state of the local backend in ``directory`` (what ``terraform state pull`` prints, without terraform)."""
    try:
        return (directory / "terraform.tfstate").read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def version_in_state(state: str) -> int | None:
    """The cluster's ``master_password_wo_version`` as the state (``terraform state pull``) records it."""
    try:
        data = json.loads(state) if state.strip() else {}
    except ValueError:
        return None
    for resource in data.get("resources") or []:
        address = ".".join(p for p in (resource.get("module"), resource.get("type"), resource.get("name")) if p)
        if address == CLUSTER_ADDRESS and resource.get("mode") == "managed":
            for instance in resource.get("instances") or []:
                value = (instance.get("attributes") or {}).get("master_password_wo_version")
                if isinstance(value, int) and value > 0:
                    return value
    return None


def bump_password_version(directory: Path) -> int:
    """Increase the version (a new password at the next apply) and return it."""
    version = password_version(directory) + 1
    set_password_version(directory, version)
    return version
