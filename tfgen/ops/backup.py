"""``tfgen backup``: a table, or the operator's query, streamed as CSV to a file, a pipe or stdout.

:func:`backup_table` runs ``COPY ... TO STDOUT`` in a read-only transaction; a file
appears at its final path only once it is complete (temporary file, fsync, rename); a FIFO,
a character device or standard output is written straight through, never replaced.
psycopg is imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from tfgen.errors import UsageError
from tfgen.ops.database import ConnectionSettings, DatabaseError, connect, one_line, psycopg_errors
from tfgen.ops.results import shorten

if TYPE_CHECKING:
    from psycopg import sql
    from psycopg.pq.abc import PGconn

__all__ = ["BackupResult", "backup_table"]

_PROGRESS_SECONDS = 0.5
_WRITE_BUFFER = 1024 * 1024
_BLOCK = 1024 * 1024
"""Rows are gathered into blocks of this many bytes before they are written and hashed."""
_WAITING_BLOCKS = 8
"""Blocks written but not yet hashed (and synced) at most: memory stays flat."""
_SYNC_EVERY = 16 * 1024 * 1024
"""A file is fdatasync'ed after this many bytes, on the digest's thread, so that the fsync
before the rename finds little left to write."""


@dataclass(frozen=True)
class BackupResult:
    """A completed backup.

    Attributes:
        rows: Rows written (from the ``COPY`` command's status, not counted lines, so
            values with embedded newlines count once).
        bytes: Size of the file, header included.
        sha256: Hex SHA-256 of the file.
        path: Where the file is.
    """

    rows: int
    bytes: int
    sha256: str
    path: Path


def backup_table(
    settings: ConnectionSettings,
    *,
    table: str | None = None,
    schema: str | None = None,
    query: str | None = None,
    out: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> BackupResult:
    """Stream a table, or the operator's query, as CSV with a header row to a file, a pipe or stdout.

    Runs ``COPY (SELECT * FROM "schema"."table") TO STDOUT WITH (FORMAT csv, HEADER)``
    (or ``COPY (<query>) ...``) in a read-only transaction. Where it goes depends on ``out``:

    * a regular file, or a name that does not exist yet: a temporary file next to it
      (mode 0600: backups hold data), fsynced and renamed to ``out`` only when every row has
      arrived; on any error, Ctrl-C or SIGTERM the temporary file is removed, nothing new
      exists at ``out`` and a file already there is left as it was;
    * ``-`` (standard output), a FIFO or a character device (``/dev/null``, a tape): written
      straight through, never replaced by a regular file;
    * a symbolic link: what it points to, as above (a file it names is replaced, the link stays).

    Args:
        settings: Where to connect.
        table: Table to dump, quoted as one identifier (a name such as
            ``x; drop table y`` is only a name).
        schema: The table's schema; ``None`` follows the ``search_path``.
        query: The operator's own ``SELECT`` to dump instead of a table (a trailing
            semicolon is allowed). It runs read-only: a query that writes fails.
        out: Where to write (see above); a file's directory must exist.
        on_progress: Called now and then with ``(rows, bytes)`` so far, and once at
            the end with the exact totals. Until the end ``rows`` is an estimate (line
            count: a value with an embedded newline counts twice).

    Returns:
        The rows and bytes written, their SHA-256 and where they went.

    Raises:
        UsageError: Both a table and a query, or neither; ``out`` is a directory, a block
            device or a socket.
        DatabaseError: The connection fails, the table does not exist, permission is
            denied, the query fails, or the output cannot be written (a full disk).
        KeyboardInterrupt: Passed on after cleaning up.
    """
    statement, label = _statement(table, schema, query)
    target = _Target.of(Path(out))
    with connect(settings, autocommit=False) as conn:
        conn.read_only = True
        with target.opened() as handle:
            try:
                with conn.cursor() as cur, cur.copy(statement):  # the COPY has started: read it at libpq's level
                    rows, size, digest = _stream(
                        conn.pgconn, conn.info.encoding, handle, on_progress, sync=not target.stream
                    )
                conn.rollback()
            except psycopg_errors() as error:
                raise _backup_error(error, label, table if query is None else None, settings) from error
            except OSError as error:
                raise DatabaseError(f"could not write {target.name}: {error.strerror or error}") from error
    if on_progress is not None:
        on_progress(rows, size)
    return BackupResult(rows=rows, bytes=size, sha256=digest, path=Path(out))


def _statement(table: str | None, schema: str | None, query: str | None) -> tuple[sql.Composed, str]:
    """The ``COPY`` statement and how messages name what it copies."""
    from psycopg import sql

    if table is not None and query is not None:
        raise UsageError("--table and --query exclude each other", hint="give one of them")
    if query is not None:
        text = query.strip().rstrip(";").strip()
        if not text:
            raise DatabaseError("the backup query is empty")
        source: sql.Composable = sql.SQL(text)
        label = f"query {shorten(query, 60)!r}"
    elif table:
        name = sql.Identifier(schema, table) if schema else sql.Identifier(table)
        source = sql.SQL("SELECT * FROM {}").format(name)
        label = f'table "{schema}.{table}"' if schema else f'table "{table}"'
    else:
        raise DatabaseError("nothing to back up: give a table or a query")
    return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(source), label


def _stream(
    pgconn: PGconn,
    encoding: str,
    handle: BinaryIO,
    on_progress: Callable[[int, int], None] | None,
    *,
    sync: bool = False,
) -> tuple[int, int, str]:
    """Write the data of the ``COPY`` in progress to ``handle``; the rows, the size and the SHA-256 of what was written.

    The server sends one message per row. psycopg's ``Copy`` iteration costs about ten
    microseconds a row, a fifth of psql's speed on narrow rows; here the messages are read
    from libpq directly and gathered into blocks of :data:`_BLOCK` bytes, so that writing and
    counting lines is done once per block, and hashing on a thread of its own while the next
    block is read (:class:`_Digest`; with ``sync``, a file, it also syncs what was written now
    and then). Waiting for data is a ``select`` in Python: Ctrl-C and
    SIGTERM are handled at once, however slowly the query produces rows.

    Raises:
        psycopg.Error: The query failed (a division by zero half way), or the connection broke.
        OSError: ``handle`` cannot be written.
    """
    import select

    from psycopg import errors, pq

    size = 0
    lines = 0
    reported_at = time.monotonic()
    block = bytearray()
    results = []
    read, limit, write = pgconn.get_copy_data, _BLOCK, handle.write
    with _Digest(handle.fileno() if sync else None) as digest:
        while True:
            length, data = read(1)  # 1: never block inside libpq; per row, so the loop stays this short
            if length > 0:
                block += data
                if len(block) < limit:
                    continue
            elif length == 0:
                select.select([pgconn.socket], [], [])
                pgconn.consume_input()
                continue
            else:  # the end (-1), or an error (-2): the connection is done with the COPY before anything can fail here
                while (result := pgconn.get_result()) is not None:
                    results.append(result)
            write(block)
            digest.update(block)  # the digest's now: the next rows go to a new block
            size += len(block)
            if on_progress is not None:
                lines += block.count(b"\n")
                if time.monotonic() - reported_at >= _PROGRESS_SECONDS:
                    on_progress(max(lines - 1, 0), size)
                    reported_at = time.monotonic()
            if length < 0:
                break
            block = bytearray()
    if not results:
        raise errors.OperationalError(pgconn.get_error_message(encoding))
    if results[0].status != pq.ExecStatus.COMMAND_OK:
        raise errors.error_from_result(results[0], encoding=encoding)
    return results[0].command_tuples or 0, size, digest.hexdigest()


class _Digest:
    """SHA-256 of the blocks written, computed on a thread of its own while the next block is read.

    hashlib releases the GIL for big buffers, so on a machine with a spare core the hashing
    (about 0.1 CPU-s for 160 MiB) costs the copy no time. Given a file descriptor, the thread
    also fdatasyncs it every :data:`_SYNC_EVERY` bytes, so that the final fsync (a tenth of a
    second for 160 MiB, more on a busy disk) overlaps with the copy; an error of those syncs
    is raised by the next :meth:`update` or by :meth:`hexdigest`. At most
    :data:`_WAITING_BLOCKS` blocks wait: memory stays flat however slow the thread is. Leaving
    the ``with`` block, normally or by an error or Ctrl-C, ends the thread after what it is doing.
    """

    def __init__(self, sync: int | None) -> None:
        self._sha = hashlib.sha256()
        self._sync = sync
        self._error: OSError | None = None
        self._blocks: queue.SimpleQueue[bytearray | None] = queue.SimpleQueue()
        self._free = threading.Semaphore(_WAITING_BLOCKS)
        self._thread = threading.Thread(target=self._hash, name="tfgen-backup-sha256", daemon=True)

    def __enter__(self) -> _Digest:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._blocks.put(None)
        self._thread.join()

    def _hash(self) -> None:
        unsynced = 0
        while (block := self._blocks.get()) is not None:
            self._sha.update(block)
            self._free.release()
            unsynced += len(block)
            if self._sync is not None and unsynced >= _SYNC_EVERY and self._error is None:
                unsynced = 0
                try:
                    os.fdatasync(self._sync)
                except OSError as error:  # reported once per open file: the final fsync may not see it again
                    self._error = error

    def update(self, block: bytearray) -> None:
        """Hash ``block``, which the caller no longer changes (and which is written), when there is room.

        Raises:
            OSError: An earlier sync failed.
        """
        self._free.acquire()
        self._raise()
        self._blocks.put(block)

    def hexdigest(self) -> str:
        """The digest of every block, once the ``with`` block has ended.

        Raises:
            OSError: A sync failed.
        """
        self._raise()
        return self._sha.hexdigest()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


def _backup_error(error: Exception, label: str, table: str | None, settings: ConnectionSettings) -> DatabaseError:
    """A one-line :class:`DatabaseError` for a failed ``COPY``."""
    from psycopg import errors

    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(error)
    reason = one_line(primary, settings.password)
    if isinstance(error, errors.UndefinedTable) and table is not None:
        return DatabaseError(f"{label} does not exist in {settings.dbname}", hint="check the name and --schema")
    if isinstance(error, errors.InsufficientPrivilege):
        return DatabaseError(
            f"cannot back up {label}: {reason}", hint=f"grant SELECT on it to {settings.user}, or use another role"
        )
    if isinstance(error, errors.ReadOnlySqlTransaction):
        return DatabaseError(f"cannot back up {label}: {reason}", hint="a backup query must only read (SELECT)")
    return DatabaseError(f"backup of {label} failed: {reason}")


class _Target:
    """Where a backup goes: a file that appears only when complete, or a stream written straight through."""

    def __init__(self, name: str, path: Path | None, *, stream: bool) -> None:
        self.name = name
        """How messages name it."""
        self.path = path
        """The file or device to open; None for standard output."""
        self.stream = stream

    @classmethod
    def of(cls, out: Path) -> _Target:
        """What ``out`` names (``-``: standard output); a symbolic link counts as what it points to.

        Raises:
            UsageError: ``out`` is a directory, a block device or a socket.
            DatabaseError: The directory of a file does not exist.
        """
        if str(out) == "-":
            return cls("standard output", None, stream=True)
        real = Path(os.path.realpath(out)) if out.is_symlink() else out
        try:
            mode = real.stat().st_mode
        except FileNotFoundError:
            mode = None
        except OSError as error:
            raise DatabaseError(f"cannot use {out}: {error.strerror or error}") from error
        if mode is not None and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            return cls(str(out), real, stream=True)
        if mode is not None and stat.S_ISDIR(mode):
            raise UsageError(f"{out} is a directory", hint="give a file name to write the backup to")
        if mode is not None and not stat.S_ISREG(mode):
            raise UsageError(f"{out} is neither a file, a pipe nor a character device; refusing to write to it")
        if not real.parent.is_dir():
            raise DatabaseError(
                f"output directory {real.parent} does not exist", hint="create it, or choose another --out"
            )
        return cls(str(out), real, stream=False)

    @contextlib.contextmanager
    def opened(self) -> Iterator[BinaryIO]:
        """The handle to write to; a file is renamed into place only if the block ends without an error."""
        if self.path is None:
            sys.stdout.flush()
            yield sys.stdout.buffer
            self._flush(sys.stdout.buffer)
            return
        if self.stream:
            try:
                handle = self.path.open("wb", buffering=_WRITE_BUFFER)  # O_TRUNC: ignored by FIFOs and devices
            except OSError as error:
                raise DatabaseError(f"cannot open {self.name}: {error.strerror or error}") from error
            try:
                yield handle
                self._flush(handle)
            finally:
                _close(handle)
            return
        directory = self.path.parent
        try:
            fd, raw = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".part")
        except OSError as error:
            raise DatabaseError(f"cannot create a file in {directory}: {error.strerror or error}") from error
        partial = Path(raw)
        try:
            handle = os.fdopen(fd, "wb", buffering=_WRITE_BUFFER)
            try:
                yield handle
                self._flush(handle, sync=True)
            finally:
                _close(handle)
            try:
                os.replace(partial, self.path)
            except OSError as error:
                raise DatabaseError(f"could not write {self.name}: {error.strerror or error}") from error
            _fsync_directory(directory)
        finally:
            # After a successful os.replace the path is gone; otherwise the partial file must go.
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()

    def _flush(self, handle: BinaryIO, *, sync: bool = False) -> None:
        """Write out what ``handle`` buffers (and fsync it): a full disk shows here at the latest."""
        try:
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        except OSError as error:
            raise DatabaseError(f"could not write {self.name}: {error.strerror or error}") from error


def _close(handle: BinaryIO) -> None:
    """Close a handle whose flush already failed (the error is raised) or succeeded (nothing is left)."""
    with contextlib.suppress(OSError):
        handle.close()


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
