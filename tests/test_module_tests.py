"""The `tests/module.tftest.hcl` that travels with every rendered module passes `terraform test`,
and fails when an invariant is broken."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.goldens import GOLDENS, spec_path
from tfgen import api
from tfgen.emulator import server as emulator
from tfgen.render.view import ModuleView
from tfgen.spec.loading import load_spec

AWS_ONLY = [name for name in sorted(GOLDENS) if not load_spec(spec_path(name)).spec.needs_random_provider]


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with emulator.Emulator() as url:
        yield url


def terraform_test(directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    init = subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false", "-no-color"],
        cwd=directory,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    return subprocess.run(
        ["terraform", "test", "-no-color"], cwd=directory, capture_output=True, text=True, env=env, check=False
    )


def module_test_env(terraform_cli_env: dict[str, str], url: str) -> dict[str, str]:
    # write_only modules plan against a real provider: the emulator, through AWS_ENDPOINT_URL
    return {
        **os.environ,
        **terraform_cli_env,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


@pytest.mark.terraform
@pytest.mark.parametrize("name", AWS_ONLY)
def test_module_tests_pass(name: str, tmp_path: Path, terraform_cli_env: dict[str, str], emulator_url: str) -> None:
    out = tmp_path / name
    api.render(spec_path(name), out)
    result = terraform_test(out, module_test_env(terraform_cli_env, emulator_url))
    assert result.returncode == 0, result.stdout + result.stderr
    # "invariants", "refuses_what_aws_refuses" and "advanced_database_insights_needs_465_days" (v2), and
    # "thresholds_follow_capacity" where an alarm's threshold follows max_capacity, "iam_roles_refused" with iam_roles
    spec = load_spec(spec_path(name)).spec
    runs = 1 + 2 * spec.is_v2 + (ModuleView.of(spec).capacity_override is not None) + bool(spec.iam_roles)
    assert f"Success! {runs} passed, 0 failed." in result.stdout


@pytest.mark.terraform
@pytest.mark.parametrize("name", ["rds-managed", "local"])
def test_module_tests_catch_a_broken_invariant(
    name: str, tmp_path: Path, terraform_cli_env: dict[str, str], emulator_url: str
) -> None:
    out = tmp_path / name
    api.render(spec_path(name), out)
    network = out / "network.tf"
    network.write_text(network.read_text().replace("from_port         = 5432", "from_port         = 22", 1))
    result = terraform_test(out, module_test_env(terraform_cli_env, emulator_url))
    assert result.returncode != 0
    assert "Ingress must be TCP 5432 only." in result.stdout + result.stderr


@pytest.mark.terraform
def test_module_tests_catch_thresholds_frozen_at_render_time(
    tmp_path: Path, terraform_cli_env: dict[str, str], emulator_url: str
) -> None:
    # the defect this guards against: alarm thresholds computed from the spec's max_capacity, so that
    # a repository overriding max_capacity kept alarms about the old capacity
    out = tmp_path / "local"
    api.render(spec_path("local"), out)
    spec = load_spec(spec_path("local")).spec
    alarms = out / "alarms.tf"
    text = alarms.read_text()
    assert "floor(var.max_capacity * 9) / 10" in text
    alarms.write_text(text.replace("floor(var.max_capacity * 9) / 10", f"{spec.capacity_threshold:g}"))
    result = terraform_test(out, module_test_env(terraform_cli_env, emulator_url))
    assert result.returncode != 0
    assert "With max_capacity = 32 the capacity alarm's threshold must be" in result.stdout + result.stderr
