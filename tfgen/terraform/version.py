"""Which terraform runs: the minimum version, reading ``terraform version -json``, and the version cache.

Checking the version starts terraform, which costs more than tfgen's own work on a plan of an
unchanged working directory; :class:`VersionCache` remembers the version of each binary file
so the check runs once per binary, not before every command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any, NamedTuple

from tfgen.errors import TerraformError
from tfgen.terraform.config import TerraformSettings

MINIMUM_VERSION: tuple[int, int] = (1, 11)
"""Write-only attributes (``master_password_wo``) need Terraform 1.11."""


def dotted(version: tuple[int, ...]) -> str:
    """``(1, 11)`` as ``"1.11"``."""
    return ".".join(str(part) for part in version)


def read_version(binary: str, code: int, out: list[str], err: list[str]) -> str:
    """The version in the output of ``terraform version -json``.

    Args:
        binary: The binary that ran, for the message.
        code: Its exit code.
        out: Its stdout lines.
        err: Its stderr lines.

    Returns:
        The version, e.g. ``"1.11.4"``.

    Raises:
        TerraformError: The output is not the JSON of ``version -json``.
    """
    try:
        data = json.loads("\n".join(out))
        return str(data["terraform_version"])
    except (ValueError, KeyError, TypeError):
        raise TerraformError(
            f"could not read the version of {binary} (exit {code}): "
            + (" ".join(err + out).strip()[:200] or "no output"),
            hint=f"tfgen needs Terraform >= {dotted(MINIMUM_VERSION)}, which has `version -json`",
        ) from None


def check_minimum(name: str, found: str) -> None:
    """Refuse a terraform older than :data:`MINIMUM_VERSION`.

    Args:
        name: The binary's name for the message (``terraform``, ``tofu``).
        found: Its version.

    Raises:
        TerraformError: ``found`` is older than :data:`MINIMUM_VERSION` (or not a version).
    """
    match = re.match(r"(\d+)\.(\d+)", found)
    if match is None or (int(match[1]), int(match[2])) < MINIMUM_VERSION:
        raise TerraformError(
            f"{name} {found} is too old: tfgen needs >= {dotted(MINIMUM_VERSION)} (write-only attributes)",
            hint=f"install Terraform {dotted(MINIMUM_VERSION)} or newer, or point tfgen at it",
        )


class BinaryStamp(NamedTuple):
    """Which file a binary is: a remembered version holds while the stamp is the same."""

    path: str
    """The resolved path."""
    identity: str
    """``device:inode:size:mtime:ctime`` of the file."""


class VersionCache:
    """The versions of the binaries checked before, in ``settings.version_cache`` (a JSON file).

    Args:
        settings: Where the cache is (None: remember nothing), the binary and the ``PATH`` it is found on.
        workdir: Terraform's working directory, where a relative binary path starts.
    """

    def __init__(self, settings: TerraformSettings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir

    def stamp(self) -> BinaryStamp | None:
        """The binary's stamp, or None when its version must not be remembered."""
        if self.settings.version_cache is None:
            return None
        binary = self.settings.binary
        if os.sep in binary:
            found: str | None = str(self.workdir / binary)  # terraform starts in the working directory
        else:
            found = shutil.which(binary, path=self.settings.env.get("PATH", os.defpath))
        if found is None or not os.path.isabs(found):
            return None  # not found (running it gives the error), or found through a relative PATH entry
        real = os.path.realpath(found)
        try:
            if _is_shim(found, real):
                return None
            info = os.stat(real)
        except OSError:
            return None
        return BinaryStamp(real, f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}")

    def recall(self, stamp: BinaryStamp) -> str | None:
        """The version remembered for the binary, if it is still the same file."""
        entry = self._read().get(stamp.path)
        if not isinstance(entry, dict) or entry.get("stamp") != stamp.identity:
            return None
        version = entry.get("version")
        return version if isinstance(version, str) else None

    def remember(self, stamp: BinaryStamp, version: str) -> None:
        """Record the version of a binary (atomically; a cache, so failures are ignored)."""
        path = self.settings.version_cache
        if path is None:
            return
        data = self._read()
        data[stamp.path] = {"stamp": stamp.identity, "version": version}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)

    def _read(self) -> dict[str, Any]:
        path = self.settings.version_cache
        if path is None:
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def _is_shim(invoked: str, real: str) -> bool:
    """Whether a binary picks the terraform to run each time it starts, so its version cannot be remembered.

    A script (tfenv's and asdf's shims), or a link to a program of another name (mise, snap).

    Raises:
        OSError: If ``real`` cannot be read.
    """
    if not Path(real).name.startswith(Path(invoked).name):
        return True
    with open(real, "rb") as handle:
        return handle.read(2) == b"#!"
