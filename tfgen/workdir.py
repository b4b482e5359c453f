"""The working directory of a deployment: rendered module, root configuration, state.

``.tfgen/<name>/`` holds ``module/`` (the spec's module, rendered as ``tfgen
render`` does), ``main.tf`` (the root configuration: backend, provider, module call,
outputs), the state (unless a remote backend holds it), and ``.tfgen-target.json``,
which records whether the state belongs to real AWS or to the local emulator, so
that one is never planned against the other by accident, and where the state lived
when ``terraform init`` last succeeded, so that a backend change is seen as a
migration. Each environment of a spec is its own cluster (``<name>-<env>``), so it
gets its own working directory.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tfgen import backend, emulator, module, render
from tfgen.errors import UsageError
from tfgen.spec import Spec

TARGET_FILE = ".tfgen-target.json"
PLAN_FILE = "tfgen.tfplan"
BACKUP_DIR = ".tfgen-state-backups"
"""Copies of the state taken before each backend migration (mode 0600: a state holds secrets)."""
ROOT_FILES = ("main.tf", "local_network.tf", emulator.OVERRIDE_FILENAME)

TargetKind = Literal["aws", "local"]


def default_workdir(base_dir: Path, spec: Spec) -> Path:
    """``<base_dir>/.tfgen/<cluster name>``."""
    return base_dir / ".tfgen" / spec.name


@dataclass(frozen=True)
class Prepared:
    """A working directory ready for terraform."""

    directory: Path
    target: TargetKind
    needs_init: bool
    """True when providers or modules changed since the last ``terraform init``."""
    fingerprint: str
    """Of what ``terraform init`` depends on, recorded after it succeeds."""
    backend: str = "local"
    """Where the state lives with this configuration (:func:`tfgen.backend.identity`)."""


def _write(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def recorded_backend(directory: Path) -> str | None:
    """Where the state lived when ``terraform init`` last succeeded here; None if it never did.

    Working directories initialised before tfgen knew backends used the local one.
    """
    record = _read_record(directory)
    if not record.get("init"):
        return None
    return record.get("backend") or "local"


def save_backup(directory: Path, state: str, source: str) -> Path:
    """Keep a copy of a state (``terraform state pull``) before it is migrated.

    Returns:
        The file written, under :data:`BACKUP_DIR`, readable by the owner only.
    """
    folder = directory / BACKUP_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    where = "".join(c if c.isalnum() or c in "-." else "_" for c in source)[:80]
    path = folder / f"{stamp}-{where}.tfstate"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(state)
    return path


def _read_record(directory: Path) -> dict[str, str]:
    try:
        data = json.loads((directory / TARGET_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_target(directory: Path, target: TargetKind) -> None:
    """Refuse to use a working directory with state for the other target.

    Raises:
        UsageError: If ``directory`` was used against the other target.
    """
    recorded = _read_record(directory).get("target")
    if recorded is None or recorded == target:
        return
    if recorded == "local":
        raise UsageError(
            f"{directory} holds state of the local emulator; refusing to use it against real AWS",
            hint="add --local, or pick another --workdir for AWS",
        )
    raise UsageError(
        f"{directory} holds state of real AWS; refusing to use it with the local emulator",
        hint="drop --local, or pick another --workdir for the emulator",
    )


def prepare(spec: Spec, directory: Path, *, local_endpoint: str | None, data_dir: Path | None = None) -> Prepared:
    """Render the module and the root configuration into ``directory``.

    Args:
        spec: The validated spec.
        directory: The working directory (created if missing).
        local_endpoint: URL of the AWS emulator for ``--local``, else ``None`` (real AWS).
        data_dir: terraform's data directory (``TF_DATA_DIR``), relative to ``directory``
            unless absolute; default ``.terraform``.

    Raises:
        UsageError: If the directory belongs to the other target.
        RenderError: If rendering fails (the previous files stay as they were).
    """
    target: TargetKind = "local" if local_endpoint else "aws"
    check_target(directory, target)
    env = render.shared_environment()
    module_files = render.render_module(spec, env)
    values = render.context(spec)
    values["target"] = target
    values["backend_block"] = backend.block(spec, endpoint=local_endpoint)
    identity = backend.identity(spec, local=local_endpoint is not None)
    values["state_location"] = identity
    values["outputs"] = [
        module.Output(o.name, o.description, f"module.cluster.{o.name}", o.sensitive) for o in module.outputs(spec)
    ]
    root = {"main.tf": env.get_template("root/main.tf.j2").render(values)}
    if local_endpoint:
        root["local_network.tf"] = env.get_template("root/local_network.tf.j2").render(values)
        root[emulator.OVERRIDE_FILENAME] = emulator.provider_override(local_endpoint, spec.region)
    directory.mkdir(parents=True, exist_ok=True)
    render.write_files(module_files, directory / "module")
    for name in ROOT_FILES:
        path = directory / name
        if name in root:
            _write(path, root[name])
        elif path.exists():
            path.unlink()
    data = directory / (data_dir or Path(".terraform"))
    fingerprint = _fingerprint(module_files["versions.tf"], root["main.tf"], data)
    record = _read_record(directory)
    needs_init = record.get("init") != fingerprint or not (data / "modules").is_dir()
    kept = {"target": target, "init": record.get("init", "")}
    if record.get("backend"):
        kept["backend"] = record["backend"]
    _write(directory / TARGET_FILE, json.dumps(kept, indent=2) + "\n")
    return Prepared(directory, target, needs_init, fingerprint, identity)


def _fingerprint(versions_tf: str, root_main_tf: str, data_dir: Path) -> str:
    # what `terraform init` depends on: provider requirements, the module call, where it installs
    return hashlib.sha256(f"{versions_tf}\0{root_main_tf}\0{data_dir.resolve()}".encode()).hexdigest()


def mark_initialised(prepared: Prepared) -> None:
    """Remember that ``terraform init`` succeeded for the current configuration."""
    record = {"target": prepared.target, "init": prepared.fingerprint, "backend": prepared.backend}
    _write(prepared.directory / TARGET_FILE, json.dumps(record, indent=2) + "\n")
