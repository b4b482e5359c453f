"""A major version upgrade read from a plan: what is deployed (the state) against what the spec asks.

The spec alone cannot tell an upgrade from a new cluster: the cluster's current version is in the
state, and a saved plan holds both (``terraform show -json``: the cluster's ``before`` and
``after``). :func:`major_upgrade` finds the cluster whose ``engine_version`` moves to another
major; a move AWS refuses (down, or to a major that is not among its upgrade targets,
``[major_upgrade]`` in ``tfgen/facts/aws.toml``) is refused here, before anything is applied,
with AWS's rule in the message. A major upgrade takes the cluster offline for a while
(``[major_upgrade] downtime``): like a plan that loses data, it needs the cluster's name typed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tfgen import facts
from tfgen.errors import UsageError


@dataclasses.dataclass(frozen=True)
class MajorUpgrade:
    """The cluster's engine moves to a later major.

    Attributes:
        address: The cluster's resource address.
        from_version: What runs now (``engine_version_actual``, e.g. ``16.8``).
        to_version: What the spec asks for (e.g. ``17`` or ``17.4``).
    """

    address: str
    from_version: str
    to_version: str

    @property
    def reason(self) -> str:
        """One line for the plan: the upgrade and what it costs."""
        return (
            f"MAJOR VERSION UPGRADE aurora-postgresql {self.from_version} -> {self.to_version}: "
            f"{facts.major_upgrade_downtime()}; it cannot be undone in place (roll back by restoring "
            "a snapshot taken before it: see RUNBOOK.md, 'Major version upgrade')"
        )

    def to_json(self) -> dict[str, Any]:
        """The ``major_upgrade`` event of ``--json``."""
        return {
            "type": "major_upgrade",
            "@module": "tfgen",
            "address": self.address,
            "from": self.from_version,
            "to": self.to_version,
            "downtime": facts.major_upgrade_downtime(),
        }


def major_upgrade(address: str, action: str, details: Mapping[str, Any]) -> MajorUpgrade | None:
    """The major upgrade an update of an ``aws_rds_cluster`` makes, if it makes one.

    Args:
        address: The cluster's address.
        action: ``update``, ``replace``…: only an update moves a running cluster.
        details: The change of ``terraform show -json`` (``before``, ``after``).

    Raises:
        UsageError: If the cluster would move to a lower major, or to one AWS does not offer
            as an upgrade target of its own.
    """
    if action != "update":
        return None
    before: Mapping[str, Any] = details.get("before") or {}
    after: Mapping[str, Any] = details.get("after") or {}
    running = before.get("engine_version_actual") or before.get("engine_version")
    wanted = after.get("engine_version")
    if before.get("engine") != "aurora-postgresql" or not isinstance(running, str) or not isinstance(wanted, str):
        return None
    current, target = _major(running), _major(wanted)
    if current is None or target is None or current == target:
        return None
    if target < current:
        raise UsageError(
            f"{address}: engine_version {wanted!r} is a downgrade of the running aurora-postgresql {running}: "
            "AWS never moves a cluster to a lower major",
            hint=f'keep engine_version "{current}" (or the running minor); to go back, restore a snapshot taken '
            "before the upgrade into a new cluster (RUNBOOK.md, 'Major version upgrade')",
        )
    allowed = facts.upgrade_targets(current)
    if target not in allowed:
        offered = ", ".join(str(major) for major in allowed) or "none tfgen knows"
        raise UsageError(
            f"{address}: AWS does not upgrade aurora-postgresql {running} to {wanted} in place "
            f"(upgrade targets of {current}: {offered})",
            hint="upgrade one allowed major at a time, applying each; "
            "`aws rds describe-db-engine-versions --engine aurora-postgresql "
            f"--engine-version {running}` lists ValidUpgradeTarget",
        )
    return MajorUpgrade(address, running, wanted)


def _major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None
