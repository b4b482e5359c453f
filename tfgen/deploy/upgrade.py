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
import json
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
    refused = move_refused(running, wanted)
    if refused is not None:
        reason, hint = refused
        raise UsageError(f"{address}: {reason}", hint=hint)
    current, target = _major(running), _major(wanted)
    if current is None or target is None or current == target:
        return None
    return MajorUpgrade(address, running, wanted)


def move_refused(running: str, wanted: str) -> tuple[str, str] | None:
    """Why AWS refuses to move a cluster running ``running`` to ``wanted`` in place (reason, hint), or None.

    A lower major is refused, and so is a major that is not among the upgrade targets of the
    running one (``[major_upgrade] targets``); a move within a major is left to AWS.
    """
    current, target = _major(running), _major(wanted)
    if current is None or target is None or current == target:
        return None
    if target < current:
        return (
            f"engine_version {wanted!r} is a downgrade of the running aurora-postgresql {running}: "
            "AWS never moves a cluster to a lower major",
            f'keep engine_version "{current}" (or the running minor); to go back, restore a snapshot taken '
            "before the upgrade into a new cluster (RUNBOOK.md, 'Major version upgrade')",
        )
    allowed = facts.upgrade_targets(current)
    if target not in allowed:
        offered = ", ".join(str(major) for major in allowed) or "none tfgen knows"
        return (
            f"AWS does not upgrade aurora-postgresql {running} to {wanted} in place "
            f"(upgrade targets of {current}: {offered})",
            "upgrade one allowed major at a time, applying each; "
            "`aws rds describe-db-engine-versions --engine aurora-postgresql "
            f"--engine-version {running}` lists ValidUpgradeTarget",
        )
    return None


def deployed_version(state: str) -> str | None:
    """The engine version the module's cluster runs, as a state (``terraform.tfstate``'s text) records it.

    ``engine_version_actual`` (what AWS reports), else ``engine_version``; None when the state
    holds no cluster or cannot be read.
    """
    try:
        document = json.loads(state) if state.strip() else {}
    except ValueError:
        return None
    resources = document.get("resources") if isinstance(document, dict) else None
    for resource in resources or ():
        if (resource.get("module"), resource.get("type"), resource.get("name")) != CLUSTER:
            continue
        for instance in resource.get("instances") or ():
            attributes = instance.get("attributes") or {}
            version = attributes.get("engine_version_actual") or attributes.get("engine_version")
            if isinstance(version, str) and version:
                return version
    return None


CLUSTER = ("module.cluster", "aws_rds_cluster", "this")
"""The module's cluster in a state: module, type, name."""


def _major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None
