"""The result of one runbook check, shared by the database and AWS checks of `tfgen doctor`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """Outcome of a check; FAIL makes `tfgen doctor` exit non-zero."""

    PASS = "PASS"  # noqa: S105 -- a check outcome, not a password
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class CheckResult:
    """One row of the doctor's report.

    Attributes:
        name: Short id of the check, e.g. ``cluster_status``.
        status: PASS, WARN or FAIL.
        evidence: What was observed, one line (status, numbers, query text cut short).
        next_step: What the operator should do next (the runbook's advice), one line.
        data: Machine-readable details for ``--json`` (never secrets).
    """

    name: str
    status: Status
    evidence: str
    next_step: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return {
            "name": self.name,
            "status": str(self.status),
            "evidence": self.evidence,
            "next_step": self.next_step,
            "data": self.data,
        }


def shorten(text: str, limit: int = 80) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
