"""RDS actions moto lacks and tfgen's modules call: added to moto's RDS responses, AWS's behaviour.

moto 5.2.5 has no RemoveRoleFromDBCluster (``tfgen destroy --local`` of a spec with ``iam_roles``
failed on the association's delete) and no custom endpoints at all (Create/Describe/Modify/Delete
DBClusterEndpoint(s): a spec with ``endpoints`` could not be applied locally), and it keeps global
clusters in its us-east-1 backend but looks for them only in the request's region when a member
leaves (RemoveFromGlobalCluster, DeleteDBCluster), so a secondary in another region never left and
its global cluster could not be deleted (:func:`removed_in_any_region`, :func:`deleted_member_leaves`:
fix ``rds-global-members-in-any-region``). Each action here
follows the RDS API reference (the shapes and error codes of botocore's RDS service model,
``[rds_actions]`` in ``tfgen/facts/aws.toml``) as far as the aws provider reads it. The
endpoints live in a store of each moto RDS backend, so a reset of moto drops them as it drops
clusters. :func:`add_rds_actions` is called by :func:`tfgen.emulator.fixes.apply_moto_fixes`.
"""

from __future__ import annotations

from typing import Any

from tfgen import facts

__all__ = ["add_rds_actions", "deleted_member_leaves", "removed_in_any_region"]

_MARK = "__tfgen_rds_action__"


def add_rds_actions() -> tuple[str, ...]:
    """Add the actions moto lacks to its RDS responses, once; those moto has itself are left alone.

    Returns:
        The names of the fixes in force (``rds-remove-role-from-db-cluster``, ``rds-cluster-endpoints``).
    """
    from moto.rds.responses import RDSResponse

    added: list[str] = []
    for name, actions in (
        ("rds-remove-role-from-db-cluster", (_remove_role_from_db_cluster,)),
        (
            "rds-cluster-endpoints",
            (
                _create_db_cluster_endpoint,
                _describe_db_cluster_endpoints,
                _modify_db_cluster_endpoint,
                _delete_db_cluster_endpoint,
            ),
        ),
    ):
        names = [action.__name__.lstrip("_") for action in actions]
        existing = [RDSResponse.__dict__.get(method) for method in names]
        if any(found is not None and not getattr(found, _MARK, False) for found in existing):
            continue  # moto implements it now
        for method, action in zip(names, actions, strict=True):
            setattr(action, _MARK, True)
            setattr(RDSResponse, method, action)
        added.append(name)
    _tag_endpoints()
    return tuple(added)


# --------------------------------------------------------------------------- global clusters


def _global_clusters(backend: Any) -> list[Any]:
    """The global clusters a member in ``backend``'s region may belong to: moto's RDS responses keep them all
    in the us-east-1 backend (``RDSResponse.global_backend``), whatever the region asked."""
    from moto.rds.models import rds_backends

    keeper = rds_backends[backend.account_id]["us-east-1"]
    return list(
        {id(found): found for found in (*backend.global_clusters.values(), *keeper.global_clusters.values())}.values()
    )


def _leave(backend: Any, cluster_id: str, global_id: str | None = None) -> Any:
    """Take the cluster (identifier or ARN) out of its global cluster(s); the global cluster it left, or None."""
    left = None
    for found in _global_clusters(backend):
        if global_id is not None and found.global_cluster_identifier != global_id.lower():
            continue
        members = [m for m in found.members if cluster_id in (m.db_cluster_identifier, m.db_cluster_arn)]
        for member in members:
            found.members.remove(member)
            left = found
    return left


def removed_in_any_region(
    original: Any, backend: Any, global_cluster_identifier: str, db_cluster_identifier: str
) -> Any:
    """RemoveFromGlobalCluster of a secondary: moto looks only in the request's region, where the global
    cluster is not kept (the aws provider calls it before deleting a member, then waits for it to be gone)."""
    found = original(backend, global_cluster_identifier, db_cluster_identifier)
    return found if found is not None else _leave(backend, db_cluster_identifier, global_cluster_identifier)


def deleted_member_leaves(original: Any, backend: Any, *args: Any, **kwargs: Any) -> Any:
    """DeleteDBCluster of a secondary: it leaves its global cluster, as the primary does in moto already."""
    cluster = original(backend, *args, **kwargs)
    _leave(backend, cluster.db_cluster_arn)
    return cluster


# --------------------------------------------------------------------------- IAM roles


def _remove_role_from_db_cluster(self: Any) -> Any:
    """RemoveRoleFromDBCluster: the association of ``RoleArn`` goes; DBClusterRoleNotFound if there is none."""
    from moto.core.responses import EmptyResult
    from moto.rds.exceptions import DBClusterNotFoundError, InvalidDBClusterStateFault, RDSClientError

    identifier = self.params.get("DBClusterIdentifier")
    role_arn = self.params.get("RoleArn")
    cluster = self.backend.clusters.get(identifier)
    if cluster is None:
        raise DBClusterNotFoundError(identifier)
    if cluster.status != "available":
        raise InvalidDBClusterStateFault(f"DB cluster {identifier} is not in the available state.")
    kept = [role for role in cluster._associated_roles if role.role_arn != role_arn]
    if len(kept) == len(cluster._associated_roles):
        raise RDSClientError(
            "DBClusterRoleNotFound", f"Role {role_arn} is not associated with DB cluster {identifier}."
        )
    cluster._associated_roles = kept
    return EmptyResult()


# --------------------------------------------------------------------------- custom endpoints


def _rules() -> dict[str, str]:
    rules: dict[str, str] = facts.raw()["rds_actions"]
    return rules


def _endpoints(response: Any) -> dict[str, dict[str, Any]]:
    """The custom endpoints of the request's account and region, by identifier (lower case, as AWS compares them)."""
    store: dict[str, dict[str, Any]] = response.backend.__dict__.setdefault("_tfgen_cluster_endpoints", {})
    return store


def _members(response: Any, cluster: Any, key: str) -> list[str]:
    """``StaticMembers`` or ``ExcludedMembers``: instances of the cluster, else DBInstanceNotFound."""
    from moto.rds.exceptions import RDSClientError

    members = [str(member) for member in response.params.get(key) or []]
    for member in members:
        instance = response.backend.databases.get(member)
        if instance is None or getattr(instance, "db_cluster_identifier", None) != cluster.db_cluster_identifier:
            raise RDSClientError(
                "DBInstanceNotFound", f"DBInstance {member} not found in cluster {cluster.db_cluster_identifier}."
            )
    return members


def _endpoint_type(response: Any) -> str:
    from moto.rds.exceptions import RDSClientError

    kind = str(response.params.get("EndpointType", "")).upper()
    if kind not in ("READER", "ANY"):
        raise RDSClientError("InvalidParameterValue", f"Invalid endpoint type {kind!r}: READER or ANY.")
    return kind


def _create_db_cluster_endpoint(self: Any) -> Any:
    """CreateDBClusterEndpoint: a custom endpoint, ``available`` at once (AWS: ``creating`` first)."""
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import DBClusterNotFoundError, RDSClientError

    identifier = str(self.params.get("DBClusterEndpointIdentifier"))
    cluster = self.backend.clusters.get(self.params.get("DBClusterIdentifier"))
    if cluster is None:
        raise DBClusterNotFoundError(self.params.get("DBClusterIdentifier"))
    endpoints = _endpoints(self)
    if identifier.lower() in endpoints:
        raise RDSClientError(_rules()["endpoint_exists"], f"Cluster endpoint {identifier} already exists.")
    endpoint = {
        "DBClusterEndpointIdentifier": identifier,
        "DBClusterIdentifier": cluster.db_cluster_identifier,
        "DBClusterEndpointResourceIdentifier": f"cluster-endpoint-{cluster.url_identifier}-{len(endpoints)}",
        "Endpoint": _rules()["endpoint_address"].format(
            identifier=identifier, cluster_part=cluster.url_identifier, region=cluster.region
        ),
        "Status": "available",
        "EndpointType": "CUSTOM",
        "CustomEndpointType": _endpoint_type(self),
        "StaticMembers": _members(self, cluster, "StaticMembers"),
        "ExcludedMembers": _members(self, cluster, "ExcludedMembers"),
        "DBClusterEndpointArn": f"arn:aws:rds:{cluster.region}:{self.current_account}:cluster-endpoint:{identifier}",
        "_tags": [{"Key": tag["Key"], "Value": tag["Value"]} for tag in self.params.get("Tags") or []],
    }
    endpoints[identifier.lower()] = endpoint
    return ActionResult(_public(endpoint))  # the output shape is the endpoint itself


def _describe_db_cluster_endpoints(self: Any) -> Any:
    """DescribeDBClusterEndpoints: by endpoint, by cluster (DBClusterNotFoundFault for an unknown one), or all."""
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import DBClusterNotFoundError

    cluster_id = self.params.get("DBClusterIdentifier")
    if cluster_id and cluster_id not in self.backend.clusters:
        raise DBClusterNotFoundError(cluster_id)
    endpoint_id = self.params.get("DBClusterEndpointIdentifier")
    found = [
        _public(endpoint)
        for endpoint in _endpoints(self).values()
        if (not endpoint_id or endpoint["DBClusterEndpointIdentifier"].lower() == str(endpoint_id).lower())
        and (not cluster_id or endpoint["DBClusterIdentifier"].lower() == str(cluster_id).lower())
    ]
    return ActionResult({"DBClusterEndpoints": found})


def _found_endpoint(response: Any) -> dict[str, Any]:
    from moto.rds.exceptions import RDSClientError

    identifier = str(response.params.get("DBClusterEndpointIdentifier"))
    endpoint = _endpoints(response).get(identifier.lower())
    if endpoint is None:
        raise RDSClientError(_rules()["endpoint_not_found"], f"Cluster endpoint {identifier} not found.")
    return endpoint


def _modify_db_cluster_endpoint(self: Any) -> Any:
    """ModifyDBClusterEndpoint: a new type or member lists (a list given replaces the old one)."""
    from moto.core.responses import ActionResult

    endpoint = _found_endpoint(self)
    cluster = self.backend.clusters[endpoint["DBClusterIdentifier"]]
    if self.params.get("EndpointType"):
        endpoint["CustomEndpointType"] = _endpoint_type(self)
    for key in ("StaticMembers", "ExcludedMembers"):
        if key in self.params:
            endpoint[key] = _members(self, cluster, key)
    return ActionResult(_public(endpoint))  # the output shape is the endpoint itself


def _delete_db_cluster_endpoint(self: Any) -> Any:
    """DeleteDBClusterEndpoint: gone at once (AWS: ``deleting`` first)."""
    from moto.core.responses import ActionResult

    endpoint = _found_endpoint(self)
    del _endpoints(self)[endpoint["DBClusterEndpointIdentifier"].lower()]
    return ActionResult({**_public(endpoint), "Status": "deleting"})


def _public(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in endpoint.items() if not key.startswith("_")}


class _EndpointTags:
    """A custom endpoint's tags as moto's tagging actions handle resources (get/add/remove)."""

    def __init__(self, endpoint: dict[str, Any]) -> None:
        self.endpoint = endpoint

    def get_tags(self) -> list[dict[str, str]]:
        tags: list[dict[str, str]] = self.endpoint["_tags"]
        return tags

    def add_tags(self, tags: list[dict[str, str]]) -> list[dict[str, str]]:
        keys = {tag["Key"] for tag in tags}
        kept = [tag for tag in self.endpoint["_tags"] if tag["Key"] not in keys]
        self.endpoint["_tags"] = kept + [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]
        return self.get_tags()

    def remove_tags(self, keys: list[str]) -> None:
        self.endpoint["_tags"] = [tag for tag in self.endpoint["_tags"] if tag["Key"] not in keys]


def _tag_endpoints() -> None:
    """ListTagsForResource, AddTagsToResource and RemoveTagsFromResource on a ``cluster-endpoint`` ARN."""
    from moto.rds.models import RDSBackend

    original = RDSBackend.__dict__["_get_resource_for_tagging"]
    if getattr(original, _MARK, False):
        return

    def resource_for_tagging(backend: Any, arn: str) -> Any:
        parts = arn.split(":")
        if len(parts) == 7 and parts[5] == "cluster-endpoint":
            store: dict[str, dict[str, Any]] = backend.__dict__.get("_tfgen_cluster_endpoints", {})
            endpoint = store.get(parts[6].lower())
            return _EndpointTags(endpoint) if endpoint is not None else None
        return original(backend, arn)

    setattr(resource_for_tagging, _MARK, True)
    setattr(RDSBackend, "_get_resource_for_tagging", resource_for_tagging)  # noqa: B010
