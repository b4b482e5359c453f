"""PostgreSQL as the emulator's databases run it: installations, the template's files, the watchdog.

Standard library only at import time (``cryptography`` is imported to write a certificate).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import hashlib
import hmac
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tfgen.emulator.endpoint import HOST, free_port

__all__ = [
    "ADDRESS_IN_USE",
    "HBA",
    "SETTINGS",
    "SUPERUSER",
    "SYSTEM_USER",
    "WATCHDOG",
    "Binaries",
    "addresses",
    "bindable",
    "find_binaries",
    "ident",
    "password_literal",
    "reachable",
    "system_account",
    "unavailable_reason",
    "write_certificate",
]

SUPERUSER = "rdsadmin"
"""The servers' superuser (RDS's own administrator role), reachable only through the Unix socket."""

SYSTEM_USER = "postgres"
"""The account the servers run as when the emulator runs as root."""

_PROGRAMS = ("initdb", "pg_ctl", "postgres")
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_START_ATTEMPTS = 6
_LOOPBACK_RETRIES = 4
# An emulator wants speed, not durability: its data is thrown away with the cluster.
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "50",
    "ssl": "on",
    "ssl_cert_file": "'server.crt'",
    "ssl_key_file": "'server.key'",
    "password_encryption": "'scram-sha-256'",
}
HBA = (
    "# tfgen emulator: the superuser through the socket, every role over TCP with a password (TLS or not)\n"
    "local all all trust\n"
    "host all all 127.0.0.0/8 scram-sha-256\n"
)
ADDRESS_IN_USE = re.compile(r"Address already in use|Cannot assign requested address|could not bind", re.IGNORECASE)

# Runs as ``python -c``: waits for EOF on stdin (the emulator gone), then stops every server
# under the directory (argv[1]) that it can tell is one of them, and removes the directory.
WATCHDOG = r"""
import os, shutil, signal, sys, time
from pathlib import Path
sys.stdin.buffer.read()
root = Path(sys.argv[1])
pids = []
for pidfile in root.glob("*/data/postmaster.pid"):
    try:
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        continue
    if str(pidfile.parent).encode() in cmdline:
        os.kill(pid, signal.SIGQUIT)
        pids.append(pid)
deadline = time.monotonic() + 15
while pids and time.monotonic() < deadline:
    pids = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    time.sleep(0.1)
for pid in pids:
    os.kill(pid, signal.SIGKILL)
shutil.rmtree(root, ignore_errors=True)
"""


@dataclasses.dataclass(frozen=True)
class Binaries:
    """A PostgreSQL installation: the directory of ``initdb``, ``pg_ctl`` and ``postgres``, and its major."""

    bindir: Path
    major: int


def find_binaries() -> list[Binaries]:
    """Every PostgreSQL server installation found, oldest major first.

    Looked up in ``/usr/lib/postgresql/<major>/bin`` (Debian, Ubuntu), then next to the
    ``postgres`` program on PATH and in ``pg_config --bindir``.
    """
    found: dict[int, Binaries] = {}
    for bindir in sorted(_DEBIAN_ROOT.glob("*/bin")):
        name = bindir.parent.name
        if name.isdigit() and _complete(bindir):
            found.setdefault(int(name), Binaries(bindir, int(name)))
    others = [shutil.which("postgres"), shutil.which("initdb")]
    if not found and not any(others):
        others.append(_pg_config_bindir())  # a program to run: only when nothing else was found
    for program in filter(None, others):
        bindir = Path(program).resolve().parent if Path(program).is_file() else Path(program)
        if any(known.bindir == bindir for known in found.values()):
            continue
        major = _major_of(bindir) if _complete(bindir) else None
        if major is not None:
            found.setdefault(major, Binaries(bindir, major))
    return [found[major] for major in sorted(found)]


def unavailable_reason(binaries: list[Binaries]) -> str | None:
    """Why the emulator cannot run real servers here, or None if it can."""
    if not binaries:
        return (
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql/*/bin: "
            "install the PostgreSQL server (e.g. apt-get install postgresql) and restart the emulator"
        )
    if os.geteuid() == 0 and system_account() is None:
        return f"running as root, and PostgreSQL refuses root: the system user {SYSTEM_USER!r} does not exist"
    return None


def _complete(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _PROGRAMS)


def _pg_config_bindir() -> str | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=30)
    return done.stdout.strip() or None if done.returncode == 0 else None


def _major_of(bindir: Path) -> int | None:
    done = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    match = re.search(r"\(PostgreSQL\) (\d+)", done.stdout)
    return int(match.group(1)) if match else None


def system_account() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return None


def addresses(port: int) -> Iterator[tuple[str, int]]:
    """Where to listen: the port asked for on 127.0.0.1, then on other loopback addresses, then any port."""
    yield HOST, port
    for _ in range(_LOOPBACK_RETRIES):
        yield f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}", port
    for _ in range(_START_ATTEMPTS - _LOOPBACK_RETRIES - 1):
        yield HOST, free_port()


def bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PostgreSQL does
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def reachable(path: Path, account: pwd.struct_passwd) -> bool:
    """Whether ``account`` can search every existing directory down to ``path``."""
    for parent in [path, *path.parents]:
        with contextlib.suppress(FileNotFoundError):
            info = parent.stat()
            if not info.st_mode & stat.S_IXOTH and info.st_uid != account.pw_uid:
                return False
    return True


def write_certificate(data: Path) -> None:
    """A self-signed certificate for ``localhost`` and the loopback addresses (TLS as Aurora offers it)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tfgen emulator")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))],
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_file = data / "server.key"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    (data / "server.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def password_literal(password: str) -> str:
    """The password as the SCRAM verifier PostgreSQL would store: the text never reaches the server or its log."""
    if not password.isascii():  # SASLprep would apply: let the server hash it
        return "'" + password.replace("'", "''") + "'"
    salt = secrets.token_bytes(16)
    iterations = 4096
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    b64 = base64.b64encode
    return f"'SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}'"
