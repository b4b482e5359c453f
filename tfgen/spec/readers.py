"""Readers beyond the spec's own instances: ``serverless.readers.autoscaling`` (Aurora Auto Scaling).

Application Auto Scaling adds Aurora Replicas to the cluster (``rds:cluster:ReadReplicaCount``)
when the readers' average CPU or connections stay above a target, and removes only the ones it
added. They are outside Terraform's state. AWS's rules (``[reader_autoscaling]`` in
``tfgen/facts/aws.toml``) are checked by :func:`reader_problems`, called from :mod:`tfgen.spec.rules`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from tfgen import facts
from tfgen.spec.record import Field, Record
from tfgen.spec.yaml_source import Loc

if TYPE_CHECKING:
    from tfgen.spec.model import ServerlessV2

Problem = tuple[Loc, str]

Cooldown = Annotated[int, Field(ge=0, le=86400)]


class ReaderAutoscaling(Record):
    """A target-tracking policy on the cluster's reader count."""

    min_readers: Annotated[int, Field(ge=0, le=15)] = 0
    """Aurora Replicas the autoscaler keeps at least (0: none when idle)."""
    max_readers: Annotated[int, Field(ge=1, le=15)]
    """Aurora Replicas the autoscaler may add at most."""
    metric: Literal["cpu", "connections"] = "cpu"
    """The readers' average CPU utilization (%) or average database connections."""
    target: Annotated[float, Field(gt=0)] | None = None
    """The metric's target value. Default for cpu: 70 (%); connections needs one."""
    scale_in_cooldown: Cooldown = 300
    """Seconds after a scale-in before the next one."""
    scale_out_cooldown: Cooldown = 300
    """Seconds after a scale-out before the next one."""

    @property
    def predefined_metric(self) -> str:
        """Application Auto Scaling's name of the metric."""
        return str(facts.raw()["reader_autoscaling"]["metrics"][self.metric])

    @property
    def effective_target(self) -> float:
        """The target, with the cpu default."""
        if self.target is not None:
            return self.target
        return float(facts.raw()["reader_autoscaling"]["default_cpu_target"])


class Readers(Record):
    """Readers the cluster gets besides ``serverless.instances``."""

    autoscaling: ReaderAutoscaling | None = None


def reader_problems(server: ServerlessV2) -> list[Problem]:
    """Bounds and target of ``serverless.readers.autoscaling`` against AWS's limits."""
    scaling = server.readers.autoscaling
    if scaling is None:
        return []
    loc = ("serverless", "readers", "autoscaling")
    problems: list[Problem] = []
    if scaling.min_readers > scaling.max_readers:
        problems.append(((*loc, "min_readers"), f"{scaling.min_readers} is above max_readers {scaling.max_readers}"))
    limit = facts.raw()["reader_autoscaling"]["max_replicas"]
    room = limit - (server.instances - 1)
    if scaling.max_readers > room:
        problems.append(
            (
                (*loc, "max_readers"),
                f"at most {room}: a cluster has at most {limit} Aurora Replicas and serverless.instances "
                f"{server.instances} makes {server.instances - 1} of them",
            )
        )
    if scaling.metric == "cpu" and scaling.target is not None and scaling.target > 100:
        problems.append(((*loc, "target"), f"{scaling.target:g} is above 100 (% CPU)"))
    if scaling.metric == "connections" and scaling.target is None:
        problems.append(((*loc, "target"), "metric connections needs a target (average connections per reader)"))
    return problems
