"""How the emulator takes a request: one at a time inside moto, a retried one done once, each traced on demand.

:func:`serialised` wraps the server's WSGI application (:mod:`tfgen.emulator.server`).
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DISPATCH", "TRACE_VARIABLE", "action", "log", "serialised"]


def log(message: str) -> None:
    """One line of the emulator's log (its standard error)."""
    print(f"tfgen emulator: {message}", file=sys.stderr, flush=True)


DISPATCH = threading.Lock()
_ANSWERED: OrderedDict[str, tuple[str, tuple[tuple[str, str], ...], bytes]] = OrderedDict()
"""The last answers to requests that changed something, by the SDK's invocation id (under :data:`DISPATCH`)."""
_ANSWERS_KEPT = 256


def serialised(app: WSGIApplication, *, logged: bool = False, trace: bool = False) -> WSGIApplication:
    """``app`` for one request at a time: moto's state is never touched by two requests at once.

    The server is threaded and the aws provider sends up to 10 requests at once (terraform's
    ``-parallelism``), but moto's backends are plain dicts with no lock of their own ("Is Moto
    concurrency safe? No. Moto is not designed for multithreaded access", moto's FAQ,
    docs/docs/faq.rst). Unserialised, a ListSecrets or DescribeSecret walking the secrets while
    a CreateSecret adds one, or a DescribeDBSubnetGroups while a CreateDBSubnetGroup adds a
    group, fails with ``RuntimeError: dictionary changed size during iteration`` (an HTTP 500;
    tests/test_emulator_concurrency.py). The lock covers moto's work only: the request's body
    is read from the socket before it is taken and the answer is written after it is released,
    so a slow or stopped client (or a test's proxy holding an answer) holds no other request up.
    What moto's call itself waits for does: a cluster's database server starting
    (:mod:`tfgen.emulator.backing`) or a lifecycle event.

    A later attempt of a request that changed something (the SDK's ``amz-sdk-invocation-id``
    and ``amz-sdk-request: attempt=N``) gets the answer the first attempt got, not a second
    create: the client retried because it lost that answer (DEVELOPERS.md, "A retried request
    is done once").

    ``logged`` (a server with a log of its own): such a retry is noted; ``trace``: so is every
    request (action, status, time taken).
    """

    def serialised_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        began = time.monotonic()
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def recorded(status: str, headers: list[tuple[str, str]], *rest: object) -> object:
            answered.append((status, headers))
            return start_response(status, headers, *rest)  # type: ignore[arg-type]

        try:
            _buffer_body(environ)
            with DISPATCH:
                return _answer(app, environ, recorded, answered, logged)  # type: ignore[arg-type]
        finally:
            if trace:
                status = answered[0][0] if answered else "(none)"
                log(f"{action(environ)} -> {status} in {time.monotonic() - began:.3f}s")

    return serialised_app


def _answer(
    app: WSGIApplication,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    answered: list[tuple[str, list[tuple[str, str]]]],
    logged: bool,
) -> list[bytes]:
    """moto's answer (under :data:`DISPATCH`), or for a retry of a request done, the answer it got.

    ``start_response`` appends the status and headers to ``answered``.
    """
    invocation = str(environ.get("HTTP_AMZ_SDK_INVOCATION_ID") or "")
    attempt = str(environ.get("HTTP_AMZ_SDK_REQUEST") or "")
    if invocation and _attempt(attempt) > 1:
        done = _ANSWERED.get(invocation)
        if logged:
            log(
                f"retried by its client ({attempt}): {action(environ)}"
                + (", done already: its answer again" if done else "")
            )
        if done is not None:
            start_response(done[0], list(done[1]))
            return [done[2]]
    answer = app(environ, start_response)
    try:
        body = list(answer)
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    if invocation and answered and answered[0][0].startswith("2") and _changes(environ):
        _ANSWERED[invocation] = (answered[0][0], tuple(answered[0][1]), b"".join(body))
        while len(_ANSWERED) > _ANSWERS_KEPT:
            _ANSWERED.popitem(last=False)
    return body


TRACE_VARIABLE = "TFGEN_EMULATOR_TRACE"
"""``1``: the emulator writes one line per request to its log (action, status, time taken)."""


def action(environ: WSGIEnvironment) -> str:
    """What a request asks for: its JSON target or query action (read from the buffered body), else its path."""
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    if target:
        return target
    stream = environ.get("wsgi.input")
    if isinstance(stream, io.BytesIO):
        for pair in stream.getvalue()[:4096].split(b"&"):
            if pair.startswith(b"Action="):
                return pair[7:].decode("ascii", "replace")
    return f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '?')}"


def _attempt(header: str) -> int:
    """The attempt an ``amz-sdk-request`` header names: ``attempt=2; max=25`` (Go SDK), ``attempt=1`` (botocore)."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "attempt" and value.isdigit():
            return int(value)
    return 1


def _changes(environ: WSGIEnvironment) -> bool:
    """Whether a request may change something (not a read: GET/HEAD, Describe*, List*, Get*)."""
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        return False
    operation = action(environ).rpartition(".")[2]
    return not operation.startswith(("Describe", "List", "Get", "Head"))


def _buffer_body(environ: WSGIEnvironment) -> None:
    """Read the request's body from the socket now, so that the app reads it from memory."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream
        body = stream.read()
    else:
        length = str(environ.get("CONTENT_LENGTH") or "")
        body = stream.read(int(length)) if length.isdigit() and int(length) > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
