"""Module files into a directory, in place: each file atomically, nothing else touched.

What the writer keeps, and why (a vendored module lives in somebody's repository):

- **The directory itself.** Files are updated in place, never by swapping the directory: its
  inode, owner, group, mode and setgid bit stay, and so does every file tfgen does not write
  (another program may be writing files there at the same moment). A symbolic link to the
  directory is followed: the files go into its target, the link stays a link.
- **Each file atomically.** A file is written to a temporary file in its own folder (named
  ``.tfgen-tmp-…``), flushed to disk (``fsync``), then renamed over the old one; the folder is
  flushed after its renames. A reader sees the old file or the new one, never a mix; after a
  crash the next render removes the leftovers. ``tfgen render`` and ``tfgen update`` flush
  everything (``durable=True``). The library's :func:`write_files` (a batch of new modules, the
  deploy working directory) flushes only a file that replaces another, whose old content is at
  stake: a new file is not flushed, as ``git checkout`` and ``cp`` do not (an fsync costs about
  1 ms, half the batch's budget per spec; BENCHMARKS.md); a crash may then leave a new file
  empty, never an old one lost. For the same reason it writes the files of a directory it has just
  made straight to their names (no temporary file, no rename: a third of a new module's cost):
  there is no old file, and no other tfgen writes there; a reader looking into a directory while
  it is being made may see a file still short.
- **Owners and modes.** A replaced file keeps its mode, and its owner and group as far as the
  process may give them (root always can). A new file gets ``0666 & ~umask`` and the group the
  kernel gives (a setgid folder's group). Running as root into a directory owned by another user,
  new files and folders get that directory's owner and group, as if its owner had rendered: a
  ``sudo tfgen render`` leaves no root-owned files in a user's checkout.
- **One writer at a time.** Each write holds an exclusive ``flock`` on the directory itself (no
  lock file to ignore in git); a second render waits (saying so) up to :data:`LOCK_TIMEOUT`
  seconds, then gives up with an error. Two renders never mix their files.
- **Refused targets.** ``/``, the home directory, and a directory with a mount point in it
  (immediately below it, or on the way to a file tfgen writes): nothing tfgen writes belongs
  there. ``-o .`` and ``-o ..`` are ordinary directories and work.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import posixpath
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tfgen.errors import RenderError, UsageError

IGNORED = (".terraform", ".terraform.lock.hcl", ".git")
"""Entries of a module directory that are neither tfgen's nor drift (terraform's, git's)."""

TEMP_PREFIX = ".tfgen-tmp-"
"""How the temporary files of a write begin: the next write removes any it finds (a killed render's)."""

LOCK_TIMEOUT = 120.0
"""Seconds a write waits for another tfgen writing the same directory before it gives up."""

NOT_A_FILE = b"\0"
"""What :meth:`ModuleDir.read` returns for an entry that is not a regular file (a link, a folder):
no rendered file is a single NUL byte."""

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def cannot_write(directory: Path, exc: OSError) -> RenderError:
    """The error for a write the operating system refused."""
    return RenderError(f"{directory}: cannot write: {exc.strerror or exc}")


@dataclass
class WriteResult:
    """What a write did to a module directory."""

    directory: Path
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    """Files in the directory that tfgen did not write (left in place)."""
    removed: list[str] = field(default_factory=list)
    """Files tfgen wrote before and no longer renders, removed (they were unedited)."""
    kept: list[str] = field(default_factory=list)
    """Files tfgen wrote before and no longer renders, kept because they were edited since."""


def existing_files(directory: Path, skip: Iterable[str] = ()) -> list[str]:
    """Every file below ``directory`` (relative, sorted), but :data:`IGNORED`, temporary files and ``skip``."""
    skipped = {*IGNORED, *skip}
    found = []
    top = os.fspath(directory)
    for root, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        prefix = "" if root == top else os.path.relpath(root, top).replace(os.sep, "/") + "/"
        for name in sorted(names):
            relative = prefix + name
            if name not in IGNORED and relative not in skipped and not name.startswith(TEMP_PREFIX):
                found.append(relative)
    return found


def check_target(directory: Path, names: Iterable[str] = ()) -> Path:
    """The real directory to write ``names`` into (a symbolic link followed), or a refusal.

    Raises:
        UsageError: If it is a file, ``/``, the home directory, or holds a mount point.
    """
    real = os.path.realpath(directory)
    try:
        mode: int | None = os.stat(real).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISDIR(mode):
        raise UsageError(f"{directory}: exists and is not a directory")
    if real == "/":
        raise UsageError(f"{directory}: refusing to write a module into the root directory")
    home = os.path.expanduser("~")  # as Path.home(): $HOME, else the password database
    if home != "~" and real == os.path.realpath(home):
        raise UsageError(f"{directory}: refusing to write a module into the home directory")
    if mode is None:
        return Path(real)
    with os.scandir(real) as scan:
        folders = {entry.path for entry in scan if entry.is_dir(follow_symlinks=False)}
    for name in names:  # the folders on the way to each file
        folder = posixpath.dirname(name)
        while folder:
            folders.add(os.path.join(real, folder))
            folder = posixpath.dirname(folder)
    for folder in sorted(folders):
        if os.path.lexists(folder) and os.path.ismount(folder):
            raise UsageError(
                f"{directory}: {folder} is a mount point; refusing to write a module around it",
                hint="render into a directory that holds no mounted file system",
            )
    return Path(real)


class ModuleDir:
    """A module directory held by one writer (see :func:`opened`): read, put and remove its files.

    Paths are plain strings inside: a batch writes thousands of files, and :mod:`pathlib`
    would cost more than the system calls.
    """

    def __init__(self, path: Path, shown: Path, *, durable: bool, owner: tuple[int, int] | None) -> None:
        self.path = path
        self.shown = shown
        """The directory as the user named it, for messages."""
        self.durable = durable
        self.owner = owner
        """(uid, gid) for new files and folders (root writing for another user), else None."""
        self._root = os.fspath(path)
        self._touched: set[str] = set()
        self._swept: set[str] = set()
        self._folders: set[str] = set()
        """Folders known to exist (made or swept in this write)."""
        self.created = False
        """Whether this write made the directory: then it holds only what this write put there."""
        self._written: set[str] = set()
        self._token = secrets.token_hex(4)
        self._count = 0
        self.locked = False
        """Whether this write holds the directory: only then are temporary files leftovers."""

    def _path(self, name: str) -> str:
        return f"{self._root}/{name}"

    def read(self, name: str) -> bytes | None:
        """The bytes of file ``name``; None if there is none; :data:`NOT_A_FILE` for a link or a folder.

        Raises:
            RenderError: If it cannot be read.
        """
        path = self._path(name)
        if self.created and path not in self._written:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
                return NOT_A_FILE
            raise RenderError(f"{path}: cannot read: {exc.strerror or exc}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return NOT_A_FILE
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def put(self, files: dict[str, bytes]) -> None:
        """Replace (or create) each file atomically, keeping an old file's mode and owner.

        Every new file is written to its temporary file first, then all are renamed: a failure
        while writing (a full disk) leaves every old file as it was, and removes the new files
        written in place (:meth:`_write_new`).

        Raises:
            RenderError: If a file cannot be written.
        """
        staged: list[tuple[str, str]] = []
        direct: list[str] = []
        try:
            for name, data in files.items():
                path = self._path(name)
                try:
                    if self._write_new(path, data):
                        direct.append(path)
                    else:
                        staged.append((self._stage(path, data), path))
                except OSError as exc:
                    for written in direct:  # new files in a directory this write made: as if never written
                        with contextlib.suppress(OSError):
                            os.unlink(written)
                        self._written.discard(written)
                    raise RenderError(f"{path}: cannot write: {exc.strerror or exc}") from None
            while staged:
                temp, path = staged[0]
                try:
                    os.rename(temp, path)
                except OSError as exc:
                    raise RenderError(f"{path}: cannot write: {exc.strerror or exc}") from None
                staged.pop(0)
                self._written.add(path)
                self._touched.add(os.path.dirname(path))
        finally:
            for temp, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(temp)

    def _write_new(self, path: str, data: bytes) -> bool:
        """Write a new file straight to ``path`` if nothing can be at stake there; False if something may be.

        Only in a directory this write made, by a writer that need not be durable (the library's batch):
        no old file exists, no other tfgen writes there (the lock); see the module's docstring.
        """
        if not self.created or self.durable or path in self._written:
            return False
        self._make_folders(os.path.dirname(path))
        try:
            fd = os.open(path, _CREATE, 0o666)
        except FileExistsError:  # another program put it there meanwhile: replace it as any old file
            return False
        self._fill(fd, path, data, None)
        self._written.add(path)
        self._touched.add(os.path.dirname(path))
        return True

    def _stage(self, path: str, data: bytes) -> str:
        """A temporary file beside ``path`` holding ``data``, with the mode and owner ``path`` should get."""
        folder, base = os.path.split(path)
        self._make_folders(folder)
        old: os.stat_result | None = None
        if not self.created or path in self._written:
            with contextlib.suppress(FileNotFoundError):
                old = os.lstat(path)
        if old is not None and stat.S_ISDIR(old.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
        self._count += 1
        temp = f"{folder}/{TEMP_PREFIX}{self._token}-{self._count}-{base}"
        self._fill(os.open(temp, _CREATE, 0o666), temp, data, old)
        return temp

    def _fill(self, fd: int, path: str, data: bytes, old: os.stat_result | None) -> None:
        """Write ``data`` to the new file ``fd`` at ``path`` with ``old``'s mode and owner (else those new
        files get), flushed if ``old``'s content is at stake; ``fd`` closed, and ``path`` removed on failure."""
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if old is not None and stat.S_ISREG(old.st_mode):
                self._chown(fd, old.st_uid, old.st_gid)
                os.fchmod(fd, stat.S_IMODE(old.st_mode))
            elif self.owner is not None:
                self._chown(fd, *self.owner)
            if self.durable or old is not None:  # the old file's content is at stake
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        os.close(fd)

    def remove(self, name: str) -> None:
        """Remove file ``name``, and the folders it leaves empty (up to the directory).

        Raises:
            RenderError: If it cannot be removed.
        """
        path = self._path(name)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise RenderError(f"{path}: cannot remove: {exc.strerror or exc}") from None
        folder = os.path.dirname(path)
        self._touched.add(folder)
        while folder != self._root:
            try:
                os.rmdir(folder)  # only an empty folder goes
            except OSError:
                break
            self._folders.discard(folder)
            folder = os.path.dirname(folder)
            self._touched.add(folder)

    def sweep(self, folder: str) -> None:
        """Remove what a killed write left in ``folder`` (once per write)."""
        if folder in self._swept or not self.locked:
            return
        self._swept.add(folder)
        try:
            with os.scandir(folder) as scan:
                leftovers = [entry.path for entry in scan if entry.name.startswith(TEMP_PREFIX)]
        except OSError:
            return
        for leftover in leftovers:
            with contextlib.suppress(OSError):
                os.unlink(leftover)

    def flush(self) -> None:
        """Make the renames durable: ``fsync`` each folder that changed."""
        if not self.durable:
            return
        for folder in sorted(self._touched):
            with contextlib.suppress(OSError):  # a folder removed since, or a file system without it
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        self._touched.clear()

    def _make_folders(self, folder: str) -> None:
        """Make ``folder`` and its missing parents (with the owner new files get); sweep each once."""
        if folder in self._folders:
            return
        missing = []
        probe = folder
        while not os.path.isdir(probe):
            missing.append(probe)
            probe = os.path.dirname(probe)
        for new in reversed(missing):
            with contextlib.suppress(FileExistsError):
                os.mkdir(new, 0o777)
                if self.owner is not None:
                    os.chown(new, *self.owner)
            self._touched.add(os.path.dirname(new))
            self._swept.add(new)  # new: nothing to sweep
        self.sweep(folder)
        self._folders.add(folder)

    def _chown(self, fd: int, uid: int, gid: int) -> None:
        st = os.fstat(fd)
        if (st.st_uid, st.st_gid) != (uid, gid):
            with contextlib.suppress(PermissionError):  # not root: the file is the writer's
                os.fchown(fd, uid, gid)


def _owner_for_new_files(real: Path) -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    existing = real
    while not existing.exists():
        existing = existing.parent
    st = existing.stat()
    return None if st.st_uid == 0 else (st.st_uid, st.st_gid)


@contextlib.contextmanager
def opened(
    directory: Path,
    on_wait: Callable[[str], None] | None = None,
    timeout: float = LOCK_TIMEOUT,
    *,
    names: Iterable[str] = (),
    durable: bool = True,
) -> Iterator[ModuleDir]:
    """Hold ``directory`` (created if missing) for one writer, ready to write ``names``; flushed on exit.

    Raises:
        UsageError: If the directory is refused (see :func:`check_target`).
        RenderError: If it cannot be created or opened, or another writer holds it past ``timeout``.
    """
    names = list(names)
    real = check_target(directory, names)
    owner = _owner_for_new_files(real)
    module = ModuleDir(real, directory, durable=durable, owner=owner)
    try:
        if not real.is_dir():
            module._make_folders(os.fspath(real.parent))
            with contextlib.suppress(FileExistsError):  # another writer made it first: it is not ours
                os.mkdir(real, 0o777)
                module.created = True
                module._touched.add(os.fspath(real.parent))
                if owner is not None:
                    os.chown(real, *owner)
        module._folders.add(os.fspath(real))
        fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise cannot_write(directory, exc) from None
    try:
        _lock(fd, directory, on_wait, timeout)
        module.locked = True
        for folder in () if module.created else {module._root, *(os.path.dirname(module._path(n)) for n in names)}:
            module.sweep(folder)  # now that no other writer can be using its temporary files
        yield module
        module.flush()
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def reading(directory: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[ModuleDir]:
    """Hold ``directory`` for reading (no writer meanwhile); it need not exist.

    Raises:
        RenderError: If another writer holds it past :data:`LOCK_TIMEOUT`.
    """
    real = Path(os.path.realpath(directory))
    if real.exists() and not real.is_dir():
        raise UsageError(f"{directory}: exists and is not a directory")
    module = ModuleDir(real, directory, durable=False, owner=None)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:  # missing (or unreadable: reading its files says so)
        yield module
        return
    try:
        _lock(fd, directory, on_wait, LOCK_TIMEOUT, fcntl.LOCK_SH)
        yield module
    finally:
        os.close(fd)


def _lock(
    fd: int, directory: Path, on_wait: Callable[[str], None] | None, timeout: float, kind: int = fcntl.LOCK_EX
) -> None:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    if on_wait is not None:
        on_wait(f"{directory}: another tfgen is writing it; waiting up to {timeout:.0f} s")
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(0.02)
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise RenderError(
                    f"{directory}: another tfgen kept writing it for {timeout:.0f} s; gave up",
                    hint="run the render again once the other one has finished",
                ) from None


def write_files(
    files: dict[str, str],
    directory: Path,
    *,
    durable: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> WriteResult:
    """Write ``files`` into ``directory`` in place, each atomically, leaving every other file alone.

    Only files whose content differs are written. (No manifest: :mod:`tfgen.render.manifest`
    adds one, and refuses to overwrite edits.)

    Raises:
        UsageError: If ``directory`` is refused (a file, ``/``, home, a mount point in it).
        RenderError: If the files cannot be written.
    """
    try:
        data = {name: text.encode("utf-8") for name, text in files.items()}
    except UnicodeEncodeError as exc:
        raise RenderError(f"{directory}: cannot write: {exc}") from None
    result = WriteResult(directory=directory)
    with opened(directory, on_wait, names=files, durable=durable) as module:
        for name, blob in data.items():
            (result.unchanged if module.read(name) == blob else result.changed).append(name)
        module.put({name: data[name] for name in result.changed})
        if not module.created:
            result.foreign = [name for name in existing_files(module.path) if name not in files]
    return result
