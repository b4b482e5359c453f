"""``tfgen backup``: a table, or the operator's query, streamed to a CSV file.

:func:`backup_table` runs ``COPY ... TO STDOUT`` in a read-only transaction; the file
appears at its final path only once it is complete (temporary file, fsync, rename).
psycopg is imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tfgen.ops.database import ConnectionSettings, DatabaseError, connect, one_line, psycopg_errors
from tfgen.ops.results import shorten

__all__ = ["BackupResult", "backup_table"]

_PROGRESS_BYTES = 256 * 1024
_PROGRESS_SECONDS = 0.5
_WRITE_BUFFER = 1024 * 1024


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
    """Stream a table, or the operator's query, to a CSV file with a header row.

    Runs ``COPY (SELECT * FROM "schema"."table") TO STDOUT WITH (FORMAT csv, HEADER)``
    (or ``COPY (<query>) ...``) in a read-only transaction, writing to a temporary
    file next to ``out`` (mode 0600: backups hold data). Only when every row has
    arrived is the file fsynced and renamed to ``out``; on any error or
    KeyboardInterrupt the temporary file is removed, nothing new exists at ``out``
    and a file already there is left as it was. A complete backup replaces it.

    Args:
        settings: Where to connect.
        table: Table to dump, quoted as one identifier (a name such as
            ``x; drop table y`` is only a name). With ``query`` it only labels messages.
        schema: The table's schema; ``None`` follows the ``search_path``.
        query: The operator's own ``SELECT`` to dump instead of the table (a trailing
            semicolon is allowed). It runs read-only: a query that writes fails.
        out: File to write; its directory must exist.
        on_progress: Called now and then with ``(rows, bytes)`` so far, and once at
            the end with the exact totals. Until the end ``rows`` is an estimate (line
            count: a value with an embedded newline counts twice).

    Returns:
        The rows and bytes written, the file's SHA-256 and its path.

    Raises:
        DatabaseError: The connection fails, the table does not exist, permission is
            denied, the query fails, or the file cannot be written.
        KeyboardInterrupt: Passed on after cleaning up.
    """
    from psycopg import sql

    if query is not None and query.strip().rstrip(";").strip():
        source: sql.Composable = sql.SQL(query.strip().rstrip(";").strip())
        label = f"query {shorten(query, 60)!r}"
    elif query is not None:
        raise DatabaseError("the backup query is empty")
    elif table:
        name = sql.Identifier(schema, table) if schema else sql.Identifier(table)
        source = sql.SQL("SELECT * FROM {}").format(name)
        label = f'table "{schema}.{table}"' if schema else f'table "{table}"'
    else:
        raise DatabaseError("nothing to back up: give a table or a query")
    statement = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(source)

    out = Path(out)
    directory = out.parent
    if not directory.is_dir():
        raise DatabaseError(f"output directory {directory} does not exist", hint="create it, or choose another --out")
    if out.is_dir():
        raise DatabaseError(f"{out} is a directory", hint="give a file name to write the backup to")

    with connect(settings, autocommit=False) as conn:
        conn.read_only = True
        with _temporary_file(directory, out.name) as (tmp_path, handle):
            digest = hashlib.sha256()
            size = 0
            lines = 0
            reported_bytes = 0
            reported_at = time.monotonic()
            try:
                with conn.cursor() as cur:
                    with cur.copy(statement) as copy:
                        for chunk in copy:
                            handle.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
                            lines += bytes(chunk).count(b"\n")
                            if on_progress is not None and (
                                size - reported_bytes >= _PROGRESS_BYTES
                                or time.monotonic() - reported_at >= _PROGRESS_SECONDS
                            ):
                                on_progress(max(lines - 1, 0), size)
                                reported_bytes, reported_at = size, time.monotonic()
                    rows = max(cur.rowcount, 0)
                conn.rollback()
            except psycopg_errors() as error:
                raise _backup_error(error, label, table if query is None else None, settings) from error
            except OSError as error:
                raise DatabaseError(f"could not write {tmp_path}: {error.strerror or error}") from error
            try:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                os.replace(tmp_path, out)
            except OSError as error:
                raise DatabaseError(f"could not write {out}: {error.strerror or error}") from error
    _fsync_directory(directory)
    if on_progress is not None:
        on_progress(rows, size)
    return BackupResult(rows=rows, bytes=size, sha256=digest.hexdigest(), path=out)


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


@contextlib.contextmanager
def _temporary_file(directory: Path, name: str) -> Iterator[tuple[Path, BinaryIO]]:
    """A hidden temporary file in ``directory``, removed on the way out unless renamed away."""
    try:
        fd, raw = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    except OSError as error:
        raise DatabaseError(f"cannot create a file in {directory}: {error.strerror or error}") from error
    path = Path(raw)
    try:
        with os.fdopen(fd, "wb", buffering=_WRITE_BUFFER) as handle:
            yield path, handle
    finally:
        # After a successful os.replace the path is gone; otherwise the partial file must go.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
