"""The module writer: files updated in place, each atomically; the directory and foreign files kept."""

from __future__ import annotations

import errno
import grp
import os
import stat
import threading
from pathlib import Path

import pytest

from tests.goldens import spec_path
from tfgen.errors import RenderError, UsageError
from tfgen.render import templates as render
from tfgen.render import writer
from tfgen.spec.loading import load_spec


def module_files(name: str = "local") -> dict[str, str]:
    return render.render_module(load_spec(spec_path(name)).spec)


def tree(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def inodes(directory: Path) -> dict[str, int]:
    return {path.relative_to(directory).as_posix(): path.lstat().st_ino for path in directory.rglob("*")}


def leftovers(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.name.startswith(writer.TEMP_PREFIX)]


def fail_stage_number(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the ``n``-th file a write stages fail as a full disk does."""
    real = writer.ModuleDir._stage
    calls = {"n": 0}

    def failing(self: writer.ModuleDir, path: Path, data: bytes) -> Path:
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, data)

    monkeypatch.setattr(writer.ModuleDir, "_stage", failing)


def test_new_directory_gets_every_file_and_no_leftovers(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "module"
    files = module_files()
    result = writer.write_files(files, out)
    assert result.changed == list(files)
    assert (result.unchanged, result.foreign) == ([], [])
    assert tree(out) == {name: text.encode() for name, text in files.items()}
    assert leftovers(tmp_path) == []
    assert sorted(out.parent.iterdir()) == [out]


def test_new_directory_and_files_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        writer.write_files(module_files(), tmp_path / "module")
    finally:
        os.umask(previous)
    assert (tmp_path / "module").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "module" / "tests").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "module" / "main.tf").stat().st_mode & 0o777 == 0o640


def test_write_failure_midway_leaves_every_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "module"
    writer.write_files(module_files(), out)
    (out / "notes.txt").write_text("mine\n")
    before, before_inodes = tree(out), inodes(out)
    fail_stage_number(3, monkeypatch)
    with pytest.raises(RenderError) as info:
        writer.write_files(module_files("v1-legacy"), out)
    monkeypatch.undo()
    assert info.value.message.endswith(": cannot write: No space left on device")
    assert tree(out) == before
    assert inodes(out) == before_inodes
    assert leftovers(out) == []


def test_rewrite_keeps_the_directory_and_foreign_files_untouched(tmp_path: Path) -> None:
    out = tmp_path / "modules" / "db"
    writer.write_files(module_files(), out)
    (out / "extra.tf").write_text("# hand-written\n")
    (out / "extra.tf").chmod(0o600)
    (out / "notes").mkdir()
    (out / "notes" / "todo.txt").write_text("mine\n")
    (out / "link.tf").symlink_to("extra.tf")
    (out / ".terraform" / "modules").mkdir(parents=True)
    (out / ".terraform" / "modules" / "modules.json").write_text("{}\n")
    (out / ".terraform.lock.hcl").write_text("# lock\n")
    kept = ["extra.tf", "notes", "notes/todo.txt", "link.tf", ".terraform/modules/modules.json", ".terraform.lock.hcl"]
    before, directory_inode = inodes(out), out.stat().st_ino
    files = module_files("v1-legacy")
    result = writer.write_files(files, out)
    assert result.foreign == ["extra.tf", "link.tf", "notes/todo.txt"]
    assert sorted(result.changed) == sorted(files)
    assert out.stat().st_ino == directory_inode, "the directory must stay the same directory"
    after = inodes(out)
    assert {name: after[name] for name in kept} == {name: before[name] for name in kept}
    assert (out / "extra.tf").stat().st_mode & 0o777 == 0o600
    assert os.readlink(out / "link.tf") == "extra.tf"
    assert sorted(out.parent.iterdir()) == [out]


def test_rewrite_writes_only_changed_files(tmp_path: Path) -> None:
    out = tmp_path / "module"
    files = module_files()
    writer.write_files(files, out)
    (out / "main.tf").write_text("# edited by hand\n")
    before = inodes(out)
    result = writer.write_files(files, out)
    assert result.changed == ["main.tf"]
    assert tree(out) == {name: text.encode() for name, text in files.items()}
    after = inodes(out)
    assert after["main.tf"] != before["main.tf"]
    assert {name: after[name] for name in result.unchanged} == {name: before[name] for name in result.unchanged}
    assert writer.write_files(files, out).changed == []
    assert inodes(out) == after, "nothing to change: nothing touched"


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "module"
    writer.write_files(module_files(), out)
    (out / "main.tf").chmod(0o600)
    writer.write_files(module_files("v1-legacy"), out)
    assert (out / "main.tf").stat().st_mode & 0o777 == 0o600


def test_a_symlinked_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    out = tmp_path / "module"
    files = module_files()
    writer.write_files(files, out)
    outside = tmp_path / "outside.tf"
    outside.write_text("# not tfgen's\n")
    (out / "main.tf").unlink()
    (out / "main.tf").symlink_to(outside)
    assert writer.write_files(files, out).changed == ["main.tf"]
    assert not (out / "main.tf").is_symlink()
    assert (out / "main.tf").read_text() == files["main.tf"]
    assert outside.read_text() == "# not tfgen's\n"


def test_a_symlinked_output_directory_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "module"
    link.symlink_to(target)
    files = module_files()
    writer.write_files(files, link)
    assert link.is_symlink()
    assert tree(target) == {name: text.encode() for name, text in files.items()}


def test_a_file_where_a_folder_is_needed_fails_and_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "module"
    files = module_files()
    writer.write_files(files, out)
    for path in sorted((out / "tests").iterdir()):
        path.unlink()
    (out / "tests").rmdir()
    (out / "tests").write_text("a file where tfgen needs a folder\n")
    before, before_inodes = tree(out), inodes(out)
    with pytest.raises(RenderError) as info:
        writer.write_files(module_files("v1-legacy"), out)
    assert info.value.message == f"{out / 'tests/module.tftest.hcl'}: cannot write: Not a directory"
    assert (tree(out), inodes(out)) == (before, before_inodes)
    assert leftovers(out) == []


def test_an_undecodable_file_counts_as_changed(tmp_path: Path) -> None:
    out = tmp_path / "module"
    files = module_files()
    writer.write_files(files, out)
    (out / "main.tf").write_bytes(b"\xff\xfe not utf-8\n")
    assert writer.write_files(files, out).changed == ["main.tf"]
    assert (out / "main.tf").read_text() == files["main.tf"]


def test_leftovers_of_a_killed_write_are_removed_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "module"
    writer.write_files(module_files(), out)
    for folder in (out, out / "tests"):
        (folder / f"{writer.TEMP_PREFIX}0123abcd-main.tf").write_text("half a file")
    writer.write_files(module_files("v1-legacy"), out)
    assert leftovers(out) == []


def test_dot_is_an_ordinary_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("the repository's own\n")
    monkeypatch.chdir(repo)
    files = {"main.tf": "# x\n", "tests/a.hcl": "# y\n"}
    result = writer.write_files(files, Path("."))
    assert result.changed == ["main.tf", "tests/a.hcl"]
    assert result.foreign == ["README.md"]
    assert (repo / "README.md").read_text() == "the repository's own\n"
    assert sorted(p.name for p in repo.iterdir()) == ["README.md", "main.tf", "tests"]


def test_root_and_home_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError) as root:
        writer.write_files({"main.tf": "x"}, Path("/"))
    assert root.value.message == "/: refusing to write a module into the root directory"
    home = tmp_path / "someone"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(UsageError) as info:
        writer.write_files({"main.tf": "x"}, home / "sub" / "..")
    assert info.value.message.endswith(": refusing to write a module into the home directory")
    assert list(home.iterdir()) == []


def test_a_directory_holding_a_mount_point_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "module"
    (out / "data").mkdir(parents=True)
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda path: Path(path) == out / "data" or real_ismount(path))
    with pytest.raises(UsageError) as info:
        writer.write_files(module_files(), out)
    assert info.value.message == f"{out}: {out / 'data'} is a mount point; refusing to write a module around it"
    assert sorted(p.name for p in out.iterdir()) == ["data"]


def test_a_second_writer_waits_says_so_and_gives_up(tmp_path: Path) -> None:
    out = tmp_path / "module"
    messages: list[str] = []
    with writer.opened(out), pytest.raises(RenderError) as info, writer.opened(out, messages.append, 0.1):
        pass
    assert messages == [f"{out}: another tfgen is writing it; waiting up to 0 s"]
    assert info.value.message == f"{out}: another tfgen kept writing it for 0 s; gave up"


def test_a_second_writer_goes_on_once_the_first_is_done(tmp_path: Path) -> None:
    out = tmp_path / "module"
    waiting = threading.Event()
    done: list[str] = []

    def second() -> None:
        with writer.opened(out, on_wait=lambda _: waiting.set()):
            done.append("second")

    with writer.opened(out):
        thread = threading.Thread(target=second)
        thread.start()
        assert waiting.wait(60)
        done.append("first")
    thread.join(60)
    assert done == ["first", "second"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the directory another group and owner")
def test_setgid_group_owner_and_mode_of_the_directory_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "module"
    out.mkdir()
    gid = next((g.gr_gid for g in grp.getgrall() if g.gr_gid not in (0, os.getegid())), 4321)
    os.chown(out, 65534, gid)
    out.chmod(0o2775)
    writer.write_files(module_files(), out)
    (out / "main.tf").chmod(0o640)
    os.chown(out / "main.tf", 12345, gid)
    writer.write_files(module_files("v1-legacy"), out)
    st = out.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, gid, 0o2775)
    tests = (out / "tests").stat()
    assert (tests.st_uid, tests.st_gid) == (65534, gid)
    assert tests.st_mode & stat.S_ISGID, "a new folder in a setgid directory inherits the bit"
    new = (out / "variables.tf").stat()
    assert (new.st_uid, new.st_gid) == (65534, gid), "root renders for the directory's owner"
    replaced = (out / "main.tf").stat()
    assert (replaced.st_uid, replaced.st_gid, stat.S_IMODE(replaced.st_mode)) == (12345, gid, 0o640)


def count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_the_library_writer_flushes_only_files_that_replace_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_fsyncs(monkeypatch)
    out = tmp_path / "module"
    writer.write_files(module_files(), out)
    assert calls == [], "a new module has no old content at stake: no fsync (the batch's budget)"
    result = writer.write_files(module_files("v1-legacy"), out)
    assert len(calls) == len(result.changed)


def test_render_flushes_every_file_and_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tfgen import api

    calls = count_fsyncs(monkeypatch)
    api.render(spec_path("local"), tmp_path / "module")
    folders = ["", "module", "module/tests", "module/examples", "module/examples/complete"]  # "": the parent
    assert len(calls) == len(render.MODULE_FILES) + 1 + len(folders)  # each file, the manifest, each folder


def test_the_library_writer_puts_a_new_modules_files_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renamed: list[str] = []
    rename = os.rename

    def counted(source: str, target: str) -> None:
        renamed.append(target)
        rename(source, target)

    monkeypatch.setattr(os, "rename", counted)
    files = module_files()
    writer.write_files(files, tmp_path / "module")
    assert renamed == [], "a new directory holds no old file to replace: no temporary file, no rename"
    assert tree(tmp_path / "module") == {name: text.encode() for name, text in files.items()}
    writer.write_files(module_files("v1-legacy"), tmp_path / "module")  # old files: each replaced atomically
    assert renamed and all(not Path(path).name.startswith(writer.TEMP_PREFIX) for path in renamed)
    api_renamed = len(renamed)
    from tfgen import api

    api.render(spec_path("local"), tmp_path / "rendered")  # tfgen render: durable, every file renamed into place
    assert len(renamed) - api_renamed >= len(files)


def test_a_full_disk_in_a_new_module_leaves_none_of_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []
    real = writer.ModuleDir._write_new

    def failing(self: writer.ModuleDir, path: str, data: bytes) -> bool:
        if len(written) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path)
        return real(self, path, data)

    monkeypatch.setattr(writer.ModuleDir, "_write_new", failing)
    with pytest.raises(RenderError) as info:
        writer.write_files(module_files(), tmp_path / "module")
    assert info.value.message.endswith(": cannot write: No space left on device")
    assert tree(tmp_path / "module") == {}
    assert leftovers(tmp_path) == []


def test_a_file_another_program_put_in_a_new_module_is_replaced_atomically(tmp_path: Path) -> None:
    module = writer.ModuleDir(tmp_path, tmp_path, durable=False, owner=None)
    module.created = True
    (tmp_path / "main.tf").write_text("theirs\n")
    assert module._write_new(os.fspath(tmp_path / "main.tf"), b"ours\n") is False  # staged and renamed instead
    assert (tmp_path / "main.tf").read_text() == "theirs\n"
    module.put({"main.tf": b"ours\n", "outputs.tf": b"out\n"})
    assert tree(tmp_path) == {"main.tf": b"ours\n", "outputs.tf": b"out\n"}
