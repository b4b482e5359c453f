"""What terraform reported: diagnostics, planned changes, plan and apply counts, outputs.

Plain values built from terraform's ``-json`` output; the commands that return them are in
:mod:`tfgen.terraform.commands`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Diagnostic:
    """One terraform diagnostic (error or warning).

    Attributes:
        severity: ``"error"`` or ``"warning"``.
        summary: One line.
        detail: Longer explanation, may be empty or span lines.
        filename: Configuration file, relative to the working directory, if known.
        line: 1-based line in ``filename``, if known.
        address: Resource address the diagnostic is about, if any.
    """

    severity: str
    summary: str
    detail: str = ""
    filename: str | None = None
    line: int | None = None
    address: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Diagnostic:
        """Build from the ``diagnostic`` object of a ``-json`` event or of ``validate -json``.

        Args:
            data: The diagnostic object (``severity``, ``summary``, ``detail``, ``range``...).

        Returns:
            The diagnostic.
        """
        where = data.get("range") or {}
        start = where.get("start") or {}
        line = start.get("line")
        address = data.get("address")
        return cls(
            severity=str(data.get("severity", "error")),
            summary=str(data.get("summary", "")),
            detail=str(data.get("detail") or ""),
            filename=where.get("filename"),
            line=line if isinstance(line, int) else None,
            address=address if isinstance(address, str) else None,
        )

    @property
    def location(self) -> str | None:
        """``FILE:LINE`` (or ``FILE``) when terraform said where, else ``None``."""
        if self.filename is None:
            return None
        return f"{self.filename}:{self.line}" if self.line is not None else self.filename

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        about = f" ({self.address})" if self.address else ""
        return f"{where}{self.severity}: {self.summary}{about}"


class ResourceChange(NamedTuple):
    """One planned (or drifted) resource change, e.g. ``("aws_rds_cluster.this", "create")``."""

    address: str
    action: str
    importing: bool = False
    """The plan imports the resource (an ``import`` block): it exists, the state lacks it."""


@dataclass(frozen=True)
class PlanResult:
    """What ``terraform plan -detailed-exitcode -json`` reported.

    Attributes:
        plan_file: The saved plan (apply it with :meth:`~tfgen.terraform.commands.Terraform.apply`).
        changes_present: Exit code 2: the plan changes resources or outputs.
        add: Resources to create (from ``change_summary``).
        change: Resources to update in place.
        remove: Resources to destroy.
        resource_changes: ``planned_change`` events, in terraform's order.
        drift: ``resource_drift`` events: changes made outside terraform.
        warnings: Warning diagnostics.
    """

    plan_file: Path
    changes_present: bool
    add: int = 0
    change: int = 0
    remove: int = 0
    imported: int = 0
    """Resources to import (``import`` blocks: they exist, the state lacks them)."""
    resource_changes: tuple[ResourceChange, ...] = ()
    drift: tuple[ResourceChange, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class ApplyResult:
    """What ``terraform apply -json PLAN`` reported (from its ``change_summary``).

    Attributes:
        add: Resources created.
        change: Resources updated.
        remove: Resources destroyed.
        warnings: Warning diagnostics.
    """

    add: int = 0
    change: int = 0
    remove: int = 0
    imported: int = 0
    """Resources imported into the state."""
    warnings: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class OutputValue:
    """One root module output (``terraform output -json``).

    Attributes:
        value: The value, also for sensitive outputs: the caller decides whether to show it.
        sensitive: Declared ``sensitive = true``.
        type: Terraform's type description, e.g. ``"string"`` or ``["list", "string"]``.
    """

    value: Any
    sensitive: bool
    type: Any = None
