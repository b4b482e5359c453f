"""moto's fidelity fixes: the one place where the emulator is corrected to answer as AWS does.

moto is not AWS: :func:`apply_moto_fixes` patches the gaps that make terraform misbehave,
and every server tfgen starts has them applied. moto is imported inside functions only,
so importing this module is cheap and has no side effects.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
from collections.abc import Callable
from typing import Any

from tfgen.emulator.rds_actions import add_rds_actions, deleted_member_leaves, removed_in_any_region
from tfgen.emulator.strict import strict_rules

__all__ = ["apply_moto_fixes", "generated_password", "patch_method", "patch_property"]

_FIX_MARK = "__tfgen_moto_fix__"


def apply_moto_fixes() -> tuple[str, ...]:
    """Patch moto's fidelity gaps that make terraform misbehave; idempotent.

    This is the one place moto is corrected. Each fix patches the smallest piece of
    moto that produces the wrong answer, and is skipped (not listed) if that piece no
    longer exists in the installed moto.

    Fixes:
        ``rds-scaling-configuration-info``: moto 5.2.5 returns an empty
        ``ScalingConfigurationInfo`` element in DescribeDBClusters (and in the
        Create/Modify/Delete responses) for every cluster. AWS returns it only for
        engine mode ``serverless`` (Aurora Serverless v1); for a provisioned cluster,
        Serverless v2 included, the element is absent. With the empty element the aws
        provider stores an empty ``scaling_configuration`` block, and every later plan
        of a Serverless v2 cluster shows an update. The patched
        ``DBCluster.scaling_configuration_info`` property returns nothing unless the
        engine mode is ``serverless``.

        ``ec2-security-group-rule-description``: moto 5.2.5 reads a security group
        rule's description only from its CIDR range, so DescribeSecurityGroupRules
        drops the ``Description`` of a rule that references a security group. AWS
        returns it for every kind of rule; without it every plan shows
        ``+ description`` on an ``aws_vpc_security_group_ingress_rule`` with
        ``referenced_security_group_id``. The patched ``SecurityGroupRule.description``
        falls back to the description stored with the referenced group.

        ``iam-aws-managed-policies``: every AWS account has AWS's managed policies
        (``arn:aws:iam::aws:policy/...``); moto loads them only when configured to. The
        module attaches ``service-role/AmazonRDSEnhancedMonitoringRole`` to its
        enhanced-monitoring role, which fails with NoSuchEntity without them. The fix
        turns moto's ``iam.load_aws_managed_policies`` setting on (IAM backends created
        afterwards have the policies; the emulator resets moto when it starts). moto
        then parses all ~1,600 policies from JSON for every new IAM backend: after
        every reset, twice with ``/moto-api/reset`` (it re-creates each backend, then
        drops it), about a second per test on a loaded machine. So the patched
        ``IAMBackend._init_aws_policies`` parses them once per account and gives each
        new backend its own copies (own attachment counts, tags and versions: nothing
        one test does to them is seen after a reset).

        ``rds-performance-insights``: moto 5.2.5 drops ``EnablePerformanceInsights``
        of CreateDBCluster/CreateDBInstance and never returns
        ``PerformanceInsightsEnabled``; AWS stores and returns it. The aws provider then
        reads ``false`` and every plan of a module with Performance Insights on shows an
        update. The fix keeps the flag given at creation (Modify* already stores it as
        ``enable_performance_insights``) and adds the ``performance_insights_enabled``
        property moto's serializer reads.

        ``rds-performance-insights-kms-key``: moto 5.2.5 drops an instance's
        ``PerformanceInsightsKMSKeyId``; AWS stores and returns it (DescribeDBInstances), and the
        aws provider reads it into ``performance_insights_kms_key_id``, so every plan of a module
        with its own KMS key (``create_kms_key``) showed the key added to each instance. The
        patched ``DBInstance.__init__`` keeps the key given with Performance Insights on.

        ``rds-modify-iam-database-authentication``: moto 5.2.5 stores a ModifyDBCluster's
        ``EnableIAMDatabaseAuthentication`` as ``enable_iam_database_authentication`` but
        reports ``IAMDatabaseAuthenticationEnabled`` from the flag given at creation, so the
        change never shows (and the aws provider waits on it). AWS applies it. The fix reports
        the modified flag once there is one. A restored cluster (which the provider creates
        without the flag, then modifies) needs it.

        ``rds-delete-automated-cluster-snapshots``: moto 5.2.5 keeps a deleted
        cluster's automated snapshot (``rds:<id>-<YYYY-MM-DD-HH-MM>``). AWS deletes
        automated backups with the cluster (``DeleteAutomatedBackups`` defaults to
        true), so a cluster destroyed and created again within the same minute (a
        replacement, or destroy then apply) fails in moto with
        DBClusterSnapshotAlreadyExistsFault. The patched
        ``RDSBackend.delete_db_cluster`` removes them, as AWS does.

        ``rds-managed-secret-credentials``: moto 5.2.5 puts ``{"username": "admin",
        "password": "P@55w0rd!"}`` into the secret of ``ManageMasterUserPassword``, whatever
        the master user. AWS puts the cluster's master username and a password it generates
        (the secret ``rds!cluster-…``), which the runbook reads and the emulator's database
        uses. The patched ``MasterUserSecret._generate_secret_string`` does the same.

        ``rds-aurora-storage-type``: moto 5.2.5 fails CreateDBCluster with a ``KeyError``
        (an HTTP 500) for the Aurora storage types ``aurora`` and ``aurora-iopt1``
        (``StorageType``, the spec's ``storage_type``): it looks the allocated storage up in
        a table of EBS types. Aurora storage grows by itself; moto reports 1 for the EBS
        types of an Aurora engine, and the patched ``DBCluster.default_allocated_storage``
        does the same for Aurora's own types.

        ``rds-parameter-source-user``: moto 5.2.5 stores the parameters of
        ModifyDBParameterGroup as given, so DescribeDBParameters returns them without
        ``Source``. AWS answers ``Source: user`` for a parameter the user set; the aws
        provider (parameter_group.go resourceParameterGroupRead) keeps only those, so
        without it an instance parameter group reads back empty and every plan sets its
        parameters again (a replaced group too: after a major upgrade's new family). The
        patched ``DBParameterGroup.update_parameters`` marks them ``user``.

        ``appautoscaling-tags``: moto 5.2.5 has no ListTagsForResource, TagResource or
        UntagResource for Application Auto Scaling (NotImplementedError, an HTTP 500). The
        aws provider lists the tags of every ``aws_appautoscaling_target`` it reads and
        retries a 500, so the reader autoscaling target of ``serverless.readers.autoscaling``
        never finished creating. AWS keeps tags per scalable target ARN; the fix adds the
        three actions over a per-backend store (empty after a reset, as moto's backends).

        ``rds-instance-subnet-group-of-cluster``: moto 5.2.5 gives an instance created in a
        cluster without ``DBSubnetGroupName`` no DB subnet group. AWS puts an Aurora
        instance in its cluster's DB subnet group, and DescribeDBInstances names it; the
        aws provider reads it into ``db_subnet_group_name``, which forces a new instance,
        so an instance made by hand (``tfgen import``) would plan a replacement. The
        patched ``RDSBackend.create_db_instance`` takes the cluster's group.

        ``rds-managed-password-kept``: moto 5.2.5 makes a new secret whenever ModifyDBCluster
        carries ``ManageMasterUserPassword=true``, even for a cluster whose password RDS
        manages already. The aws provider sends it after an import (the state has no
        ``manage_master_user_password`` yet), and the next plan then sees the secret's ARN
        change. AWS turns management on; it does not replace a secret that exists (a new
        password takes ``RotateMasterUserPassword``; UNVERIFIED: the API reference describes
        turning it on and off only). The patched ``RDSBackend.modify_db_cluster`` drops the
        flag for such a cluster.

        ``rds-remove-role-from-db-cluster``, ``rds-cluster-endpoints``: moto 5.2.5 has no
        RemoveRoleFromDBCluster and no custom endpoints (Create/Describe/Modify/Delete
        DBClusterEndpoint(s)); :mod:`tfgen.emulator.rds_actions` adds them as the RDS API
        reference describes them.

        ``rds-global-members-in-any-region``: moto 5.2.5 keeps every global cluster in its
        us-east-1 backend but, when a member leaves (RemoveFromGlobalCluster, DeleteDBCluster),
        looks only in the request's region: a secondary in another region stays a member, the
        provider waits for it to leave, and DeleteGlobalCluster fails. AWS removes it (a
        global cluster is not regional). The patched ``RDSBackend`` methods look in both.

        ``secretsmanager-cancel-managed-rotation``: moto 5.2.5 refuses CancelRotateSecret for
        a secret without a rotation Lambda. A secret another service owns (RDS's
        ``rds!cluster-…``) rotates without one (managed rotation), and AWS turns its rotation
        off: destroying ``aws_secretsmanager_secret_rotation`` calls CancelRotateSecret, so
        without the fix a module with ``rotation_days`` could not be destroyed. The patched
        ``SecretsManagerBackend.cancel_rotate_secret`` turns rotation off for such a secret
        (``[rotation.rds_managed]`` in the facts).

        ``rds-strict-create-db-cluster``, ``rds-strict-create-db-instance``,
        ``rds-strict-modify-db-cluster``: the strict mode. moto 5.2.5 accepts any engine
        version and minimum capacity, and a CreateDBCluster of an identifier in use
        overwrites the cluster. AWS refuses an unknown, retired or (Serverless v2) too old
        version, ``MinCapacity`` 0 below the pause minimum, a downgrade, and a second
        cluster of the same name; it reports a concrete minor for a major alone. The rules
        read ``tfgen.facts``; each is described in :mod:`tfgen.emulator.strict`.

    Returns:
        The names of the fixes in force after the call.
    """
    # moto is imported here, never at module import time (it is slow and heavy).
    from moto.core.config import default_user_config
    from moto.ec2.models.security_groups import SecurityGroupRule
    from moto.rds.models import DBCluster

    def scaling_configuration_info(self: Any, original: Callable[[Any], Any]) -> Any:
        if getattr(self, "engine_mode", None) != "serverless":
            return None  # AWS omits ScalingConfigurationInfo
        return original(self)

    def description(self: Any, original: Callable[[Any], Any]) -> Any:
        found = original(self)
        if found is None and isinstance(getattr(self, "source_group", None), dict):
            found = self.source_group.get("Description")
        return found

    def iam_database_authentication(self: Any, original: Callable[[Any], Any]) -> Any:
        modified = self.__dict__.get("enable_iam_database_authentication")
        return bool(modified) if modified is not None else original(self)

    fixes = [
        ("rds-scaling-configuration-info", DBCluster, "scaling_configuration_info", scaling_configuration_info),
        (
            "rds-modify-iam-database-authentication",
            DBCluster,
            "iam_database_authentication_enabled",
            iam_database_authentication,
        ),
        ("ec2-security-group-rule-description", SecurityGroupRule, "description", description),
    ]
    applied = [name for name, cls, attr, fix in fixes if patch_property(cls, attr, fix)]
    from moto.rds.models import DBInstance, RDSBackend

    if patch_method(RDSBackend, "delete_db_cluster", _delete_automated_snapshots_too):
        applied.append("rds-delete-automated-cluster-snapshots")
    from moto.rds.models import MasterUserSecret

    if patch_method(MasterUserSecret, "_generate_secret_string", _managed_secret_credentials):
        applied.append("rds-managed-secret-credentials")
    if _aurora_storage_types(DBCluster):
        applied.append("rds-aurora-storage-type")
    from moto.rds.models import DBParameterGroup

    if patch_method(DBParameterGroup, "update_parameters", _parameters_set_by_the_user):
        applied.append("rds-parameter-source-user")
    if patch_method(RDSBackend, "create_db_instance", _instance_in_cluster_subnet_group):
        applied.append("rds-instance-subnet-group-of-cluster")
    if patch_method(RDSBackend, "modify_db_cluster", _managed_password_kept):
        applied.append("rds-managed-password-kept")
    from moto.secretsmanager.models import SecretsManagerBackend

    if patch_method(SecretsManagerBackend, "cancel_rotate_secret", _managed_rotation_cancelled):
        applied.append("secretsmanager-cancel-managed-rotation")
    applied.extend(name for name, cls, method, fix in strict_rules() if patch_method(cls, method, fix))
    if _application_autoscaling_tags():
        applied.append("appautoscaling-tags")
    if all(
        _remember_flag(cls, "enable_performance_insights", "performance_insights_enabled")
        for cls in (DBCluster, DBInstance)
    ):
        applied.append("rds-performance-insights")
    if patch_method(DBInstance, "__init__", _performance_insights_key_kept):
        applied.append("rds-performance-insights-kms-key")
    applied.extend(add_rds_actions())
    if patch_method(RDSBackend, "remove_from_global_cluster", removed_in_any_region) and patch_method(
        RDSBackend, "delete_db_cluster", deleted_member_leaves
    ):
        applied.append("rds-global-members-in-any-region")
    from moto.iam.models import IAMBackend

    default_user_config.setdefault("iam", {})["load_aws_managed_policies"] = True
    patch_method(IAMBackend, "_init_aws_policies", _aws_policies_parsed_once)  # speed only: optional
    applied.append("iam-aws-managed-policies")
    return tuple(applied)


def patch_property(cls: type, attr: str, fix: Callable[[Any, Callable[[Any], Any]], Any]) -> bool:
    """Wrap the property ``cls.attr`` as ``fix(self, original_getter)``, once.

    Returns:
        Whether the fix is in force (False if moto no longer has that property).
    """
    current = cls.__dict__.get(attr)
    if not isinstance(current, property) or current.fget is None:
        return False
    if getattr(current.fget, _FIX_MARK, False):
        return True
    original = current.fget

    def getter(self: Any) -> Any:
        return fix(self, original)

    setattr(getter, _FIX_MARK, True)
    getter.__doc__ = f"Patched by tfgen.emulator.fixes.apply_moto_fixes. {original.__doc__ or ''}"
    setattr(cls, attr, property(getter))
    return True


def _delete_automated_snapshots_too(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    cluster = original(backend, *args, **kwargs)
    for snapshot_id, snapshot in list(backend.cluster_snapshots.items()):
        if (
            snapshot.snapshot_type == "automated"
            and snapshot.cluster.db_cluster_identifier == cluster.db_cluster_identifier
        ):
            del backend.cluster_snapshots[snapshot_id]
    return cluster


def _performance_insights_key_kept(original: Callable[..., Any], instance: Any, *args: Any, **kwargs: Any) -> None:
    original(instance, *args, **kwargs)
    if kwargs.get("enable_performance_insights") and kwargs.get("performance_insights_kms_key_id"):
        instance.performance_insights_kms_key_id = kwargs["performance_insights_kms_key_id"]


def _instance_in_cluster_subnet_group(original: Callable[..., Any], backend: Any, db_kwargs: dict[str, Any]) -> Any:
    cluster = backend.clusters.get(db_kwargs.get("db_cluster_identifier") or "")
    if (
        cluster is not None
        and not db_kwargs.get("db_subnet_group_name")
        and cluster.db_subnet_group_name in backend.subnet_groups
    ):
        db_kwargs = {**db_kwargs, "db_subnet_group_name": cluster.db_subnet_group_name}
    return original(backend, db_kwargs)


def _managed_password_kept(original: Callable[..., Any], backend: Any, kwargs: dict[str, Any]) -> Any:
    cluster = backend.clusters.get(kwargs.get("db_cluster_identifier") or "")
    if kwargs.get("manage_master_user_password") and getattr(cluster, "master_user_secret", None) is not None:
        kwargs = {
            k: v for k, v in kwargs.items() if k not in ("manage_master_user_password", "master_user_secret_kms_key_id")
        }
    return original(backend, kwargs)


def _managed_rotation_cancelled(original: Callable[..., Any], backend: Any, secret_id: str) -> Any:
    secret = backend.secrets.get(secret_id) if backend._is_valid_identifier(secret_id) else None
    if secret is not None and not secret.rotation_lambda_arn and getattr(secret, "owning_service", None):
        if secret.is_deleted():
            return original(backend, secret_id)  # moto's own answer for a deleted secret
        secret.rotation_enabled = False  # managed rotation: no Lambda to require
        return secret.to_short_dict()
    return original(backend, secret_id)


_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"
"""What RDS's generated passwords are made of: printable ASCII but ``/``, ``@``, ``"``, ``'``, ``\\`` and space."""


def generated_password(length: int = 32) -> str:
    """A password as RDS generates one for a managed secret."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def _managed_secret_credentials(original: Callable[..., Any], secret: Any) -> str:
    return json.dumps({"username": secret.resource.master_username, "password": generated_password()})


_AWS_POLICIES: dict[tuple[str, str], list[Any]] = {}
"""moto's AWS managed policies per (account, partition), as first parsed; never handed out."""


def _aurora_storage_types(cluster: type) -> bool:
    """Patch ``cluster.default_allocated_storage`` (a static method) for Aurora's storage types, once."""
    current = cluster.__dict__.get("default_allocated_storage")
    if not isinstance(current, staticmethod):
        return False
    if getattr(current.__func__, _FIX_MARK, None):
        return True
    original = current.__func__

    def allocated(engine: str, storage_type: str) -> Any:
        if engine.startswith("aurora") and storage_type in ("aurora", "aurora-iopt1"):
            return 1
        return original(engine, storage_type)

    setattr(allocated, _FIX_MARK, True)
    setattr(cluster, "default_allocated_storage", staticmethod(allocated))  # noqa: B010
    return True


def _parameters_set_by_the_user(original: Callable[..., Any], group: Any, parameters: Any) -> Any:
    return original(group, [{**parameter, "Source": "user"} for parameter in parameters])


def _aws_policies_parsed_once(original: Callable[..., Any], backend: Any) -> list[Any]:
    """The AWS managed policies for a new IAM backend: fresh copies of the ones parsed first."""
    key = (backend.account_id, backend.region_name)
    pristine = _AWS_POLICIES.get(key)
    if pristine is None:
        pristine = original(backend)
        if not pristine:
            return list(pristine)  # loading is off: nothing to keep
        _AWS_POLICIES[key] = pristine
    return [_copy_policy(policy) for policy in pristine]


def _copy_policy(policy: Any) -> Any:
    """A copy of a moto ``AWSManagedPolicy`` sharing only immutable values (strings, dates)."""
    cls: Any = type(policy)
    clone = cls.__new__(cls)  # moto's model __new__ tracks the instance, as for a parsed one
    clone.__dict__.update(policy.__dict__)
    clone.tags = copy.deepcopy(policy.tags)
    clone.versions = [copy.copy(version) for version in policy.versions]
    return clone


def _application_autoscaling_tags() -> bool:
    """Give moto's Application Auto Scaling the tagging actions AWS has, once.

    Returns:
        Whether the fix is in force (False if moto now has ListTagsForResource itself).
    """
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as Response

    existing = Response.__dict__.get("list_tags_for_resource")
    if existing is not None:
        return bool(getattr(existing, _FIX_MARK, False))

    def store(response: Any) -> dict[str, dict[str, str]]:
        tags: dict[str, dict[str, str]] = response.applicationautoscaling_backend.__dict__.setdefault("_tfgen_tags", {})
        return tags

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": store(self).get(self._get_param("ResourceARN"), {})})

    def tag_resource(self: Any) -> str:
        store(self).setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self: Any) -> str:
        tags = store(self).get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
        return "{}"

    for action in (list_tags_for_resource, tag_resource, untag_resource):
        setattr(action, _FIX_MARK, True)
        setattr(Response, action.__name__, action)
    return True


def patch_method(cls: type, name: str, fix: Callable[..., Any]) -> bool:
    """Wrap the method ``cls.name`` as ``fix(original, self, *args, **kwargs)``, once.

    Returns:
        Whether the fix is in force (False if moto no longer has that method).
    """
    current = cls.__dict__.get(name)
    if not callable(current):
        return False
    wrapper: Any = current
    while wrapper is not None:  # this fix may be under another one (the strict mode and the databases' hooks)
        if getattr(wrapper, _FIX_MARK, None) is fix:
            return True
        wrapper = getattr(wrapper, "__tfgen_original__", None)
    original = current

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return fix(original, self, *args, **kwargs)

    setattr(method, _FIX_MARK, fix)
    setattr(method, "__tfgen_original__", original)  # noqa: B010
    method.__doc__ = f"Patched by tfgen.emulator.fixes.apply_moto_fixes. {original.__doc__ or ''}"
    setattr(cls, name, method)
    return True


def _remember_flag(cls: type, kwarg: str, attr: str) -> bool:
    """Keep the boolean keyword ``kwarg`` of ``cls.__init__`` and expose it as property ``attr``, once.

    Returns:
        Whether the fix is in force (False if moto now has ``attr`` itself).
    """
    init = cls.__dict__["__init__"]
    if getattr(init, _FIX_MARK, False):
        return True
    if attr in cls.__dict__:
        return False  # a newer moto models it: nothing to fix

    def patched_init(self: Any, *args: Any, **kwargs: Any) -> None:
        value = kwargs.get(kwarg)
        init(self, *args, **kwargs)
        setattr(self, kwarg, bool(value))

    def getter(self: Any) -> bool:
        return bool(getattr(self, kwarg, False))

    setattr(patched_init, _FIX_MARK, True)
    cls.__init__ = patched_init  # type: ignore[misc]
    setattr(cls, attr, property(getter))
    return True
