"""plan, apply, destroy, output: a spec driven through terraform, on AWS or the local emulator.

Every function takes :class:`~tfgen.deploy.operations.DeployOptions`, built by
:func:`deploy_options` from the environment the caller read (nothing here reads
``os.environ``). Decisions a person makes (apply these changes? migrate the state?) come
in as callbacks; progress goes to the reporters the caller builds for each phase.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tfgen.api.reviewed import apply_reviewed, deploy_options
from tfgen.deploy import fleet, rotation
from tfgen.deploy import operations as _deploy
from tfgen.deploy.operations import Confirm, ConfirmMigration, DeployOptions, Outcome, ReporterFactory

__all__ = ["SENSITIVE_MASK", "apply", "deploy_options", "destroy", "output", "plan", "plan_directory", "rotate"]

SENSITIVE_MASK = "(sensitive)"
"""What :func:`output` shows instead of a sensitive value."""


def plan(
    spec_path: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    *,
    confirm_migration: ConfirmMigration | None = None,
    out: Path | None = None,
) -> Outcome:
    """``tfgen plan SPEC``: render, init and plan; the saved plan stays in the working directory.

    A plan with changes is a :class:`~tfgen.deploy.review.ReviewedPlan`: each update's attributes
    old → new, what forces each replacement, and the data the plan would lose.

    Args:
        spec_path: The spec file.
        options: From :func:`deploy_options`.
        reporters: The progress reporter of each phase (``init``, ``plan``).
        confirm_migration: Asked before moving the state to a changed backend; None refuses.
        out: Also save the plan here (mode 0600) for :func:`apply` with ``plan_file``; it records
            the spec, working directory and backend it belongs to.

    Raises:
        SpecError: If the spec is invalid.
        UsageError: On a bad ``--env`` or ``--lock-timeout``, or a backend change not confirmed.
        TerraformError: If terraform fails.
        EmulatorError: With ``local``, if the emulator cannot be started or reached.
    """
    return _deploy.plan(spec_path, options, reporters, confirm_migration, out)


def plan_directory(
    directory: Path,
    options: DeployOptions,
    *,
    jobs: int = 4,
    on_done: Callable[[fleet.Row], None] | None = None,
    confirm_migration: ConfirmMigration | None = None,
) -> fleet.FleetPlan:
    """``tfgen plan DIRECTORY``: plan every spec of a directory (and each environment), ``jobs`` at a time.

    One plan failing does not stop the others: each is a row of the result, whose
    ``exit_code`` is the worst row's.

    Args:
        directory: Holds the spec files (``*.yaml``, ``*.yml``).
        options: From :func:`deploy_options`, without ``workdir``.
        jobs: How many plans run at once.
        on_done: Called with each row as its plan ends.
        confirm_migration: As for :func:`plan`, but called from worker threads: it cannot prompt.

    Raises:
        UsageError: On a ``workdir``, a ``jobs`` below 1, or a directory without specs.
        EmulatorError: With ``local``, if the emulator cannot be started or reached.
    """
    return fleet.plan_all(directory, options, jobs=jobs, on_done=on_done, confirm_migration=confirm_migration)


def apply(
    spec_path: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm: Confirm,
    *,
    confirm_migration: ConfirmMigration | None = None,
    plan_file: Path | None = None,
    approved: bool = False,
) -> Outcome:
    """``tfgen apply``: plan, ask ``confirm``, then apply exactly that plan.

    With ``plan_file`` (saved by :func:`plan` with ``out``), nothing is planned: that plan is shown,
    ``confirm`` asked, and that plan applied, if it belongs to this spec, working directory and
    backend and the state did not change since. With ``approved`` too, it is applied at once:
    neither read again nor shown, ``confirm`` not called (its review approved it).

    Returns:
        The plan and, unless it had no changes or ``confirm`` said no, what was applied.

    Raises:
        SavedPlanError: With ``plan_file``: it belongs elsewhere or is stale; nothing was changed.
        SpecError: If the spec is invalid.
        UsageError: On a bad ``--env`` or ``--lock-timeout``, or a backend change not confirmed.
        TerraformError: If terraform fails.
        EmulatorError: With ``local``, if the emulator cannot be started or reached.
    """
    if plan_file is not None:
        return apply_reviewed(spec_path, plan_file, options, reporters, None if approved else confirm)
    return _deploy.apply(spec_path, options, reporters, confirm, confirm_migration)


def destroy(
    spec_path: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm: Confirm,
    *,
    confirm_migration: ConfirmMigration | None = None,
) -> Outcome:
    """``tfgen destroy``: plan the destruction of everything the spec deployed, ask ``confirm``, apply it.

    Before asking, the plan is checked: a cluster with deletion protection (in the spec, or on the
    deployed cluster) stops the destroy before anything is deleted. ``confirm`` gets a
    :class:`~tfgen.deploy.safety.DestroyPlan`, which names each cluster's final snapshot.

    Raises:
        ProtectedClusterError: If a cluster has deletion protection; nothing was deleted. To delete
            it: ``deletion_protection: false`` in the spec, :func:`apply`, then :func:`destroy`.
        SpecError: If the spec is invalid.
        UsageError: On a bad ``--env`` or ``--lock-timeout``, or a backend change not confirmed.
        TerraformError: If terraform fails.
        EmulatorError: With ``local``, if the emulator cannot be started or reached.
    """
    return _deploy.destroy(spec_path, options, reporters, confirm, confirm_migration)


def output(spec_path: Path, options: DeployOptions, *, show_sensitive: bool = False) -> dict[str, Any]:
    """``tfgen output``: the deployed module's outputs, sensitive values replaced by :data:`SENSITIVE_MASK`.

    Raises:
        SpecError: If the spec is invalid.
        UsageError: If nothing was deployed from this spec (no working directory).
        TerraformError: If terraform fails.
    """
    values = _deploy.outputs(spec_path, options)
    return {
        name: SENSITIVE_MASK if item.sensitive and not show_sensitive else item.value for name, item in values.items()
    }


def rotate(
    spec_path: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm: Confirm,
    *,
    confirm_migration: ConfirmMigration | None = None,
) -> rotation.Rotation:
    """``tfgen rotate``: a new master password on the deployed cluster and in its secret.

    ``write_only``: the password's version, kept in the working directory, is increased and the
    spec applied (``confirm`` asked, as for :func:`apply`): one apply writes the new password to
    the cluster and to the secret. ``rds_managed``: RDS rotates its secret now (``ModifyDBCluster``
    with ``RotateMasterUserPassword``): a new password in the secret and on the cluster.

    Raises:
        UsageError: If nothing was deployed from the spec, or its password source is ``random``.
        RotationError: rds_managed: if the secret cannot be found or AWS refuses to rotate it.
        SpecError, TerraformError, EmulatorError: As their names say.
    """
    return rotation.rotate(spec_path, options, reporters, confirm, confirm_migration)
