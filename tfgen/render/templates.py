"""Jinja templates → module files, in memory (:mod:`tfgen.render.manifest` writes and checks them)."""

from __future__ import annotations

import functools
import traceback
from pathlib import Path
from typing import Any

import jinja2

from tfgen import __version__
from tfgen.errors import RenderError
from tfgen.render import checkov as security
from tfgen.render import hcl, interface, outputs, writer
from tfgen.render.view import ModuleView
from tfgen.spec.model import Spec

WriteResult = writer.WriteResult
write_files = writer.write_files
"""Callers that render and write (the deploy working directory) write through here."""

MODULE_FILES = (
    "versions.tf",
    "variables.tf",
    "main.tf",
    "global.tf",
    "network.tf",
    "parameters.tf",
    "readers.tf",
    "monitoring.tf",
    "integrations.tf",
    "alarms.tf",
    "outputs.tf",
    "README.md",
    "RUNBOOK.md",
    "tests/module.tftest.hcl",
    "examples/complete/main.tf",
)
"""Files of the rendered module, each from ``templates/module/<name>.j2``."""


def make_environment(bytecode_cache: Path | None = None) -> jinja2.Environment:
    """The one Jinja environment: strict, deterministic, no HTML escaping.

    Args:
        bytecode_cache: Directory for compiled templates, so that a new process does
            not compile them again (Jinja keys each entry by the template's source).
    """
    cache = None
    if bytecode_cache is not None:
        try:
            bytecode_cache.mkdir(parents=True, exist_ok=True)
            cache = jinja2.FileSystemBytecodeCache(str(bytecode_cache))
        except OSError:
            cache = None  # a cache is an optimisation: render without it
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tfgen", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 -- renders HCL and Markdown, never HTML
        auto_reload=False,  # templates do not change while tfgen runs
        bytecode_cache=cache,
    )
    env.filters["hcl"] = hcl.value
    return env


@functools.cache
def shared_environment(bytecode_cache: Path | None = None) -> jinja2.Environment:
    """One environment per process (and cache directory): templates compile once."""
    return make_environment(bytecode_cache)


def context(spec: Spec) -> dict[str, Any]:
    """The values every template sees: the spec as written, and its module's view (``module``)."""
    return {
        "spec": spec,
        "module": ModuleView.of(spec),
        "spec_digest": spec.digest(),
        "tfgen_version": __version__,
        "variables": interface.variables(spec),
        "outputs": outputs.outputs(spec),
        "checkov_skips": functools.partial(security.skips_for, spec),
        "checkov_failures": security.expected_failures(spec),
        "checkov_all_skips": security.skips(spec),
    }


def render_module(spec: Spec, env: jinja2.Environment | None = None) -> dict[str, str]:
    """Render every module file in memory.

    Returns:
        Relative path → file content, in :data:`MODULE_FILES` order.

    Raises:
        RenderError: If a template fails, naming the template and line.
    """
    env = env or shared_environment()
    values = context(spec)
    files: dict[str, str] = {}
    for name in MODULE_FILES:
        template_name = f"module/{name}.j2"
        try:
            files[name] = env.get_template(template_name).render(values)
        except jinja2.TemplateError as exc:
            line = getattr(exc, "lineno", None) or _template_line(exc)
            where = f"{template_name}:{line}" if line else template_name
            raise RenderError(f"template {where}: {exc.message or exc}") from exc
    return files


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so template frames carry template line numbers.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.name in ("top-level template code", "template") or frame.name.startswith(("block ", "macro ")):
            return frame.lineno
    return None
