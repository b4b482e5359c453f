"""The manifest: tfgen tells its own files from hand edits, refuses to overwrite edits, says what drifted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tfgen
from tests.goldens import spec_path
from tfgen import api
from tfgen.errors import DriftError, HandEditError, RenderError
from tfgen.render import manifest
from tfgen.render import templates as render


def tree(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def changed_spec(tmp_path: Path, old: str = "max_capacity: 4", new: str = "max_capacity: 8") -> Path:
    text = spec_path("local").read_text()
    assert old in text
    path = tmp_path / "local.yaml"
    path.write_text(text.replace(old, new))
    return path


def test_the_manifest_records_every_file_and_the_spec(tmp_path: Path) -> None:
    out = tmp_path / "module"
    outcome = api.render(spec_path("local"), out)
    document = json.loads((out / manifest.MANIFEST).read_text())
    assert document["spec"] == {
        "name": outcome.loaded.spec.name,
        "digest": outcome.loaded.spec.digest(),
        "environment": None,
    }
    assert list(document["files"]) == list(render.MODULE_FILES)
    main = document["files"]["main.tf"]
    assert "".join(main["lines"]) == (out / "main.tf").read_text()
    assert main["sha256"] == manifest.sha256((out / "main.tf").read_bytes())


def test_the_manifest_is_the_same_wherever_the_module_and_spec_are(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "spec.yaml"
    copy.parent.mkdir()
    copy.write_text(spec_path("local").read_text())
    api.render(spec_path("local"), tmp_path / "a")
    api.render(copy, tmp_path / "b" / "c")
    first = (tmp_path / "a" / manifest.MANIFEST).read_text()
    assert first == (tmp_path / "b" / "c" / manifest.MANIFEST).read_text()
    assert str(tmp_path) not in first


def test_render_over_a_hand_written_file_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "module"
    out.mkdir()
    (out / "main.tf").write_text("# mine, written by hand\n")
    with pytest.raises(HandEditError) as info:
        api.render(spec_path("local"), out)
    assert info.value.lines() == [
        f"{out}: 1 file(s) would be overwritten; nothing written",
        f"{out}/main.tf: not written by tfgen (no tfgen header, no manifest)",
    ]
    assert "--base-spec" in (info.value.hint or "")
    assert tree(out) == {"main.tf": b"# mine, written by hand\n"}


def test_render_refuses_an_edited_file_until_forced(tmp_path: Path) -> None:
    out = tmp_path / "module"
    api.render(spec_path("local"), out)
    edited = (out / "variables.tf").read_text().replace("default     = 4", "default     = 6")
    (out / "variables.tf").write_text(edited)
    before = tree(out)
    with pytest.raises(HandEditError) as info:
        api.render(changed_spec(tmp_path), out)
    assert info.value.files == [f"{out}/variables.tf: edited by hand since tfgen wrote it"]
    assert info.value.exit_code == 1
    assert tree(out) == before
    outcome = api.render(changed_spec(tmp_path), out, force=True)
    assert outcome.written is not None
    assert "variables.tf" in outcome.written.changed
    assert (out / "variables.tf").read_text() == outcome.files["variables.tf"]


def test_a_spec_change_rewrites_unedited_files(tmp_path: Path) -> None:
    out = tmp_path / "module"
    api.render(spec_path("local"), out)
    outcome = api.render(changed_spec(tmp_path), out)
    assert outcome.written is not None
    assert outcome.written.changed and not outcome.written.foreign
    api.render(changed_spec(tmp_path), out, check=True)


def test_a_module_without_a_manifest_is_adopted_where_it_matches(tmp_path: Path) -> None:
    out = tmp_path / "module"
    api.render(spec_path("local"), out)
    (out / manifest.MANIFEST).unlink()  # rendered by a tfgen before manifests
    outcome = api.render(spec_path("local"), out)
    assert outcome.written is not None
    assert outcome.written.changed == []
    assert (out / manifest.MANIFEST).is_file()


def test_a_file_no_longer_rendered_goes_if_unedited_and_stays_if_edited(tmp_path: Path) -> None:
    out = tmp_path / "module"
    api.render(spec_path("local"), out)
    path = out / manifest.MANIFEST
    document = json.loads(path.read_text())
    for name in ("old.tf", "tests/old.hcl", "edited.tf"):
        document["files"][name] = {"sha256": "", "lines": ["# tfgen wrote this\n"]}
        (out / name).write_text("# tfgen wrote this\n")
    (out / "edited.tf").write_text("# tfgen wrote this\n# and a person this\n")
    path.write_text(json.dumps(document))
    outcome = api.render(spec_path("local"), out)
    assert outcome.written is not None
    assert sorted(outcome.written.removed) == ["old.tf", "tests/old.hcl"]
    assert outcome.written.kept == ["edited.tf"]
    assert not (out / "old.tf").exists() and (out / "tests").is_dir()
    assert "edited.tf" not in json.loads(path.read_text())["files"]


def test_check_names_each_kind_of_drift(tmp_path: Path) -> None:
    out = tmp_path / "module"
    api.render(spec_path("local"), out)
    (out / "outputs.tf").write_text("# edited\n")
    (out / "alarms.tf").unlink()
    (out / "extra.tf").write_text("# hand-written\n")
    with pytest.raises(DriftError) as info:
        api.render(changed_spec(tmp_path), out, check=True)
    lines = info.value.lines()
    assert lines[0] == f"{out} differs from a fresh render of the spec"
    assert f"{out}/outputs.tf: edited by hand since tfgen wrote it" in lines
    assert f"{out}/alarms.tf: missing" in lines
    assert f"{out}/variables.tf: the spec (or tfgen) changed since tfgen wrote it" in lines
    assert f"{out}/extra.tf: not written by tfgen" in lines
    assert "tfgen update" in (info.value.hint or "")
    assert f"Only in {out}: extra.tf (not written by tfgen)" in info.value.diff


def test_check_of_a_module_missing_only_its_manifest(tmp_path: Path) -> None:
    out = tmp_path / "module"
    api.render(spec_path("local"), out)
    (out / manifest.MANIFEST).unlink()
    with pytest.raises(DriftError) as info:
        api.render(spec_path("local"), out, check=True)
    assert info.value.files == [
        f"{out}/{manifest.MANIFEST}: out of date (the files are current; render again to record them)"
    ]


def test_a_damaged_manifest_is_an_error_with_a_way_out(tmp_path: Path) -> None:
    out = tmp_path / "module"
    api.render(spec_path("local"), out)
    (out / manifest.MANIFEST).write_text("{not json")
    with pytest.raises(RenderError) as info:
        api.render(spec_path("local"), out)
    assert info.value.message.startswith(f"{out}/{manifest.MANIFEST}: not a tfgen manifest (JSONDecodeError: ")
    assert "--force" in (info.value.hint or "")


@pytest.mark.parametrize("name", ["../outside.tf", "/etc/passwd", "a/../../b", "", "a//b"])
def test_a_manifest_naming_a_file_outside_the_module_is_refused(tmp_path: Path, name: str) -> None:
    out = tmp_path / "module"
    api.render(spec_path("local"), out)
    victim = tmp_path / "outside.tf"
    victim.write_text("# tfgen wrote this\n")
    document = json.loads((out / manifest.MANIFEST).read_text())
    document["files"][name] = {"sha256": "", "lines": ["# tfgen wrote this\n"]}
    (out / manifest.MANIFEST).write_text(json.dumps(document))
    with pytest.raises(RenderError) as info:
        api.render(spec_path("local"), out)
    assert f"{name!r} is not a path inside the module" in info.value.message
    assert victim.read_text() == "# tfgen wrote this\n"


def test_a_module_from_a_tfgen_without_manifests_names_each_files_origin(tmp_path: Path) -> None:
    out = tmp_path / "module"
    api.render(spec_path("local"), out)
    (out / manifest.MANIFEST).unlink()
    main = out / "main.tf"
    main.write_text(main.read_text() + "# a hand edit\n")
    with pytest.raises(HandEditError) as info:
        api.render(spec_path("local"), out)
    assert info.value.lines()[1] == (
        f"{main}: written by tfgen {tfgen.__version__} from spec tfgen-demo, maybe edited since (no manifest to tell)"
    )
    assert "--base-spec OLD.yaml" in (info.value.hint or "")
    assert main.read_text().endswith("# a hand edit\n")
