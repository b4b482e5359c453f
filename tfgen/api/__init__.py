"""The library API: one function per command, usable without the CLI.

=====================  ==================================================
command                function
=====================  ==================================================
``tfgen validate``     :func:`validate`
``tfgen render``       :func:`render` (and :func:`module_dir`)
``tfgen update``       :func:`update`
``tfgen schema``       :func:`schema` (:func:`schema_text` as JSON text)
``tfgen new``          :func:`new_spec`
``tfgen plan``         :func:`plan`, :func:`plan_directory`
``tfgen apply``        :func:`apply` (a reviewed plan: :func:`apply_reviewed`)
``tfgen destroy``      :func:`destroy`
``tfgen output``       :func:`output`
``tfgen rotate``       :func:`rotate`
``tfgen doctor``       :func:`doctor`
``tfgen backup``       :func:`backup`
``tfgen insights``     :func:`insights`
``tfgen emulator …``   :func:`emulator_start`, :func:`emulator_status`, :func:`emulator_stop`
=====================  ==================================================

The deploy and runbook functions take :func:`deploy_options`. User errors are
:class:`~tfgen.errors.TfgenError`; nothing here prints, prompts or reads ``os.environ``.

Each name is imported on first use: ``tfgen render`` runs in pre-commit hooks, and
must not pay for terraform, AWS or database code it does not run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfgen.api.authoring import (
        DEFAULT_MODULE_DIR,
        RenderOutcome,
        module_dir,
        new_spec,
        render,
        schema,
        schema_text,
        update,
        validate,
    )
    from tfgen.api.deployment import (
        SENSITIVE_MASK,
        apply,
        destroy,
        output,
        plan,
        plan_directory,
        rotate,
    )
    from tfgen.api.emulator import emulator_start, emulator_status, emulator_stop
    from tfgen.api.operations import backup, doctor, insights
    from tfgen.api.reviewed import apply_reviewed, deploy_options
    from tfgen.api.settings import plugin_cache_dir, template_cache_dir, user_cache_dir
    from tfgen.deploy.basics import DeployOptions, Outcome
    from tfgen.deploy.fleet import FleetPlan
    from tfgen.emulator.background import EmulatorInfo
    from tfgen.ops.backup import BackupResult
    from tfgen.ops.runbook import ConnectionOverrides, DoctorReport

_MODULES = {
    "tfgen.api.authoring": (
        "DEFAULT_MODULE_DIR",
        "RenderOutcome",
        "module_dir",
        "new_spec",
        "render",
        "schema",
        "schema_text",
        "update",
        "validate",
    ),
    "tfgen.api.deployment": (
        "SENSITIVE_MASK",
        "apply",
        "destroy",
        "output",
        "plan",
        "plan_directory",
        "rotate",
    ),
    "tfgen.api.emulator": ("emulator_start", "emulator_status", "emulator_stop"),
    "tfgen.api.operations": ("backup", "doctor", "insights"),
    "tfgen.api.reviewed": ("apply_reviewed", "deploy_options"),
    "tfgen.api.settings": ("plugin_cache_dir", "template_cache_dir", "user_cache_dir"),
    "tfgen.deploy.fleet": ("FleetPlan",),
    "tfgen.deploy.basics": ("DeployOptions", "Outcome"),
    "tfgen.emulator.background": ("EmulatorInfo",),
    "tfgen.ops.backup": ("BackupResult",),
    "tfgen.ops.runbook": ("ConnectionOverrides", "DoctorReport"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "DEFAULT_MODULE_DIR",
    "SENSITIVE_MASK",
    "BackupResult",
    "ConnectionOverrides",
    "DeployOptions",
    "DoctorReport",
    "EmulatorInfo",
    "FleetPlan",
    "Outcome",
    "RenderOutcome",
    "apply",
    "apply_reviewed",
    "backup",
    "deploy_options",
    "destroy",
    "doctor",
    "emulator_start",
    "emulator_status",
    "emulator_stop",
    "insights",
    "module_dir",
    "new_spec",
    "output",
    "plan",
    "plan_directory",
    "plugin_cache_dir",
    "render",
    "rotate",
    "schema",
    "schema_text",
    "template_cache_dir",
    "update",
    "user_cache_dir",
    "validate",
]


def __getattr__(name: str) -> Any:
    """Import ``name``'s module on first use."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
