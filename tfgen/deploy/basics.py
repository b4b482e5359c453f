"""What every deploy command shares, importable without the rest of the deploy layer.

:class:`DeployOptions`, :class:`Outcome`, loading a spec for deploying, the emulator's
endpoint and terraform's settings. ``tfgen apply SPEC --plan FILE`` (:mod:`tfgen.deploy.saved`)
needs only these, not the planning, rendering and migration code of
:mod:`tfgen.deploy.operations`: its start-up is part of what it adds to ``terraform apply``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tfgen.deploy import workdir
from tfgen.errors import UsageError
from tfgen.terraform.config import TerraformSettings

if TYPE_CHECKING:
    from tfgen.deploy.migration import Migration
    from tfgen.deploy.progress import Reporter
    from tfgen.spec.loading import LoadedSpec
    from tfgen.terraform.results import ApplyResult, PlanResult

ReporterFactory = Callable[[str], "Reporter"]
"""Builds the reporter of one phase (``"init"``, ``"plan"``, ``"apply"``, ``"destroy"``)."""
Confirm = Callable[["PlanResult"], bool]
"""Asked before applying a plan with changes (a :class:`~tfgen.deploy.review.ReviewedPlan`); False cancels."""

_DURATION = re.compile(r"\d+(ms|s|m|h)")


@dataclass(frozen=True)
class DeployOptions:
    """Where and how to deploy; built by the CLI (which reads the environment once)."""

    terraform: TerraformSettings
    base_dir: Path = field(default_factory=Path.cwd)
    """Parent of ``.tfgen/`` (working directories, the background emulator's record)."""
    workdir: Path | None = None
    """Working directory; default ``<base_dir>/.tfgen/<name>`` (the name differs per environment)."""
    local: bool = False
    """Deploy to the local AWS emulator instead of real AWS."""
    endpoint: str | None = None
    """Emulator URL to use instead of starting one (implies ``local``)."""
    environment: str | None = None
    """The spec's environment to deploy (``--env``); required when the spec has environments."""
    lock_timeout: str | None = None
    """How long to wait for the state lock (``--lock-timeout``, e.g. ``5m``); default: fail at once."""
    notify: Callable[[str], None] = field(default=lambda line: None, compare=False)
    """Told what tfgen does on its own (the emulator started, resources adopted, a password re-synced)."""

    @property
    def is_local(self) -> bool:
        """True for the emulator."""
        return self.local or self.endpoint is not None


@dataclass(frozen=True)
class Outcome:
    """What plan, apply or destroy did: the plan shown, and its result (None when nothing was applied)."""

    spec_source: LoadedSpec | Callable[[], LoadedSpec]
    """The spec, or how to load it: ``apply --plan`` of the very text planned does not (:attr:`loaded`)."""
    directory: Path
    plan: PlanResult
    result: ApplyResult | None
    migration: Migration | None = None
    """The state migration this command made first, if any."""
    recorded_warnings: tuple[str, ...] | None = field(default=None, kw_only=True, repr=False)
    """The spec's warnings when it was not loaded (recorded with the plan); None: the loaded spec's."""

    @functools.cached_property
    def loaded(self) -> LoadedSpec:
        """The spec, loaded now if it was not (it may raise :class:`~tfgen.errors.SpecError` then)."""
        return self.spec_source() if callable(self.spec_source) else self.spec_source

    @property
    def warnings(self) -> list[str]:
        """What to warn about the spec: without loading it when the plan recorded it."""
        return list(self.recorded_warnings) if self.recorded_warnings is not None else self.loaded.warnings


def load(spec_path: Path, environment: str | None) -> LoadedSpec:
    """Load a spec for deploying: with ``environment`` merged; a spec with environments needs one.

    Raises:
        SpecError: If the spec (or any environment) is invalid.
        UsageError: If the environment is missing, unknown, or given for a spec without environments.
    """
    from tfgen.spec.loading import load_spec  # the parser and the model: not for apply --plan of the text planned

    loaded = load_spec(spec_path, environment)
    if loaded.environments and environment is None:
        names = ", ".join(loaded.environments)
        raise UsageError(
            f"{spec_path} has environments ({names}): choose one with --env",
            hint=f"e.g. --env {loaded.environments[0]}; each environment is its own cluster and state",
        )
    return loaded


def check_lock_timeout(value: str | None) -> None:
    """Refuse a ``--lock-timeout`` terraform would not understand.

    Raises:
        UsageError: If ``value`` is not a duration such as ``30s`` or ``5m``.
    """
    if value is not None and not _DURATION.fullmatch(value):
        raise UsageError(f"--lock-timeout {value!r} is not a duration such as 30s, 5m or 1h")


def terraform_settings(options: DeployOptions, endpoint: str | None) -> TerraformSettings:
    """terraform's settings; with the emulator, its dummy AWS credentials."""
    if endpoint is None:
        return options.terraform
    from tfgen.deploy import backend

    return dataclasses.replace(options.terraform, env=backend.emulator_env(options.terraform.env))


def with_version_cache(settings: TerraformSettings, directory: Path) -> TerraformSettings:
    """``settings`` remembering terraform's version in the working directory, unless the caller chose a cache."""
    if settings.version_cache is not None:
        return settings
    return dataclasses.replace(settings, version_cache=directory / workdir.VERSION_CACHE)


@contextmanager
def emulator_endpoint(options: DeployOptions, *, persistent: bool = False) -> Iterator[str | None]:
    """The emulator's URL for ``--local`` (running while the context lasts), else None.

    With ``persistent`` (apply: what it creates must outlive the command, for ``output`` and
    ``destroy``), a missing background emulator is started (:func:`~tfgen.emulator.background.start_background`) and the user
    told, instead of a throwaway one that stops with the command.
    """
    if not options.is_local:
        yield None
        return
    from tfgen.emulator import background, endpoint  # only with --local

    if options.endpoint is not None:  # the user's emulator: it must accept connections
        url = endpoint.check_endpoint(options.endpoint)
        endpoint.check_reachable(url)
        yield url
        return
    info = background.status(options.base_dir)
    if info is None and persistent:
        info = background.start_background(options.base_dir)
        options.notify(
            f"started the background emulator at {info.url} (pid {info.pid}): what apply creates outlives "
            "this command; `tfgen emulator stop` stops it"
        )
    if info is not None:  # the common case: not importing the server (moto's hooks, databases) saves 20 ms
        yield info.url
        return
    from tfgen.emulator import server

    with server.running_emulator() as url:  # a throwaway in-process emulator, stopped on leaving
        yield url
