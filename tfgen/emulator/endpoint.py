"""Talking to an emulator over HTTP: its address, URL checks, the health route, free ports.

Shared by the server (which answers the health route), the background process manager
(which waits for it to answer) and the provider override (which checks the URL). Standard
library only: importing it loads neither moto nor werkzeug, nor ``urllib.request`` (with
``http.client`` and ``email``, 15 ms of every ``--local`` command's start-up): the health
check of a plain-http emulator is one HTTP/1.0 request on a socket.
"""

from __future__ import annotations

import _socket  # socket's C module: socket.py's enums cost a short command (apply --plan) more than its one connection
import contextlib
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from tfgen.errors import EmulatorError

__all__ = [
    "HEALTH_PATH",
    "HEALTH_SERVICE",
    "HOST",
    "RESET_PATH",
    "check_endpoint",
    "check_reachable",
    "free_port",
    "health",
    "no_database_reason",
    "post",
    "require_moto",
    "reset",
    "wait_until",
]

HOST = "127.0.0.1"
"""The only address an emulator started by tfgen listens on."""

HEALTH_PATH = "/_tfgen/health"  # S3 bucket names cannot start with "_"
"""``GET`` it for the health document of a tfgen emulator (who serves, which fixes)."""

HEALTH_SERVICE = "tfgen-emulator"
"""The ``service`` field of the health document: tells a tfgen emulator from any other server."""

RESET_PATH = "/_tfgen/reset"
"""``POST`` it to empty a tfgen emulator: a fresh account, AWS's managed policies still there."""

_ENDPOINT_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?$")


def require_moto() -> None:
    """Check that moto, which only the ``local`` extra installs, can be imported (without importing it).

    Raises:
        EmulatorError: If moto is not installed.
    """
    import importlib.util

    if importlib.util.find_spec("moto") is None:
        raise EmulatorError("the local AWS emulator needs moto, which is not installed: install tfgen[local]")


def check_endpoint(endpoint: str) -> str:
    """The emulator URL ``endpoint`` without a trailing slash.

    Raises:
        EmulatorError: If ``endpoint`` is not an http(s) URL with a host.
    """
    url = endpoint.rstrip("/")
    if not _ENDPOINT_RE.match(url) or not urllib.parse.urlsplit(url).hostname:
        raise EmulatorError(f"not an emulator URL: {endpoint!r}", hint="use e.g. --endpoint http://127.0.0.1:5000")
    return url


def check_reachable(url: str) -> None:
    """Make sure something accepts TCP connections at ``url``.

    Raises:
        EmulatorError: If nothing does.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or HOST
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with _connect(host, port, 3.0):
            pass
    except OSError as exc:
        raise EmulatorError(
            f"nothing accepts connections at {url}: {exc.strerror or exc}",
            hint="start the emulator, or drop --endpoint to let tfgen start one",
        ) from exc


def health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The health document of the tfgen emulator at ``url``, or None if none answers."""
    try:
        doc = json.loads(_get(url + HEALTH_PATH, timeout))
    except (OSError, ValueError):
        return None
    if isinstance(doc, dict) and doc.get("service") == HEALTH_SERVICE:
        return doc
    return None


def _get(url: str, timeout: float) -> bytes:
    """The body of a ``200`` answer to ``GET url``.

    Raises:
        OSError: If the request fails or the answer is not ``200``.
        ValueError: If the URL or the answer is malformed.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":  # an emulator behind TLS (--endpoint https://...): rare, the full client
        from urllib import request as urllib_request

        with urllib_request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http and https only)
            body: bytes = response.read()
            return body
    host = parts.hostname or HOST
    request = f"GET {parts.path or '/'} HTTP/1.0\r\nHost: {parts.netloc}\r\nAccept: application/json\r\n\r\n"
    received = b""
    with _connect(host, parts.port or 80, timeout) as sock:
        sock.sendall(request.encode("ascii"))
        # HTTP/1.0: the server closes the connection after its answer; one that keeps it open is
        # read up to its Content-Length
        while (chunk := sock.recv(65536)) and not _complete(received := received + chunk):
            pass
    head, separator, body = received.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not separator or len(status) < 2 or not status[0].startswith(b"HTTP/"):
        raise ValueError(f"not an HTTP answer from {url}")
    if status[1] != b"200":
        raise OSError(f"{url}: HTTP {status[1].decode(errors='replace')}")
    return body


@contextlib.contextmanager
def _connect(host: str, port: int, timeout: float) -> Iterator[_socket.socket]:
    """A TCP connection to ``host:port``, closed on exit: :func:`socket.create_connection`, on ``_socket``.

    Each address of the name is tried in turn, as ``create_connection`` does; an ASCII name goes
    to ``getaddrinfo`` as bytes: as ``str`` it would go through the ``idna`` codec, whose import
    (``unicodedata`` with it) costs more than the connection itself.

    Raises:
        OSError: If no address of the name accepts the connection (the last attempt's error).
    """
    name = host.encode("ascii") if host.isascii() else host
    error: OSError = OSError(f"{host}: no address to connect to")
    for family, kind, proto, _, address in _socket.getaddrinfo(name, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        try:
            yield sock
        finally:
            sock.close()
        return
    raise error


def _complete(received: bytes) -> bool:
    """True once ``received`` holds an answer's head and as many body bytes as its Content-Length says."""
    head, separator, body = received.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value.strip())
    return False  # no length: until the server closes


def no_database_reason(url: str) -> str | None:
    """Why the tfgen emulator at ``url`` gives its clusters no PostgreSQL server, or None if it does.

    None too when no tfgen emulator answers (an older one, or another server): nothing is known.
    """
    doc = health(url)
    databases = doc.get("databases") if doc is not None else None
    if not isinstance(databases, dict) or databases.get("enabled", True):
        return None
    return str(databases.get("detail") or "the emulator runs no databases")


def post(url: str) -> None:
    """POST an empty body to ``url`` (moto's and tfgen's control routes).

    Raises:
        EmulatorError: If the request fails or is refused.
    """
    from urllib import request as urllib_request  # only for the control routes (tests, resets): not on a command's path

    request = urllib_request.Request(url, data=b"", method="POST")  # noqa: S310 (http only)
    try:
        with urllib_request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
    except OSError as exc:
        raise EmulatorError(f"the emulator did not accept {url}: {exc}") from exc


def reset(url: str) -> None:
    """Empty the tfgen emulator at ``url``, like a fresh AWS account (cheaper than moto's reset).

    Raises:
        EmulatorError: If the request fails, e.g. the server is not a tfgen emulator.
    """
    post(url + RESET_PATH)


def free_port() -> int:
    """A TCP port on :data:`HOST` that was free a moment ago."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
