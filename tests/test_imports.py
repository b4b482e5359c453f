"""What each layer loads: ``tfgen render`` in a pre-commit hook pays only for what it runs.

Modelled on click's ``tests/test_imports.py``: a fresh interpreter runs the command and
reports ``sys.modules``, which is held to an allowlist.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tfgen
from tests.conftest import ROOT
from tests.goldens import spec_path
from tfgen import api

PROBE = """\
import json, sys
before = set(sys.modules)
from tfgen.cli.main import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as report:
    json.dump({"code": code, "loaded": sorted(set(sys.modules) - before)}, report)
"""

FORBIDDEN = {"pydantic", "typer", "click", "rich", "boto3", "botocore", "moto", "psycopg", "python_terraform"}
"""Heavy packages the render path must never load."""

ALLOWED_PACKAGES = {"tfgen", "jinja2", "markupsafe", "yaml", "cython_runtime"}
"""Every package (outside the standard library) the render path may load; yaml's C loader is built with Cython."""

ALLOWED_TFGEN = {
    "tfgen.errors",
    "tfgen.facts",
    "tfgen.api",
    "tfgen.api.authoring",
    "tfgen.api.settings",
    "tfgen.cli",
    "tfgen.cli.main",
    "tfgen.cli.fast",
    "tfgen.cli.commands",
}
"""tfgen's own modules on the render path, besides those of tfgen.spec and tfgen.render."""


def _loaded(argv: list[str], tmp_path: Path) -> set[str]:
    report = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(report.read_text())
    assert found["code"] == 0
    return set(found["loaded"])


@pytest.mark.parametrize(
    "argv",
    [
        ["render", str(spec_path("local")), "-o", "{tmp}/module"],
        ["render", "--check", str(spec_path("local")), "-o", str(ROOT / "tests" / "golden" / "local")],
        ["validate", str(spec_path("teams"))],
        ["--version"],
    ],
    ids=lambda argv: " ".join(word for word in argv if not word.startswith(("/", "{"))),
)
def test_the_render_path_loads_only_what_it_allows(argv: list[str], tmp_path: Path) -> None:
    loaded = _loaded([word.replace("{tmp}", str(tmp_path)) for word in argv], tmp_path)
    packages = {name.partition(".")[0] for name in loaded} - set(sys.stdlib_module_names)
    assert not packages & FORBIDDEN
    assert {name for name in packages if not name.startswith("_cython_")} <= ALLOWED_PACKAGES
    tfgen_modules = {name for name in loaded if name.partition(".")[0] == "tfgen"} - {"tfgen"}
    assert {name for name in tfgen_modules if not name.startswith(("tfgen.spec", "tfgen.render"))} <= ALLOWED_TFGEN


def test_import_tfgen_loads_no_other_package_and_none_of_its_modules() -> None:
    code = "import json, sys; before = set(sys.modules); import tfgen; print(json.dumps(sorted(set(sys.modules) - before)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout))
    assert {name for name in loaded if name.partition(".")[0] not in sys.stdlib_module_names} == {"tfgen"}


def test_the_api_is_reachable_from_the_package() -> None:
    for name in api.__all__:
        value = getattr(api, name)
        if name != "render":  # tfgen.render is the rendering subpackage
            assert getattr(tfgen, name) is value, name
    assert tfgen.api is api
    with pytest.raises(AttributeError):
        _ = tfgen.no_such_name


def _imports(path: Path) -> set[str]:
    """The tfgen.cli modules a CLI module imports, at any level."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "tfgen.cli":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tfgen.cli."):
            found.add(node.module.removeprefix("tfgen.cli."))
    return found


def test_no_two_cli_modules_import_each_other() -> None:
    cli = ROOT / "tfgen" / "cli"
    graph = {path.stem: _imports(path) for path in cli.glob("*.py") if path.stem != "__init__"}
    assert graph == {
        "main": {"commands", "fast", "app"},
        "fast": {"commands", "reviewed", "backup", "planning"},
        "backup": {"output", "reviewed"},
        "reviewed": {"commands", "output"},
        "planning": {"commands", "output", "prompts", "reviewed"},
        "commands": set(),
        "output": {"commands"},
        "prompts": {"commands", "output"},
        "options": set(),
        "rotation": {"commands", "options", "output", "prompts", "reviewed"},
        "adopt": {"commands", "options"},
        "app": {"adopt", "backup", "commands", "options", "output", "planning", "prompts", "reviewed", "rotation"},
    }
