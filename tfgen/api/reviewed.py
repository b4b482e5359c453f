"""``tfgen apply SPEC --plan FILE`` and the deploy options every deploy function takes.

Kept apart from :mod:`tfgen.api.deployment` so that applying a reviewed plan imports only
what it uses (:mod:`tfgen.deploy.saved`), not the planning and rendering code: tfgen's
start-up is what it adds to terraform's apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from tfgen.api.settings import plugin_cache_dir
from tfgen.deploy.basics import Confirm, DeployOptions, Outcome, ReporterFactory
from tfgen.terraform.config import TerraformSettings


def deploy_options(
    env: Mapping[str, str],
    *,
    environment: str | None = None,
    workdir: Path | None = None,
    local: bool = False,
    endpoint: str | None = None,
    terraform: str = "terraform",
    plugin_mirror: Path | None = None,
    plugin_cache: Path | None = None,
    lock_timeout: str | None = None,
    notify: Callable[[str], None] | None = None,
) -> DeployOptions:
    """Where and how to deploy, for every function of this module (and doctor, backup, insights).

    Args:
        env: The process environment (``dict(os.environ)``): terraform's base environment,
            the AWS credentials, libpq's ``PG*`` variables, and where the user cache is.
        environment: The spec's environment (``--env``); required when the spec has environments.
        workdir: The working directory; default ``.tfgen/<cluster name>/``.
        local: Use the local AWS emulator (moto) instead of real AWS.
        endpoint: URL of a running emulator to use (implies ``local``).
        terraform: The terraform (or tofu) executable.
        plugin_mirror: Install providers from this filesystem mirror.
        plugin_cache: The shared provider cache; default ``<user cache>/tfgen/plugin-cache``.
        lock_timeout: Wait this long for the state lock (e.g. ``5m``) instead of failing.
        notify: Told what tfgen does on its own: the background emulator started, resources left by
            an interrupted apply adopted, a write-only password re-synced (one line each).
    """
    settings = TerraformSettings(
        env=dict(env),
        binary=terraform,
        plugin_mirror=plugin_mirror,
        plugin_cache_dir=plugin_cache if plugin_cache is not None else plugin_cache_dir(env),
    )
    options = DeployOptions(
        terraform=settings,
        workdir=workdir,
        local=local,
        endpoint=endpoint,
        environment=environment,
        lock_timeout=lock_timeout,
    )
    return options if notify is None else dataclasses.replace(options, notify=notify)


def apply_reviewed(
    spec_path: Path,
    plan_file: Path,
    options: DeployOptions,
    reporters: ReporterFactory,
    confirm: Confirm | None = None,
) -> Outcome:
    """``tfgen apply SPEC --plan FILE``: apply exactly a plan saved by :func:`~tfgen.api.plan` with ``out``.

    Nothing is planned. With ``confirm``, the plan is shown through it first (False cancels: the
    outcome has no result); without (approved by its review), it is applied at once.

    Raises:
        SavedPlanError: The plan belongs to another spec, working directory or backend, or is stale.
        SpecError, UsageError, TerraformError, EmulatorError: As their names say.
    """
    from tfgen.deploy import saved  # not for the other commands that take deploy options (backup, doctor)

    return saved.apply_saved(spec_path, plan_file, options, reporters, confirm)
