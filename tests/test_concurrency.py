"""Renders racing each other and other programs in one directory: each result is one whole render.

Each render is a process of its own: forked from the test's (many rounds), or ``python -m tfgen
render`` (the console script's path, fewer rounds). As root, the directory belongs to
another user and is reached through a symbolic link; as an ordinary user (``nobody``, through
``setpriv``) where an interpreter with tfgen is reachable for it.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.goldens import spec_path
from tfgen import api
from tfgen.cli import main as entry
from tfgen.render import manifest, writer
from tfgen.render import templates as render
from tfgen.spec.loading import load_spec

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
PAIRS = 20


def two_specs(folder: Path, count: int = 2) -> list[Path]:
    """examples/local.yaml and variants of it (other max_capacity): one module directory, several renders."""
    text = spec_path("local").read_text()
    specs = [folder / f"spec-{i}.yaml" for i in range(count)]
    for i, spec in enumerate(specs):
        spec.write_text(text.replace("max_capacity: 4", f"max_capacity: {4 + 2 * i}"))
    return specs


def renders(specs: Sequence[Path]) -> dict[str, dict[str, str]]:
    """Spec digest → the files of its render."""
    found = {}
    for spec in specs:
        loaded = load_spec(spec)
        found[loaded.spec.digest()] = render.render_module(loaded.spec)
    return found


def assert_one_whole_render(out: Path, expected: dict[str, dict[str, str]]) -> None:
    document = json.loads((out / manifest.MANIFEST).read_text())
    files = expected[document["spec"]["digest"]]
    assert list(document["files"]) == list(files)
    for name, text in files.items():
        assert (out / name).read_text() == text, f"{name} is not from the render the manifest records"
        assert document["files"][name]["sha256"] == manifest.sha256(text.encode())
    assert [p for p in out.rglob(f"{writer.TEMP_PREFIX}*")] == []


def race(argv_prefix: Sequence[str], specs: Sequence[Path], out: Path, env: dict[str, str], rounds: int) -> None:
    """``rounds`` times, every spec's render started at once into ``out``; each must succeed."""
    for _ in range(rounds):
        processes = [
            subprocess.Popen(
                [*argv_prefix, "-m", "tfgen", "render", str(spec), "-o", str(out)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for spec in specs
        ]
        for process in processes:
            _, err = process.communicate()
            assert process.returncode == 0, err


@contextlib.contextmanager
def creating_files(folder: Path) -> Iterator[list[Path]]:
    """Another program writing new files into ``folder`` all along."""
    created: list[Path] = []
    stop = threading.Event()

    def create() -> None:
        while not stop.wait(0.005):
            path = folder / f"other-{len(created)}.txt"
            path.write_text(path.name)
            created.append(path)

    thread = threading.Thread(target=create)
    thread.start()
    try:
        yield created
    finally:
        stop.set()
        thread.join()


def _render_and_exit(spec: Path, out: Path) -> None:
    rename = os.rename

    def slow_rename(source: str | Path, target: str | Path) -> None:
        time.sleep(0.002)  # a slow file system: renders that overlapped would interleave their files
        rename(source, target)

    os.rename = slow_rename  # type: ignore[assignment]  # in the forked child only
    os._exit(entry.main(["render", str(spec), "-o", str(out)]))


def test_concurrent_renders_never_mix_and_lose_no_other_file(tmp_path: Path) -> None:
    # forked from this process (tfgen already imported), so that 20 pairs take seconds, not a minute
    *specs, third = two_specs(tmp_path, 3)
    expected = renders(specs)
    out = tmp_path / "module"
    out.mkdir()
    fork = multiprocessing.get_context("fork")
    with creating_files(out) as created:
        for _ in range(PAIRS):
            api.render(third, out)  # so that both renders of the pair have every file to write
            pair = [fork.Process(target=_render_and_exit, args=(spec, out)) for spec in specs]
            for process in pair:
                process.start()
            for process in pair:
                process.join()
            assert [process.exitcode for process in pair] == [0, 0]
            assert_one_whole_render(out, expected)
    assert created, "the other program wrote nothing"
    assert [path for path in created if path.read_text() != path.name] == []


def nobodys_linked_directory(base: Path, mode: int) -> tuple[Path, Path, os.stat_result]:
    """A directory of the user nobody's with ``mode``, a symbolic link to it, and its state before."""
    real = base / "real"
    real.mkdir()
    os.chown(real, NOBODY, NOBODY)
    real.chmod(mode)
    link = base / "module"
    link.symlink_to(real)
    return real, link, real.stat()


def assert_kept(real: Path, link: Path, before: os.stat_result) -> None:
    after = real.stat()
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert (after.st_ino, after.st_uid, after.st_gid, after.st_mode) == (
        before.st_ino,
        before.st_uid,
        before.st_gid,
        before.st_mode,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the directory to another user")
def test_as_root_the_directorys_owner_mode_and_symlink_are_kept(tmp_path: Path) -> None:
    specs = two_specs(tmp_path)
    real, link, before = nobodys_linked_directory(tmp_path, 0o2775)
    race([sys.executable], specs, link, dict(os.environ), rounds=3)
    assert_kept(real, link, before)
    assert {(p.stat().st_uid, p.stat().st_gid) for p in real.rglob("*")} == {(NOBODY, NOBODY)}
    assert_one_whole_render(real, renders(specs))


def python_for_nobody(env: dict[str, str]) -> list[str] | None:
    """An interpreter that ``nobody`` can run with tfgen importable (the venv's may sit in /root), or None."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    as_nobody = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    site = sysconfig.get_paths()["purelib"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python, path in ((sys.executable, None), (shutil.which(version), f"{ROOT}:{site}")):
        if python is None:
            continue
        trial = {**env, "PYTHONPATH": path} if path else env
        probe = [*as_nobody, python, "-c", "import jinja2, yaml, tfgen.cli.main"]
        if subprocess.run(probe, env=trial, capture_output=True, check=False).returncode == 0:
            env.update(trial)
            return [*as_nobody, python]
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="not root: every other test here already runs as an ordinary user")
def test_as_an_ordinary_user_the_directory_and_symlink_are_kept() -> None:
    base = Path(tempfile.mkdtemp(prefix="tfgen-nobody-"))  # pytest's tmp_path is root's alone
    try:
        base.chmod(0o755)
        home = base / "home"
        home.mkdir()
        os.chown(home, NOBODY, NOBODY)
        env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
        python = python_for_nobody(env)
        if python is None:
            pytest.skip("needs root, setpriv, and a Python with tfgen that the user nobody can run")
        specs = two_specs(base)
        real, link, before = nobodys_linked_directory(base, 0o2770)
        with creating_files(real) as created:
            race(python, specs, link, env, rounds=3)
        assert_kept(real, link, before)
        tfgen_files = [real / name for name in render.MODULE_FILES]
        assert {(p.stat().st_uid, p.stat().st_gid) for p in tfgen_files} == {(NOBODY, NOBODY)}
        assert [path for path in created if not path.exists()] == []
        assert_one_whole_render(real, renders(specs))
    finally:
        shutil.rmtree(base, ignore_errors=True)
