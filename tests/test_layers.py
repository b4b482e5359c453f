"""The package's layers: what each subpackage may import, and how big a module may grow.

Data flows one way — spec → render → files → terraform → report — and the tree shows it:

========== ==========================================================================
layer      may import (besides itself, ``tfgen.errors``, ``tfgen.facts`` and the ``tfgen`` root)
========== ==========================================================================
facts      nothing: the AWS rules tfgen relies on, with their sources (``facts/aws.toml``)
spec       nothing else: the spec language stands alone
render     spec (code generation never starts a process)
terraform  nothing else: the driver knows terraform, not tfgen's specs
emulator   nothing else: moto and its fixes
deploy     spec, render, terraform, emulator
ops        spec, deploy, terraform
api        every layer but cli
cli        everything; nothing imports cli but ``tfgen.__main__``
========== ==========================================================================

Imports inside functions count (a lazy import is still a dependency). The check reads the
source with :mod:`ast`, so it needs no import of the package and sees every branch.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tfgen"

ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "facts": set(),
    "spec": set(),
    "render": {"spec"},
    "terraform": set(),
    "emulator": set(),
    "deploy": {"spec", "render", "terraform", "emulator"},
    "ops": {"spec", "deploy", "terraform"},
    "api": {"spec", "render", "terraform", "emulator", "deploy", "ops"},
    "cli": {"api", "spec", "render", "terraform", "emulator", "deploy", "ops"},
    "__main__": {"cli"},
}
"""Layer → the other layers it may import. ``errors``, ``facts`` and the package root are open to all."""

OPEN = {"errors", "facts"}

MAX_LINES = 500
"""A module longer than this does more than one job: split it along its seams."""


def _layer(dotted: str) -> str | None:
    """``tfgen.deploy.workdir`` → ``deploy``; ``tfgen`` (the root) → None."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else None


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every ``tfgen...`` module ``path`` imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "tfgen")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "tfgen":
                continue
            if node.module == "tfgen":  # `from tfgen import api` imports tfgen.api; `import __version__` the root
                found.update(f"tfgen.{alias.name}" if _is_module(alias.name) else "tfgen" for alias in node.names)
            else:
                found.add(node.module)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "templates" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_module_imports_only_lower_layers(path: Path) -> None:
    own = _layer(_module_name(path))
    if own is None:  # the root, tfgen/__init__.py, may name the API lazily
        return
    assert own in ALLOWED, f"{own}: a new layer; add it to ALLOWED and the table in this file's docstring"
    allowed = ALLOWED[own] | {own} | (OPEN if own not in OPEN else set())
    wrong = sorted(name for name in _imports(path) if (layer := _layer(name)) is not None and layer not in allowed)
    assert not wrong, f"{_module_name(path)} ({own}) imports {wrong}; {own} may import {sorted(allowed)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_module_stays_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)}: {lines} lines (at most {MAX_LINES})"


def test_the_layer_check_sees_lazy_and_aliased_imports(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "from tfgen import __version__, api\n"
        "import tfgen.terraform.driver\n"
        "def f():\n"
        "    from tfgen.deploy import operations as deploy\n",
        encoding="utf-8",
    )
    assert _imports(source) == {"tfgen", "tfgen.api", "tfgen.terraform.driver", "tfgen.deploy"}


def test_developers_md_names_every_module_of_every_layer() -> None:
    layout = (PACKAGE.parent / "DEVELOPERS.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in layout.splitlines() if line.startswith("| ")}
    missing = []
    for package in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        row = rows.get(package.name)
        assert row is not None, f"DEVELOPERS.md's layout table has no row for the layer {package.name}"
        assert set(ALLOWED) >= {package.name}, f"{package.name}: a layer the import rules do not know"
        missing += [
            f"{package.name}/{m.stem}"
            for m in package.glob("*.py")
            if m.stem != "__init__" and f"`{m.stem}`" not in row
        ]
    assert not missing, f"DEVELOPERS.md's layout table does not name {missing}"
