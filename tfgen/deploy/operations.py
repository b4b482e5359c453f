"""plan / apply / destroy / output: a spec driven through terraform, optionally on the emulator.

Each command loads the spec (``--env`` picks an environment; a spec with environments
needs one), checks terraform's version (remembered per binary in the working
directory), renders the working directory unless it already holds what the spec
renders to, runs ``terraform init`` when what it depends on changed, then plans or
applies: on a prepared working directory, ``terraform plan`` is the only command. The state lives where the spec's
``backend`` says (:mod:`tfgen.deploy.backend`); when that changes for a working directory
that already has a state, the state is migrated, only after the user confirms, and
checked to have arrived whole (:mod:`tfgen.deploy.migration`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tfgen.deploy import advice, backend, imports, inflight, plans, recovery, review, safety, workdir
from tfgen.deploy import migration as migration_
from tfgen.deploy.basics import (
    Confirm,
    DeployOptions,
    Outcome,
    ReporterFactory,
    check_lock_timeout,
    emulator_endpoint,
    load,
    terraform_settings,
    with_version_cache,
)
from tfgen.deploy.progress import Event
from tfgen.deploy.saved import apply_saved, is_stale, origin
from tfgen.errors import UsageError
from tfgen.spec.loading import LoadedSpec
from tfgen.spec.model import Spec
from tfgen.terraform.commands import Terraform
from tfgen.terraform.errors import TerraformRunError
from tfgen.terraform.results import ApplyResult, OutputValue, PlanResult

__all__ = [  # the names the rest of tfgen imports from here, wherever they live
    "Confirm",
    "ConfirmMigration",
    "DeployOptions",
    "Migration",
    "Outcome",
    "ReporterFactory",
    "apply",
    "apply_saved",
    "check_lock_timeout",
    "destroy",
    "emulator_endpoint",
    "load",
    "outputs",
    "plan",
    "plan_loaded",
]

Migration = migration_.Migration
ConfirmMigration = migration_.ConfirmMigration
_REPLANS = 2
"""How often apply plans again (and asks again) after another run changed the state first."""


@dataclass(frozen=True)
class _Session:
    loaded: LoadedSpec
    prepared: workdir.Prepared
    terraform: Terraform
    migration: Migration | None
    endpoint: str | None


@contextmanager
def _session(
    loaded: LoadedSpec,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm_migration: ConfirmMigration | None,
    *,
    persistent: bool = False,
    recover: bool = True,
    destroying: bool = False,
) -> Iterator[_Session]:
    spec = loaded.spec
    directory = options.workdir or workdir.default_workdir(options.base_dir, spec.name)
    workdir.check_target(directory, "local" if options.is_local else "aws")
    with emulator_endpoint(options, persistent=persistent) as endpoint:
        settings = terraform_settings(options, endpoint)
        if endpoint is not None and backend.kind(spec, local=True) == "s3":
            backend.ensure_bucket(endpoint, spec)
        workdir.create(directory)  # terraform starts there, `version` too; 0700
        tf = Terraform(directory, with_version_cache(settings, directory))
        version = tf.version()
        data_dir = Path(settings.env.get("TF_DATA_DIR") or ".terraform")
        before = workdir.recorded_backend(directory)  # not None: the directory exists
        after = backend.identity(spec, local=endpoint is not None)
        migration = None
        if before is not None and before != after:
            migration = migration_.plan_migration(tf, data_dir, loaded, before, after, endpoint, confirm_migration)
        prepared = workdir.prepare(
            spec, directory, local_endpoint=endpoint, data_dir=data_dir, tool=f"{tf.name} {version}"
        )
        if migration is not None:
            _run_phase(reporters, "init", functools.partial(tf.init, migrate_state=True))
            migration_.check_migrated(tf, migration)
            workdir.mark_initialised(prepared)
        elif prepared.needs_init:
            # the same state at a new address (another emulator port), or nothing to move
            reconfigure = before is not None
            _run_phase(reporters, "init", functools.partial(tf.init, reconfigure=reconfigure))
            workdir.mark_initialised(prepared)
        session = _Session(loaded, prepared, tf, migration, endpoint)
        if recover:  # after an interrupted apply here: import what it created that the state lacks
            local_state = backend.kind(spec, local=endpoint is not None) == "local"
            pull = functools.partial(inflight.read_local_state, prepared.directory) if local_state else tf.state_pull
            try:
                adoption = recovery.recover(
                    prepared.directory, spec, pull, endpoint, options.notify, destroying=destroying
                )
            except recovery.ForeignResourceError as error:
                if not destroying:
                    raise
                adoption = recovery.Adoption()  # destroy what the state holds; leave the rest alone, loudly
                options.notify(f"warning: {error.message}; nothing the interrupted apply left is destroyed")
            if destroying and adoption.blocks:  # a destroy plan ignores import blocks: import what it must destroy
                _import_now(tf, prepared.directory, adoption.blocks, options.lock_timeout)
        yield session


def _import_now(
    tf: Terraform, directory: Path, blocks: Iterable[imports.ImportBlock], lock_timeout: str | None
) -> None:
    """Import ``blocks`` into the state at once (``terraform import``), and drop them from the import blocks."""
    done = set()
    for block in blocks:
        tf.import_resource(block.address, block.id, lock_timeout=lock_timeout)
        done.add(block.address)
    imports.write(directory, [b for b in imports.read(directory) if b.address not in done])


def _run_phase(reporters: ReporterFactory, phase: str, run: Callable[..., object]) -> None:
    reporter = reporters(phase)
    try:
        run(on_event=reporter.handle)
    finally:
        reporter.close()


def _explain(error: TerraformRunError, directory: Path, spec: Spec | None = None) -> TerraformRunError:
    """Add what to do to an error whose cause tfgen knows (:mod:`tfgen.deploy.advice`)."""
    return advice.explain(error, directory, spec)


def _plan(session: _Session, reporters: ReporterFactory, options: DeployOptions, *, destroy: bool) -> PlanResult:
    reporter = reporters("plan")
    plan_file = session.prepared.directory / workdir.PLAN_FILE
    try:
        return session.terraform.plan(
            plan_file, destroy=destroy, on_event=reporter.handle, lock_timeout=options.lock_timeout
        )
    except TerraformRunError as error:
        raise _explain(error, session.prepared.directory) from None
    finally:
        reporter.close()
        if plan_file.exists():
            plan_file.chmod(0o600)  # a saved plan holds the prior state, sensitive values included


def plan(
    spec_path: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm_migration: ConfirmMigration | None = None,
    out: Path | None = None,
) -> Outcome:
    """Render, init and plan; the saved plan stays in the working directory (and goes to ``out``).

    Args:
        spec_path: The spec file.
        options: Where and how (``options.environment`` picks the environment).
        reporters: Progress of each phase.
        confirm_migration: Asked before moving the state to a changed backend; None refuses.

    Raises:
        SpecError, UsageError, TerraformError, EmulatorError: As their names say.
    """
    check_lock_timeout(options.lock_timeout)
    return plan_loaded(load(spec_path, options.environment), options, reporters, confirm_migration, out=out)


def plan_loaded(
    loaded: LoadedSpec,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm_migration: ConfirmMigration | None = None,
    *,
    review_changes: bool = True,
    out: Path | None = None,
) -> Outcome:
    """:func:`plan` for a spec already loaded (with its environment merged).

    With ``review_changes``, a plan with changes is a :class:`~tfgen.deploy.review.ReviewedPlan`
    (``terraform show -json`` of the saved plan read: attribute diffs and data loss). With
    ``out``, the plan is also saved there for ``apply --plan`` (:func:`tfgen.deploy.plans.save_plan`).

    Raises:
        UsageError, TerraformError, EmulatorError: As their names say.
    """
    with _session(loaded, options, reporters, confirm_migration) as session:
        result = _plan(session, reporters, options, destroy=False)
        if review_changes and result.changes_present:
            result = review.reviewed(result, session.terraform.show_plan(result.plan_file))
        if out is not None:
            saved = plans.save_plan(result.plan_file, out, origin(session.loaded, options, session.endpoint))
            result = dataclasses.replace(result, plan_file=saved)
        return Outcome(session.loaded, session.prepared.directory, result, None, session.migration)


def apply(
    spec_path: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm: Confirm,
    confirm_migration: ConfirmMigration | None = None,
) -> Outcome:
    """Plan, ask ``confirm``, then apply exactly that plan with progress.

    If another run changed the state between the plan and the apply (terraform: "Saved
    plan is stale"), plans again and asks again.

    Raises:
        SpecError, UsageError, TerraformError, EmulatorError: As their names say.
    """
    return _plan_and_apply(spec_path, options, reporters, confirm, confirm_migration, destroy=False)


def destroy(
    spec_path: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm: Confirm,
    confirm_migration: ConfirmMigration | None = None,
) -> Outcome:
    """Plan the destruction, check it (:mod:`tfgen.deploy.safety`), ask ``confirm``, apply exactly that plan.

    ``confirm`` gets a :class:`~tfgen.deploy.safety.DestroyPlan` (the final snapshot of each cluster).

    Raises:
        ProtectedClusterError: If a cluster has deletion protection; nothing is deleted.
        SpecError, UsageError, TerraformError, EmulatorError: As their names say.
    """
    return _plan_and_apply(spec_path, options, reporters, confirm, confirm_migration, destroy=True)


def _plan_and_apply(
    spec_path: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm: Confirm,
    confirm_migration: ConfirmMigration | None,
    *,
    destroy: bool,
) -> Outcome:
    check_lock_timeout(options.lock_timeout)
    loaded = load(spec_path, options.environment)
    with _session(loaded, options, reporters, confirm_migration, persistent=not destroy, destroying=destroy) as session:
        directory = session.prepared.directory
        plan_file = directory / workdir.PLAN_FILE
        for attempt in range(_REPLANS + 1):
            planned = _plan(session, reporters, options, destroy=destroy)
            try:
                if planned.changes_present:
                    plan_json = session.terraform.show_plan(plan_file)
                    planned = review.reviewed(planned, plan_json)
                    if destroy:  # a protected cluster: refuse before deleting anything
                        planned = safety.checked_destroy(planned, plan_json)
                if not planned.changes_present or not confirm(planned):
                    return Outcome(session.loaded, directory, planned, None, session.migration)
                result = _apply(session, reporters, plan_file, planned, options, destroy=destroy)
                imports.clear(directory)  # adopted: the state has them now
            except TerraformRunError as error:
                if attempt < _REPLANS and is_stale(error):
                    continue  # another run changed the state since this plan: plan (and ask) again
                raise _explain(error, directory, session.loaded.spec) from None
            finally:
                # a saved plan may hold sensitive values; it is only valid once anyway
                plan_file.unlink(missing_ok=True)
            return Outcome(session.loaded, directory, planned, result, session.migration)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _apply(
    session: _Session,
    reporters: ReporterFactory,
    plan_file: Path,
    planned: PlanResult,
    options: DeployOptions,
    *,
    destroy: bool,
) -> ApplyResult:
    reporter = reporters("destroy" if destroy else "apply")
    reporter.expect([(change.address, change.action) for change in planned.resource_changes])
    directory = session.prepared.directory
    if not destroy:
        inflight.begin(directory)  # removed when the apply succeeds: found later, it means an interruption
    try:
        result = session.terraform.apply(plan_file, on_event=reporter.handle, lock_timeout=options.lock_timeout)
    finally:
        reporter.close()
    if destroy:  # all destroyed, what an interrupted apply left included (imported first)
        inflight.clear_mark(directory)
    else:
        inflight.finish(directory)
    return result


class _Quiet:
    """A reporter that shows nothing (output reads the state; errors come as exceptions)."""

    def expect(self, changes: list[tuple[str, str]]) -> None:
        """Nothing to show."""

    def handle(self, event: Event) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def outputs(spec_path: Path, options: DeployOptions) -> dict[str, OutputValue]:
    """The root outputs of the working directory (sensitive values included: the caller masks).

    Raises:
        UsageError: If nothing was deployed from this spec (no working directory).
        TerraformError: If terraform fails.
    """
    loaded = load(spec_path, options.environment)
    directory = options.workdir or workdir.default_workdir(options.base_dir, loaded.spec.name)
    if not (directory / "main.tf").is_file():
        raise UsageError(
            f"{directory}: no working directory; nothing was deployed from {loaded.label}", hint="tfgen apply"
        )
    workdir.check_target(directory, "local" if options.is_local else "aws")
    if backend.kind(loaded.spec, local=options.is_local) == "local":
        return Terraform(directory, with_version_cache(options.terraform, directory)).output()
    # a remote state: the backend (and, with --local, the emulator's address) must be current
    with _session(loaded, options, lambda phase: _Quiet(), None, recover=False) as session:
        return session.terraform.output()
