"""copier and cookiecutter on tfgen's job: their virtualenv and the templates converted for them.

Both get the same template files tfgen renders (``templates/module/*.j2``), the same
Jinja settings (trim_blocks, lstrip_blocks, keep_trailing_newline, StrictUndefined),
the ``hcl`` filter as a Jinja extension, and the render context of the example spec
as their answers' defaults. Calls in the templates become lookups (see
:func:`contexts.data_only_template`); everything else is the same templating work.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess  # noqa: TID251 -- the bench starts processes
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from contexts import Exported, data_only_template

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-peers"
REQUIREMENTS = HERE / "peers-requirements.txt"
EXTENSION_SOURCE = HERE / "plain_filters.py"
HCL_SOURCE = HERE.parent / "tfgen" / "hcl.py"
EXTENSION_MODULE = "local_extensions"
"""The extension's module name: cookiecutter imports ``local_extensions`` from the template's folder."""
PROJECT_SLUG = "aurora_serverless"


def ensure_venv(log: Any = print) -> Path:
    """Create (or reuse) ``bench/.venv-peers`` with copier and cookiecutter; return its bin directory."""
    stamp = VENV / ".bench-stamp"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    bin_dir = VENV / "bin"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted and (bin_dir / "copier").exists():
        return bin_dir
    log(f"creating {VENV.relative_to(HERE.parent)} (copier, cookiecutter) ...")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")}
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, env=env)
    pip = [str(bin_dir / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "-r", str(REQUIREMENTS)], check=True, env=env)  # pip compiles bytecode
    stamp.write_text(wanted, encoding="utf-8")
    return bin_dir


def versions(bin_dir: Path) -> dict[str, str]:
    """Installed versions of the peers (and of their Jinja2)."""
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({n: m.version(n) for n in ('copier', 'cookiecutter', 'jinja2')}))"
    )
    out = subprocess.run([str(bin_dir / "python"), "-c", code], check=True, capture_output=True, text=True).stdout
    found: dict[str, str] = json.loads(out)
    return found


def _copy_extension(root: Path) -> None:
    shutil.copyfile(EXTENSION_SOURCE, root / f"{EXTENSION_MODULE}.py")
    shutil.copyfile(HCL_SOURCE, root / "tfgen_hcl.py")


def _template_sources(templates: Path) -> Iterable[tuple[str, str]]:
    for path in sorted(templates.rglob("*.j2")):
        yield path.relative_to(templates).as_posix(), path.read_text(encoding="utf-8")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build_copier(root: Path, templates: Path, module_files: Iterable[str], exported: Exported) -> Path:
    """A copier template: one ``when: false`` question per context value, default = the value.

    Partials (``{% include %}``) sit at the template root where copier's loader finds
    them; the module's files are under ``project/`` (``_subdirectory``) with copier's
    ``_templates_suffix`` set to ``.j2``.
    """
    without, with_args = exported.callable_names()
    sources = dict(_template_sources(templates))
    for rel, text in sources.items():
        _write(root / rel, data_only_template(text, without, with_args))
    for name in module_files:
        _write(root / "project" / f"{name}.j2", data_only_template(sources[f"module/{name}.j2"], without, with_args))
    _copy_extension(root)
    config: dict[str, Any] = {
        "_subdirectory": "project",
        "_templates_suffix": ".j2",
        "_envops": {
            "keep_trailing_newline": True,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "undefined": "jinja2.StrictUndefined",
        },
        "_jinja_extensions": [f"{EXTENSION_MODULE}.HclExtension"],
    }
    for key, value in exported.to_data().items():
        config[key] = {"type": "yaml", "when": False, "default": value}
    _write(root / "copier.yml", yaml.safe_dump(config, sort_keys=False, width=200))
    return root


def build_cookiecutter(root: Path, templates: Path, module_files: Iterable[str], exported: Exported) -> Path:
    """A cookiecutter template: the context as private (unrendered) variables ``_<name>``.

    Each file starts with ``{% set name = cookiecutter._name %}`` lines (trimmed by
    trim_blocks) so the template bodies stay as they are; partials live in
    ``templates/``, where cookiecutter's loader looks for includes.
    """
    without, with_args = exported.callable_names()
    data = exported.to_data()
    preamble = "".join(f"{{% set {key} = cookiecutter._{key} %}}\n" for key in data)
    sources = dict(_template_sources(templates))
    for rel, text in sources.items():
        _write(root / "templates" / rel, preamble + data_only_template(text, without, with_args))
    project = root / "{{cookiecutter.project_slug}}"
    for name in module_files:
        _write(project / name, preamble + data_only_template(sources[f"module/{name}.j2"], without, with_args))
    _copy_extension(root)
    config: dict[str, Any] = {
        "project_slug": PROJECT_SLUG,
        **{f"_{key}": value for key, value in data.items()},
        "_jinja2_env_vars": {"trim_blocks": True, "lstrip_blocks": True},
        "_extensions": [f"{EXTENSION_MODULE}.HclExtension"],
    }
    _write(root / "cookiecutter.json", json.dumps(config, indent=2) + "\n")
    return root


def cookiecutter_config(directory: Path) -> Path:
    """A user config keeping cookiecutter's replay and clone folders out of ``~``."""
    path = directory / "cookiecutter-config.yaml"
    config = {"cookiecutters_dir": str(directory / "cookiecutters"), "replay_dir": str(directory / "replay")}
    _write(path, yaml.safe_dump(config))
    return path
