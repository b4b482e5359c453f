"""What a plan skips on a prepared working directory, and what still makes it render, init or check again.

``workdir.prepare`` renders only when the render key (spec, target, emulator URL, tfgen's
code) or a written file changed; ``terraform init`` runs when its fingerprint (provider
requirements, module call, data directory, terraform's name and version) changed;
``terraform version -json`` runs once per binary file (``TerraformSettings.version_cache``).
The deploy tests drive a fake terraform (``tests/test_terraform_wrapper.py``), no emulator.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import tfgen
from tests.test_terraform_wrapper import Fake, base_env, summary
from tfgen.deploy import operations as deploy
from tfgen.deploy import workdir
from tfgen.render import templates as render
from tfgen.spec.loading import load_spec
from tfgen.spec.model import Spec
from tfgen.terraform.config import TerraformSettings

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "local.yaml"
URL = "http://127.0.0.1:45001"


def spec_file(directory: Path, **changes: Any) -> Path:
    """examples/local.yaml with top-level keys replaced."""
    data = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    data.update(changes)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def files_under(directory: Path) -> dict[str, str]:
    """Every file but the record (what a render writes)."""
    return {
        str(p.relative_to(directory)): p.read_text(encoding="utf-8")
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != workdir.TARGET_FILE
    }


def fresh(spec: Spec, directory: Path, endpoint: str | None) -> dict[str, str]:
    workdir.prepare(spec, directory, local_endpoint=endpoint)
    return files_under(directory)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the specs rendered (``render.render_module`` calls)."""
    calls: list[str] = []
    original = render.render_module

    def counting(spec: Spec, env: Any = None) -> dict[str, str]:
        calls.append(spec.name)
        return original(spec, env)

    monkeypatch.setattr(render, "render_module", counting)
    return calls


# -- workdir.prepare ----------------------------------------------------------------------------


def test_prepare_again_renders_nothing(tmp_path: Path, renders: list[str]) -> None:
    spec = load_spec(SPEC).spec
    directory = tmp_path / "work"
    first = workdir.prepare(spec, directory, local_endpoint=URL)
    written = files_under(directory)
    again = workdir.prepare(spec, directory, local_endpoint=URL)
    assert renders == [spec.name]
    assert again == first
    assert files_under(directory) == written


def test_a_changed_spec_renders_again(tmp_path: Path, renders: list[str]) -> None:
    directory = tmp_path / "work"
    workdir.prepare(load_spec(SPEC).spec, directory, local_endpoint=URL)
    changed = load_spec(spec_file(tmp_path / "spec", tags={"purpose": "changed"})).spec
    workdir.prepare(changed, directory, local_endpoint=URL)
    assert len(renders) == 2
    rendered = files_under(directory)
    shutil.rmtree(directory)  # a fresh render in the same place: the stand-in network's tag names the directory
    assert rendered == fresh(changed, directory, URL)


@pytest.mark.parametrize("endpoint", [URL, None], ids=["local", "aws"])
def test_another_backend_renders_again(tmp_path: Path, renders: list[str], endpoint: str | None) -> None:
    """The backend is not part of the spec's digest (the module does not change): the root configuration does."""
    directory = tmp_path / "work"
    local = load_spec(SPEC).spec
    workdir.prepare(local, directory, local_endpoint=endpoint)
    s3 = load_spec(spec_file(tmp_path / "spec", backend={"type": "s3", "bucket": "team-state"})).spec
    assert s3.digest() == local.digest()
    prepared = workdir.prepare(s3, directory, local_endpoint=endpoint)
    assert prepared.backend == "s3://team-state/tfgen/tfgen-demo.tfstate"
    assert 'bucket       = "team-state"' in (directory / "main.tf").read_text(encoding="utf-8")
    other = load_spec(spec_file(tmp_path / "spec2", backend={"type": "s3", "bucket": "team-state", "key": "k"})).spec
    workdir.prepare(other, directory, local_endpoint=endpoint)
    assert '"k"' in (directory / "main.tf").read_text(encoding="utf-8")
    workdir.prepare(local, directory, local_endpoint=endpoint)
    assert "team-state" not in (directory / "main.tf").read_text(encoding="utf-8")
    assert len(renders) == 4


def test_another_emulator_url_renders_again(tmp_path: Path, renders: list[str]) -> None:
    spec = load_spec(SPEC).spec
    directory = tmp_path / "work"
    workdir.prepare(spec, directory, local_endpoint=URL)
    other = "http://127.0.0.1:45002"
    workdir.prepare(spec, directory, local_endpoint=other)
    assert len(renders) == 2
    assert other in (directory / "tfgen_local_override.tf").read_text(encoding="utf-8")


def test_another_tfgen_renders_again(tmp_path: Path, renders: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(SPEC).spec
    directory = tmp_path / "work"
    workdir.prepare(spec, directory, local_endpoint=URL)
    workdir.code_signature.cache_clear()
    monkeypatch.setattr(tfgen, "__version__", "99.0.0")
    monkeypatch.setattr(render, "__version__", "99.0.0")  # what the module header shows
    try:
        workdir.prepare(spec, directory, local_endpoint=URL)
    finally:
        workdir.code_signature.cache_clear()
    assert len(renders) == 2
    assert "Generated by tfgen 99.0.0" in (directory / "module" / "main.tf").read_text(encoding="utf-8")


def test_code_signature_follows_every_file_of_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "tfgen"
    (package / "templates" / "module").mkdir(parents=True)
    (package / "__init__.py").write_text("# code\n", encoding="utf-8")
    template = package / "templates" / "module" / "main.tf.j2"
    template.write_text("a\n", encoding="utf-8")
    monkeypatch.setattr(tfgen, "__file__", str(package / "__init__.py"))
    signatures: list[str] = []
    for change in (None, "ab\n", "ac\n"):
        if change is not None:
            template.write_text(change, encoding="utf-8")
            os.utime(template, ns=(1, len(signatures)))  # same size, another mtime
        workdir.code_signature.cache_clear()
        signatures.append(workdir.code_signature())
    workdir.code_signature.cache_clear()
    assert len(set(signatures)) == 3


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: (d / "module" / "main.tf").write_text("# edited\n", encoding="utf-8"), id="edited"),
        pytest.param(lambda d: (d / "module" / "variables.tf").unlink(), id="module-file-deleted"),
        pytest.param(lambda d: (d / "tfgen_local_override.tf").unlink(), id="root-file-deleted"),
        pytest.param(lambda d: (d / workdir.TARGET_FILE).write_text("{}", encoding="utf-8"), id="record-lost"),
    ],
)
def test_a_changed_file_is_rendered_again(tmp_path: Path, renders: list[str], damage: Any) -> None:
    spec = load_spec(SPEC).spec
    directory = tmp_path / "work"
    workdir.prepare(spec, directory, local_endpoint=URL)
    written = files_under(directory)
    damage(directory)
    workdir.prepare(spec, directory, local_endpoint=URL)
    assert len(renders) == 2
    assert files_under(directory) == written


def test_a_root_file_of_the_emulator_is_removed_for_aws(tmp_path: Path, renders: list[str]) -> None:
    spec = load_spec(SPEC).spec
    directory = tmp_path / "work"
    workdir.prepare(spec, directory, local_endpoint=None)
    (directory / "local_network.tf").write_text("# not for AWS\n", encoding="utf-8")
    workdir.prepare(spec, directory, local_endpoint=None)
    assert len(renders) == 2
    assert not (directory / "local_network.tf").exists()


def test_init_fingerprint_and_the_render_record(tmp_path: Path) -> None:
    spec = load_spec(SPEC).spec
    directory = tmp_path / "work"
    data = tmp_path / "data"
    prepared = workdir.prepare(spec, directory, local_endpoint=URL, data_dir=data, tool="terraform 1.11.4")
    assert prepared.needs_init
    (data / "modules").mkdir(parents=True)
    workdir.mark_initialised(prepared)
    record = json.loads((directory / workdir.TARGET_FILE).read_text(encoding="utf-8"))
    assert record["init"] == prepared.fingerprint and record["render"]["files"]  # init keeps the render record
    same = workdir.prepare(spec, directory, local_endpoint=URL, data_dir=data, tool="terraform 1.11.4")
    assert not same.needs_init
    assert workdir.prepare(spec, directory, local_endpoint=URL, data_dir=data, tool="terraform 1.12.0").needs_init
    assert workdir.prepare(spec, directory, local_endpoint=URL, data_dir=data, tool="tofu 1.11.4").needs_init
    assert workdir.prepare(spec, directory, local_endpoint=URL, data_dir=tmp_path / "other").needs_init
    # another spec with the same provider requirements and module call: no init
    retagged = load_spec(spec_file(tmp_path / "spec", tags={"purpose": "other"})).spec
    assert not workdir.prepare(
        retagged, directory, local_endpoint=URL, data_dir=data, tool="terraform 1.11.4"
    ).needs_init
    versions = (directory / "module" / "versions.tf").read_text(encoding="utf-8")
    main = (directory / "main.tf").read_text(encoding="utf-8")
    fingerprint = workdir._fingerprint(versions, main, data, "terraform 1.11.4")
    assert workdir._fingerprint("# another header\n" + versions, main, data, "terraform 1.11.4") == fingerprint
    required = versions.replace('version = ">= ', 'version = "> ')
    assert required != versions
    assert workdir._fingerprint(required, main, data, "terraform 1.11.4") != fingerprint
    moved = main.replace('source = "./module"', 'source = "./other"')
    assert moved != main
    assert workdir._fingerprint(versions, moved, data, "terraform 1.11.4") != fingerprint
    (data / "modules").rmdir()
    assert workdir.prepare(spec, directory, local_endpoint=URL, data_dir=data, tool="terraform 1.11.4").needs_init


# -- deploy.plan with a fake terraform ------------------------------------------------------------


class Driver:
    """``deploy.plan`` of a spec with the fake terraform (cacheable, as a real binary is)."""

    def __init__(self, tmp_path: Path, fake: Fake) -> None:
        self.fake = fake
        self.directory = tmp_path / "deploy" / "work"  # made by the first plan
        self.base = tmp_path
        fake.program(plan={"lines": [{"type": "version", "terraform": "1.11.4"}, summary("plan")], "exit": 0})

    def settings(self, version: str = "1.11.4") -> TerraformSettings:
        env = base_env(self.fake.tmp_path, FAKE_LOG=str(self.fake.log), FAKE_SCRIPT=str(self.fake.script))
        return TerraformSettings(binary=str(self.fake.binary), env={**env, "FAKE_VERSION": version})

    def plan(self, spec: Path = SPEC, version: str = "1.11.4") -> list[str]:
        """Plan; return the subcommands terraform ran."""
        before = len(self.fake.calls())
        options = deploy.DeployOptions(terraform=self.settings(version), base_dir=self.base, workdir=self.directory)
        deploy.plan(spec, options, lambda phase: deploy._Quiet())
        (self.directory / ".terraform" / "modules").mkdir(parents=True, exist_ok=True)  # as terraform init does
        return [call["argv"][0] for call in self.fake.calls()[before:]]


@pytest.fixture
def driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Driver:
    monkeypatch.setattr("tfgen.terraform.version._is_shim", lambda invoked, real: False)  # the fake is a script
    return Driver(tmp_path, Fake(tmp_path))


def test_a_second_plan_runs_only_terraform_plan(driver: Driver, renders: list[str]) -> None:
    assert driver.plan() == ["version", "init", "plan"]
    assert driver.plan() == ["plan"]
    assert driver.plan() == ["plan"]
    assert len(renders) == 1
    cache = json.loads((driver.directory / workdir.VERSION_CACHE).read_text(encoding="utf-8"))
    assert [entry["version"] for entry in cache.values()] == ["1.11.4"]


def test_a_plan_of_a_changed_spec_renders_again(driver: Driver, renders: list[str], tmp_path: Path) -> None:
    driver.plan()
    changed = spec_file(tmp_path / "spec", tags={"purpose": "changed"})
    # the module's header names the spec's digest; init depends on the code only
    assert driver.plan(changed) == ["plan"]
    assert len(renders) == 2
    digest = load_spec(changed).spec.digest()
    assert digest in (driver.directory / "module" / "main.tf").read_text(encoding="utf-8")


def test_another_terraform_binary_is_checked_and_initialised_again(driver: Driver, renders: list[str]) -> None:
    driver.plan()
    # an upgrade replaces the file: its size, mtime and ctime change
    driver.fake.binary.write_text(driver.fake.binary.read_text(encoding="utf-8") + "\n# 1.12\n", encoding="utf-8")
    driver.fake.program(plan={"lines": [{"type": "version", "terraform": "1.12.0"}, summary("plan")], "exit": 0})
    assert driver.plan(version="1.12.0") == ["version", "init", "plan"]
    assert driver.plan(version="1.12.0") == ["plan"]
    assert len(renders) == 1


def test_a_wrong_remembered_version_is_corrected_by_the_plan(driver: Driver) -> None:
    """A binary that changed without its file changing (an ELF proxy): the version event tells."""
    driver.plan()
    driver.fake.program(plan={"lines": [{"type": "version", "terraform": "1.13.1"}, summary("plan")], "exit": 0})
    assert driver.plan() == ["plan"]
    assert driver.plan() == ["init", "plan"]  # the next session knows: another terraform, init again
    cache = json.loads((driver.directory / workdir.VERSION_CACHE).read_text(encoding="utf-8"))
    assert [entry["version"] for entry in cache.values()] == ["1.13.1"]
