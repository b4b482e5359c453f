"""The working directory of a deployment: rendered module, root configuration, state.

``.tfgen/<name>/`` holds ``module/`` (the spec's module, rendered as ``tfgen
render`` does), ``main.tf`` (the root configuration: backend, provider, module call,
outputs), the state (unless a remote backend holds it), and ``.tfgen-target.json``,
which records whether the state belongs to real AWS or to the local emulator, so
that one is never planned against the other by accident, and where the state lived
when ``terraform init`` last succeeded, so that a backend change is seen as a
migration, and what the last render was made from (so that an unchanged spec is not
rendered again). ``.tfgen-terraform.json`` remembers the version of the terraform
binaries used here (:data:`VERSION_CACHE`). Each environment of a spec is its own
cluster (``<name>-<env>``), so it gets its own working directory.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tfgen.emulator import provider
from tfgen.errors import UsageError

if TYPE_CHECKING:  # the spec model: not for apply --plan of the text planned (tfgen.deploy.saved)
    from tfgen.deploy import standin
    from tfgen.spec.model import Spec

TARGET_FILE = ".tfgen-target.json"
PLAN_FILE = "tfgen.tfplan"
VERSION_CACHE = ".tfgen-terraform.json"
"""The versions of the terraform binaries checked here (:attr:`tfgen.terraform.config.TerraformSettings.version_cache`)."""
BACKUP_DIR = ".tfgen-state-backups"
"""Copies of the state taken before each backend migration (mode 0600: a state holds secrets)."""
ROOT_FILES = ("main.tf", "local_network.tf", provider.OVERRIDE_FILENAME)

TargetKind = Literal["aws", "local"]


def default_workdir(base_dir: Path, name: str) -> Path:
    """``<base_dir>/.tfgen/<cluster name>``."""
    return base_dir / ".tfgen" / name


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
    """Where the state lives with this configuration (:func:`tfgen.deploy.backend.identity`)."""


SECRET_FILES = ("*.tfstate", "*.tfstate.backup", "*.tfplan", ".terraform/terraform.tfstate")
"""What terraform leaves in a working directory that may hold secrets: states (``errored.tfstate``
included), their backups, saved plans, the backend's settings."""


def create(directory: Path) -> None:
    """Create the working directory, or take it back: 0700, its states and plans 0600, whatever the umask.

    terraform writes new files there with umask 077 (:func:`tfgen.terraform.process.start`);
    this covers the files of older runs and a directory created by someone else.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    for pattern in SECRET_FILES:
        for path in directory.glob(pattern):
            if path.is_file() and not path.is_symlink():
                path.chmod(0o600)


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
    return str(record.get("backend") or "local")


def save_backup(directory: Path, state: str, source: str) -> Path:
    """Keep a copy of a state (``terraform state pull``) before it is migrated.

    Returns:
        The file written, under :data:`BACKUP_DIR`, readable by the owner only.
    """
    folder = directory / BACKUP_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    import datetime  # a migration's: not on every command's start-up

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    where = "".join(c if c.isalnum() or c in "-." else "_" for c in source)[:80]
    path = folder / f"{stamp}-{where}.tfstate"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(state)
    return path


def _read_record(directory: Path) -> dict[str, Any]:
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


def prepare(
    spec: Spec, directory: Path, *, local_endpoint: str | None, data_dir: Path | None = None, tool: str = ""
) -> Prepared:
    """Render the module and the root configuration into ``directory``.

    When the directory already holds exactly what this spec renders to (same spec, backend,
    target, emulator URL, tfgen and templates; every file as tfgen wrote it), nothing is
    rendered again: :data:`TARGET_FILE` records what went into the last render and a hash of each
    file written, and the files are read back and compared with those hashes.

    Args:
        spec: The validated spec.
        directory: The working directory (created if missing).
        local_endpoint: URL of the AWS emulator for ``--local``, else ``None`` (real AWS).
        data_dir: terraform's data directory (``TF_DATA_DIR``), relative to ``directory``
            unless absolute; default ``.terraform``.
        tool: The terraform binary's name and version (``terraform 1.11.4``); another one
            needs ``terraform init`` again.

    Raises:
        UsageError: If the directory belongs to the other target.
        RenderError: If rendering fails (the previous files stay as they were).
    """
    from tfgen.deploy import backend, standin  # with the spec model

    target: TargetKind = "local" if local_endpoint else "aws"
    check_target(directory, target)
    identity = backend.identity(spec, local=local_endpoint is not None)
    block = backend.block(spec, endpoint=local_endpoint)
    record = _read_record(directory)
    adopted = bool(record.get("adopted"))
    stand = standin.of(spec, directory, identity)  # its tag follows the state's location
    key = _render_key(
        spec, target, local_endpoint, block, f"{identity}\0{stand.tag}" + ("\0adopted" if adopted else "")
    )
    written = _rendered(directory, record, key)
    if written is None:
        written = _render(spec, directory, target, local_endpoint, block, identity, stand=stand, adopted=adopted)
    hashes = {name: _digest(text) for name, text in written.items()}
    data = directory / (data_dir or Path(".terraform"))
    fingerprint = _fingerprint(written["module/versions.tf"], written["main.tf"], data, tool)
    needs_init = record.get("init") != fingerprint or not (data / "modules").is_dir()
    kept: dict[str, Any] = {"target": target, "init": record.get("init", "")}
    if record.get("backend"):
        kept["backend"] = record["backend"]
    if adopted:
        kept["adopted"] = True
    kept["render"] = {"key": key, "files": hashes}
    _write(directory / TARGET_FILE, json.dumps(kept, indent=2) + "\n")
    return Prepared(directory, target, needs_init, fingerprint, identity)


def _render(
    spec: Spec,
    directory: Path,
    target: TargetKind,
    local_endpoint: str | None,
    block: str | None,
    identity: str,
    *,
    stand: standin.StandIn,
    adopted: bool = False,
) -> dict[str, str]:
    """Render and write the module and the root files (``stand``: the stand-in network's, with ``local_endpoint``).

    With ``adopted`` (a cluster ``tfgen import`` took over), the spec's VPC pieces are the
    emulator's own: no stand-in network, as for a spec that names existing pieces.

    Returns:
        Every file written, by its path relative to ``directory`` (``module/main.tf``, ``main.tf``...).
    """
    from tfgen.render import outputs
    from tfgen.render import templates as render  # Jinja is needed only when something is rendered
    from tfgen.render.interface import Output

    env = render.shared_environment()
    module_files = render.render_module(spec, env)
    values = render.context(spec)
    values["target"] = target
    values["backend_block"] = block
    values["state_location"] = identity
    values["outputs"] = [
        Output(o.name, o.description, f"module.cluster.{o.name}", o.sensitive) for o in outputs.outputs(spec)
    ]
    values["existing_network"] = spec.network.names_existing_pieces or adopted
    values["stand_in"] = stand
    root = {"main.tf": env.get_template("root/main.tf.j2").render(values)}
    if local_endpoint and not values["existing_network"]:  # else the spec's pieces are the emulator's
        root["local_network.tf"] = env.get_template("root/local_network.tf.j2").render(values)
    if local_endpoint:
        root[provider.OVERRIDE_FILENAME] = provider.provider_override(local_endpoint, spec.region)
    directory.mkdir(parents=True, exist_ok=True)
    render.write_files(module_files, directory / "module")
    for name in ROOT_FILES:
        path = directory / name
        if name in root:
            _write(path, root[name])
        elif path.exists():
            path.unlink()
    return {**{f"module/{name}": text for name, text in module_files.items()}, **root}


def _rendered(directory: Path, record: Mapping[str, Any], key: str) -> dict[str, str] | None:
    """The files of the last render when ``key`` is what it was rendered from and no file changed since; else None."""
    last = record.get("render")
    if not isinstance(last, dict) or last.get("key") != key or not isinstance(last.get("files"), dict):
        return None
    hashes: dict[str, Any] = last["files"]
    if "module/versions.tf" not in hashes or "main.tf" not in hashes:
        return None
    if any(name not in hashes and (directory / name).exists() for name in ROOT_FILES):
        return None  # a root file this target does not have (it would be deleted)
    found: dict[str, str] = {}
    for name, digest in hashes.items():
        try:
            text = (directory / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if _digest(text) != digest:
            return None
        found[name] = text
    return found


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _render_key(spec: Spec, target: TargetKind, local_endpoint: str | None, block: str | None, identity: str) -> str:
    """What a render depends on: tfgen itself, the spec, the target and emulator URL, the backend.

    The spec's digest covers the module (its defaults filled in) but not the backend, which
    only the root configuration shows: its block and the state's identity are keyed apart.
    """
    parts = [code_signature(), spec.digest(), target, local_endpoint or "", block or "", identity]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@functools.cache
def code_signature() -> str:
    """The code that renders, as a digest: tfgen's version and the size and mtime of each of its files.

    Covers tfgen's modules and templates (an edited template in a development checkout
    changes the render without a new version) and jinja2's package (an upgrade).
    Computed once per process.
    """
    import tfgen

    package = Path(tfgen.__file__).resolve().parent
    roots = [package]
    import importlib.util

    jinja = importlib.util.find_spec("jinja2")
    if jinja is not None and jinja.origin:
        roots.append(Path(jinja.origin).parent)
    entries = [tfgen.__version__]
    for root in roots:
        for folder, dirs, names in os.walk(root, followlinks=True):  # tfgen/templates may be a symlink
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                path = os.path.join(folder, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                entries.append(f"{path}\0{info.st_size}\0{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def _fingerprint(versions_tf: str, root_main_tf: str, data_dir: Path, tool: str) -> str:
    # what `terraform init` depends on: provider requirements, the module call, where it
    # installs, and which terraform (another version or tofu may need another install);
    # not the comments (the module's header names the spec's digest, which any change of
    # the spec changes)
    text = f"{_without_comments(versions_tf)}\0{_without_comments(root_main_tf)}\0{data_dir.resolve()}\0{tool}"
    return hashlib.sha256(text.encode()).hexdigest()


def _without_comments(text: str) -> str:
    """``text`` without its whole-line ``#`` comments (the only comments tfgen writes)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def mark_initialised(prepared: Prepared) -> None:
    """Remember that ``terraform init`` succeeded for the current configuration."""
    record: dict[str, Any] = {"target": prepared.target, "init": prepared.fingerprint, "backend": prepared.backend}
    if _read_record(prepared.directory).get("adopted"):
        record["adopted"] = True
    last = _read_record(prepared.directory).get("render")
    if last is not None:
        record["render"] = last
    _write(prepared.directory / TARGET_FILE, json.dumps(record, indent=2) + "\n")


def mark_adopted(directory: Path, target: TargetKind) -> None:
    """Record that ``directory`` deploys a cluster ``tfgen import`` took over (for ``target``).

    On the emulator, the spec's VPC, subnets and security groups are then the emulator's own
    (the imported cluster lives in them): no stand-in network is rendered.

    Raises:
        UsageError: If the directory belongs to the other target.
    """
    check_target(directory, target)
    record = _read_record(directory)
    record.update(target=target, adopted=True)
    record.pop("render", None)  # rendered again, with the adopted network
    _write(directory / TARGET_FILE, json.dumps(record, indent=2) + "\n")
