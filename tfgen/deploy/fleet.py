"""Many clusters from one command: every environment of a spec, and directories of specs.

:func:`tfgen.api.validate` and :func:`tfgen.api.render` take an environment;
:func:`plan_all` plans every spec of a directory (each environment of each spec, or
the one ``--env`` names) in parallel, each in its own working directory, and reports
one :class:`Row` per plan: one failure does not stop the others.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tfgen.deploy import operations as deploy
from tfgen.deploy import workdir
from tfgen.deploy.progress import Event
from tfgen.errors import CommandInterrupted, ExitCode, SpecError, TfgenError, UsageError
from tfgen.spec.loading import LoadedSpec, load_environments, load_spec

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Row:
    """The plan of one spec (and environment) of a directory.

    Attributes:
        spec: The spec file.
        environment: Its environment, or None for a spec without environments.
        result: ``changes``, ``no changes``, ``failed``, ``skipped`` or ``interrupted``.
        add: Resources to create (None unless planned).
        change: Resources to update in place.
        remove: Resources to destroy.
        error: Why it failed, was skipped or interrupted.
        outcome: The plan, when there is one.
    """

    spec: Path
    environment: str | None
    result: str
    add: int | None = None
    change: int | None = None
    remove: int | None = None
    error: TfgenError | None = None
    outcome: deploy.Outcome | None = None

    @property
    def exit_code(self) -> ExitCode:
        """What this row contributes to the command's exit code."""
        if self.result in ("failed", "interrupted") and self.error is not None:
            return self.error.exit_code
        return ExitCode.OK

    @property
    def label(self) -> str:
        """``SPEC`` or ``SPEC --env NAME``."""
        return f"{self.spec} --env {self.environment}" if self.environment else str(self.spec)


@dataclass(frozen=True)
class FleetPlan:
    """What :func:`plan_all` did: one row per spec and environment, in file order."""

    rows: list[Row]
    interrupted: bool = False

    @property
    def exit_code(self) -> ExitCode:
        """The worst row's exit code (130 if interrupted)."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        return max((row.exit_code for row in self.rows), default=ExitCode.OK)


def spec_files(directory: Path) -> list[Path]:
    """The spec files of a directory (``*.yaml``, ``*.yml``; not its subdirectories), sorted.

    Raises:
        UsageError: If it has none.
    """
    files = sorted(p for p in directory.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
    if not files:
        raise UsageError(f"{directory}: no spec files (*.yaml, *.yml) in this directory")
    return files


def plan_all(
    directory: Path,
    options: deploy.DeployOptions,
    *,
    jobs: int = 4,
    on_done: Callable[[Row], None] | None = None,
    confirm_migration: deploy.ConfirmMigration | None = None,
) -> FleetPlan:
    """Plan every spec of ``directory`` (each environment, or ``options.environment`` only), ``jobs`` at a time.

    Every plan has its own working directory (``<base_dir>/.tfgen/<cluster name>``);
    two plans that would share one fail instead. With ``--local`` one emulator serves
    them all. Ctrl-C stops the running plans cleanly (their locks released) and skips
    the rest.

    Args:
        directory: Holds the spec files.
        options: As for :func:`tfgen.deploy.operations.plan`; ``workdir`` must be None.
        jobs: How many plans run at once (at least 1).
        on_done: Called with each row as its plan ends (from the calling thread).
        confirm_migration: As for :func:`tfgen.deploy.operations.plan` (called from worker threads).

    Raises:
        UsageError: On a ``--workdir``, a ``jobs`` below 1, or a directory without specs.
        EmulatorError: If ``--local`` cannot get an emulator.
    """
    if options.workdir is not None:
        raise UsageError("--workdir names one working directory; a directory of specs gets one per spec")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    deploy.check_lock_timeout(options.lock_timeout)
    rows: dict[int, Row] = {}
    work: dict[int, LoadedSpec] = {}
    owners: dict[Path, str] = {}
    for index, (spec_path, environment, loaded, problem) in enumerate(_targets(spec_files(directory), options)):
        if problem is not None:
            rows[index] = problem
            continue
        assert loaded is not None
        where = workdir.default_workdir(options.base_dir, loaded.spec.name)
        owner = owners.setdefault(where, loaded.label)
        if owner != loaded.label:
            error = UsageError(f"cluster {loaded.spec.name} is also {owner}'s (working directory {where})")
            rows[index] = Row(spec_path, environment, "failed", error=error)
            continue
        work[index] = loaded
    for index in sorted(rows):
        if on_done is not None:
            on_done(rows[index])
    cancel = threading.Event()
    interrupted = False
    with deploy.emulator_endpoint(options) as endpoint:
        run_options = dataclasses.replace(
            options,
            endpoint=endpoint,
            terraform=dataclasses.replace(options.terraform, cancel=cancel),
        )
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="tfgen-plan") as pool:
            futures = {
                pool.submit(_plan_one, loaded, run_options, confirm_migration): index for index, loaded in work.items()
            }
            pending = set(futures)
            try:
                while pending:
                    done, pending = concurrent.futures.wait(
                        pending, timeout=0.5, return_when=concurrent.futures.FIRST_COMPLETED
                    )
                    for future in done:
                        rows[futures[future]] = row = future.result()
                        if on_done is not None:
                            on_done(row)
            except KeyboardInterrupt:
                interrupted = True
                cancel.set()  # running plans stop as after one Ctrl-C; queued ones stop at once
                for future in futures:
                    future.cancel()
                for future, index in futures.items():
                    if index in rows:
                        continue
                    if future.cancelled():
                        loaded = work[index]
                        stopped = CommandInterrupted("interrupted before it started")
                        rows[index] = Row(loaded.path, loaded.environment, "interrupted", error=stopped)
                    else:
                        rows[index] = future.result()
    return FleetPlan([rows[index] for index in sorted(rows)], interrupted)


def _targets(
    files: list[Path], options: deploy.DeployOptions
) -> list[tuple[Path, str | None, LoadedSpec | None, Row | None]]:
    """Each spec and environment to plan: loaded, or the row saying why not."""
    chosen = options.environment
    found: list[tuple[Path, str | None, LoadedSpec | None, Row | None]] = []
    for path in files:
        try:
            base = load_spec(path)
            merged = load_environments(path)
        except (SpecError, UsageError) as error:
            found.append((path, chosen, None, Row(path, chosen, "failed", error=error)))
            continue
        if chosen is not None:
            if chosen in merged:
                found.append((path, chosen, merged[chosen], None))
            else:
                why = UsageError(f"{path} has no environment {chosen}")
                found.append((path, chosen, None, Row(path, chosen, "skipped", error=why)))
        elif merged:
            found.extend((path, name, loaded, None) for name, loaded in merged.items())
        else:
            found.append((path, None, base, None))
    return found


class _Quiet:
    """Plans run side by side: their progress is not shown, only their rows."""

    def expect(self, changes: list[tuple[str, str]]) -> None:
        """Nothing to show."""

    def handle(self, event: Event) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def _plan_one(loaded: LoadedSpec, options: deploy.DeployOptions, confirm: deploy.ConfirmMigration | None) -> Row:
    try:
        outcome = deploy.plan_loaded(loaded, options, lambda phase: _Quiet(), confirm, review_changes=False)
    except CommandInterrupted as error:
        return Row(loaded.path, loaded.environment, "interrupted", error=error)
    except TfgenError as error:
        return Row(loaded.path, loaded.environment, "failed", error=error)
    planned = outcome.plan
    return Row(
        loaded.path,
        loaded.environment,
        "changes" if planned.changes_present else "no changes",
        add=planned.add,
        change=planned.change,
        remove=planned.remove,
        outcome=outcome,
    )
