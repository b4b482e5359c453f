"""moto's Aurora PostgreSQL clusters backed by real databases (:mod:`tfgen.emulator.databases`).

:func:`attach` hooks moto's RDS backend so that, while a :class:`~tfgen.emulator.databases.Databases`
is attached:

* CreateDBCluster (and RestoreDBClusterFromSnapshot, which moto runs through it) of engine
  ``aurora-postgresql`` starts a server with the cluster's master user, its password (the
  request's ``MasterUserPassword``, else the RDS-managed secret's) and its database; the
  cluster's ``Endpoint``, ``ReaderEndpoint`` and ``Port`` (and its instances' ``Endpoint``)
  then name that server. A server
  that cannot start fails the request (``InternalFailure``) and leaves no cluster.
* DeleteDBCluster stops the server and removes its data. A manual or final snapshot keeps a
  dump of its database (until the emulator stops), and RestoreDBClusterFromSnapshot loads it
  into the new cluster's server: a restore really restores the data. RestoreDBClusterToPointInTime
  copies the source cluster's data as it is now (the emulator keeps no history: any time in the
  past, and the latest restorable time, restore the current data).
* ModifyDBCluster with ``MasterUserPassword``, ``RotateMasterUserPassword`` or
  ``ManageMasterUserPassword`` sets the new password on the server (``ALTER ROLE``); a
  rotation puts a new password into the managed secret first, as RDS does.
* The lifecycle events pause and resume stop and start the server (see :func:`pause`).

:func:`detach` (the emulator stopping) and :func:`release_all` (a reset) stop every server.
moto is imported inside functions only.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from tfgen.emulator.databases import Databases
from tfgen.emulator.fixes import generated_password, patch_method, patch_property
from tfgen.emulator.strict import ENGINE
from tfgen.errors import EmulatorError

__all__ = ["attach", "attached", "detach", "pause", "release_all", "resume"]

_KEY = "_tfgen_database"
_HOST = "_tfgen_database_host"
_DUMP = "_tfgen_database_dump"
_ACTIVE: list[Databases] = []
_LOCK = threading.Lock()


def attach(databases: Databases) -> None:
    """Back every Aurora PostgreSQL cluster created from now on with a server of ``databases``."""
    _install()
    with _LOCK:
        _ACTIVE[:] = [databases]


def attached() -> Databases | None:
    """The databases attached, if any."""
    return _ACTIVE[0] if _ACTIVE else None


def detach() -> None:
    """Stop every server and stop backing clusters (their records, if any, keep moto's names)."""
    with _LOCK:
        databases = _ACTIVE.pop() if _ACTIVE else None
    if databases is not None:
        databases.close()


def release_all() -> None:
    """Stop every server and remove its data (a reset: moto forgets every cluster)."""
    databases = attached()
    if databases is not None:
        for key in databases.server_keys():
            databases.remove(key)


def pause(cluster: Any) -> None:
    """Auto-pause: the server stops, so connections are refused until :func:`resume`.

    Aurora resumes a paused cluster when a connection arrives; the emulator resumes it with
    the ``resume`` event.
    """
    databases, key = attached(), getattr(cluster, _KEY, None)
    if databases is not None and key is not None:
        databases.pause(key)


def resume(cluster: Any) -> None:
    """The paused cluster's server starts again on the same address and port.

    Raises:
        EmulatorError: If it cannot start.
    """
    databases, key = attached(), getattr(cluster, _KEY, None)
    if databases is not None and key is not None:
        databases.resume(key)


def _install() -> None:
    from moto.rds.models import DBCluster, DBInstance, MasterUserSecret, RDSBackend

    patch_method(RDSBackend, "create_db_cluster", _create_db_cluster)
    patch_method(RDSBackend, "delete_db_cluster", _delete_db_cluster)
    patch_method(RDSBackend, "modify_db_cluster", _modify_db_cluster)
    patch_method(MasterUserSecret, "rotate_secret", _rotate_secret)
    patch_method(RDSBackend, "create_db_cluster_snapshot", _create_db_cluster_snapshot)
    patch_method(RDSBackend, "restore_db_cluster_from_snapshot", _restore_db_cluster_from_snapshot)
    patch_method(RDSBackend, "restore_db_cluster_to_point_in_time", _restore_db_cluster_to_point_in_time)
    patch_property(DBCluster, "endpoint", _endpoint)
    patch_property(DBCluster, "reader_endpoint", _endpoint)
    patch_property(DBInstance, "address", _instance_address)


def _endpoint(cluster: Any, original: Callable[[Any], Any]) -> Any:
    return getattr(cluster, _HOST, None) or original(cluster)


def _instance_address(instance: Any, original: Callable[[Any], Any]) -> Any:
    """An instance of a cluster with a database answers at it too (its port is the cluster's already)."""
    return getattr(getattr(instance, "cluster", None), _HOST, None) or original(instance)


def _create_db_cluster(original: Callable[..., Any], backend: Any, kwargs: Any) -> Any:
    cluster = original(backend, kwargs)
    databases = attached()
    if databases is None or cluster.engine != ENGINE:
        return cluster
    key = f"{backend.account_id}/{backend.region_name}/{cluster.db_cluster_identifier}"
    password = kwargs.get("master_user_password") or _secret_password(cluster)
    try:
        if not password:
            raise EmulatorError("the cluster has no master password")
        server = databases.create(
            key,
            major=_major(cluster.engine_version),
            port=int(cluster.port),
            user=cluster.master_username,
            password=password,
            dbname=cluster.database_name,
        )
    except EmulatorError as error:
        from moto.rds.exceptions import RDSClientError

        backend.clusters.pop(cluster.db_cluster_identifier, None)
        if getattr(cluster, "manage_master_user_password", False):
            cluster.master_user_secret.delete_secret()
        raise RDSClientError("InternalFailure", f"tfgen emulator: no database for the cluster: {error}") from None
    setattr(cluster, _KEY, key)
    setattr(cluster, _HOST, server.host)
    cluster.port = server.port
    return cluster


def _delete_db_cluster(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    cluster = original(backend, *args, **kwargs)
    databases, key = attached(), getattr(cluster, _KEY, None)
    if databases is not None and key is not None:
        databases.remove(key)
    return cluster


def _modify_db_cluster(original: Callable[..., Any], backend: Any, kwargs: Any) -> Any:
    password = kwargs.get("master_user_password")
    managed = bool(kwargs.get("manage_master_user_password")) or bool(kwargs.get("rotate_master_user_password"))
    identifier = kwargs.get("new_db_cluster_identifier") or kwargs["db_cluster_identifier"]
    result = original(backend, kwargs)  # moto rewrites kwargs
    databases = attached()
    if databases is None or not (password or managed):
        return result
    cluster = backend.clusters.get(identifier)
    key = getattr(cluster, _KEY, None)
    if key is not None:
        new = password or _secret_password(cluster)
        if new:
            databases.set_password(key, cluster.master_username, new)
    return result


def _create_db_cluster_snapshot(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    """A manual or final snapshot keeps a dump of the database (automated ones, taken at creation, none)."""
    snapshot = original(backend, *args, **kwargs)
    databases, key = attached(), getattr(snapshot.cluster, _KEY, None)
    if databases is not None and key is not None and snapshot.snapshot_type != "automated":
        setattr(snapshot, _DUMP, databases.dump(key, snapshot.db_cluster_snapshot_identifier))
    return snapshot


def _restore_db_cluster_from_snapshot(
    original: Callable[..., Any], backend: Any, from_snapshot_id: str, overrides: Any
) -> Any:
    """The restored cluster's new database gets the snapshot's data."""
    snapshot = backend.cluster_snapshots.get(from_snapshot_id)
    dump = getattr(snapshot, _DUMP, None)
    cluster = original(backend, from_snapshot_id, overrides)
    databases, key = attached(), getattr(cluster, _KEY, None)
    if databases is not None and key is not None and dump is not None:
        databases.restore(key, dump)
    return cluster


def _restore_db_cluster_to_point_in_time(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    """The restored cluster's new database gets a copy of the source's data (its current state)."""
    source_id = kwargs.get("source_db_cluster_identifier")
    source = backend.describe_db_clusters(db_cluster_identifier=source_id)[0] if source_id else None
    databases, source_key = attached(), getattr(source, _KEY, None)
    dump = None
    if databases is not None and source_key is not None:
        dump = databases.dump(source_key, f"{kwargs.get('db_cluster_identifier')}-point-in-time")
    cluster = original(backend, *args, **kwargs)
    key = getattr(cluster, _KEY, None)
    if databases is not None and key is not None and dump is not None:
        databases.restore(key, dump)
    return cluster


def _rotate_secret(original: Callable[..., Any], secret: Any) -> None:
    """RDS's rotation of a managed secret: a new password in the secret, then on the database."""
    credentials = {"username": secret.resource.master_username, "password": generated_password()}
    secret.secretsmanager.put_secret_value(
        secret_id=secret.secret.arn,
        secret_string=json.dumps(credentials),
        secret_binary=None,
        client_request_token=str(uuid.uuid4()),
        version_stages=["AWSCURRENT"],
    )
    secret._status = "rotating"


def _secret_password(cluster: Any) -> str | None:
    """The password in the cluster's RDS-managed secret, if it has one."""
    managed = getattr(cluster, "master_user_secret", None) if cluster is not None else None
    if managed is None:
        return None
    secret = managed.secret
    current = secret.versions.get(secret.default_version_id) or {}
    try:
        password = json.loads(current.get("secret_string") or "{}").get("password")
    except (ValueError, AttributeError):
        return None
    return str(password) if password else None


def _major(version: str | None) -> int | None:
    head = (version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else None
