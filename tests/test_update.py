"""``tfgen update``: a fresh render merged into a hand-edited module (a three-way merge per file)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.goldens import spec_path
from tfgen.cli import main as entry
from tfgen.render import manifest
from tfgen.render.merge import merge3

LABELS = ("yours", "base", "tfgen")

LIFECYCLE = "\n  lifecycle {\n    ignore_changes = [promotion_tier]\n  }\n}\n"
INSTANCE_END = "  performance_insights_retention_period = var.performance_insights_retention_period\n}\n"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """The console script; stderr without the spec's warnings (its KMS key policy note)."""
    code = entry.main([str(arg) for arg in args])
    captured = capsys.readouterr()
    err = "".join(line for line in lines(captured.err) if not line.startswith("warning: "))
    return code, captured.out, err


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def spec_with(tmp_path: Path, max_capacity: int) -> Path:
    """examples/rds-managed.yaml (the aws provider only: terraform can validate it) with another max_capacity."""
    text = spec_path("rds-managed").read_text()
    assert "max_capacity: 32" in text
    path = tmp_path / "api.yaml"
    path.write_text(text.replace("max_capacity: 32", f"max_capacity: {max_capacity}"))
    return path


def edit(path: Path, old: str, new: str, *, last: bool = False) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    head, _, tail = text.rpartition(old) if last else text.partition(old)
    path.write_text(head + new + tail)


def rendered_and_edited(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    """A module of the spec, with a lifecycle block added to main.tf and a default changed in variables.tf."""
    out = tmp_path / "module"
    assert run(capsys, "render", spec_with(tmp_path, 32), "-o", out)[0] == 0
    edit(out / "main.tf", INSTANCE_END, INSTANCE_END[:-2] + LIFECYCLE, last=True)
    edit(out / "variables.tf", "  default     = 7\n", "  default     = 14\n")
    return out


# ----------------------------------------------------------------------------- merge3


def test_merge3_takes_each_sides_change() -> None:
    base = lines("a\nb\nc\nd\ne\n")
    merged, conflicts = merge3(base, lines("A\nb\nc\nd\ne\n"), lines("a\nb\nc\nd\nE\n"), LABELS)
    assert (merged, conflicts) == (lines("A\nb\nc\nd\nE\n"), 0)


def test_merge3_takes_the_same_change_once() -> None:
    base = lines("a\nb\nc\n")
    assert merge3(base, lines("a\nB\nc\n"), lines("a\nB\nc\n"), LABELS) == (lines("a\nB\nc\n"), 0)


def test_merge3_marks_a_conflict_as_git_does_with_diff3() -> None:
    base = lines("a\nb\nc\n")
    merged, conflicts = merge3(base, lines("a\nmine\nc\n"), lines("a\ntheirs\nc\n"), LABELS)
    assert conflicts == 1
    assert "".join(merged) == ("a\n<<<<<<< yours\nmine\n||||||| base\nb\n=======\ntheirs\n>>>>>>> tfgen\nc\n")


def test_merge3_keeps_markers_on_their_own_lines_without_a_final_newline() -> None:
    merged, conflicts = merge3(["a\n", "b"], ["a\n", "x"], ["a\n", "y"], LABELS)
    assert conflicts == 1
    assert "".join(merged).splitlines()[1:] == [
        "<<<<<<< yours",
        "x",
        "||||||| base",
        "b",
        "=======",
        "y",
        ">>>>>>> tfgen",
    ]


def test_merge3_with_an_empty_base_is_one_conflict_unless_equal() -> None:
    assert merge3([], lines("x\n"), lines("x\n"), LABELS) == (lines("x\n"), 0)
    assert merge3([], lines("x\n"), lines("y\n"), LABELS)[1] == 1


# ----------------------------------------------------------------------------- tfgen update


def test_update_keeps_both_edits_and_takes_the_spec_change(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = rendered_and_edited(capsys, tmp_path)
    spec = spec_with(tmp_path, 48)
    code, stdout, err = run(capsys, "update", spec, "-o", out)
    assert (code, err) == (0, "")
    assert f"{out}/main.tf: merged: your edits kept\n" in stdout
    assert f"{out}/variables.tf: merged: your edits kept\n" in stdout
    main, variables = (out / "main.tf").read_text(), (out / "variables.tf").read_text()
    assert LIFECYCLE in main
    assert "  default     = 14\n" in variables
    assert "  default     = 48\n" in variables.split('variable "max_capacity" {')[1].split("\n}\n")[0]
    assert "<<<<<<<" not in main + variables
    # the next base is the fresh render: render --check says exactly which files carry edits
    code, _, err = run(capsys, "render", "--check", spec, "-o", out)
    assert code == 1
    assert sorted(line for line in err.splitlines() if "edited by hand" in line) == [
        f"error: {out}/main.tf: edited by hand since tfgen wrote it",
        f"error: {out}/variables.tf: edited by hand since tfgen wrote it",
    ]
    recorded = json.loads((out / manifest.MANIFEST).read_text())["files"]["variables.tf"]["lines"]
    assert "  default     = 48\n" in recorded and "  default     = 14\n" not in recorded


@pytest.mark.terraform
def test_the_updated_module_validates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, terraform_cli_env: dict[str, str]
) -> None:
    out = rendered_and_edited(capsys, tmp_path)
    assert run(capsys, "update", spec_with(tmp_path, 48), "-o", out)[0] == 0
    env = {**os.environ, **terraform_cli_env}
    for argv in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
        done = subprocess.run(["terraform", *argv], cwd=out, capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "Success! The configuration is valid." in done.stdout


def test_an_edit_on_the_line_the_spec_changes_conflicts_and_loses_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = rendered_and_edited(capsys, tmp_path)
    edit(out / "variables.tf", "  default     = 32\n", "  default     = 40\n")
    code, _, err = run(capsys, "update", spec_with(tmp_path, 48), "-o", out)
    assert code == 1
    assert err.splitlines() == [
        f"error: {out}: 1 file(s) with conflicts",
        f"error: {out}/variables.tf: both you and tfgen changed the same lines",
        "hint: resolve the <<<<<<< ||||||| ======= >>>>>>> blocks, then `tfgen render --check`",
    ]
    variables = (out / "variables.tf").read_text()
    assert (
        f"<<<<<<< {out}/variables.tf (yours)\n  default     = 40\n"
        "||||||| tfgen 0.1.0 (last render)\n  default     = 32\n"
        "=======\n  default     = 48\n>>>>>>> tfgen 0.1.0\n"
    ) in variables
    assert "  default     = 14\n" in variables, "the other edit of the file is kept"
    assert LIFECYCLE in (out / "main.tf").read_text(), "the other file's edit is kept"
    # a file with markers is an edit: render refuses to overwrite it
    code, _, err = run(capsys, "render", spec_with(tmp_path, 48), "-o", out)
    assert code == 1
    assert f"error: {out}/variables.tf: edited by hand since tfgen wrote it" in err.splitlines()
    assert (out / "variables.tf").read_text() == variables


def test_dry_run_prints_the_diff_and_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = rendered_and_edited(capsys, tmp_path)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, stdout, _ = run(capsys, "update", spec_with(tmp_path, 48), "-o", out, "--dry-run")
    assert code == 0
    assert f"--- {out}/variables.tf\n+++ updated/variables.tf\n" in stdout
    assert "-  default     = 32\n+  default     = 48\n" in stdout
    assert f"{out}/variables.tf: would be merged: your edits kept\n" in stdout
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_added_removed_and_deleted_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "module"
    spec = spec_with(tmp_path, 32)
    assert run(capsys, "render", spec, "-o", out)[0] == 0
    path = out / manifest.MANIFEST
    document = json.loads(path.read_text())
    del document["files"]["RUNBOOK.md"]  # as if this render were the first to write it
    (out / "RUNBOOK.md").unlink()
    document["files"]["old.tf"] = {"sha256": "", "lines": ["# old\n"]}  # no longer rendered
    (out / "old.tf").write_text("# old\n")
    document["files"]["gone.tf"] = {"sha256": "", "lines": ["# gone\n"]}  # no longer rendered, edited
    (out / "gone.tf").write_text("# gone\n# mine\n")
    path.write_text(json.dumps(document))
    (out / "outputs.tf").unlink()  # deleted by hand; tfgen changes it: written again, as a conflict
    code, stdout, err = run(capsys, "update", spec_with(tmp_path, 48), "-o", out)
    assert code == 1
    assert f"{out}/RUNBOOK.md: added\n" in stdout
    assert f"{out}/old.tf: removed (tfgen no longer renders it)\n" in stdout
    assert f"{out}/gone.tf: kept: tfgen no longer renders it, but it was edited\n" in stdout
    assert f"error: {out}/outputs.tf: both you and tfgen changed the same lines" in err.splitlines()
    assert (out / "RUNBOOK.md").is_file() and (out / "outputs.tf").is_file() and (out / "gone.tf").is_file()
    assert not (out / "old.tf").exists()


def test_a_file_deleted_by_hand_that_tfgen_does_not_change_stays_deleted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "module"
    spec = spec_with(tmp_path, 32)
    assert run(capsys, "render", spec, "-o", out)[0] == 0
    (out / "README.md").unlink()
    code, stdout, _ = run(capsys, "update", spec, "-o", out)
    assert code == 0
    assert f"{out}/README.md: left deleted (tfgen did not change it)\n" in stdout
    assert not (out / "README.md").exists()


def test_render_over_a_hand_written_main_tf_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "module"
    out.mkdir()
    (out / "main.tf").write_text('resource "null_resource" "mine" {}\n')
    code, _, err = run(capsys, "render", spec_with(tmp_path, 32), "-o", out)
    assert code == 1
    assert err.splitlines()[:2] == [
        f"error: {out}: 1 file(s) would be overwritten; nothing written",
        f"error: {out}/main.tf: not written by tfgen (no tfgen header, no manifest)",
    ]
    assert [p.name for p in out.iterdir()] == ["main.tf"]
    assert (out / "main.tf").read_text() == 'resource "null_resource" "mine" {}\n'


# ----------------------------------------------------------------------------- a module without a manifest


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()}


def legacy_module(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    """A module as an older tfgen left it (no manifest), then hand-edited: the adoption case."""
    out = rendered_and_edited(capsys, tmp_path)
    (out / manifest.MANIFEST).unlink()
    return out


def test_update_without_a_manifest_refuses_to_guess(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = legacy_module(capsys, tmp_path)
    before = snapshot(out)
    code, stdout, err = run(capsys, "update", spec_with(tmp_path, 48), "-o", out)
    assert (code, stdout) == (1, "")
    assert err.splitlines()[0] == (
        f"error: {out}: no {manifest.MANIFEST}, so tfgen cannot tell hand edits from its own old output; nothing written"
    )
    assert (
        f"error: {out}/main.tf: written by tfgen 0.1.0 from spec staging-api, maybe edited since (no manifest to tell)"
        in err.splitlines()
    )
    assert "--base-spec" in err
    assert snapshot(out) == before


def test_base_spec_adopts_a_module_without_a_manifest(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = legacy_module(capsys, tmp_path)
    old = spec_with(tmp_path, 32).rename(tmp_path / "old.yaml")
    spec = spec_with(tmp_path, 48)
    code, stdout, err = run(capsys, "update", spec, "-o", out, "--base-spec", old)
    assert (code, err) == (0, "")
    assert f"{out}/main.tf: merged: your edits kept\n" in stdout
    main, variables = (out / "main.tf").read_text(), (out / "variables.tf").read_text()
    assert LIFECYCLE in main
    assert "  default     = 14\n" in variables
    assert "  default     = 48\n" in variables.split('variable "max_capacity" {')[1].split("\n}\n")[0]
    # adopted: the module has a manifest now, and the next update needs no base
    assert (out / manifest.MANIFEST).is_file()
    assert run(capsys, "update", spec, "-o", out)[0] == 0


def test_base_spec_is_refused_where_a_manifest_is_the_base(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = rendered_and_edited(capsys, tmp_path)
    before = snapshot(out)
    spec = spec_with(tmp_path, 48)
    code, _, err = run(capsys, "update", spec, "-o", out, "--base-spec", spec)
    assert code == 2
    assert f"has a {manifest.MANIFEST}, which is the merge base" in err
    assert snapshot(out) == before
