"""The emulator's strict mode: moto refuses what AWS refuses, where tfgen depends on it.

moto accepts any engine version, any minimum capacity, and a second cluster with an
identifier in use (it overwrites the first). AWS refuses them, and a module that passes the
emulator must not fail on AWS for those reasons. Every rule reads ``tfgen.facts`` (the
versions AWS offers, the errors it answers with, each with its source); none is written
here. :func:`~tfgen.emulator.fixes.apply_moto_fixes` applies them with moto's other fixes.
moto is imported inside functions only.

Rules (the names :func:`~tfgen.emulator.fixes.apply_moto_fixes` lists):

``rds-strict-create-db-cluster``
    CreateDBCluster of an identifier in use → ``DBClusterAlreadyExistsFault``. For engine
    aurora-postgresql: an unknown major, a retired minor, or (with
    ``ServerlessV2ScalingConfiguration``) a minor below the major's Serverless v2 minimum →
    ``InvalidParameterCombination`` "Cannot find version X for aurora-postgresql"; a major
    alone (``"17"``) or no version is accepted and the cluster reports a concrete minor (the
    major's LTS minor, as AWS reports its default minor); ``MinCapacity`` 0 below the major's
    pause minimum → ``InvalidParameterCombination``.
``rds-strict-create-db-instance``
    A ``db.serverless`` instance in a cluster whose minor is below the Serverless v2 minimum
    → ``InvalidParameterCombination`` (the version error). An identifier in use →
    ``DBInstanceAlreadyExists``: moto 5.2.5 does this already (pinned by a test).
``rds-strict-modify-db-cluster``
    ModifyDBCluster to a lower minor of the same major → ``InvalidParameterCombination``
    "Cannot upgrade aurora-postgresql from X to Y" (a major alone stands for its LTS minor,
    so ``"17"`` on a cluster upgraded past it is refused, as AWS refuses it; issue 45026);
    an unknown or retired version, or ``MinCapacity`` 0 below the pause minimum, as on create.
    A major upgrade (``[major_upgrade]``): a major that is not an upgrade target of the
    cluster's (down, or a skip AWS does not offer) → the same "Cannot upgrade" refusal; no
    ``AllowMajorVersionUpgrade`` → "The AllowMajorVersionUpgrade flag must be present…"; a
    cluster parameter group (given or kept) or ``DBInstanceParameterGroupName`` of another
    family → ``[errors.parameter_group_family]``; instances with a custom parameter group and no
    ``DBInstanceParameterGroupName`` → "The current DB instance parameter group X is custom…".
    ``DBInstanceParameterGroupName`` without a major upgrade → "…can only be specified for a
    major version upgrade" (the aws provider retries without it). After a major upgrade the
    instances report the new version (moto's follow the cluster) and get the new instance group.

``rds-strict-create-db-subnet-group``
    CreateDBSubnetGroup of a name in use → ``DBSubnetGroupAlreadyExists`` (moto 5.2.5 replaces the
    group). A repeated create after an interrupted apply must fail here as on AWS, or the emulator
    hides what :mod:`tfgen.deploy.leftovers` adopts.

DeleteDBCluster of a cluster with deletion protection is refused by moto 5.2.5 itself with
AWS's code and text (pinned by a test).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tfgen import facts

__all__ = ["ENGINE", "refuse", "strict_rules"]

ENGINE = "aurora-postgresql"
SERVERLESS_CLASS = "db.serverless"


def strict_rules() -> list[tuple[str, type, str, Callable[..., Any]]]:
    """(name, moto class, method, fix) for every rule, for ``fixes.patch_method``."""
    from moto.rds.models import RDSBackend

    return [
        ("rds-strict-create-db-cluster", RDSBackend, "create_db_cluster", _create_db_cluster),
        ("rds-strict-create-db-instance", RDSBackend, "create_db_instance", _create_db_instance),
        ("rds-strict-modify-db-cluster", RDSBackend, "modify_db_cluster", _modify_db_cluster),
        ("rds-strict-create-db-subnet-group", RDSBackend, "create_subnet_group", _create_subnet_group),
    ]


def refuse(name: str, **fields: str) -> Exception:
    """moto's client error for AWS's refusal ``[errors.<name>]`` (raise it)."""
    from moto.rds.exceptions import RDSClientError

    refusal = facts.aws_refusal(name, **fields)
    return RDSClientError(refusal.code, refusal.message)


def _find(mapping: dict[str, Any], identifier: str) -> Any:
    """moto keys clusters and instances as given; AWS identifiers are case-insensitive."""
    wanted = identifier.lower()
    return next((value for key, value in mapping.items() if key.lower() == wanted), None)


def _checked_version(version: str, *, serverless_v2: bool) -> str:
    """The concrete minor AWS creates for ``version``.

    Raises:
        RDSClientError: If AWS offers no such version (for Serverless v2, if so asked).
    """
    row = facts.engine_major(version) if version.split(".", 1)[0].isdigit() else None
    resolved = facts.resolve_engine_version(version)
    minor = facts.minor_of(resolved)
    if row is None or minor is None or resolved in row.retired or (serverless_v2 and minor < row.serverless_v2_minimum):
        raise refuse("version_not_found", version=version)
    return resolved


def _check_min_capacity(version: str, scaling: Any) -> None:
    """Refuse ``MinCapacity`` 0 (auto-pause) on a minor below its major's pause minimum."""
    minimum = scaling.get("min_capacity") if scaling else None
    row, minor = facts.engine_major(version), facts.minor_of(version)
    if minimum is None or float(minimum) != 0 or row is None or minor is None:
        return
    if minor < row.pause_minimum:
        raise refuse("pause_not_supported", version=version)


def _create_db_cluster(original: Callable[..., Any], backend: Any, kwargs: Any) -> Any:
    if _find(backend.clusters, kwargs["db_cluster_identifier"]) is not None:
        raise refuse("cluster_exists")
    if kwargs.get("engine") == ENGINE:
        serverless_v1 = kwargs.get("engine_mode") == "serverless"
        version = kwargs.get("engine_version") or facts.default_engine_version("v1" if serverless_v1 else "v2")
        if serverless_v1:
            if int(version.split(".", 1)[0]) not in facts.raw()["serverless_v1"]["majors"]:
                raise refuse("version_not_found", version=version)
        else:
            scaling = kwargs.get("serverless_v2_scaling_configuration")
            version = _checked_version(version, serverless_v2=scaling is not None)
            _check_min_capacity(version, scaling)
        kwargs["engine_version"] = version
    return original(backend, kwargs)


def _create_subnet_group(original: Callable[..., Any], backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    if _find(backend.subnet_groups, name) is not None:
        raise refuse("subnet_group_exists", group=name)
    return original(backend, name, *args, **kwargs)


def _create_db_instance(original: Callable[..., Any], backend: Any, kwargs: Any) -> Any:
    cluster_id = kwargs.get("db_cluster_identifier")
    cluster = _find(backend.clusters, cluster_id) if cluster_id else None
    if (
        cluster is not None
        and cluster.engine == ENGINE
        and kwargs.get("db_instance_class") == SERVERLESS_CLASS
        and _find(backend.databases, kwargs["db_instance_identifier"]) is None
    ):
        _checked_version(cluster.engine_version, serverless_v2=True)
    return original(backend, kwargs)


def _modify_db_cluster(original: Callable[..., Any], backend: Any, kwargs: Any) -> Any:
    cluster = _find(backend.clusters, kwargs["db_cluster_identifier"])
    if cluster is None or cluster.engine != ENGINE or cluster.engine_mode == "serverless":
        return original(backend, kwargs)
    serverless_v2 = cluster.serverless_v2_scaling_configuration is not None
    requested = kwargs.get("engine_version")
    version = cluster.engine_version
    major_upgrade = False
    if requested:
        resolved = facts.resolve_engine_version(requested)
        current, new = facts.minor_of(cluster.engine_version), facts.minor_of(resolved)
        if current is not None and new is not None and new[0] == current[0] and new < current:
            raise refuse("version_downgrade", current=cluster.engine_version, requested=resolved)
        if current is not None and new is not None and new[0] != current[0]:
            _check_major_upgrade(backend, cluster, kwargs, current[0], new[0], resolved)
            major_upgrade = True
        version = kwargs["engine_version"] = _checked_version(requested, serverless_v2=serverless_v2)
    if kwargs.get("db_instance_parameter_group_name") and not major_upgrade:
        raise refuse("instance_parameter_group_not_major")
    _check_min_capacity(version, kwargs.get("serverless_v2_scaling_configuration"))
    result = original(backend, kwargs)
    if major_upgrade:
        _upgrade_instances(backend, cluster, kwargs.get("db_instance_parameter_group_name"))
    return result


def _check_major_upgrade(backend: Any, cluster: Any, kwargs: Any, current: int, new: int, resolved: str) -> None:
    """Refuse a major upgrade AWS refuses: not a target, no AllowMajorVersionUpgrade, a parameter group left behind."""
    if new not in facts.upgrade_targets(current):
        raise refuse("version_downgrade", current=cluster.engine_version, requested=resolved)
    if not kwargs.get("allow_major_version_upgrade"):
        raise refuse("major_upgrade_flag")
    family = f"{ENGINE}{new}"
    group_name = kwargs.get("db_cluster_parameter_group_name") or cluster.parameter_group
    group = backend.db_cluster_parameter_groups.get(group_name) if group_name else None
    if group is not None and group.db_parameter_group_family != family:
        raise refuse("parameter_group_family", group=group_name, family=group.db_parameter_group_family, needed=family)
    wanted = kwargs.get("db_instance_parameter_group_name")
    if wanted:
        instance_group = backend.db_parameter_groups.get(wanted)
        if instance_group is not None and instance_group.family != family:
            raise refuse("parameter_group_family", group=wanted, family=instance_group.family, needed=family)
        return
    for instance in _members(backend, cluster):
        custom = instance.db_parameter_group_name
        if custom and not custom.startswith("default."):
            raise refuse("custom_instance_parameter_group", group=custom)


def _members(backend: Any, cluster: Any) -> list[Any]:
    wanted = cluster.db_cluster_identifier.lower()
    return [
        d for d in backend.databases.values() if (getattr(d, "db_cluster_identifier", None) or "").lower() == wanted
    ]


def _upgrade_instances(backend: Any, cluster: Any, instance_group: str | None) -> None:
    """AWS upgrades every instance with the cluster (moto's follow its engine version) and gives them the new group."""
    if instance_group:
        for instance in _members(backend, cluster):
            instance.db_parameter_group_name = instance_group
