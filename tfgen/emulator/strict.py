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
    if requested:
        resolved = facts.resolve_engine_version(requested)
        current, new = facts.minor_of(cluster.engine_version), facts.minor_of(resolved)
        if current is not None and new is not None and new[0] == current[0] and new < current:
            raise refuse("version_downgrade", current=cluster.engine_version, requested=resolved)
        version = kwargs["engine_version"] = _checked_version(requested, serverless_v2=serverless_v2)
    _check_min_capacity(version, kwargs.get("serverless_v2_scaling_configuration"))
    return original(backend, kwargs)
