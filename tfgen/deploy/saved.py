"""``tfgen apply SPEC --plan FILE``: apply exactly a plan saved by ``tfgen plan --out``.

Nothing is planned or rendered, so this imports only what it uses (:mod:`tfgen.deploy.basics`,
the plan file's record of origin, the terraform driver): reading the plan for review
(:mod:`tfgen.deploy.review`) and explaining terraform's errors (:mod:`tfgen.deploy.advice`) are
imported when needed. Applied after its review (``--auto-approve``), tfgen's part is start-up,
a digest of the spec's text and a zip read, beside terraform's apply: the spec is parsed only
when its text is not the one the plan was made from (then the module it renders to must be).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from tfgen.deploy import imports, inflight, plans, workdir
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
from tfgen.spec import source
from tfgen.terraform.commands import Terraform
from tfgen.terraform.errors import TerraformRunError

if TYPE_CHECKING:
    from tfgen.spec.loading import LoadedSpec
    from tfgen.terraform.results import PlanResult


def apply_saved(
    spec_path: Path, plan_path: Path, options: DeployOptions, reporters: ReporterFactory, confirm: Confirm | None
) -> Outcome:
    """Apply exactly a plan saved by ``tfgen plan --out``, without planning again (nothing is rendered).

    The plan must come from this spec (and environment), working directory, backend and emulator
    (:func:`tfgen.deploy.plans.check_origin`); it is read (:mod:`tfgen.deploy.review`) and
    ``confirm`` asked, as for :func:`apply`. With ``confirm`` None (approved beforehand, e.g. by
    its reviewer), it is applied at once, without reading it again: ``terraform show`` starts the
    providers, which costs more than tfgen itself. Then, if the spec file still holds the very
    text the plan was made from (:func:`tfgen.deploy.plans.unchanged`), it is not loaded either:
    what the plan records of it (name, digest, backend, warnings) is what loading it would give.

    Raises:
        SavedPlanError: If the plan belongs elsewhere, or is stale (the state changed since); nothing changed.
        SpecError, UsageError, TerraformError, EmulatorError: As their names say.
    """
    check_lock_timeout(options.lock_timeout)
    text = _text_digest(spec_path)
    try:
        saved = plans.read_origin(plan_path)
    except plans.SavedPlanError:
        load(spec_path, options.environment)  # a spec that is missing or invalid is said first, as by every command
        raise
    target: workdir.TargetKind = "local" if options.is_local else "aws"
    loaded: LoadedSpec | None = None
    if confirm is None and saved.target == target and plans.unchanged(saved, text, options.environment):
        name = saved.name  # the text planned: the spec need not be loaded (that is most of tfgen's time here)
    else:
        loaded = load(spec_path, options.environment)
        name = loaded.spec.name
    directory = (options.workdir or workdir.default_workdir(options.base_dir, name)).absolute()
    workdir.check_target(directory, target)
    with emulator_endpoint(options) as endpoint:
        current = (
            origin(loaded, options, endpoint)
            if loaded is not None
            else dataclasses.replace(
                saved,
                spec=source.label(spec_path, options.environment),
                workdir=str(directory.resolve()),
                endpoint=endpoint,
            )
        )
        plans.check_origin(plan_path, saved, current)
        settings = terraform_settings(options, endpoint)
        tf = Terraform(directory, with_version_cache(settings, directory))
        planned: PlanResult | None = None  # approved: not read (terraform's own record of it is the plan file)
        spec_source = loaded if loaded is not None else (lambda: load(spec_path, options.environment))
        warnings = None if loaded is not None else saved.warnings
        if confirm is not None:
            from tfgen.deploy import review  # reads terraform's JSON plan: not needed when approved

            planned = review.saved_plan(plan_path.absolute(), tf.show_plan(plan_path.absolute()))
            if not planned.changes_present or not confirm(planned):
                return Outcome(spec_source, directory, planned, None, recorded_warnings=warnings)
        reporter = reporters("apply")
        reporter.expect([(change.address, change.action) for change in planned.resource_changes] if planned else [])
        inflight.begin(directory)
        try:
            result = tf.apply(plan_path.absolute(), on_event=reporter.handle, lock_timeout=options.lock_timeout)
            imports.clear(directory)  # adopted: the state has them now
        except TerraformRunError as error:
            if is_stale(error):
                raise plans.stale_plan_error(plan_path) from None
            from tfgen.deploy import advice  # only on an error terraform reported

            spec = (loaded or load(spec_path, options.environment)).spec
            raise advice.explain(error, directory, spec) from None
        finally:
            reporter.close()
        inflight.finish(directory)
        if planned is None:
            from tfgen.terraform.results import PlanResult  # in by now: imported while terraform ran

            planned = PlanResult(plan_path.absolute(), changes_present=True)
        return Outcome(spec_source, directory, planned, result, recorded_warnings=warnings)


def _text_digest(spec_path: Path) -> str | None:
    """:func:`tfgen.spec.source.digest` of the spec file's text; None if it cannot be read (loading says why)."""
    try:
        return source.digest(source.read_text(spec_path))
    except (OSError, source.YamlSourceError):
        return None


def origin(loaded: LoadedSpec, options: DeployOptions, endpoint: str | None) -> plans.PlanOrigin:
    """What a plan saved for ``loaded`` with ``options`` records: spec, environment, workdir, backend, target."""
    from tfgen.deploy import backend  # the spec's backend: with the spec model

    spec = loaded.spec
    directory = options.workdir or workdir.default_workdir(options.base_dir, spec.name)
    return plans.PlanOrigin(
        spec=loaded.label,
        spec_digest=spec.digest(),
        environment=options.environment,
        workdir=str(directory.resolve()),
        backend=backend.identity(spec, local=endpoint is not None),
        target="local" if endpoint is not None else "aws",
        endpoint=endpoint,
        source=loaded.source_digest,
        name=spec.name,
        warnings=tuple(loaded.warnings),
    )


def is_stale(error: TerraformRunError) -> bool:
    """True if terraform refused a saved plan because the state changed since it was made."""
    return any(d.summary.startswith(plans.STALE_PLAN) for d in error.errors)
