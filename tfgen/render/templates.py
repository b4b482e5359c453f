"""Jinja templates → module files, written atomically or compared for drift."""

from __future__ import annotations

import contextlib
import difflib
import errno
import functools
import os
import posixpath
import secrets
import shutil
import stat
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from tfgen import __version__
from tfgen.errors import DriftError, RenderError, UsageError
from tfgen.render import checkov as security
from tfgen.render import hcl, interface, outputs
from tfgen.render.view import ModuleView
from tfgen.spec.model import Spec

MODULE_FILES = (
    "versions.tf",
    "variables.tf",
    "main.tf",
    "network.tf",
    "parameters.tf",
    "monitoring.tf",
    "alarms.tf",
    "outputs.tf",
    "README.md",
    "RUNBOOK.md",
    "tests/module.tftest.hcl",
    "examples/complete/main.tf",
)
"""Files of the rendered module, each from ``templates/module/<name>.j2``."""

IGNORED = (".terraform", ".terraform.lock.hcl")
"""Terraform's own files in a module directory: neither ours nor drift."""


def make_environment(bytecode_cache: Path | None = None) -> jinja2.Environment:
    """The one Jinja environment: strict, deterministic, no HTML escaping.

    Args:
        bytecode_cache: Directory for compiled templates, so that a new process does
            not compile them again (Jinja keys each entry by the template's source).
    """
    cache = None
    if bytecode_cache is not None:
        try:
            bytecode_cache.mkdir(parents=True, exist_ok=True)
            cache = jinja2.FileSystemBytecodeCache(str(bytecode_cache))
        except OSError:
            cache = None  # a cache is an optimisation: render without it
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tfgen", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 -- renders HCL and Markdown, never HTML
        auto_reload=False,  # templates do not change while tfgen runs
        bytecode_cache=cache,
    )
    env.filters["hcl"] = hcl.value
    return env


@functools.cache
def shared_environment(bytecode_cache: Path | None = None) -> jinja2.Environment:
    """One environment per process (and cache directory): templates compile once."""
    return make_environment(bytecode_cache)


def context(spec: Spec) -> dict[str, Any]:
    """The values every template sees: the spec as written, and its module's view (``module``)."""
    return {
        "spec": spec,
        "module": ModuleView.of(spec),
        "spec_digest": spec.digest(),
        "tfgen_version": __version__,
        "variables": interface.variables(spec),
        "outputs": outputs.outputs(spec),
        "checkov_skips": functools.partial(security.skips_for, spec),
        "checkov_failures": security.expected_failures(spec),
        "checkov_all_skips": security.skips(spec),
    }


def render_module(spec: Spec, env: jinja2.Environment | None = None) -> dict[str, str]:
    """Render every module file in memory.

    Returns:
        Relative path → file content, in :data:`MODULE_FILES` order.

    Raises:
        RenderError: If a template fails, naming the template and line.
    """
    env = env or shared_environment()
    values = context(spec)
    files: dict[str, str] = {}
    for name in MODULE_FILES:
        template_name = f"module/{name}.j2"
        try:
            files[name] = env.get_template(template_name).render(values)
        except jinja2.TemplateError as exc:
            line = getattr(exc, "lineno", None) or _template_line(exc)
            where = f"{template_name}:{line}" if line else template_name
            raise RenderError(f"template {where}: {exc.message or exc}") from exc
    return files


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so template frames carry template line numbers.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.name in ("top-level template code", "template") or frame.name.startswith(("block ", "macro ")):
            return frame.lineno
    return None


@dataclass
class WriteResult:
    """What :func:`write_files` did."""

    directory: Path
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    """Files in the directory that tfgen did not write (left in place)."""


def _existing_files(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    found = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        for name in sorted(names):
            if name in IGNORED:
                continue
            found.append((Path(root) / name).relative_to(directory).as_posix())
    return found


def _check_target(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory}: exists and is not a directory")


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
"""How :func:`write_files` opens each file it writes: a new file in its own staging
directory, so never an existing file and never through a symbolic link."""


def _cannot_write(directory: Path, exc: OSError) -> RenderError:
    return RenderError(f"{directory}: cannot write: {exc.strerror or exc}")


def _is_directory(directory: Path) -> bool:
    """Whether ``directory`` exists, with one ``stat``.

    Raises:
        UsageError: If it exists and is not a directory.
        RenderError: If it cannot be looked at.
    """
    try:
        mode = os.stat(directory).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise _cannot_write(directory, exc) from None
    if not stat.S_ISDIR(mode):
        raise UsageError(f"{directory}: exists and is not a directory")
    return True


def _holds(path: Path, text: str) -> bool:
    """Whether ``path`` is a regular file whose text (as :func:`diff_files` reads it) is ``text``."""
    try:
        if not path.is_file():
            return False
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


_BY_FOLDER_FD = {os.open, os.mkdir} <= os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
"""Whether files can be made relative to an open folder (POSIX): the kernel then looks up one
name per file instead of every folder on the way to it."""


def _write_new(path: str, data: bytes, folder_fd: int | None = None) -> None:
    """Create the file ``path`` (relative to ``folder_fd`` if given; it must not exist yet) holding ``data``."""
    fd = os.open(path, _CREATE, 0o666, dir_fd=folder_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _link_tree(source: str, target: str, skip: frozenset[str], prefix: str = "") -> None:
    """Give the existing directory ``target`` every entry of ``source``, except the files in ``skip``.

    Files (and symbolic links, as links) become hard links: no data is copied, the
    originals stay untouched until the swap, and removing the old tree afterwards
    frees only the folders and the replaced files (on ext4 without a journal every
    freed inode slows down each allocation near it for a minute or more). Where a
    hard link is impossible the entry is copied (``shutil.copytree(symlinks=True)``
    semantics). Directories are made anew and get the source's mode and times, as
    ``copytree`` gives them.
    """
    with os.scandir(source) as scan:
        entries = list(scan)
    for entry in entries:
        name = prefix + entry.name
        dest = os.path.join(target, entry.name)
        if entry.is_dir(follow_symlinks=False):
            os.mkdir(dest)
            _link_tree(entry.path, dest, skip, name + "/")
        elif name not in skip:
            try:
                os.link(entry.path, dest, follow_symlinks=False)
            except (OSError, NotImplementedError):
                if entry.is_symlink():
                    os.symlink(os.readlink(entry.path), dest)
                else:
                    shutil.copy2(entry.path, dest, follow_symlinks=False)
    shutil.copystat(source, target, follow_symlinks=False)


def _staging_dir(parent: Path, name: str) -> Path:
    """A new, uniquely named hidden directory in ``parent`` with the user's umask applied.

    (``tempfile.mkdtemp`` would make it 0700, and a new module would keep that mode.)
    """
    for _ in range(100):
        staging = parent / f".{name}.tfgen-{secrets.token_hex(4)}"
        try:
            os.mkdir(staging, 0o777)
        except FileExistsError:
            continue
        return staging
    raise FileExistsError(errno.EEXIST, "no unused staging directory name", str(parent))


def _discard(path: Path) -> None:
    """Remove ``path`` whatever it is, ignoring errors (it is no longer needed)."""
    if path.is_symlink():
        with contextlib.suppress(OSError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def write_files(files: dict[str, str], directory: Path) -> WriteResult:
    """Write ``files`` into ``directory`` atomically.

    Everything is put into a temporary sibling directory first, then swapped in with
    renames, so a failure never leaves a half-written module. When ``directory``
    already exists, the staging directory gets its entries as hard links (files
    tfgen did not write, and tfgen's files whose text is unchanged) and only the
    changed files are written.

    Raises:
        UsageError: If ``directory`` is a file.
        RenderError: If the files cannot be written.
    """
    exists = _is_directory(directory)
    result = WriteResult(directory=directory)
    if exists:
        result.foreign = [name for name in _existing_files(directory) if name not in files]
        for name, text in files.items():
            (result.unchanged if _holds(directory / name, text) else result.changed).append(name)
        if not result.changed:
            return result
    else:
        result.changed = list(files)
    try:
        data = {name: files[name].encode("utf-8") for name in result.changed}
    except UnicodeEncodeError as exc:
        raise RenderError(f"{directory}: cannot write: {exc}") from None
    folders: set[str] = set()  # every folder the changed files need, each once
    for name in result.changed:
        folder = posixpath.dirname(name)
        while folder and folder not in folders:
            folders.add(folder)
            folder = posixpath.dirname(folder)
    parent = directory.parent
    try:
        if not exists:
            parent.mkdir(parents=True, exist_ok=True)
        staging = _staging_dir(parent, directory.name)
    except OSError as exc:
        raise _cannot_write(directory, exc) from None
    moved = False
    try:
        if exists:
            _link_tree(str(directory), str(staging), frozenset(result.changed))
        folder_fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY) if _BY_FOLDER_FD else None
        prefix = "" if folder_fd is not None else f"{staging}/"
        try:
            for folder in sorted(folders):  # a parent sorts before its children
                with contextlib.suppress(FileExistsError):
                    os.mkdir(prefix + folder, dir_fd=folder_fd)
            for name, blob in data.items():
                _write_new(prefix + name, blob, folder_fd)
        finally:
            if folder_fd is not None:
                os.close(folder_fd)
        if exists:
            backup = parent / f"{staging.name}.old"
            os.rename(directory, backup)
            try:
                os.rename(staging, directory)
            except OSError:
                os.rename(backup, directory)
                raise
            moved = True
            _discard(backup)
        else:
            os.rename(staging, directory)
            moved = True
    except OSError as exc:
        raise _cannot_write(directory, exc) from None
    finally:
        if not moved:
            shutil.rmtree(staging, ignore_errors=True)
    return result


def diff_files(files: dict[str, str], directory: Path) -> str:
    """Unified diff from ``directory`` to ``files``; empty when they are identical.

    Files in ``directory`` that tfgen would not write count as differences.
    """
    _check_target(directory)
    chunks: list[str] = []
    existing = _existing_files(directory)
    for name, text in files.items():
        target = directory / name
        try:
            current = target.read_text(encoding="utf-8") if target.is_file() else None
        except (OSError, UnicodeDecodeError):
            current = ""
        if current == text:
            continue
        before = [] if current is None else current.splitlines(keepends=True)
        from_name = "/dev/null" if current is None else f"{directory}/{name}"
        chunks.extend(difflib.unified_diff(before, text.splitlines(keepends=True), from_name, f"rendered/{name}"))
    for name in existing:
        if name not in files:
            chunks.append(f"Only in {directory}: {name} (not written by tfgen)\n")
    return "".join(chunks)


def check_files(files: dict[str, str], directory: Path) -> None:
    """Raise :class:`DriftError` unless ``directory`` holds exactly ``files``."""
    diff = diff_files(files, directory)
    if diff:
        raise DriftError(f"{directory} differs from a fresh render of the spec", diff)
