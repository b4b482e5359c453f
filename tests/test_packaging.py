"""The wheel is what users install: templates travel in it, and `pip install 'tfgen[local]'` runs the main job."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the checkout, built offline (hatchling comes with the test extra)."""
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
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


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} -> exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


@pytest.mark.emulator
def test_installed_wheel_runs_the_main_job_on_the_local_emulator(
    wheel: Path, tmp_path: Path, plugin_mirror: Path
) -> None:
    """A fresh venv with ``wheel[local]``: render, then emulator start, apply, destroy, stop — outside the checkout."""
    venv = tmp_path / "venv"
    _ok(_run([sys.executable, "-m", "venv", str(venv)], tmp_path, dict(os.environ)))
    _ok(_run([str(venv / "bin" / "pip"), "install", "--quiet", f"{wheel}[local]"], tmp_path, dict(os.environ)))
    tfgen = str(venv / "bin" / "tfgen")
    project = tmp_path / "project"
    project.mkdir()
    (project / "local.yaml").write_text((ROOT / "examples" / "local.yaml").read_text())
    env = {**os.environ, "TFGEN_PLUGIN_MIRROR": str(plugin_mirror), "TF_IN_AUTOMATION": "1"}
    env.pop("TF_DATA_DIR", None)  # .terraform/ in the working directory, as tfgen expects
    env.pop("PYTHONPATH", None)

    where = _ok(_run([str(venv / "bin" / "python"), "-c", "import tfgen; print(tfgen.__file__)"], project, env))
    assert where.startswith(str(venv)), "tfgen must come from the installed wheel, not the checkout"
    _ok(_run([tfgen, "render", "local.yaml", "-o", "out"], project, env))
    assert (project / "out" / "main.tf").read_text() == (ROOT / "tests" / "golden" / "local" / "main.tf").read_text()

    workdir = project / ".tfgen" / "demo"
    started = False
    try:
        assert _ok(_run([tfgen, "emulator", "start"], project, env)).startswith("emulator running at ")
        started = True
        _ok(_run([tfgen, "apply", "local.yaml", "--local", "--auto-approve", "--workdir", str(workdir)], project, env))
        _ok(
            _run([tfgen, "destroy", "local.yaml", "--local", "--auto-approve", "--workdir", str(workdir)], project, env)
        )
        stopped = _ok(_run([tfgen, "emulator", "stop"], project, env))
        started = False
        assert stopped == "emulator stopped\n"
    finally:
        if started:
            _run([tfgen, "emulator", "stop"], project, env, timeout=60)


def test_emulator_without_moto_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pip install tfgen`` without the ``local`` extra: ``tfgen emulator start`` says what to install."""
    from tfgen.cli import app as cli

    monkeypatch.setitem(sys.modules, "moto", None)  # what an environment without moto looks like to imports
    monkeypatch.chdir(tmp_path)
    code = cli.main(["emulator", "start"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == "error: the local AWS emulator needs moto, which is not installed: install tfgen[local]\n"
    assert not (tmp_path / ".tfgen" / "emulator.json").exists()
