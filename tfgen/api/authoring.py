"""validate, render, update, schema, new: the commands that read specs and write modules (no terraform)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tfgen
from tfgen.errors import SpecError, UsageError
from tfgen.render import manifest as _manifest
from tfgen.render import merge as _merge
from tfgen.render import templates as _render
from tfgen.render import writer as _writer
from tfgen.spec import loading as _spec

DEFAULT_MODULE_DIR = tfgen.DEFAULT_MODULE_DIR


@dataclass(frozen=True)
class RenderOutcome:
    """The result of :func:`render`."""

    loaded: _spec.LoadedSpec
    directory: Path
    files: dict[str, str]
    written: _writer.WriteResult | None
    """None when ``check`` was requested (nothing is written)."""


def validate(spec_path: Path, environment: str | None = None, workdir: Path | None = None) -> list[_spec.LoadedSpec]:
    """Validate a spec: the base and every environment, or only ``environment``.

    Where a cluster is deployed from a working directory with a local state (``workdir``, or
    each spec's default ``.tfgen/<name>``), its running engine version is compared with the
    spec's: a move AWS refuses (a lower major, a major that is not an upgrade target) is a
    problem of the spec's ``engine_version`` (:func:`tfgen.deploy.upgrade.move_refused`).
    A remote state is not read here: ``plan`` refuses such a move there.

    Returns:
        The base spec, then each environment (merged), in file order; or the one environment.

    Raises:
        SpecError: If the base or any environment is invalid (every problem of every environment).
        UsageError: If ``environment`` is not one of the spec's.
    """
    if environment is not None:
        found = [_spec.load_spec(spec_path, environment)]
    else:
        base = _spec.load_spec(spec_path)
        found = [base, *_spec.load_environments(spec_path).values()] if base.environments else [base]
    problems = [p for loaded in found if (p := _version_move(loaded, workdir if len(found) == 1 else None))]
    if problems:
        raise SpecError(problems)
    return found


def _version_move(loaded: _spec.LoadedSpec, workdir: Path | None) -> str | None:
    """The spec's engine version against the one its working directory's local state records (one problem line)."""
    state = (workdir or Path(".tfgen") / loaded.spec.name) / "terraform.tfstate"
    try:
        text = state.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # nothing deployed from here (or not readable): nothing to compare
    from tfgen.deploy import upgrade  # json and the facts only; not on the path of a spec never deployed

    running = upgrade.deployed_version(text)
    refused = None if running is None else upgrade.move_refused(running, loaded.spec.effective_engine_version)
    if refused is None:
        return None
    document = loaded.document
    locations = [("environments", loaded.environment, "engine_version")] if loaded.environment else []
    line = next(
        (document.lines[loc] for loc in [*locations, ("engine_version",)] if loc in document.lines),
        document.line_of(("engine_version",)),
    )
    return f"{loaded.path}:{line}: engine_version: {refused[0]} (deployed, per {state})"


def render(
    spec_path: Path,
    out_dir: Path = DEFAULT_MODULE_DIR,
    *,
    environment: str | None = None,
    check: bool = False,
    force: bool = False,
    template_cache: Path | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> RenderOutcome:
    """Render the module of a spec (or of one of its environments) into ``out_dir``, or compare it (``check``).

    ``out_dir`` may contain ``{name}`` and ``{stem}``, see :func:`module_dir` (an
    environment's cluster name fills ``{name}``); ``template_cache`` is a directory for
    compiled templates (faster start-up). The module records what tfgen wrote (its manifest,
    :mod:`tfgen.render.manifest`); ``on_wait`` hears that another tfgen is writing ``out_dir``.

    Raises:
        SpecError: If the spec is invalid (nothing is written).
        UsageError: If ``environment`` is not one of the spec's, or ``out_dir`` is refused.
        HandEditError: Unless ``force``, if a file to write was edited by hand or not written by tfgen.
        RenderError: If rendering or writing fails (every old file is left as it was).
        DriftError: With ``check``, if ``out_dir`` differs from a fresh render.
    """
    loaded = _spec.load_spec(spec_path, environment)
    out_dir = module_dir(out_dir, loaded)
    files = _render.render_module(loaded.spec, _render.shared_environment(template_cache))
    record = _manifest.Manifest.of(loaded.spec, loaded.environment, files)
    if check:
        _manifest.check_module(files, out_dir, record, on_wait)
        return RenderOutcome(loaded, out_dir, files, None)
    written = _manifest.write_module(files, out_dir, record, force=force, on_wait=on_wait)
    return RenderOutcome(loaded, out_dir, files, written)


def update(
    spec_path: Path,
    out_dir: Path = DEFAULT_MODULE_DIR,
    *,
    environment: str | None = None,
    dry_run: bool = False,
    base_spec: Path | None = None,
    template_cache: Path | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> tuple[_spec.LoadedSpec, _merge.UpdateResult]:
    """Merge a fresh render of a spec into ``out_dir``, keeping hand edits (a three-way merge per file).

    See :mod:`tfgen.render.merge`. With ``dry_run`` nothing is written (the result's ``diff``
    says what would change). Conflicts are written with markers and listed in the result.
    ``base_spec``: for a module without a manifest, the spec it was rendered from (its render
    is the merge base).

    Raises:
        SpecError: If the spec is invalid (nothing is written).
        UsageError: If ``environment`` is not one of the spec's, or ``out_dir`` is refused.
        RenderError: If rendering or writing fails, or the manifest is unreadable.
        HandEditError: If ``out_dir`` has no manifest and files tfgen would merge, and no ``base_spec``.
    """
    loaded = _spec.load_spec(spec_path, environment)
    out_dir = module_dir(out_dir, loaded)
    env = _render.shared_environment(template_cache)
    files = _render.render_module(loaded.spec, env)
    record = _manifest.Manifest.of(loaded.spec, loaded.environment, files)
    base = None
    if base_spec is not None:
        old = _spec.load_spec(base_spec, environment)
        base = _manifest.Manifest.of(old.spec, old.environment, _render.render_module(old.spec, env))
    return loaded, _merge.update_module(files, out_dir, record, dry_run=dry_run, base=base, on_wait=on_wait)


def module_dir(template: Path, loaded: _spec.LoadedSpec) -> Path:
    """``template`` with ``{name}`` (the cluster name) and ``{stem}`` (the spec file's stem) filled in.

    Raises:
        UsageError: If the template has other placeholders.
    """
    text = str(template)
    if "{" not in text:
        return template
    try:
        return Path(text.format_map({"name": loaded.spec.name, "stem": loaded.path.stem}))
    except (KeyError, ValueError, IndexError):
        raise UsageError(f"{text}: only {{name}} and {{stem}} may appear in braces") from None


def schema() -> dict[str, Any]:
    """The JSON Schema of the spec (``tfgen schema``; for yaml-language-server and other editors)."""
    from tfgen.spec.jsonschema import json_schema  # only `tfgen schema` needs it

    return json_schema()


def schema_text() -> str:
    """The JSON Schema as stable, indented JSON text."""
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def new_spec(path: str | os.PathLike[str] = "aurora.yaml") -> Path:
    """Write an annotated starter spec to ``path``.

    ``path`` names the file, or a directory to put ``aurora.yaml`` in: one that exists, or
    one spelled with a trailing ``/`` (created if missing, as ``tfgen new sub/`` does).

    Returns:
        The file written.

    Raises:
        UsageError: If the file already exists.
    """
    target = Path(path)
    if target.is_dir() or os.fspath(path).endswith(("/", os.sep)):
        target = target / "aurora.yaml"
    if target.exists():
        raise UsageError(f"{target}: already exists; not overwriting it")
    text = _render.make_environment().get_template("spec/starter.yaml.j2").render()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target
