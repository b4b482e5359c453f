"""``tfgen apply SPEC --plan FILE``: apply exactly a plan saved by ``tfgen plan --out``.

Nothing is planned or rendered, so this imports only what it uses (:mod:`tfgen.deploy.basics`,
the plan file's record of origin, the terraform driver): reading the plan for review
(:mod:`tfgen.deploy.review`) and explaining terraform's errors (:mod:`tfgen.deploy.advice`) are
imported when needed. Applied after its review (``--auto-approve``), tfgen's part is start-up,
loading the spec and a zip read, beside terraform's apply.
"""

from __future__ import annotations

from pathlib import Path

from tfgen.deploy import backend, imports, plans, recovery, workdir
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
from tfgen.spec.loading import LoadedSpec
from tfgen.terraform.commands import Terraform
from tfgen.terraform.errors import TerraformRunError
from tfgen.terraform.results import PlanResult


def apply_saved(
    spec_path: Path, plan_path: Path, options: DeployOptions, reporters: ReporterFactory, confirm: Confirm | None
) -> Outcome:
    """Apply exactly a plan saved by ``tfgen plan --out``, without planning again (nothing is rendered).

    The plan must come from this spec (and environment), working directory, backend and emulator
    (:func:`tfgen.deploy.plans.check_origin`); it is read (:mod:`tfgen.deploy.review`) and
    ``confirm`` asked, as for :func:`apply`. With ``confirm`` None (approved beforehand, e.g. by
    its reviewer), it is applied at once, without reading it again: ``terraform show`` starts the
    providers, which costs more than tfgen itself.

    Raises:
        SavedPlanError: If the plan belongs elsewhere, or is stale (the state changed since); nothing changed.
        SpecError, UsageError, TerraformError, EmulatorError: As their names say.
    """
    check_lock_timeout(options.lock_timeout)
    loaded = load(spec_path, options.environment)
    directory = (options.workdir or workdir.default_workdir(options.base_dir, loaded.spec)).absolute()
    saved = plans.read_origin(plan_path)
    workdir.check_target(directory, "local" if options.is_local else "aws")
    with emulator_endpoint(options) as endpoint:
        plans.check_origin(plan_path, saved, origin(loaded, options, endpoint))
        settings = terraform_settings(options, endpoint)
        tf = Terraform(directory, with_version_cache(settings, directory))
        planned: PlanResult = PlanResult(plan_path.absolute(), changes_present=True)
        if confirm is not None:
            from tfgen.deploy import review  # reads terraform's JSON plan: not needed when approved

            planned = review.saved_plan(plan_path.absolute(), tf.show_plan(plan_path.absolute()))
            if not planned.changes_present or not confirm(planned):
                return Outcome(loaded, directory, planned, None)
        reporter = reporters("apply")
        reporter.expect([(change.address, change.action) for change in planned.resource_changes])
        recovery.begin(directory)
        try:
            result = tf.apply(plan_path.absolute(), on_event=reporter.handle, lock_timeout=options.lock_timeout)
            imports.clear(directory)  # adopted: the state has them now
        except TerraformRunError as error:
            if is_stale(error):
                raise plans.stale_plan_error(plan_path) from None
            from tfgen.deploy import advice  # only on an error terraform reported

            raise advice.explain(error, directory, loaded.spec) from None
        finally:
            reporter.close()
        recovery.finish(directory)
        return Outcome(loaded, directory, planned, result)


def origin(loaded: LoadedSpec, options: DeployOptions, endpoint: str | None) -> plans.PlanOrigin:
    """What a plan saved for ``loaded`` with ``options`` records: spec, environment, workdir, backend, target."""
    spec = loaded.spec
    directory = options.workdir or workdir.default_workdir(options.base_dir, spec)
    return plans.PlanOrigin(
        spec=loaded.label,
        spec_digest=spec.digest(),
        environment=options.environment,
        workdir=str(directory.resolve()),
        backend=backend.identity(spec, local=endpoint is not None),
        target="local" if endpoint is not None else "aws",
        endpoint=endpoint,
    )


def is_stale(error: TerraformRunError) -> bool:
    """True if terraform refused a saved plan because the state changed since it was made."""
    return any(d.summary.startswith(plans.STALE_PLAN) for d in error.errors)
