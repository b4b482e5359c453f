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


class _Unseekable:
    """A write-only stream: zipfile then writes what Go's archive/zip (terraform) writes, a data
    descriptor after each entry, with sizes and CRC in the central directory only."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")

    def write(self, data: bytes) -> int:
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def archive(
    path: Path, *, compression: int = zipfile.ZIP_DEFLATED, comment: bytes = b"", name: str = "tfstate"
) -> Path:
    entries = {"tfplan": os.urandom(300) + b"plan" * 2000, name: "serial 1", "tfconfig/m-/main.tf": "resource {}"}
    target: Path | _Unseekable = path if compression != -1 else _Unseekable(path)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED if compression == -1 else compression) as written:  # type: ignore[arg-type]
        written.comment = comment
        for entry, content in entries.items():
            written.writestr(entry, content)
    if isinstance(target, _Unseekable):
        target.close()
    return path


@pytest.mark.parametrize(
    ("kind", "made", "plain"),
    [
        ("deflated", {}, True),
        ("stored", {"compression": zipfile.ZIP_STORED}, True),
        ("streamed, as terraform writes", {"compression": -1}, True),
        ("with a comment", {"comment": b"made by hand"}, False),
        ("bzip2", {"compression": zipfile.ZIP_BZIP2}, False),
        ("a non-ASCII name", {"name": "état"}, False),
    ],
)
def test_the_plan_reader_reads_what_zipfile_reads(
    tmp_path: Path, kind: str, made: dict[str, object], plain: bool
) -> None:
    path = archive(tmp_path / "p.tfplan", **made)  # type: ignore[arg-type]
    with zipfile.ZipFile(path) as reference:
        expected = {name: reference.read(name) for name in reference.namelist()}
    assert (plans._plain_zip(path.read_bytes()) is not None) is plain, kind  # the rest is zipfile's
    assert plans._entries(path) == expected
    saved = plans.save_plan(path, tmp_path / "saved.tfplan", ORIGIN)
    assert plans._plain_zip(saved.read_bytes()) is not None or not plain
    assert plans.read_origin(saved) == ORIGIN


def test_a_damaged_truncated_or_doubled_archive_is_refused(tmp_path: Path) -> None:
    saved = plans.save_plan(archive(tmp_path / "p"), tmp_path / "p.tfplan", ORIGIN)
    data = saved.read_bytes()
    damaged = tmp_path / "damaged.tfplan"
    damaged.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])  # inside tfplan's deflated bytes
    assert "damaged.tfplan is not a plan saved by tfgen plan --out (" in refusal(damaged).message
    truncated = tmp_path / "truncated.tfplan"
    truncated.write_bytes(data[: len(data) // 2])
    assert refusal(truncated).message.startswith(f"{truncated} is not a plan saved by tfgen plan --out (")
    doubled = tmp_path / "doubled.tfplan"
    saved.replace(doubled)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(doubled, "a") as written:
        written.writestr("tfplan", b"another plan")
    assert refusal(doubled).message == (
        f"{doubled} is not a plan saved by tfgen plan --out (an entry appears twice); nothing was changed"
    )
