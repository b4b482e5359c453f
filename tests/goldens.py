"""Which example spec renders into which golden directory (shared by tests and `make goldens`)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_ROOT = ROOT / "tests" / "golden"

GOLDENS: dict[str, Path] = {
    "aurora": ROOT / "modules" / "aurora_serverless",
    "local": GOLDEN_ROOT / "local",
    "v1-legacy": GOLDEN_ROOT / "v1-legacy",
    "rds-managed": GOLDEN_ROOT / "rds-managed",
    "production": GOLDEN_ROOT / "production",
    "minimal": GOLDEN_ROOT / "minimal",
    "shared-network": GOLDEN_ROOT / "shared-network",
    "shared-groups-only": GOLDEN_ROOT / "shared-groups-only",
    "restored": GOLDEN_ROOT / "restored",
    "point-in-time": GOLDEN_ROOT / "point-in-time",
    "integrations": GOLDEN_ROOT / "integrations",
    "global-primary": GOLDEN_ROOT / "global-primary",
    "global-secondary": GOLDEN_ROOT / "global-secondary",
    "readers": GOLDEN_ROOT / "readers",
}
"""Example name (examples/<name>.yaml) → directory holding its rendered module."""


def spec_path(name: str) -> Path:
    """The example spec file of a golden."""
    return ROOT / "examples" / f"{name}.yaml"
