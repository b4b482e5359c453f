"""Lifecycle events: what AWS does to a cluster on its own, played on demand in the emulator.

AWS upgrades minors, fails over, pauses an idle Serverless v2 cluster and leaves a changed
static parameter waiting for a reboot, all without a request from terraform. moto does none
of it. The server runs :func:`run_event` for ``POST /_tfgen/events/<event>`` (see
:mod:`tfgen.emulator.events`, the client side tests call); each event changes moto's state as
AWS would. moto is imported inside functions only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from tfgen import facts
from tfgen.emulator import backing
from tfgen.emulator.fixes import patch_property
from tfgen.errors import EmulatorError

__all__ = ["EVENTS", "run_event"]

_PAUSED = "_tfgen_paused"
_PENDING_REBOOT = "_tfgen_pending_reboot"
_METRIC_NAMESPACE = "AWS/RDS"


def _find_cluster(cluster_id: str) -> tuple[Any, Any]:
    """(the RDS backend, the cluster) of ``cluster_id`` in any account and region moto holds."""
    from moto.rds.models import rds_backends

    found = [
        (backend, cluster)
        for account in list(rds_backends.values())
        for backend in list(account.values())
        for key, cluster in list(backend.clusters.items())
        if key.lower() == cluster_id.lower()
    ]
    if not found:
        raise EmulatorError(f"no cluster {cluster_id} in the emulator")
    if len(found) > 1:
        raise EmulatorError(f"cluster {cluster_id} exists in more than one account or region")
    return found[0]


def _cluster_state(cluster: Any) -> dict[str, Any]:
    members = cluster.members
    return {
        "cluster": cluster.db_cluster_identifier,
        "engine_version": cluster.engine_version,
        "writer": next((m.db_instance_identifier for m in members if m.is_cluster_writer), None),
        "instances": sorted(m.db_instance_identifier for m in members),
        "paused": bool(getattr(cluster, _PAUSED, False)),
        "pending_reboot": bool(getattr(cluster, _PENDING_REBOOT, False)),
    }


def minor_upgrade(cluster_id: str, to_version: str | None = None) -> dict[str, Any]:
    """AWS's automatic minor upgrade: the cluster (and so its instances) moves to a newer minor.

    Without ``to_version``: the major's LTS minor if the cluster is older, else the next minor.
    Like a mandatory upgrade, it happens whatever ``AutoMinorVersionUpgrade`` says.

    Raises:
        EmulatorError: If ``to_version`` is not a newer minor of the same major.
    """
    _, cluster = _find_cluster(cluster_id)
    current = facts.minor_of(cluster.engine_version)
    row = facts.engine_major(cluster.engine_version)
    if current is None or row is None:
        raise EmulatorError(f"cluster {cluster_id} runs {cluster.engine_version}, not a minor tfgen knows")
    if to_version is None:
        lts = facts.minor_of(row.lts)
        target = row.lts if lts is not None and current < lts else f"{current[0]}.{current[1] + 1}"
    else:
        target = to_version
    wanted = facts.minor_of(target)
    if wanted is None or wanted[0] != current[0] or wanted <= current:
        raise EmulatorError(f"{target} is not a newer minor than {cluster.engine_version}")
    cluster.engine_version = target
    return _cluster_state(cluster)


def failover(cluster_id: str, target_instance: str | None = None) -> dict[str, Any]:
    """A failover: a reader becomes the writer (``IsClusterWriter`` flips in DBClusterMembers).

    Raises:
        EmulatorError: If the cluster has fewer than two instances or the target is unknown.
    """
    from moto.rds.exceptions import RDSClientError

    backend, cluster = _find_cluster(cluster_id)
    try:
        backend.failover_db_cluster(cluster.db_cluster_identifier, target_instance)
    except RDSClientError as exc:
        raise EmulatorError(f"no failover of {cluster_id}: {exc.message}") from exc
    return _cluster_state(cluster)


def pause(cluster_id: str) -> dict[str, Any]:
    """Auto-pause: the idle Serverless v2 cluster scales to 0 ACU (see :func:`emit_metrics`).

    Raises:
        EmulatorError: If the cluster's minimum capacity is not 0 (AWS never pauses it).
    """
    _, cluster = _find_cluster(cluster_id)
    scaling = cluster.serverless_v2_scaling_configuration or {}
    if scaling.get("min_capacity") is None or float(scaling["min_capacity"]) != 0:
        raise EmulatorError(f"cluster {cluster_id} cannot pause: its minimum capacity is not 0 ACU")
    backing.pause(cluster)  # its database refuses connections until resumed
    setattr(cluster, _PAUSED, True)
    return _cluster_state(cluster)


def resume(cluster_id: str) -> dict[str, Any]:
    """A connection arrives: the paused cluster resumes at its minimum non-zero capacity."""
    _, cluster = _find_cluster(cluster_id)
    backing.resume(cluster)
    setattr(cluster, _PAUSED, False)
    return _cluster_state(cluster)


def parameter_group_pending_reboot(cluster_id: str) -> dict[str, Any]:
    """A static parameter changed: ``pending-reboot`` in DBClusterMembers and the instances' groups."""
    _patch_parameter_status()
    _, cluster = _find_cluster(cluster_id)
    setattr(cluster, _PENDING_REBOOT, True)
    return _cluster_state(cluster)


def emit_metrics(cluster_id: str) -> dict[str, Any]:
    """One period of the cluster's CloudWatch metrics, as AWS sends them.

    Running: every metric of ``[paused]`` in ``tfgen.facts`` on the writer (``Role=WRITER``)
    and the capacity per cluster. Paused: only the metrics a paused instance still reports,
    at 0; the engine's metrics are missing (alarms see no data).
    """
    from moto.cloudwatch.models import cloudwatch_backends

    backend, cluster = _find_cluster(cluster_id)
    paused = bool(getattr(cluster, _PAUSED, False))
    zero = facts.paused_zero_metrics()
    names = zero if paused else zero + tuple(facts.raw()["paused"]["engine_metrics"])
    minimum = float((cluster.serverless_v2_scaling_configuration or {}).get("min_capacity") or 0.5)
    running = {"ServerlessDatabaseCapacity": max(minimum, 0.5), "ACUUtilization": 10.0}
    cluster_dims = [{"Name": "DBClusterIdentifier", "Value": cluster.db_cluster_identifier}]
    writer_dims = [*cluster_dims, {"Name": "Role", "Value": "WRITER"}]
    data = [
        {"MetricName": name, "Value": 0.0 if paused else running.get(name, 1.0), "Dimensions": dims}
        for name in names
        for dims in (writer_dims, cluster_dims)
    ]
    cloudwatch_backends[backend.account_id][backend.region_name].put_metric_data(_METRIC_NAMESPACE, data)
    return {**_cluster_state(cluster), "metrics": sorted(names)}


EVENTS: dict[str, Callable[..., dict[str, Any]]] = {
    "minor-upgrade": minor_upgrade,
    "failover": failover,
    "pause": pause,
    "resume": resume,
    "parameter-group-pending-reboot": parameter_group_pending_reboot,
    "emit-metrics": emit_metrics,
}
"""``POST /_tfgen/events/<name>`` → the function run with the JSON body as keyword arguments."""


def run_event(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run the event ``name`` with ``arguments``; the cluster's state afterwards.

    Raises:
        EmulatorError: If there is no such event, the arguments do not fit, or the event
            cannot happen to that cluster.
    """
    event = EVENTS.get(name)
    if event is None:
        raise EmulatorError(f"no emulator event {name!r}; events: {', '.join(EVENTS)}")
    try:
        inspect.signature(event).bind(**arguments)
    except TypeError as exc:
        raise EmulatorError(f"event {name}: {exc}") from exc
    return event(**arguments)


def _patch_parameter_status() -> None:
    """Make moto report ``pending-reboot`` for a cluster so marked (moto hard-codes ``in-sync``)."""
    from moto.rds.models import DBCluster, DBInstance

    def members(self: Any, original: Callable[[Any], Any]) -> Any:
        found: list[dict[str, Any]] = original(self)
        if getattr(self, _PENDING_REBOOT, False):
            found = [{**member, "DBClusterParameterGroupStatus": "pending-reboot"} for member in found]
        return found

    def groups(self: Any, original: Callable[[Any], Any]) -> Any:
        found = original(self)
        if getattr(getattr(self, "cluster", None), _PENDING_REBOOT, False):
            for group in found:
                group.ParameterApplyStatus = "pending-reboot"
        return found

    patch_property(DBCluster, "db_cluster_members", members)
    patch_property(DBInstance, "db_parameter_group_status_list", groups)
