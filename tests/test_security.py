"""Checkov on every rendered example: the production profile has zero failed checks, and the
README of each module lists exactly the failures and skips the scan reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.goldens import GOLDENS, spec_path
from tfgen import api
from tfgen.render import checkov as security
from tfgen.spec.loading import load_spec


@pytest.fixture(scope="session")
def checkov() -> str:
    found = os.environ.get("TFGEN_CHECKOV") or shutil.which("checkov")
    if not found or not Path(found).exists():
        if os.environ.get("TFGEN_REQUIRE_TERRAFORM") == "1":
            pytest.fail("checkov not found (TFGEN_CHECKOV); `make test` installs it into .venv-checkov")
        pytest.skip("checkov not installed (make test installs it into .venv-checkov)")
    return found


def scan(checkov: str, directory: Path) -> dict[str, list[tuple[str, str]]]:
    result = subprocess.run(
        [checkov, "-d", str(directory), "--framework", "terraform", "--output", "json", "--compact"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    results = (report[0] if isinstance(report, list) else report)["results"]

    def pairs(kind: str) -> list[tuple[str, str]]:
        # resources are reported through the example's module call: module.<name>.<address>
        found = {
            (check["check_id"], check["resource"].split(".", 2)[2].split("[")[0])
            for check in results.get(kind, [])
            if check["resource"].startswith("module.")
        }
        return sorted(found)

    return {"failed": pairs("failed_checks"), "skipped": pairs("skipped_checks"), "passed": pairs("passed_checks")}


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_checkov_findings_are_exactly_the_documented_ones(name: str, checkov: str, tmp_path: Path) -> None:
    spec = load_spec(spec_path(name)).spec
    out = tmp_path / name
    api.render(spec_path(name), out)
    found = scan(checkov, out)
    assert found["passed"], "Checkov scanned nothing: the module call in examples/complete was not followed"
    expected_failed = sorted({(f.check_id, f.resource) for f in security.expected_failures(spec)})
    expected_skipped = sorted({(f.check_id, f.resource) for f in security.skips(spec)})
    assert found["failed"] == expected_failed
    assert found["skipped"] == expected_skipped
    readme = (out / "README.md").read_text()
    for check_id, resource in expected_failed + expected_skipped:
        assert f"| {check_id} | `{resource}` |" in readme


def test_production_profile_has_zero_failed_checks(checkov: str, tmp_path: Path) -> None:
    out = tmp_path / "production"
    api.render(spec_path("production"), out)
    found = scan(checkov, out)
    assert found["failed"] == []
    assert "**0 failed checks.**" in (out / "README.md").read_text()
    # the checks the issue names are among those the production module passes
    passed = {check_id for check_id, _ in found["passed"]}
    for check_id in (
        "CKV_AWS_96",
        "CKV_AWS_139",
        "CKV_AWS_162",
        "CKV_AWS_313",
        "CKV_AWS_327",
        "CKV_AWS_324",
        "CKV2_AWS_27",
        "CKV_AWS_226",
        "CKV_AWS_118",
        "CKV_AWS_353",
        "CKV_AWS_354",
        "CKV_AWS_23",
        "CKV_AWS_382",
        "CKV_AWS_338",
        "CKV_AWS_149",
        "CKV_AWS_7",
    ):
        assert check_id in passed, check_id


def test_no_blanket_skips_on_the_command_line() -> None:
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    assert "--skip-check" not in makefile
