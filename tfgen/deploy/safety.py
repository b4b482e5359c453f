"""Checks made on a destroy plan before anything is deleted.

AWS refuses to delete a cluster with deletion protection (``[errors.protected_cluster]`` in
``tfgen/facts/aws.toml``), but only when terraform reaches the cluster: by then the alarms,
the secret and the instances are gone. :func:`inspect_destroy` reads the saved destroy plan
(``terraform show -json``) and :func:`check_destroy` refuses it while the cluster is protected,
in the configuration (the module's ``deletion_protection`` variable, from the spec) or on the
deployed cluster (its refreshed state), so that a refused destroy deletes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tfgen.deploy.review import ReviewedPlan
from tfgen.errors import TfgenError
from tfgen.terraform.results import PlanResult

CLUSTER_TYPE = "aws_rds_cluster"
"""The resource type whose deletion AWS refuses while it is protected."""


class ProtectedClusterError(TfgenError):
    """Raised by ``tfgen destroy`` before deleting anything, when the cluster has deletion protection.

    Args:
        address: The cluster's resource address in the plan.
        in_config: The configuration (the spec's ``deletion_protection``) protects it.
        deployed: The deployed cluster is protected.
    """

    def __init__(self, address: str, *, in_config: bool, deployed: bool) -> None:
        where = " and ".join(w for w, on in (("in the spec", in_config), ("on the deployed cluster", deployed)) if on)
        steps = "set `deletion_protection: false` in the spec, run `tfgen apply`, then `tfgen destroy`"
        if deployed and not in_config:
            steps = "the spec already says `deletion_protection: false`: run `tfgen apply`, then `tfgen destroy`"
        super().__init__(
            f"{address} has deletion protection ({where}): AWS would refuse to delete it after the rest "
            "of the stack was gone; nothing was destroyed",
            hint=f"to delete it: {steps}",
        )
        self.address = address
        self.in_config = in_config
        self.deployed = deployed


@dataclasses.dataclass(frozen=True)
class ClusterDeletion:
    """What a destroy plan says about one cluster it deletes.

    Attributes:
        address: e.g. ``module.cluster.aws_rds_cluster.this``.
        protected_in_config: The module's ``deletion_protection`` variable (None: not found in the plan).
        protected_deployed: The cluster's ``deletion_protection`` in its refreshed state.
        final_snapshot: The ``final_snapshot_identifier`` AWS takes on delete (None: none).
        skip_final_snapshot: ``skip_final_snapshot`` in the state: no snapshot is taken.
    """

    address: str
    protected_in_config: bool | None
    protected_deployed: bool
    final_snapshot: str | None
    skip_final_snapshot: bool

    @property
    def protected(self) -> bool:
        """Deleting would fail at AWS, or would go against what the spec asks for."""
        return bool(self.protected_in_config) or self.protected_deployed


@dataclasses.dataclass(frozen=True)
class DestroyPlan(ReviewedPlan):
    """A destroy plan with the clusters it deletes, checked by :func:`check_destroy` (shown before asking)."""

    clusters: tuple[ClusterDeletion, ...] = ()


def inspect_destroy(plan_json: Mapping[str, Any]) -> tuple[ClusterDeletion, ...]:
    """The clusters a destroy plan deletes, from terraform's JSON plan (``terraform show -json``).

    Args:
        plan_json: The plan: ``resource_changes`` (each with ``change.before``, the refreshed
            state) and ``configuration`` (the module's variables and call arguments).

    Returns:
        One entry per ``aws_rds_cluster`` the plan deletes, in the plan's order.
    """
    found: list[ClusterDeletion] = []
    for change in plan_json.get("resource_changes") or []:
        details = change.get("change") or {}
        if change.get("type") != CLUSTER_TYPE or "delete" not in (details.get("actions") or []):
            continue
        before = details.get("before") or {}
        snapshot = before.get("final_snapshot_identifier")
        skip = bool(before.get("skip_final_snapshot"))
        found.append(
            ClusterDeletion(
                address=str(change.get("address")),
                protected_in_config=_configured_protection(plan_json, change.get("module_address")),
                protected_deployed=bool(before.get("deletion_protection")),
                final_snapshot=None if skip or not snapshot else str(snapshot),
                skip_final_snapshot=skip,
            )
        )
    return tuple(found)


def check_destroy(clusters: tuple[ClusterDeletion, ...]) -> None:
    """Refuse a destroy plan that deletes a protected cluster.

    Raises:
        ProtectedClusterError: If a cluster is protected in the configuration or deployed so.
    """
    for cluster in clusters:
        if cluster.protected:
            raise ProtectedClusterError(
                cluster.address, in_config=bool(cluster.protected_in_config), deployed=cluster.protected_deployed
            )


def _configured_protection(plan_json: Mapping[str, Any], module_address: object) -> bool | None:
    """``deletion_protection`` of the module holding the cluster: its call's constant, else its default."""
    module: Mapping[str, Any] = (plan_json.get("configuration") or {}).get("root_module") or {}
    call: Mapping[str, Any] = {}
    if isinstance(module_address, str):
        for part in module_address.split("."):
            if part == "module":
                continue
            call = (module.get("module_calls") or {}).get(part.split("[")[0]) or {}
            module = call.get("module") or {}
    argument = (call.get("expressions") or {}).get("deletion_protection") or {}
    if "constant_value" in argument:
        return bool(argument["constant_value"])
    variable = (module.get("variables") or {}).get("deletion_protection") or {}
    if "default" in variable:
        return bool(variable["default"])
    return None


def checked_destroy(planned: PlanResult, plan_json: Mapping[str, Any]) -> DestroyPlan:
    """``planned`` with the clusters it deletes, once :func:`check_destroy` allowed it.

    Raises:
        ProtectedClusterError: If a cluster is protected in the configuration or deployed so.
    """
    clusters = inspect_destroy(plan_json)
    check_destroy(clusters)
    return DestroyPlan(**{f.name: getattr(planned, f.name) for f in dataclasses.fields(planned)}, clusters=clusters)
