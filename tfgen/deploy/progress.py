"""Terraform's streamed ``-json`` events turned into progress a person can follow.

Three reporters share one interface (:class:`Reporter`): a live rich display for
terminals (one line per resource with its action, state and elapsed time, and an
overall bar), plain one-line-per-event logs when stdout is not a terminal, and the
events passed through as JSON lines (``--json``) for machines.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

Event = dict[str, Any]

ACTION_VERBS = {
    "create": "create",
    "update": "update",
    "delete": "destroy",
    "replace": "replace",
    "read": "read",
    "noop": "no-op",
    "import": "import",
}
ONGOING = {
    "create": "creating",
    "update": "updating",
    "delete": "destroying",
    "replace": "replacing",
    "read": "reading",
}
DONE_WORDS = {"create": "created", "update": "updated", "delete": "destroyed", "replace": "replaced", "read": "read"}


class Reporter(Protocol):
    """Receives every terraform event of one command."""

    def expect(self, changes: list[tuple[str, str]]) -> None:
        """Announce the resource changes the next apply will make (address, action)."""

    def handle(self, event: Event) -> None:
        """Show one event."""

    def close(self) -> None:
        """Finish the display."""


def _address(event: Event) -> str:
    hook = event.get("hook") or event.get("change") or {}
    resource = hook.get("resource") or {}
    return str(resource.get("addr", "?"))


def _is_warning(event: Event) -> bool:
    # errors are reported once, by the CLI, when the command fails
    return (event.get("diagnostic") or {}).get("severity") == "warning"


def diagnostic_text(diagnostic: dict[str, Any]) -> str:
    """One diagnostic as terraform shows it: severity, summary, file:line, detail."""
    severity = diagnostic.get("severity", "error")
    text = f"{severity}: {diagnostic.get('summary', '')}"
    where = diagnostic.get("range")
    if where:
        text += f" ({where.get('filename')}:{where.get('start', {}).get('line')})"
    detail = diagnostic.get("detail")
    if detail:
        text += f"\n  {detail.strip().replace(chr(10), chr(10) + '  ')}"
    return text


class JsonReporter:
    """``--json``: terraform's events as JSON lines, unchanged."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def expect(self, changes: list[tuple[str, str]]) -> None:
        """Nothing to announce: the events say it all."""

    def handle(self, event: Event) -> None:
        """Write the event as one JSON line."""
        self.stream.write(json.dumps(event, sort_keys=True) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Nothing to finish."""


class PlainReporter:
    """One line per meaningful event, for logs and CI."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def expect(self, changes: list[tuple[str, str]]) -> None:
        """Announce how many changes follow."""
        if changes:
            self._line(f"applying {len(changes)} change(s)")

    def handle(self, event: Event) -> None:
        """Log apply progress and warnings; skip the chatter (the CLI prints summaries and errors)."""
        kind = event.get("type")
        hook = event.get("hook") or {}
        action = hook.get("action", "")
        if kind == "apply_start":
            self._line(f"{_address(event)}: {ACTION_VERBS.get(action, action)} started")
        elif kind == "apply_progress":
            self._line(f"{_address(event)}: still {ONGOING.get(action, action)}... {hook.get('elapsed_seconds', 0)}s")
        elif kind == "apply_complete":
            done = DONE_WORDS.get(action, action)
            self._line(f"{_address(event)}: {done} in {hook.get('elapsed_seconds', 0)}s")
        elif kind == "apply_errored":
            self._line(f"{_address(event)}: FAILED after {hook.get('elapsed_seconds', 0)}s")
        elif kind == "diagnostic" and _is_warning(event):
            self._line(diagnostic_text(event.get("diagnostic") or {}))

    def close(self) -> None:
        """Nothing to finish."""


@dataclass
class _Row:
    address: str
    action: str
    state: str = "pending"
    started: float | None = None
    elapsed: float = 0.0
    done: bool = False
    notes: list[str] = field(default_factory=list)


class LiveReporter:
    """A live rich display: one row per resource and an overall bar."""

    def __init__(self, stream: TextIO, title: str) -> None:
        # rich is imported only when a terminal display is needed (keeps start-up fast)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream)
        self.title = title
        self.rows: dict[str, _Row] = {}
        self.diagnostics: list[str] = []
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
        self.live.start()

    def expect(self, changes: list[tuple[str, str]]) -> None:
        """Show every resource the apply will touch as pending."""
        for address, action in changes:
            self.rows.setdefault(address, _Row(address, action))
        self.live.update(self._render())

    def handle(self, event: Event) -> None:
        """Update the row of the event's resource."""
        kind = event.get("type")
        hook = event.get("hook") or {}
        if kind in ("apply_start", "apply_progress", "apply_complete", "apply_errored"):
            address = _address(event)
            row = self.rows.setdefault(address, _Row(address, hook.get("action", "")))
            row.action = hook.get("action", row.action)
            row.elapsed = float(hook.get("elapsed_seconds", row.elapsed) or 0)
            if kind == "apply_start":
                row.state, row.started = "running", time.monotonic()
            elif kind == "apply_complete":
                row.state, row.done = DONE_WORDS.get(row.action, "done"), True
            elif kind == "apply_errored":
                row.state, row.done = "failed", True
        elif kind == "diagnostic" and _is_warning(event):
            self.diagnostics.append(diagnostic_text(event.get("diagnostic") or {}))
        self.live.update(self._render())

    def _render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.title, expand=False, show_edge=False)
        table.add_column("resource")
        table.add_column("action")
        table.add_column("state")
        table.add_column("elapsed", justify="right")
        now = time.monotonic()
        for row in self.rows.values():
            elapsed = row.elapsed
            if row.state == "running" and row.started is not None:
                elapsed = max(elapsed, now - row.started)
            style = {"failed": "red", "running": "yellow"}.get(row.state, "green" if row.done else "dim")
            table.add_row(
                row.address, ACTION_VERBS.get(row.action, row.action), Text(row.state, style=style), f"{elapsed:.0f}s"
            )
        total = len(self.rows) or 1
        finished = sum(1 for row in self.rows.values() if row.done)
        bar = ProgressBar(total=total, completed=finished, width=40)
        summary = Text(f" {finished}/{len(self.rows)} resources")
        parts: list[Any] = [table, Group(bar, summary)]
        parts.extend(Text(line, style="red") for line in self.diagnostics)
        return Group(*parts)

    def close(self) -> None:
        """Draw the final state and stop refreshing."""
        self.live.update(self._render())
        self.live.stop()


def make_reporter(stream: TextIO, *, json_lines: bool, title: str, terminal: bool | None = None) -> Reporter:
    """The reporter for ``stream``: JSON lines, a live display on a terminal, else plain logs."""
    if json_lines:
        return JsonReporter(stream)
    if terminal is None:
        terminal = stream.isatty()
    if terminal:
        return LiveReporter(stream, title)
    return PlainReporter(stream)
