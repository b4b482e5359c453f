"""Saved plans (tfgen.deploy.plans): the record of origin written, read back and checked; no terraform.

A terraform plan file is a zip archive (``tfplan``, ``tfstate``, ``tfconfig/``…); these tests use
a small stand-in with the same entries. ``tests/test_reviewed_plan.py`` runs the real thing.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from pathlib import Path

import pytest

from tfgen.deploy import plans
from tfgen.deploy.plans import PlanOrigin, SavedPlanError
from tfgen.errors import ExitCode

ORIGIN = PlanOrigin(
    spec="orders.yaml",
    spec_digest="a" * 64,
    environment=None,
    workdir="/srv/deploy/.tfgen/orders-db",
    backend="local",
    target="local",
    endpoint="http://127.0.0.1:4566",
)


def terraform_plan(path: Path, state: str = "serial 1") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tfplan", b"\x00plan")
        archive.writestr("tfstate", state)
        archive.writestr("tfconfig/m-/main.tf", "resource {}")
    return path


def test_a_saved_plan_is_0600_whatever_the_umask_and_says_where_it_belongs(tmp_path: Path) -> None:
    source = terraform_plan(tmp_path / "tfgen.tfplan")
    old = os.umask(0)
    try:
        saved = plans.save_plan(source, tmp_path / "review.tfplan", ORIGIN)
    finally:
        os.umask(old)
    assert saved == tmp_path / "review.tfplan"
    assert saved.stat().st_mode & 0o777 == 0o600
    assert plans.read_origin(saved) == ORIGIN
    with zipfile.ZipFile(saved) as archive, zipfile.ZipFile(source) as original:
        for name in original.namelist():  # terraform's entries, unchanged
            assert archive.read(name) == original.read(name)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    # renamed or copied, it still says where it belongs
    moved = saved.rename(tmp_path / "anything")
    assert plans.read_origin(moved) == ORIGIN


def refusal(path: Path) -> SavedPlanError:
    with pytest.raises(SavedPlanError) as caught:
        plans.read_origin(path)
    return caught.value


def test_what_is_not_a_plan_saved_by_tfgen_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path / "missing.tfplan").message == f"{tmp_path / 'missing.tfplan'}: no such plan file"
    text = tmp_path / "text.tfplan"
    text.write_text("not a plan")
    assert refusal(text).message.startswith(f"{text} is not a plan saved by tfgen plan --out (")
    plain = terraform_plan(tmp_path / "plain.tfplan")
    error = refusal(plain)
    assert error.message.startswith(f"{plain} is a terraform plan, but not one saved by tfgen plan --out")
    assert error.exit_code is ExitCode.FAILED and error.hint == "save the plan with tfgen plan SPEC --out FILE"


def test_a_record_moved_to_another_plan_is_refused(tmp_path: Path) -> None:
    saved = plans.save_plan(terraform_plan(tmp_path / "a"), tmp_path / "a.tfplan", ORIGIN)
    forged = terraform_plan(tmp_path / "b.tfplan", state="serial 2")
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(forged, "a") as target:
        target.writestr(plans.ORIGIN_ENTRY, source.read(plans.ORIGIN_ENTRY))
    assert refusal(forged).message.startswith(f"{forged}: its record of origin does not belong to the plan")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"spec_digest": "b" * 64, "spec": "other.yaml"},
            "was planned from another spec (orders.yaml), not other.yaml",
        ),
        ({"environment": "prod"}, "was planned from another spec"),
        ({"workdir": "/tmp/w"}, "was planned in the working directory /srv/deploy/.tfgen/orders-db, not /tmp/w"),
        ({"backend": "s3://b/k"}, "was planned with the state in local; the spec now keeps it in s3://b/k"),
        ({"endpoint": "http://127.0.0.1:5000"}, "against the emulator at http://127.0.0.1:4566, not the emulator at "),
        ({"target": "aws", "endpoint": None}, "against the emulator at http://127.0.0.1:4566, not real AWS"),
    ],
)
def test_a_plan_for_somewhere_else_is_refused(change: dict[str, object], expected: str) -> None:
    path = Path("review.tfplan")
    plans.check_origin(path, ORIGIN, ORIGIN)
    with pytest.raises(SavedPlanError) as caught:
        plans.check_origin(path, ORIGIN, dataclasses.replace(ORIGIN, **change))  # type: ignore[arg-type]
    assert expected in caught.value.message
    assert caught.value.message.endswith("nothing was changed")


def test_out_must_name_a_file(tmp_path: Path) -> None:
    with pytest.raises(SavedPlanError) as caught:
        plans.save_plan(terraform_plan(tmp_path / "p"), tmp_path, ORIGIN)
    assert caught.value.message == f"--out {tmp_path} is a directory; name the plan file to write"
    with pytest.raises(SavedPlanError) as missing:
        plans.save_plan(terraform_plan(tmp_path / "p"), tmp_path / "no" / "such" / "p.tfplan", ORIGIN)
    assert missing.value.message.startswith(f"cannot write the plan to {tmp_path / 'no' / 'such' / 'p.tfplan'}: ")


def test_terraforms_stale_plan_is_said_plainly() -> None:
    error = plans.stale_plan_error(Path("review.tfplan"))
    assert error.message == (
        "review.tfplan is stale: the state changed since it was planned (another apply or a refresh ran); "
        "terraform applied nothing"
    )
    assert error.exit_code is ExitCode.FAILED


def test_the_record_keeps_the_specs_text_name_and_warnings(tmp_path: Path) -> None:
    origin = dataclasses.replace(ORIGIN, source="c" * 64, name="orders-db", warnings=("orders.yaml:3: v1 is retired",))
    saved = plans.save_plan(terraform_plan(tmp_path / "p"), tmp_path / "p.tfplan", origin)
    assert plans.read_origin(saved) == origin
    assert plans.read_origin(plans.save_plan(terraform_plan(tmp_path / "q"), tmp_path / "q.tfplan", ORIGIN)) == ORIGIN


@pytest.mark.parametrize(
    ("record", "digest", "environment", "expected"),
    [
        ({}, "c" * 64, None, True),
        ({}, "d" * 64, None, False),  # the file was edited since: load it (a comment changes nothing, then)
        ({}, None, None, False),  # unreadable: loading says why
        ({}, "c" * 64, "prod", False),
        ({"source": ""}, "", None, False),  # a plan saved before the record had the text
        ({"name": ""}, "c" * 64, None, False),
        ({"tfgen": "0.0.1"}, "c" * 64, None, False),  # another tfgen may load the same text otherwise
    ],
)
def test_the_very_text_planned_need_not_be_loaded_again(
    record: dict[str, str], digest: str | None, environment: str | None, expected: bool
) -> None:
    saved = dataclasses.replace(ORIGIN, **{"source": "c" * 64, "name": "orders-db", **record})
    assert plans.unchanged(saved, digest, environment) is expected
