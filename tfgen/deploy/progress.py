"""Terraform's streamed ``-json`` events turned into progress a person can follow.

Three reporters share one interface (:class:`Reporter`): a live rich display for
terminals (one line per resource with its action, state and elapsed time, and an
overall bar), plain one-line-per-event logs when stdout is not a terminal, and the
events passed through as JSON lines (``--json``) for machines.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
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

    @property
    def kind(self) -> str:
        """``done``, ``failed``, ``running`` or ``pending``: what :func:`layout.fit_rows` needs."""
        if self.state == "failed":
            return "failed"
        return "done" if self.done else ("running" if self.state == "running" else "pending")


_RESERVED_LINES = 3
"""Lines of the screen the table's body may not use: its header, the status line, the cursor's."""
_FIXED_COLUMNS = 28
"""Columns the action, state and time columns take, with the gaps between columns."""
_BAR_WIDTH = 20


def clock_time(seconds: float) -> str:
    """``7s``, ``59s``, ``1m05s``, ``1h02m``: whole seconds, as the live display shows them."""
    whole = int(max(seconds, 0))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class LiveReporter:
    """A live display for one phase (``init``, ``plan``, ``apply``, ``destroy``) on a terminal.

    A status line names what terraform is doing (starting, loading providers, refreshing N
    resources, planning, applying) from before terraform's first event, with the phase's
    elapsed time. Apply and destroy add one row per resource (action, state, time). Times are
    read from ``clock`` whenever the display is drawn (four times a second), not from
    terraform's events (every 10 s). The table fits the terminal: short names that keep
    resources apart (:func:`layout.short_names`), finished rows folded when rows run out
    (:func:`layout.fit_rows`), the status line always last.

    Args:
        stream: Where to draw (a terminal).
        title: The command, e.g. ``tfgen apply``.
        phase: Which phase this display follows.
        clock: Seconds, monotonic (tests pass a fake one).
        console: The rich console to draw on (default: one on ``stream``).
    """

    def __init__(
        self,
        stream: TextIO,
        title: str,
        *,
        phase: str = "apply",
        clock: Callable[[], float] = time.monotonic,
        console: Any = None,
    ) -> None:
        # rich is imported only when a terminal display is needed (keeps start-up fast)
        import threading

        from rich.console import Console
        from rich.live import Live

        self._lock = threading.Lock()
        """Held while the events change the rows and while a refresh (rich's own thread) reads them."""
        self.console = console if console is not None else Console(file=stream)
        self.title = title
        self.phase = phase
        self.clock = clock
        self.started = clock()
        self.rows: dict[str, _Row] = {}
        self.diagnostics: list[str] = []
        self.activity = "starting terraform"
        self.refreshing = 0
        self.refreshed = 0
        self.planned = 0
        self.summary: str | None = None
        self.changes = False
        self.finished_at: float | None = None
        self.live = Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=4,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.live.start(refresh=True)  # drawn now: before terraform starts

    def expect(self, changes: list[tuple[str, str]]) -> None:
        """Show every resource the apply will touch as pending."""
        with self._lock:
            for address, action in changes:
                self.rows.setdefault(address, _Row(address, action))
        self.live.refresh()

    def handle(self, event: Event) -> None:
        """Update the status line, or the row of the event's resource."""
        with self._lock:
            self._update(event)
        self.live.refresh()

    def _update(self, event: Event) -> None:
        kind = event.get("type")
        hook = event.get("hook") or {}
        if kind == "version":
            self.activity = "loading providers"
        elif kind == "init_output":
            first = str(event.get("@message", "")).strip().splitlines()
            self.activity = first[0].rstrip(".:") if first else self.activity
        elif kind == "refresh_start":
            self.refreshing += 1
        elif kind == "refresh_complete":
            self.refreshed += 1
        elif kind == "planned_change":
            self.planned += 1
        elif kind == "change_summary":
            self.summary = str(event.get("@message", "")).strip() or None
            self.changes = any(isinstance(n, int) and n > 0 for n in (event.get("changes") or {}).values())
        elif kind in ("apply_start", "apply_progress", "apply_complete", "apply_errored"):
            self._resource(kind, hook)
        elif kind == "diagnostic" and _is_warning(event):
            self.diagnostics.append(diagnostic_text(event.get("diagnostic") or {}))

    def _resource(self, kind: str, hook: dict[str, Any]) -> None:
        address = _address({"hook": hook})
        action = hook.get("action", "")
        if self.phase not in ("apply", "destroy"):  # a plan reads data sources: no rows, a word in the status
            if kind == "apply_start" and action == "read":
                self.activity = "reading data sources"
            return
        row = self.rows.setdefault(address, _Row(address, action))
        row.action = action or row.action
        row.elapsed = max(row.elapsed, float(hook.get("elapsed_seconds", 0) or 0))
        if kind == "apply_start":
            row.state, row.started = "running", self.clock()
        elif kind == "apply_complete":
            row.state, row.done = DONE_WORDS.get(row.action, "done"), True
            row.elapsed = max(row.elapsed, self._since(row.started))
            row.started = None
        elif kind == "apply_errored":
            row.state, row.done = "failed", True
            row.elapsed = max(row.elapsed, self._since(row.started))
            row.started = None

    def _since(self, started: float | None) -> float:
        return 0.0 if started is None else self.clock() - started

    def status(self) -> str:
        """The status line's words: the phase, for how long (first: never cut), what terraform is doing."""
        now = self.finished_at if self.finished_at is not None else self.clock()
        took = clock_time(now - self.started)
        if self.finished_at is not None and self.rows:
            finished = sum(1 for row in self.rows.values() if row.done)
            return f"{self.title} · {took} · {finished}/{len(self.rows)} resources done"
        if self.finished_at is not None and self.phase == "plan" and self.changes:
            return f"{self.title} · {took} · {self.summary or 'planned'} Reading the plan…"  # terraform show, next
        if self.finished_at is not None:
            return f"{self.title} · {took} · {self.summary or 'done'}"
        if self.phase in ("apply", "destroy"):
            return f"{self.title} · {took} · {self._apply_activity()}"
        return f"{self.title} · {took} · {self._plan_activity()}"

    def _plan_activity(self) -> str:
        if self.planned:
            return f"planning: {self.planned} change(s) so far"
        if self.refreshing:
            return f"refreshing {self.refreshing} resource(s), {self.refreshed} done"
        return self.activity

    def _apply_activity(self) -> str:
        running = sum(1 for row in self.rows.values() if row.kind == "running")
        finished = sum(1 for row in self.rows.values() if row.done)
        if not running and not finished:
            return self.activity  # terraform is starting, then loading providers
        verb = "destroying" if self.phase == "destroy" else "applying"
        return f"{verb}: {finished}/{len(self.rows)} done, {running} running"

    def _render(self) -> Any:
        with self._lock:
            return self._draw()

    def _draw(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        from tfgen.deploy import layout

        width, height = self.console.size
        parts: list[Any] = []
        rows = list(self.rows.values())
        if rows:
            diagnostics_lines = sum(text.count("\n") + 1 for text in self.diagnostics)
            budget = max(height - _RESERVED_LINES - diagnostics_lines, 1)
            fitted = layout.fit_rows([row.kind for row in rows], budget)
            names = layout.short_names([row.address for row in rows], max(width - _FIXED_COLUMNS, 20))
            module = layout.common_module([row.address for row in rows])
            table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=False)
            table.add_column(
                f"resource (in {module[:-1]})" if module else "resource", no_wrap=True, overflow="ellipsis"
            )
            table.add_column("action", no_wrap=True)
            table.add_column("state", no_wrap=True)
            table.add_column("time", justify="right", no_wrap=True)
            now = self.finished_at if self.finished_at is not None else self.clock()
            if fitted.done:
                table.add_row(Text(f"… {fitted.done} done", style="green"), "", "", "")
            for index in fitted.rows:
                row = rows[index]
                elapsed = row.elapsed if row.started is None else max(row.elapsed, now - row.started)
                style = {"failed": "red", "running": "yellow"}.get(row.state, "green" if row.done else "dim")
                shown = clock_time(elapsed) if row.started is not None or row.done else ""
                state = ONGOING.get(row.action, row.state) if row.state == "running" else row.state
                table.add_row(
                    names[row.address], ACTION_VERBS.get(row.action, row.action), Text(state, style=style), shown
                )
            if fitted.running:
                table.add_row(Text(f"… {fitted.running} more running", style="yellow"), "", "", "")
            if fitted.pending:
                table.add_row(Text(f"… {fitted.pending} more pending", style="dim"), "", "", "")
            parts.append(table)
            finished = sum(1 for row in rows if row.done)
            bar = ProgressBar(total=len(rows), completed=finished, width=_BAR_WIDTH)
            status = Table.grid(padding=(0, 1))
            status.add_row(bar, Text(self.status(), overflow="ellipsis", no_wrap=True))
            parts.append(status)
        else:
            parts.append(Text(self.status(), overflow="ellipsis", no_wrap=True))
        parts.extend(Text(line, style="red") for line in self.diagnostics)
        return Group(*parts)

    def close(self) -> None:
        """Draw the final state (the phase's total time frozen) and stop refreshing."""
        with self._lock:
            self.finished_at = self.clock()
        self.live.refresh()
        self.live.stop()


def make_reporter(
    stream: TextIO, *, json_lines: bool, title: str, terminal: bool | None = None, phase: str = "apply"
) -> Reporter:
    """The reporter for ``stream``: JSON lines, a live display of ``phase`` on a terminal, else plain logs."""
    if json_lines:
        return JsonReporter(stream)
    if terminal is None:
        terminal = stream.isatty()
    if terminal:
        return LiveReporter(stream, title, phase=phase)
    return PlainReporter(stream)
