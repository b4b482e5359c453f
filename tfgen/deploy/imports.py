"""Terraform ``import`` blocks in a working directory: adopt what exists but the state lacks.

Two paths need the same thing: ``tfgen import`` (a cluster made by hand or by another
module, taken over by tfgen) and recovery after an interrupted ``apply`` (AWS created the
cluster or an instance, but terraform died before writing it to the state). In both,
the next plan must *import* the resource instead of creating it a second time.

Terraform (≥ 1.5) reads ``import`` blocks from the root module only; their ``to`` may
address a resource inside a child module (``module.cluster.aws_rds_cluster.this``).
An import block whose resource is already in the state with the same ID is a no-op,
so the file may stay until an apply succeeds; :func:`clear` removes it then.
Reference: https://developer.hashicorp.com/terraform/language/import

The file is tfgen's own (:data:`IMPORTS_FILE`), never one of the rendered root files,
so a re-render of the working directory leaves it alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tfgen.render import hcl

IMPORTS_FILE = "tfgen_imports.tf"
_HEADER = "# Written by tfgen: resources that exist but are not in the state yet; the next apply imports them.\n"
# an address may hold a quoted key with spaces (an egress rule's "10.0.0.0/16 443")
_BLOCK = re.compile(
    r'import\s*\{\s*to\s*=\s*(?P<to>\S(?:[^\n]*\S)?)\s*\n\s*id\s*=\s*"(?P<id>(?:[^"\\]|\\.)*)"\s*\}', re.S
)
_ADDRESS = re.compile(r"[A-Za-z_][\w-]*(\[(\d+|\"[^\"]*\")\])?(\.[A-Za-z_][\w-]*(\[(\d+|\"[^\"]*\")\])?)+")


@dataclass(frozen=True, order=True)
class ImportBlock:
    """One resource to import: its address in the configuration and its ID at the provider."""

    address: str
    """``module.cluster.aws_rds_cluster.this``, ``module.cluster.aws_rds_cluster_instance.this["1"]``..."""
    id: str
    """The import ID the provider documents for that resource type (a cluster's identifier, a group's ID...)."""
    reason: str = ""
    """Why it is imported, written as a comment above the block (one line)."""

    def __post_init__(self) -> None:
        if not _ADDRESS.fullmatch(self.address):
            raise ValueError(f"not a resource address: {self.address!r}")
        if not self.id:
            raise ValueError(f"empty import ID for {self.address}")


def render(blocks: Iterable[ImportBlock]) -> str:
    """The file's text: one ``import`` block per resource, sorted by address, in ``terraform fmt`` style."""
    parts = [_HEADER]
    seen: set[str] = set()
    for block in sorted(blocks):
        if block.address in seen:
            raise ValueError(f"two imports for {block.address}")
        seen.add(block.address)
        comment = f"# {' '.join(block.reason.split())}\n" if block.reason.strip() else ""
        parts.append(f"\n{comment}import {{\n  to = {block.address}\n  id = {hcl.string(block.id)}\n}}\n")
    return "".join(parts)


def write(directory: Path, blocks: Iterable[ImportBlock]) -> Path | None:
    """Write the import blocks into ``directory`` (atomically); with none, remove the file.

    Returns:
        The file written, or None when there was nothing to import.
    """
    chosen = list(blocks)
    if not chosen:
        clear(directory)
        return None
    path = directory / IMPORTS_FILE
    tmp = path.with_name(f".{IMPORTS_FILE}.tmp")
    tmp.write_text(render(chosen), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read(directory: Path) -> list[ImportBlock]:
    """The import blocks waiting in ``directory`` (none when the file is missing)."""
    try:
        text = (directory / IMPORTS_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return sorted(
        ImportBlock(m["to"], m["id"].replace('\\"', '"').replace("\\\\", "\\")) for m in _BLOCK.finditer(text)
    )


def clear(directory: Path) -> bool:
    """Remove the import blocks (after an apply that imported them succeeded). True if there were any."""
    try:
        (directory / IMPORTS_FILE).unlink()
    except FileNotFoundError:
        return False
    return True
