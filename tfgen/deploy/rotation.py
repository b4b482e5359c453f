"""``tfgen rotate``: a new master password, set on the cluster and in its secret together.

``write_only``: the password's version (:func:`tfgen.deploy.inflight.password_version`, kept in
the working directory) is increased and the spec applied: the ephemeral password of that run
is written to the cluster (``master_password_wo``) and to the module's secret
(``secret_string_wo``) in one apply. A cancelled apply puts the version back; a failed one keeps
it (the next ``apply`` or ``rotate`` sets a new password on both).

``rds_managed``: RDS owns the secret and its rotation schedule; ``rotate`` asks RDS to rotate it
now (``ModifyDBCluster`` with ``RotateMasterUserPassword``, ``[ops.rotate_master_user_password]``
of ``tfgen/facts/aws.toml``): a new password in the secret and on the cluster. ``random``: the password is a resource of the state, not rotated
by tfgen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tfgen import facts
from tfgen.deploy import inflight, operations, recovery, workdir
from tfgen.deploy.operations import Confirm, ConfirmMigration, DeployOptions, Outcome, ReporterFactory
from tfgen.errors import TfgenError, UsageError


class RotationError(TfgenError):
    """Raised when AWS refuses or cannot be asked to rotate a managed secret."""


@dataclass(frozen=True)
class Rotation:
    """What ``rotate`` did."""

    source: str
    """The spec's ``master_password.source``."""
    outcome: Outcome | None = None
    """write_only: the apply (its ``result`` None when cancelled)."""
    version: int | None = None
    """write_only: the new ``master_password_version``."""
    secret_arn: str | None = None
    """rds_managed: the secret whose rotation started."""


def rotate(
    spec_path: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm: Confirm,
    confirm_migration: ConfirmMigration | None = None,
) -> Rotation:
    """Rotate the master password of the cluster deployed from ``spec_path``.

    Raises:
        UsageError: If nothing was deployed from the spec, or its password source is ``random``.
        RotationError: rds_managed: if the cluster or its secret cannot be found, or AWS refuses.
        SpecError, TerraformError, EmulatorError: As their names say.
    """
    loaded = operations.load(spec_path, options.environment)
    spec = loaded.spec
    source = spec.master_password.source
    directory = options.workdir or workdir.default_workdir(options.base_dir, spec.name)
    if not (directory / "main.tf").is_file():
        raise UsageError(f"{directory}: nothing was deployed from {loaded.label}", hint="tfgen apply first")
    if source == "rds_managed":
        with operations.emulator_endpoint(options) as endpoint:
            return Rotation(source, secret_arn=_rotate_managed(spec.name, spec.region, endpoint))
    if source != "write_only":
        raise UsageError(
            f"{loaded.label}: master_password.source {source} keeps the password in the Terraform state; "
            "tfgen rotate needs write_only or rds_managed",
            hint="master_password.source: write_only keeps it out of the state and rotates with tfgen rotate",
        )
    before = inflight.password_version(directory)
    version = inflight.bump_password_version(directory)
    options.notify(f"rotating the write-only master password: master_password_version {before} → {version}")
    try:
        outcome = operations.apply(spec_path, options, reporters, confirm, confirm_migration)
    except UsageError:  # refused before anything was applied
        inflight.set_password_version(directory, before)
        raise
    if outcome.result is None:  # cancelled: nothing changed
        inflight.set_password_version(directory, before)
    return Rotation(source, outcome, version)


def _rotate_managed(cluster: str, region: str, endpoint: str | None) -> str:
    """RDS rotates the cluster's managed secret now (``[ops.rotate_master_user_password]``); the secret's ARN."""
    import boto3  # heavy: only rotate of a managed secret needs it
    from botocore.exceptions import BotoCoreError, ClientError

    options = recovery.client_options(region, endpoint)
    rds = boto3.session.Session().client("rds", **options)
    fact = facts.raw()["ops"]["rotate_master_user_password"]
    try:
        found = rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"]
        arn = ((found[0] if found else {}).get("MasterUserSecret") or {}).get("SecretArn")
        if not arn:
            raise RotationError(f"cluster {cluster} has no RDS-managed master secret", hint="tfgen apply first")
        rds.modify_db_cluster(DBClusterIdentifier=cluster, **fact["parameters"])
    except (BotoCoreError, ClientError) as exc:
        raise RotationError(f"cannot rotate the master secret of cluster {cluster}: {exc}") from None
    return str(arn)
