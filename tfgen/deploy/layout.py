"""The live table's layout on a small terminal: short resource names, and the rows that fit.

At 80 columns a full address such as
``module.cluster.aws_cloudwatch_metric_alarm.builtin["acu_utilization"]`` does not fit next to
its action, state and time, and cutting its end makes the four alarms look alike. So
:func:`short_names` drops what every row shares (the module they all live in), the provider
prefix of types (``aws_``) and shortens the type's longest words, keeping the resource name and
its instance key whole; two rows never get the same name. At 24 rows a table of 20 resources
pushes the progress line off the screen, so :func:`fit_rows` folds finished rows (and, if need
be, the last pending ones) into one summary line each.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Fitted", "common_module", "fit_rows", "short_names"]

_MODULE = re.compile(r"module\.[^.\[]+(?:\[[^\]]*\])?\.")
_PROVIDER_PREFIX = "aws_"
_MIN_WORD = 2
"""A type's word is never cut below this many characters."""


def _split(address: str) -> tuple[str, str]:
    """``module.a.module.b[0].aws_x.y`` → (``module.a.module.b[0].``, ``aws_x.y``)."""
    position = 0
    while match := _MODULE.match(address, position):
        position = match.end()
    return address[:position], address[position:]


def common_module(addresses: Sequence[str]) -> str:
    """The module path every address lives in (``module.cluster.``), or ``""``."""
    if not addresses:
        return ""
    prefixes = [_MODULE.findall(_split(address)[0]) for address in addresses]
    shared: list[str] = []
    for segments in zip(*prefixes, strict=False):
        if any(segment != segments[0] for segment in segments):
            break
        shared.append(segments[0])
    return "".join(shared)


def _module_label(prefix: str) -> str:
    """``module.a.module.b[0].`` → ``a/b[0]/``: shorter, and a ``/`` never appears in a type or name."""
    return "".join(segment.removeprefix("module.")[:-1] + "/" for segment in _MODULE.findall(prefix))


def _shorten_type(local: str, excess: int) -> str:
    """``aws_cloudwatch_metric_alarm.builtin["cpu"]`` with the type's longest words cut by ``excess`` characters."""
    data = local.startswith("data.")
    body = local.removeprefix("data.")
    kind, dot, rest = body.partition(".")
    words = kind.split("_")
    while excess > 0:
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        if len(words[longest]) <= _MIN_WORD:
            break
        words[longest] = words[longest][:-1]
        excess -= 1
    return ("data." if data else "") + "_".join(words) + dot + rest


def _parts(address: str, drop: str) -> tuple[str, str]:
    """The module label and the rest of an address, ``aws_`` dropped from the type."""
    prefix, local = _split(address)
    label = _module_label(prefix.removeprefix(drop) if prefix.startswith(drop) else prefix)
    if local.startswith(_PROVIDER_PREFIX) or local.startswith("data." + _PROVIDER_PREFIX):
        local = local.replace(_PROVIDER_PREFIX, "", 1)
    return label, local


def _type(local: str) -> str:
    return local.partition(".")[0] if not local.startswith("data.") else "data." + local[5:].partition(".")[0]


def short_names(addresses: Sequence[str], width: int) -> dict[str, str]:
    """A name of at most ``width`` characters (where it can be) for each address, no two alike.

    The module every address shares is dropped (see :func:`common_module`; say it elsewhere),
    other module paths become ``name/``, ``aws_`` leaves resource types, and the longest words
    of a type that is still too long are cut, alike for every resource of that type; the
    resource name and instance key stay whole, so ``builtin["cpu"]`` and
    ``builtin["connections"]`` stay apart. An address whose short name would equal another's
    keeps its full form.
    """
    drop = common_module(addresses)
    parts = {address: _parts(address, drop) for address in addresses}
    excess: dict[str, int] = {}
    for label, local in parts.values():
        kind = _type(local)
        excess[kind] = max(excess.get(kind, 0), len(label) + len(local) - width)
    names = {
        address: label + (_shorten_type(local, excess[_type(local)]) if excess[_type(local)] > 0 else local)
        for address, (label, local) in parts.items()
    }
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    return {address: name if seen[name] == 1 else address for address, name in names.items()}


@dataclass(frozen=True)
class Fitted:
    """The rows to draw, and a summary line for each group of rows left out.

    Attributes:
        rows: Indexes into the rows given, in their order.
        done: How many finished rows were folded into one line (0: none).
        pending: How many pending rows were left out at the end (0: none).
        running: How many running rows were left out (0: none).
    """

    rows: list[int]
    done: int = 0
    pending: int = 0
    running: int = 0

    @property
    def lines(self) -> int:
        """The lines the table's body takes."""
        return len(self.rows) + sum(1 for n in (self.done, self.pending, self.running) if n)


def fit_rows(states: Sequence[str], budget: int) -> Fitted:
    """Which rows fit in ``budget`` lines, given each row's state (``done``, ``failed``, ``running``, ``pending``).

    Every row while they fit. Otherwise finished rows fold into one line (failed rows always
    stay), then pending rows beyond what fits fold into one line, then running ones.
    """
    everything = list(range(len(states)))
    if len(states) <= budget:
        return Fitted(everything)
    done = [i for i in everything if states[i] == "done"]
    failed = [i for i in everything if states[i] == "failed"]
    running = [i for i in everything if states[i] == "running"]
    pending = [i for i in everything if states[i] == "pending"]
    room = max(budget - (1 if done else 0), 0)
    shown = failed[:room]
    room -= len(shown)
    if len(running) + len(pending) <= room:
        return Fitted(sorted(shown + running + pending), done=len(done))
    if len(running) <= room - 1 or (not pending and len(running) <= room):
        keep = max(room - len(running) - 1, 0)
        return Fitted(sorted(shown + running + pending[:keep]), done=len(done), pending=len(pending) - keep)
    keep_running = max(room - 1 - (1 if pending else 0), 0)
    return Fitted(
        sorted(shown + running[:keep_running]),
        done=len(done),
        pending=len(pending),
        running=len(running) - keep_running,
    )
