"""Jinja templates → module files, written atomically or compared for drift."""

from __future__ import annotations

import difflib
import functools
import os
import shutil
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from tfgen import __version__, hcl, module, security
from tfgen.errors import DriftError, RenderError, UsageError
from tfgen.spec import Spec

MODULE_FILES = (
    "versions.tf",
    "variables.tf",
    "main.tf",
    "network.tf",
    "parameters.tf",
    "monitoring.tf",
    "alarms.tf",
    "outputs.tf",
    "README.md",
    "RUNBOOK.md",
    "tests/module.tftest.hcl",
    "examples/complete/main.tf",
)
"""Files of the rendered module, each from ``templates/module/<name>.j2``."""

IGNORED = (".terraform", ".terraform.lock.hcl")
"""Terraform's own files in a module directory: neither ours nor drift."""


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
    """The values every template sees."""
    return {
        "spec": spec,
        "spec_digest": spec.digest(),
        "tfgen_version": __version__,
        "variables": module.variables(spec),
        "outputs": module.outputs(spec),
        # written out at each use (not through a local) so that scanners such as Checkov see it
        "kms_key": "aws_kms_key.this.arn" if spec.create_kms_key else "var.kms_key_id",
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


@dataclass
class WriteResult:
    """What :func:`write_files` did."""

    directory: Path
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    """Files in the directory that tfgen did not write (left in place)."""


def _existing_files(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    found = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        for name in sorted(names):
            if name in IGNORED:
                continue
            found.append((Path(root) / name).relative_to(directory).as_posix())
    return found


def _check_target(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory}: exists and is not a directory")


def write_files(files: dict[str, str], directory: Path) -> WriteResult:
    """Write ``files`` into ``directory`` atomically.

    Everything is written into a temporary sibling directory first (with any files
    tfgen did not write copied along), then swapped in with two renames, so a
    failure never leaves a half-written module.

    Raises:
        UsageError: If ``directory`` is a file.
        RenderError: If the files cannot be written.
    """
    _check_target(directory)
    existing = _existing_files(directory)
    result = WriteResult(directory=directory)
    result.foreign = [name for name in existing if name not in files]
    for name, text in files.items():
        target = directory / name
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            result.unchanged.append(name)
        else:
            result.changed.append(name)
    if not result.changed:
        return result
    parent = directory.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tfgen-", dir=parent))
    except OSError as exc:
        raise RenderError(f"{directory}: cannot write: {exc.strerror or exc}") from None
    backup = parent / f"{staging.name}.old"
    try:
        if directory.is_dir():
            shutil.copytree(directory, staging, symlinks=True, dirs_exist_ok=True)
        for parent in sorted({(staging / name).parent for name in files}):
            parent.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        if directory.is_dir():
            directory.rename(backup)
            try:
                staging.rename(directory)
            except OSError:
                backup.rename(directory)
                raise
            shutil.rmtree(backup, ignore_errors=True)
        else:
            staging.rename(directory)
    except OSError as exc:
        raise RenderError(f"{directory}: cannot write: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def diff_files(files: dict[str, str], directory: Path) -> str:
    """Unified diff from ``directory`` to ``files``; empty when they are identical.

    Files in ``directory`` that tfgen would not write count as differences.
    """
    _check_target(directory)
    chunks: list[str] = []
    existing = _existing_files(directory)
    for name, text in files.items():
        target = directory / name
        try:
            current = target.read_text(encoding="utf-8") if target.is_file() else None
        except (OSError, UnicodeDecodeError):
            current = ""
        if current == text:
            continue
        before = [] if current is None else current.splitlines(keepends=True)
        from_name = "/dev/null" if current is None else f"{directory}/{name}"
        chunks.extend(difflib.unified_diff(before, text.splitlines(keepends=True), from_name, f"rendered/{name}"))
    for name in existing:
        if name not in files:
            chunks.append(f"Only in {directory}: {name} (not written by tfgen)\n")
    return "".join(chunks)


def check_files(files: dict[str, str], directory: Path) -> None:
    """Raise :class:`DriftError` unless ``directory`` holds exactly ``files``."""
    diff = diff_files(files, directory)
    if diff:
        raise DriftError(f"{directory} differs from a fresh render of the spec", diff)
