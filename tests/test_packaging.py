"""`pip install .` gives a working `tfgen` outside the checkout: templates travel in the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (found,) = dist.glob("tfgen-*.whl")
    return found


def test_wheel_carries_every_template(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {
        f"tfgen/templates/{path.relative_to(ROOT / 'templates').as_posix()}"
        for path in (ROOT / "templates").rglob("*")
        if path.is_file()
    }
    assert templates
    assert templates <= names, sorted(templates - names)


@pytest.mark.slow
def test_installed_console_script_renders_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    spec = workdir / "spec.yaml"
    spec.write_text((ROOT / "examples" / "local.yaml").read_text())
    result = subprocess.run(
        [str(venv / "bin" / "tfgen"), "render", "spec.yaml", "-o", "out"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (workdir / "out" / "main.tf").read_text() == (ROOT / "tests" / "golden" / "local" / "main.tf").read_text()
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import tfgen; print(tfgen.__file__)"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(venv)), "tfgen must come from the installed wheel, not the checkout"
