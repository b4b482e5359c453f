"""plan / apply / destroy / output: a spec driven through terraform, optionally on the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tfgen import emulator, workdir
from tfgen.errors import UsageError
from tfgen.progress import Reporter
from tfgen.spec import LoadedSpec, load_spec
from tfgen.terraform import ApplyResult, OutputValue, PlanResult, Terraform, TerraformSettings

ReporterFactory = Callable[[str], Reporter]
"""Builds the reporter of one phase (``"plan"``, ``"apply"``, ``"destroy"``)."""
Confirm = Callable[[PlanResult], bool]
"""Asked before applying a plan with changes; False cancels."""


@dataclass(frozen=True)
class DeployOptions:
    """Where and how to deploy; built by the CLI (which reads the environment once)."""

    terraform: TerraformSettings
    base_dir: Path = field(default_factory=Path.cwd)
    """Parent of ``.tfgen/`` (working directories, the background emulator's record)."""
    workdir: Path | None = None
    """Working directory; default ``<base_dir>/.tfgen/<name>``."""
    local: bool = False
    """Deploy to the local AWS emulator instead of real AWS."""
    endpoint: str | None = None
    """Emulator URL to use instead of starting one (implies ``local``)."""

    @property
    def is_local(self) -> bool:
        """True for the emulator."""
        return self.local or self.endpoint is not None


@dataclass(frozen=True)
class Outcome:
    """What apply or destroy did: the plan shown, and its result (None when nothing was applied)."""

    loaded: LoadedSpec
    directory: Path
    plan: PlanResult
    result: ApplyResult | None


@dataclass(frozen=True)
class _Session:
    loaded: LoadedSpec
    prepared: workdir.Prepared
    terraform: Terraform


@contextmanager
def _session(spec_path: Path, options: DeployOptions, reporters: ReporterFactory) -> Iterator[_Session]:
    loaded = load_spec(spec_path)
    directory = options.workdir or workdir.default_workdir(options.base_dir, loaded.spec)
    workdir.check_target(directory, "local" if options.is_local else "aws")
    with emulator_endpoint(options) as endpoint:
        data_dir = options.terraform.env.get("TF_DATA_DIR")
        prepared = workdir.prepare(
            loaded.spec, directory, local_endpoint=endpoint, data_dir=Path(data_dir) if data_dir else None
        )
        tf = Terraform(directory, options.terraform)
        tf.version()
        if prepared.needs_init:
            _run_phase(reporters, "init", tf.init)
            workdir.mark_initialised(prepared)
        yield _Session(loaded, prepared, tf)


@contextmanager
def emulator_endpoint(options: DeployOptions) -> Iterator[str | None]:
    """The emulator's URL for ``--local`` (running while the context lasts), else None."""
    if not options.is_local:
        yield None
        return
    with emulator.running_emulator(options.base_dir, options.endpoint) as url:
        yield url


def _run_phase(reporters: ReporterFactory, phase: str, run: Callable[..., object]) -> None:
    reporter = reporters(phase)
    try:
        run(on_event=reporter.handle)
    finally:
        reporter.close()


def _plan(session: _Session, reporters: ReporterFactory, *, destroy: bool) -> PlanResult:
    reporter = reporters("plan")
    plan_file = session.prepared.directory / workdir.PLAN_FILE
    try:
        return session.terraform.plan(plan_file, destroy=destroy, on_event=reporter.handle)
    finally:
        reporter.close()
        if plan_file.exists():
            plan_file.chmod(0o600)  # a saved plan holds the prior state, sensitive values included


def plan(spec_path: Path, options: DeployOptions, reporters: ReporterFactory) -> Outcome:
    """Render, init and plan; the saved plan stays in the working directory.

    Raises:
        SpecError, UsageError, TerraformError, EmulatorError: As their names say.
    """
    with _session(spec_path, options, reporters) as session:
        result = _plan(session, reporters, destroy=False)
        return Outcome(session.loaded, session.prepared.directory, result, None)


def apply(spec_path: Path, options: DeployOptions, reporters: ReporterFactory, confirm: Confirm) -> Outcome:
    """Plan, ask ``confirm``, then apply exactly that plan with progress.

    Raises:
        SpecError, UsageError, TerraformError, EmulatorError: As their names say.
    """
    return _plan_and_apply(spec_path, options, reporters, confirm, destroy=False)


def destroy(spec_path: Path, options: DeployOptions, reporters: ReporterFactory, confirm: Confirm) -> Outcome:
    """Plan the destruction, ask ``confirm``, then apply exactly that plan with progress.

    Raises:
        SpecError, UsageError, TerraformError, EmulatorError: As their names say.
    """
    return _plan_and_apply(spec_path, options, reporters, confirm, destroy=True)


def _plan_and_apply(
    spec_path: Path, options: DeployOptions, reporters: ReporterFactory, confirm: Confirm, *, destroy: bool
) -> Outcome:
    with _session(spec_path, options, reporters) as session:
        planned = _plan(session, reporters, destroy=destroy)
        directory = session.prepared.directory
        plan_file = directory / workdir.PLAN_FILE
        try:
            if not planned.changes_present or not confirm(planned):
                return Outcome(session.loaded, directory, planned, None)
            reporter = reporters("destroy" if destroy else "apply")
            reporter.expect([(change.address, change.action) for change in planned.resource_changes])
            try:
                result = session.terraform.apply(plan_file, on_event=reporter.handle)
            finally:
                reporter.close()
            return Outcome(session.loaded, directory, planned, result)
        finally:
            # a saved plan may hold sensitive values; it is only valid once anyway
            plan_file.unlink(missing_ok=True)


def outputs(spec_path: Path, options: DeployOptions) -> dict[str, OutputValue]:
    """The root outputs of the working directory (sensitive values included: the caller masks).

    Raises:
        UsageError: If nothing was deployed from this spec (no working directory).
        TerraformError: If terraform fails.
    """
    loaded = load_spec(spec_path)
    directory = options.workdir or workdir.default_workdir(options.base_dir, loaded.spec)
    if not (directory / "main.tf").is_file():
        raise UsageError(
            f"{directory}: no working directory; nothing was deployed from {spec_path}", hint="tfgen apply"
        )
    workdir.check_target(directory, "local" if options.is_local else "aws")
    return Terraform(directory, options.terraform).output()
