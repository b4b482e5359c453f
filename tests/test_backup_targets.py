"""Where ``tfgen backup --out`` writes: stdout, a FIFO, a character device, through a symlink; signals and full disks.

A file appears only when complete (``tests/test_database.py``); everything else is written
straight through and never replaced by a regular file. No test here can touch the real
``/dev/null``: the character device is a node made in ``tmp_path`` (as root), and ``/dev/full``
is only ever opened for writing, never replaced, by the fixed code.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.test_database import connect
from tfgen.errors import ExitCode
from tfgen.ops import backup
from tfgen.ops.backup import backup_table
from tfgen.ops.database import ConnectionSettings

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "examples" / "local.yaml"
ROWS = 3000


@pytest.fixture
def table(postgres_server: ConnectionSettings) -> str:
    with connect(postgres_server) as conn:
        conn.execute("DROP TABLE IF EXISTS targets")
        conn.execute("CREATE TABLE targets (id int, note text)")
        conn.execute(f"INSERT INTO targets SELECT n, 'note ' || n FROM generate_series(1, {ROWS}) n")
    return "targets"


def expected_csv() -> bytes:
    return ("id,note\n" + "".join(f"{n},note {n}\n" for n in range(1, ROWS + 1))).encode()


def tfgen_backup(settings: ConnectionSettings, *args: str, **run: object) -> subprocess.CompletedProcess[bytes]:
    """``python -m tfgen backup`` against the test server."""
    assert settings.password
    argv = ["backup", str(LOCAL), *args, "--host", settings.host, "--port", str(settings.port)]
    argv += ["--user", settings.user, "--dbname", settings.dbname]
    env = {**os.environ, "PGPASSWORD": settings.password}
    if "stdout" not in run:
        run.setdefault("capture_output", True)
    return subprocess.run(
        [sys.executable, "-m", "tfgen", *argv], env=env, stdin=subprocess.DEVNULL, timeout=120, check=False, **run
    )  # type: ignore[call-overload, no-any-return]


def test_out_dash_writes_to_stdout_and_the_summary_to_stderr(postgres_server: ConnectionSettings, table: str) -> None:
    done = tfgen_backup(postgres_server, "--table", table, "--out", "-")
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected_csv()
    digest = hashlib.sha256(done.stdout).hexdigest()
    summary = f"backed up {ROWS} rows ({len(done.stdout)} bytes) to standard output; sha256 {digest}\n"
    assert done.stderr.decode() == summary


def test_a_fifo_is_written_through(postgres_server: ConnectionSettings, table: str, tmp_path: Path) -> None:
    fifo = tmp_path / "backup.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = backup_table(postgres_server, table=table, out=fifo)
    reader.join(30)
    assert received == [expected_csv()]
    assert result.rows == ROWS and result.sha256 == hashlib.sha256(expected_csv()).hexdigest()
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still the FIFO, not a regular file put in its place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.fifo", "home"]


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_character_device_is_written_through(postgres_server: ConnectionSettings, table: str, tmp_path: Path) -> None:
    """As root, ``--out /dev/null`` used to replace /dev/null with a regular file: a null device of our own here."""
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # the same device as /dev/null
    result = backup_table(postgres_server, table=table, out=null)
    assert result.rows == ROWS
    assert stat.S_ISCHR(null.lstat().st_mode) and null.lstat().st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "null"]


def test_dev_null_stays_a_device(postgres_server: ConnectionSettings, table: str) -> None:
    backup_table(postgres_server, table=table, out=Path(os.devnull))
    assert stat.S_ISCHR(os.lstat(os.devnull).st_mode)


def test_a_symlink_writes_to_what_it_points_to(postgres_server: ConnectionSettings, table: str, tmp_path: Path) -> None:
    """As ``cp`` and a shell's ``>`` do: the file it names is replaced (atomically), the link stays a link."""
    target = tmp_path / "backups" / "latest.csv"
    target.parent.mkdir()
    target.write_text("yesterday\n", encoding="utf-8")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    backup_table(postgres_server, table=table, out=link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == expected_csv()
    dangling = tmp_path / "new.csv"
    dangling.symlink_to(tmp_path / "backups" / "new.csv")
    backup_table(postgres_server, table=table, out=dangling)
    assert dangling.is_symlink() and (tmp_path / "backups" / "new.csv").read_bytes() == expected_csv()


def test_sockets_and_directories_are_refused(postgres_server: ConnectionSettings, table: str, tmp_path: Path) -> None:
    import socket

    from tfgen.errors import UsageError

    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(UsageError, match="neither a file, a pipe nor a character device"):
            backup_table(postgres_server, table=table, out=path)
    with pytest.raises(UsageError, match="is a directory"):
        backup_table(postgres_server, table=table, out=tmp_path)


def test_table_and_query_together_are_refused(tmp_path: Path) -> None:
    argv = ["backup", str(LOCAL), "--table", "t", "--query", "SELECT 1", "--out", str(tmp_path / "x.csv")]
    done = subprocess.run([sys.executable, "-m", "tfgen", *argv, "--host", "127.0.0.1"], capture_output=True, text=True)
    assert done.returncode == ExitCode.USAGE
    assert done.stderr == "error: --table and --query exclude each other\nhint: give one of them\n"
    assert not (tmp_path / "x.csv").exists()


def test_a_full_disk_is_one_line(postgres_server: ConnectionSettings, table: str) -> None:
    done = tfgen_backup(postgres_server, "--table", table, "--out", "/dev/full", text=True, capture_output=True)
    assert done.returncode == ExitCode.FAILED
    assert done.stderr == "error: could not write /dev/full: No space left on device\n"
    with open("/dev/full", "wb") as full:
        stdout = tfgen_backup(postgres_server, "--table", table, "--out", "-", stdout=full, stderr=subprocess.PIPE)
    assert stdout.returncode == ExitCode.FAILED
    assert stdout.stderr.decode() == "error: could not write standard output: No space left on device\n"


def test_a_failed_background_sync_is_an_error_not_lost() -> None:
    """The digest thread syncs a file now and then; its error reaches the copy (which reports it), not the void.

    A pipe cannot be synced (EINVAL), which stands in for an I/O error of the disk: an error
    that fsync reports once per open file, so the final fsync would not see it again.
    """
    read_end, write_end = os.pipe()
    blocks = backup._SYNC_EVERY // backup._BLOCK + backup._WAITING_BLOCKS + 1
    try:
        with pytest.raises(OSError) as raised:  # from update() or from hexdigest(), as the thread goes
            with backup._Digest(write_end) as digest:
                for _ in range(blocks):
                    digest.update(bytearray(backup._BLOCK))
            digest.hexdigest()
    finally:
        os.close(read_end)
        os.close(write_end)
    assert raised.value.errno == errno.EINVAL


def test_the_digest_is_the_sha256_of_every_block() -> None:
    blocks = [bytearray(f"block {n}\n".encode()) * 1000 for n in range(40)]
    with backup._Digest(None) as digest:
        for block in blocks:
            digest.update(block)
    assert digest.hexdigest() == hashlib.sha256(b"".join(blocks)).hexdigest()


def test_sigterm_removes_the_partial_file(postgres_server: ConnectionSettings, tmp_path: Path) -> None:
    """As Ctrl-C does: exit 143, no partial file, the previous backup untouched."""
    out = tmp_path / "slow.csv"
    out.write_text("previous backup\n", encoding="utf-8")
    assert postgres_server.password
    query = "SELECT n, pg_sleep(0.01) FROM generate_series(1, 100000) n"  # about 17 minutes
    argv = ["backup", str(LOCAL), "--query", query, "--out", str(out), "--host", postgres_server.host]
    argv += ["--port", str(postgres_server.port), "--user", postgres_server.user, "--dbname", postgres_server.dbname]
    env = {**os.environ, "PGPASSWORD": postgres_server.password}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tfgen", *argv], env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120  # bounds a broken run only
        while not list(tmp_path.glob(".slow.csv.*.part")):  # the copy has begun
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the partial file never appeared"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == ExitCode.TERMINATED, err
    assert "Traceback" not in err
    assert out.read_text(encoding="utf-8") == "previous backup\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "slow.csv"]


@pytest.mark.parametrize(
    "argv",
    [["schema"], ["render", str(LOCAL), "-o", "{tmp}/module"], ["validate", str(LOCAL)], ["--version"]],
    ids=["schema", "render", "validate", "version"],
)
def test_a_full_stdout_is_one_line_in_every_command(argv: list[str], tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "tfgen", *(a.replace("{tmp}", str(tmp_path)) for a in argv)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == ExitCode.FAILED
    assert done.stderr.splitlines()[-1] == "error: cannot write to standard output: No space left on device"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
