"""Lifecycle events of a tfgen emulator, from the outside: what AWS does to a cluster on its own.

Each function POSTs to ``<url>/_tfgen/events/<event>`` (the server runs
:func:`tfgen.emulator.lifecycle.run_event`) and returns the cluster's state afterwards::

    {"cluster": ..., "engine_version": ..., "writer": ..., "instances": [...],
     "paused": bool, "pending_reboot": bool}

Standard library only: importing it loads neither moto nor werkzeug.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from tfgen.errors import EmulatorError

__all__ = [
    "EVENTS_PATH",
    "emit_metrics",
    "failover",
    "minor_upgrade",
    "parameter_group_pending_reboot",
    "pause",
    "resume",
    "send_event",
]

EVENTS_PATH = "/_tfgen/events/"
"""``POST`` ``<EVENTS_PATH><event>`` with a JSON object of arguments to run a lifecycle event."""


def send_event(url: str, event: str, **arguments: Any) -> dict[str, Any]:
    """Run ``event`` in the emulator at ``url``; the cluster's state afterwards.

    Raises:
        EmulatorError: If the emulator refuses the event (with its reason) or cannot be reached.
    """
    body = json.dumps({key: value for key, value in arguments.items() if value is not None}).encode()
    request = urllib.request.Request(  # noqa: S310 (http only)
        url.rstrip("/") + EVENTS_PATH + event,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            state: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read()).get("error", str(exc))
        except ValueError:
            reason = str(exc)
        raise EmulatorError(f"the emulator refused {event}: {reason}") from exc
    except OSError as exc:
        raise EmulatorError(f"the emulator at {url} did not run {event}: {exc}") from exc
    return state


def minor_upgrade(url: str, cluster_id: str, to_version: str | None = None) -> dict[str, Any]:
    """AWS's automatic minor upgrade of the cluster and its instances.

    Without ``to_version``: the major's LTS minor (``tfgen.facts``) if the cluster runs an older
    one, else the next minor. Happens whatever ``auto_minor_version_upgrade`` says, like a
    mandatory upgrade.
    """
    return send_event(url, "minor-upgrade", cluster_id=cluster_id, to_version=to_version)


def failover(url: str, cluster_id: str, target_instance: str | None = None) -> dict[str, Any]:
    """A failover: ``target_instance`` (or the first available reader) becomes the writer."""
    return send_event(url, "failover", cluster_id=cluster_id, target_instance=target_instance)


def pause(url: str, cluster_id: str) -> dict[str, Any]:
    """Auto-pause of a Serverless v2 cluster whose minimum capacity is 0 ACU."""
    return send_event(url, "pause", cluster_id=cluster_id)


def resume(url: str, cluster_id: str) -> dict[str, Any]:
    """The paused cluster resumes (a connection arrived)."""
    return send_event(url, "resume", cluster_id=cluster_id)


def parameter_group_pending_reboot(url: str, cluster_id: str) -> dict[str, Any]:
    """A static parameter changed: the cluster's members and instances report ``pending-reboot``."""
    return send_event(url, "parameter-group-pending-reboot", cluster_id=cluster_id)


def emit_metrics(url: str, cluster_id: str) -> dict[str, Any]:
    """One period of the cluster's CloudWatch metrics (none of the engine's while paused).

    The state has one more key, ``metrics``: the names sent.
    """
    return send_event(url, "emit-metrics", cluster_id=cluster_id)
