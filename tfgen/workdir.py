"""The working directory of a deployment: rendered module, root configuration, state.

``.tfgen/<name>/`` holds ``module/`` (the spec's module, rendered as ``tfgen
render`` does), ``main.tf`` (the root configuration: provider, module call,
outputs), the state, and ``.tfgen-target.json``, which records whether the state
belongs to real AWS or to the local emulator, so that one is never planned against
the other by accident.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tfgen import emulator, module, render
from tfgen.errors import UsageError
from tfgen.spec import Spec

TARGET_FILE = ".tfgen-target.json"
PLAN_FILE = "tfgen.tfplan"
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


def _write(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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
    env = render.make_environment()
    module_files = render.render_module(spec, env)
    values = render.context(spec)
    values["target"] = target
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
    _write(directory / TARGET_FILE, json.dumps({"target": target, "init": record.get("init", "")}, indent=2) + "\n")
    return Prepared(directory, target, needs_init, fingerprint)


def _fingerprint(versions_tf: str, root_main_tf: str, data_dir: Path) -> str:
    # what `terraform init` depends on: provider requirements, the module call, where it installs
    return hashlib.sha256(f"{versions_tf}\0{root_main_tf}\0{data_dir.resolve()}".encode()).hexdigest()


def mark_initialised(prepared: Prepared) -> None:
    """Remember that ``terraform init`` succeeded for the current configuration."""
    _write(
        prepared.directory / TARGET_FILE,
        json.dumps({"target": prepared.target, "init": prepared.fingerprint}, indent=2) + "\n",
    )
