"""``tfgen apply`` on a real 80x24 terminal: real terraform, the emulator, pyte as the screen.

The fast tests (``test_progress.py``) hold the layout and the ticking clock on recorded events;
this one checks what a person sees from the first byte to the last: a status line before
terraform says anything, never a blank screen once something is drawn, the progress line on
every screen of the table, times that move between terraform's 10-second reports, and rows
that stay apart at 80 columns. It asserts on the order of what appears, never on how long
anything takes: the machine may be loaded.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyte
import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 80, 24


@dataclass
class Recording:
    """Every distinct screen a program drew, in order, and the raw bytes it wrote."""

    screens: list[list[str]] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    raw: bytes = b""
    code: int | None = None

    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")


FRAME = b"\r\x1b[2K"
"""How rich begins each redraw of a live display (back to the line start, erase it, then up): the
screen is complete just before it, so screens are taken there, never half drawn."""


def run_on_terminal(argv: list[str], env: dict[str, str], cwd: Path) -> Recording:
    """Run ``argv`` with a pseudo-terminal of 80x24 as stdin, stdout and stderr; keep every screen.

    A screen is taken before each redraw (:data:`FRAME`) and at the end, so every state that
    was drawn completely is kept (the times are kept for the failure message only).
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
    screen = pyte.Screen(WIDTH, HEIGHT)
    stream = pyte.ByteStream(screen)
    recording = Recording()
    started = time.monotonic()

    def take() -> None:
        shown = [line.rstrip() for line in screen.display]
        if not recording.screens or shown != recording.screens[-1]:
            recording.screens.append(shown)
            recording.at.append(time.monotonic() - started)

    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True, close_fds=True
    )
    os.close(slave)
    pending = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not data:
                break
            recording.raw += data
            pending += data
            while (cut := pending.find(FRAME, 1)) > 0:
                stream.feed(pending[:cut])
                take()
                pending = pending[cut:]
        stream.feed(pending)
        take()
        recording.code = proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return recording


def dump(recording: Recording, index: int) -> str:
    lines = "\n".join(recording.screens[index]).rstrip()
    return f"screen {index} at {recording.at[index]:.1f}s:\n{lines}"


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Module-wide directory: plugin cache, emulator record."""
    base = tmp_path_factory.mktemp("display")
    for name in ("plugin-cache", "emulator"):
        (base / name).mkdir()
    return base


@pytest.mark.terraform
def test_apply_on_an_80x24_terminal_is_never_blank_and_keeps_its_progress_line(
    tmp_path: Path, endpoint: str, plugin_mirror: Path, shared_dir: Path
) -> None:
    import yaml

    data = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text(encoding="utf-8"))
    data["name"] = "tfgen-display"
    spec = tmp_path / "display.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env = {
        **os.environ,
        "TFGEN_PLUGIN_CACHE_DIR": str(shared_dir / "plugin-cache"),
        "TFGEN_PLUGIN_MIRROR": str(plugin_mirror),
        "TERM": "xterm-256color",
        "COLUMNS": str(WIDTH),
        "LINES": str(HEIGHT),
    }
    env.pop("TF_DATA_DIR", None)  # .terraform/ in the working directory, as tfgen expects
    argv = [sys.executable, "-m", "tfgen", "apply", str(spec), "--auto-approve", "--endpoint", endpoint]
    recording = run_on_terminal([*argv, "--workdir", str(tmp_path / "work")], env, tmp_path)
    text = recording.text()
    assert recording.code == 0, text[-3000:]

    # A phase is named before terraform's first event: the display is drawn before terraform starts.
    order = [text.find(words) for words in ("tfgen init · 0s · starting terraform", "tfgen init · ", "tfgen plan · ")]
    assert -1 not in order, text[-3000:]
    assert order[0] == order[1] < order[2], "the first status line must be init's 'starting terraform'"
    for later in ("loading providers", "refreshing", "Plan: ", "resource"):
        assert text.find(later) == -1 or text.find(later) > order[0], later

    # Never blank once something is drawn (the only blank time is tfgen's own start-up).
    drawn = [i for i, shown in enumerate(recording.screens) if any(shown)]
    assert drawn, "nothing was ever drawn"
    first = drawn[0]
    assert any("tfgen init · " in line for line in recording.screens[first]), dump(recording, first)
    for index in range(first, len(recording.screens)):
        assert any(recording.screens[index]), dump(recording, index)

    # Each screen of the table keeps its progress line, and fits: pyte wraps what is wider than 80.
    tables = [i for i, shown in enumerate(recording.screens) if any(line.startswith("resource") for line in shown)]
    assert tables, "the apply table never appeared"
    for index in tables:
        shown = [line for line in recording.screens[index] if line]
        assert any("tfgen apply · " in line for line in shown), dump(recording, index)

    # The cluster's time moves every second, not only when terraform reports (every 10 s).
    times = []
    for shown in recording.screens:
        for line in shown:
            words = line.split()
            if words and words[0].endswith("rds_cluster.this") and "creating" in words:
                times.append(words[-1])
    distinct = list(dict.fromkeys(times))
    off_report = [t for t in distinct if t.endswith("s") and t[:-1].isdigit() and int(t[:-1]) % 10]
    assert len(off_report) >= 3, f"the cluster's time showed only {distinct}"  # a starved machine may skip some

    # At 80 columns the rows stay apart: the four alarms differ by their keys.
    last_table = recording.screens[tables[-1]]
    names = [line.split()[0] for line in last_table if line and not line.startswith(("resource", "…", "━", "tfgen"))]
    names = [name for name in names if "." in name]
    assert len(names) == len(set(names)), "\n".join(last_table)
    for key in ('["cpu"]', '["connections"]', '["capacity"]', '["acu_utilization"]'):
        assert any(key in line for line in last_table), "\n".join(last_table)
