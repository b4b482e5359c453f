"""How terraform is set up: tfgen's settings, the child's environment, its CLI config and the plugin cache.

Nothing here reads the process environment: the caller passes it in :class:`TerraformSettings`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tfgen.errors import TerraformError

_PROVIDER_INSTALLATION_BLOCK = re.compile(r"^\s*provider_installation\b", re.MULTILINE)


@dataclass(frozen=True, kw_only=True)
class TerraformSettings:
    """How to start terraform; built by the CLI, nothing here reads ``os.environ``.

    Attributes:
        env: The base environment of the child, usually ``dict(os.environ)``; its
            ``PATH`` is where ``binary`` is looked up. Required: an empty environment
            would silently lose PATH, HOME and the AWS credentials.
        binary: The executable, a name looked up on ``env["PATH"]`` or a path
            (``tofu`` works too).
        plugin_mirror: A provider mirror directory (``filesystem_mirror`` layout). When
            set, each command gets a temporary CLI config installing providers from
            it only; see :func:`child_env` for how it combines with a
            ``TF_CLI_CONFIG_FILE`` already in ``env``.
        plugin_cache_dir: Shared provider cache (``TF_PLUGIN_CACHE_DIR``), created if
            missing, so the large aws provider is not unpacked once per cluster.
        cancel: When set, a running command is stopped as by one Ctrl-C (terraform stops
            cleanly and releases its lock) and raises ``CommandInterrupted``: how commands
            in worker threads, which get no signals, are interrupted.
        version_cache: A JSON file remembering the version of each binary checked, by its
            resolved path, device, inode, size, mtime and ctime: ``terraform version -json``
            then runs once per binary, not before every command (see
            :meth:`tfgen.terraform.commands.Terraform.version`). None: check every time.
    """

    env: Mapping[str, str]
    binary: str = "terraform"
    plugin_mirror: Path | None = None
    plugin_cache_dir: Path | None = None
    cancel: threading.Event | None = None
    version_cache: Path | None = None


def child_env(settings: TerraformSettings) -> dict[str, str]:
    """The environment every terraform command gets (without the temp CLI config).

    ``settings.env`` plus ``TF_IN_AUTOMATION=1``, ``TF_INPUT=0``,
    ``CHECKPOINT_DISABLE=1`` (unless set: no version check over the network) and
    ``TF_PLUGIN_CACHE_DIR`` (created, with
    ``TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE`` so the cache is used for new
    working directories too) when ``plugin_cache_dir`` is set.

    With ``plugin_mirror``, each command additionally gets ``TF_CLI_CONFIG_FILE``
    naming a CLI config that lives as long as the command (:func:`command_env`).
    That file is the caller's ``TF_CLI_CONFIG_FILE`` (when it exists: credentials, host
    blocks... keep working) followed by a ``provider_installation`` block with only a
    ``filesystem_mirror``. Terraform allows one such block, so if the caller's file
    already has one tfgen raises instead of silently ignoring either. Without
    ``plugin_mirror`` the caller's ``TF_CLI_CONFIG_FILE`` passes through untouched.

    Args:
        settings: The base environment and the plugin cache.

    Returns:
        The environment.

    Raises:
        TerraformError: The plugin cache cannot be created.
    """
    env = dict(settings.env)
    env["TF_IN_AUTOMATION"] = "1"
    env["TF_INPUT"] = "0"
    env.setdefault("CHECKPOINT_DISABLE", "1")
    cache = settings.plugin_cache_dir
    if cache is not None:
        cache = cache.absolute()
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TerraformError(f"cannot create the plugin cache {cache}: {exc.strerror}") from exc
        env["TF_PLUGIN_CACHE_DIR"] = str(cache)
        # without it terraform >= 1.4 unpacks the provider again into every new working
        # directory (no lock file yet); it still writes the lock file with the checksums
        env.setdefault("TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE", "true")
    return env


@dataclass(frozen=True)
class CommandEnv:
    """What one terraform command starts with: its environment, and the descriptors it inherits."""

    env: dict[str, str]
    pass_fds: tuple[int, ...] = ()
    """Open descriptors the child keeps (the anonymous CLI config ``/proc/self/fd/N`` names)."""


@contextlib.contextmanager
def command_env(settings: TerraformSettings, workdir: Path) -> Iterator[CommandEnv]:
    """The environment of one command: :func:`child_env`, and the temporary CLI config of a plugin mirror.

    That CLI config is a copy of the caller's (which may hold registry tokens), so it never
    outlives the command, whatever ends it (even ``kill -9``): on Linux it is an anonymous
    in-memory file (``memfd_create``) that terraform reads as ``/proc/self/fd/N``, never a
    file on disk; elsewhere a 0600 file in the working directory (not in ``/tmp``), removed
    when the ``with`` block ends, and by the next command there if tfgen was killed.

    Args:
        settings: See :func:`child_env`.
        workdir: Terraform's working directory.

    Yields:
        The environment, and the descriptor the child must inherit.

    Raises:
        TerraformError: The plugin cache cannot be created, the plugin mirror is not a
            directory, or the caller's ``TF_CLI_CONFIG_FILE`` cannot be read or already
            installs providers its own way.
    """
    env = child_env(settings)
    mirror = settings.plugin_mirror
    if mirror is None:
        yield CommandEnv(env)
        return
    suffix, text = _cli_config(mirror, env)
    if _anonymous_files():
        fd = os.memfd_create(f"tfgen{suffix}")  # close-on-exec: only the child it is passed to gets it
        try:
            os.write(fd, text.encode())
            env["TF_CLI_CONFIG_FILE"] = f"/proc/self/fd/{fd}"
            yield CommandEnv(env, (fd,))
        finally:
            os.close(fd)
        return
    path = _private_file(workdir, suffix, text)
    try:
        env["TF_CLI_CONFIG_FILE"] = str(path)
        yield CommandEnv(env)
    finally:
        path.unlink(missing_ok=True)


def _anonymous_files() -> bool:
    """Whether a child can read an inherited anonymous file by name (Linux: memfd and ``/proc/self/fd``)."""
    return hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


_PRIVATE_PREFIX = ".tfgen-cli-config-"


def _private_file(directory: Path, suffix: str, text: str) -> Path:
    """A 0600 file in ``directory`` holding ``text``; the leftovers of killed runs are removed first."""
    for old in directory.glob(f"{_PRIVATE_PREFIX}*"):
        pid = old.name.removeprefix(_PRIVATE_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            old.unlink(missing_ok=True)
    path = directory / f"{_PRIVATE_PREFIX}{os.getpid()}-{os.urandom(8).hex()}{suffix}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise TerraformError(f"cannot write terraform's CLI config in {directory}: {exc.strerror or exc}") from exc
    return path


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def plugin_cache_lock(cache: Path | None) -> Iterator[None]:
    """Hold an exclusive lock on the shared plugin cache while terraform installs into it.

    Terraform's plugin cache is not safe for concurrent installs (two inits of a new
    provider race on its directories), and tfgen runs several at once (``--jobs``).

    Args:
        cache: The plugin cache directory (created if missing); None: no cache, no lock.
    """
    if cache is None:
        yield
        return
    cache = cache.absolute()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".tfgen-init.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cli_config(mirror: Path, env: Mapping[str, str]) -> tuple[str, str]:
    """The CLI config installing providers from the plugin mirror only: its suffix (``.tfrc``, ``.tfrc.json``) and text."""
    mirror = mirror.absolute()
    if not mirror.is_dir():
        raise TerraformError(
            f"plugin mirror {mirror} is not a directory",
            hint="point the plugin mirror at a directory in terraform's filesystem_mirror layout",
        )
    base_text = ""
    base_name = env.get("TF_CLI_CONFIG_FILE")
    if base_name and Path(base_name).is_file():
        try:
            base_text = Path(base_name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TerraformError(f"cannot read TF_CLI_CONFIG_FILE {base_name}: {exc}") from exc
    conflict = TerraformError(
        f"TF_CLI_CONFIG_FILE ({base_name}) already has a provider_installation block, "
        f"and the plugin mirror {mirror} needs its own; terraform allows only one",
        hint=f'add `filesystem_mirror {{ path = "{mirror}" }}` to that block and drop the plugin mirror '
        "setting, or unset TF_CLI_CONFIG_FILE",
    )
    if base_text.lstrip().startswith("{"):  # a JSON CLI config (terraform tells JSON by its first brace)
        try:
            data = json.loads(base_text)
        except ValueError as exc:
            raise TerraformError(f"TF_CLI_CONFIG_FILE {base_name} is not valid JSON: {exc}") from exc
        if "provider_installation" in data:
            raise conflict
        data["provider_installation"] = [{"filesystem_mirror": [{"path": str(mirror)}]}]
        return ".tfrc.json", json.dumps(data, indent=2) + "\n"
    if _PROVIDER_INSTALLATION_BLOCK.search(base_text):
        raise conflict
    block = f"provider_installation {{\n  filesystem_mirror {{\n    path = {_hcl_string(str(mirror))}\n  }}\n}}\n"
    return ".tfrc", (base_text.rstrip() + "\n\n" if base_text.strip() else "") + block


def _hcl_string(text: str) -> str:
    """Quote a string for the CLI config (HCL 1: no templates, JSON-style escapes)."""
    return json.dumps(text, ensure_ascii=False)
