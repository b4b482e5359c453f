"""Terraform's machine-readable UI (``-json``): its output lines as events.

Each line of a ``-json`` command's stdout is one JSON object; a line that is not (and every
line of stderr) becomes a ``log`` event of the same shape as terraform's own, so a handler
sees one stream.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfgen.terraform.results import Diagnostic, ResourceChange

Event = dict[str, Any]
"""One message of terraform's machine-readable UI (``-json``), e.g. ``{"type": "planned_change", ...}``."""

EventHandler = Callable[[Event], None]


class EventStream:
    """The output lines of one ``-json`` command as events, collecting its diagnostics on the way.

    Blank lines are dropped. Diagnostics are collected and the ``version`` event is handed to
    ``on_version`` before the event reaches ``on_event``.

    Args:
        on_event: Called with each event as it arrives.
        on_version: Called with the ``version`` event terraform starts with.

    An :class:`OSError` from ``on_event`` (tfgen's own output is gone: ``tfgen apply | head``)
    is kept in :attr:`lost` and ``on_event`` is not called again, but the stream goes on
    collecting diagnostics: terraform's errors can still be told (on stderr) when it fails.

    Attributes:
        diagnostics: Every ``diagnostic`` event's diagnostic, in order.
        raw: The lines that were not JSON (usually stderr), in order.
        lost: The error that made ``on_event`` stop, if any.
    """

    def __init__(self, on_event: EventHandler | None, on_version: EventHandler) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.raw: list[str] = []
        self.lost: OSError | None = None
        self._on_event = on_event
        self._on_version = on_version

    def stdout_line(self, line: str) -> None:
        """One line of stdout: an event, or a ``log`` event of level ``info`` if not JSON."""
        if not line.strip():
            return
        event = parse_event(line)
        if event is None:
            self.raw.append(line)
            event = log_event(line, "info", "terraform.stdout")
        self._handle(event)

    def stderr_line(self, line: str) -> None:
        """One line of stderr: a ``log`` event of level ``warn``."""
        if not line.strip():
            return
        self.raw.append(line)
        self._handle(log_event(line, "warn", "terraform.stderr"))

    def _handle(self, event: Event) -> None:
        kind = event.get("type")
        if kind == "diagnostic" and isinstance(event.get("diagnostic"), dict):
            from tfgen.terraform.results import Diagnostic  # imported while terraform runs (commands._execute)

            self.diagnostics.append(Diagnostic.from_json(event["diagnostic"]))
        elif kind == "version":
            self._on_version(event)
        if self._on_event is not None and self.lost is None:
            try:
                self._on_event(event)
            except OSError as error:
                self.lost = error

    def failed(self) -> bool:
        """Whether terraform reported an error (a ``diagnostic`` of severity ``error``)."""
        return any(d.severity == "error" for d in self.diagnostics)


def parse_event(line: str) -> Event | None:
    """A JSON object line as an event, else ``None``."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def log_event(line: str, level: str, module: str) -> Event:
    """Wrap a non-JSON line as a ``log`` event, the shape terraform's own log events have."""
    return {"type": "log", "@level": level, "@message": line, "@module": module}


def change_counts(event: Event) -> dict[str, int]:
    """The counts of a ``change_summary`` event, e.g. ``{"add": 3, "change": 0, "remove": 0}``."""
    return {k: v for k, v in (event.get("changes") or {}).items() if isinstance(v, int)}


def resource_change(event: Event) -> ResourceChange | None:
    """The resource and action of a ``planned_change`` or ``resource_drift`` event, if it names both."""
    change = event.get("change") or {}
    resource = change.get("resource") or {}
    address = resource.get("addr")
    action = change.get("action")
    if isinstance(address, str) and isinstance(action, str):
        from tfgen.terraform.results import ResourceChange  # imported while terraform runs (commands._execute)

        return ResourceChange(address, action, importing=bool(change.get("importing")))
    return None
