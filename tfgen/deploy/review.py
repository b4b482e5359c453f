"""What a saved plan changes, attribute by attribute, and what data it would lose.

:func:`review_plan` reads terraform's JSON plan (``terraform show -json FILE``) into a
:class:`PlanReview`: for each update the attributes that change, old → new, and for each
replacement the attributes that force it (``replace_paths``). Sensitive values are masked as
terraform masks them, ``(sensitive value)``, and never kept: the JSON plan holds them in clear.
Values computed by the apply read ``(known after apply)``. The review also finds what loses
data (:class:`DataLoss`): the cluster or an instance replaced or destroyed, the final snapshot
skipped, automated backups deleted or kept for fewer days, and a major version upgrade of the
cluster (:mod:`tfgen.deploy.upgrade`: a downgrade or a skip AWS refuses is refused here). A plan
with data loss or a major upgrade needs the cluster's name typed to be applied.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tfgen.deploy.upgrade import MajorUpgrade, major_upgrade
from tfgen.terraform.results import PlanResult, ResourceChange

SENSITIVE = "(sensitive value)"
"""Shown instead of a sensitive value, as terraform does."""
UNKNOWN = "(known after apply)"
"""Shown for a value the apply computes, as terraform does."""
CLUSTER_TYPE = "aws_rds_cluster"
INSTANCE_TYPE = "aws_rds_cluster_instance"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclasses.dataclass(frozen=True)
class AttributeChange:
    """One attribute that a planned change sets to another value.

    Attributes:
        path: e.g. ``serverlessv2_scaling_configuration[0].max_capacity`` or ``tags.purpose``.
        before: The value now (None when sensitive: it is never kept).
        after: The value planned (None when sensitive or unknown).
        sensitive: Either value is sensitive: both are shown as :data:`SENSITIVE`.
        unknown: The new value is known only after the apply.
        forces_replacement: This attribute is why the resource is replaced.
    """

    path: str
    before: Any
    after: Any
    sensitive: bool = False
    unknown: bool = False
    forces_replacement: bool = False

    @property
    def before_text(self) -> str:
        """The old value as terraform shows it (HCL-like: strings quoted, null)."""
        return SENSITIVE if self.sensitive else _text(self.before)

    @property
    def after_text(self) -> str:
        """The new value as terraform shows it."""
        if self.unknown:
            return UNKNOWN
        return SENSITIVE if self.sensitive else _text(self.after)

    def to_json(self) -> dict[str, Any]:
        """For ``--json``: the values as shown (masked), and whether this forces the replacement."""
        before = SENSITIVE if self.sensitive else self.before
        after = UNKNOWN if self.unknown else SENSITIVE if self.sensitive else self.after
        return {"path": self.path, "before": before, "after": after, "forces_replacement": self.forces_replacement}


@dataclasses.dataclass(frozen=True)
class ResourceDiff:
    """The attributes one update or replacement changes.

    Attributes:
        address: e.g. ``module.cluster.aws_rds_cluster.this``.
        action: ``update`` or ``replace``.
        changes: The attributes that change (for a replacement: those the configuration
            sets, and those that force it, not everything the new resource recomputes).
        replaced_by: The attributes that force a replacement (``replace_paths``), as paths.
    """

    address: str
    action: str
    changes: tuple[AttributeChange, ...] = ()
    replaced_by: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``resource_diff`` event of ``--json``."""
        return {
            "type": "resource_diff",
            "@module": "tfgen",
            "address": self.address,
            "action": self.action,
            "replaced_by": list(self.replaced_by),
            "changes": [change.to_json() for change in self.changes],
        }


@dataclasses.dataclass(frozen=True)
class DataLoss:
    """One way a plan loses data, said in a line (e.g. ``the cluster is replaced: …``)."""

    address: str
    reason: str


@dataclasses.dataclass(frozen=True)
class PlanReview:
    """What :func:`review_plan` read from a JSON plan.

    Attributes:
        diffs: One per update or replacement, in the plan's order.
        data_loss: What the plan loses; empty when it loses nothing.
        cluster_name: The cluster's identifier (what must be typed to apply a plan with data loss).
        major_upgrades: The clusters whose engine moves to a later major (downtime).
        restored_from: The backup a cluster the plan creates (or replaces) is restored from, in
            words (``snapshot X``, ``cluster Y at T``); None when it starts empty or none is created.
    """

    diffs: tuple[ResourceDiff, ...] = ()
    data_loss: tuple[DataLoss, ...] = ()
    cluster_name: str | None = None
    major_upgrades: tuple[MajorUpgrade, ...] = ()
    restored_from: str | None = None

    def diff(self, address: str) -> ResourceDiff | None:
        """The diff of one resource, if the plan updates or replaces it."""
        return next((d for d in self.diffs if d.address == address), None)


@dataclasses.dataclass(frozen=True)
class ReviewedPlan(PlanResult):
    """A plan with its :class:`PlanReview` (what is shown before asking)."""

    review: PlanReview = PlanReview()


def reviewed(planned: PlanResult, plan_json: Mapping[str, Any]) -> ReviewedPlan:
    """``planned`` with the review of its JSON plan."""
    fields = {f.name: getattr(planned, f.name) for f in dataclasses.fields(PlanResult)}
    return ReviewedPlan(**fields, review=review_plan(plan_json))


def saved_plan(plan_file: Path, plan_json: Mapping[str, Any]) -> ReviewedPlan:
    """A plan saved earlier, read back from its JSON plan: counts and changes as ``terraform plan`` reported them.

    An ``import`` block's resource carries ``change.importing``: with no other change its action is
    ``import`` (as in ``terraform plan``'s ``planned_change`` events), and it is counted as imported.
    """
    changes = []
    for change in plan_json.get("resource_changes") or []:
        details: Mapping[str, Any] = change.get("change") or {}
        action = _action(tuple(details.get("actions") or ()))
        importing = bool(details.get("importing"))
        if importing and action == "noop":
            action = "import"
        if change.get("mode", "managed") == "managed" and (
            importing or action in ("create", "update", "delete", "replace")
        ):
            changes.append(ResourceChange(str(change.get("address")), action, importing=importing))
    outputs = any(
        _action(tuple(o.get("actions") or ())) != "noop" for o in (plan_json.get("output_changes") or {}).values()
    )
    actions = [c.action for c in changes]
    planned = PlanResult(
        plan_file=plan_file,
        changes_present=bool(changes) or outputs,
        add=actions.count("create") + actions.count("replace"),
        change=actions.count("update"),
        remove=actions.count("delete") + actions.count("replace"),
        imported=sum(c.importing for c in changes),
        resource_changes=tuple(changes),
    )
    return reviewed(planned, plan_json)


def review_plan(plan_json: Mapping[str, Any]) -> PlanReview:
    """Read terraform's JSON plan representation into a :class:`PlanReview`.

    Args:
        plan_json: ``terraform show -json`` of a saved plan (``resource_changes``, each with
            ``change.before``/``after``, ``before_sensitive``/``after_sensitive``,
            ``after_unknown``, ``replace_paths``).

    Returns:
        The diffs of updates and replacements, the data the plan loses, the cluster's name, the
        major upgrades.

    Raises:
        UsageError: If the plan moves a cluster to a lower major or skips to one AWS refuses.
    """
    diffs: list[ResourceDiff] = []
    losses: list[DataLoss] = []
    upgrades: list[MajorUpgrade] = []
    cluster_name: str | None = None
    restored_from: str | None = None
    for change in plan_json.get("resource_changes") or []:
        if change.get("mode", "managed") != "managed":
            continue
        details: Mapping[str, Any] = change.get("change") or {}
        actions = tuple(details.get("actions") or ())
        address = str(change.get("address"))
        if change.get("type") == CLUSTER_TYPE and cluster_name is None:
            named = (details.get("before") or {}).get("cluster_identifier") or (details.get("after") or {}).get(
                "cluster_identifier"
            )
            cluster_name = named if isinstance(named, str) else None
        action = _action(actions)
        if action in ("update", "replace"):
            diffs.append(_diff(address, action, details))
        losses.extend(_data_loss(address, str(change.get("type")), action, details))
        upgrade = major_upgrade(address, action, details) if change.get("type") == CLUSTER_TYPE else None
        if upgrade is not None:
            upgrades.append(upgrade)
        if change.get("type") == CLUSTER_TYPE and action in ("create", "replace"):
            restored_from = restored_from or _backup(details.get("after") or {})
    return PlanReview(tuple(diffs), tuple(losses), cluster_name, tuple(upgrades), restored_from)


def _backup(after: Mapping[str, Any]) -> str | None:
    """The backup a new cluster is created from (``snapshot_identifier`` / ``restore_to_point_in_time``), in words."""
    snapshot = after.get("snapshot_identifier")
    if isinstance(snapshot, str) and snapshot:
        return f"snapshot {snapshot}"
    blocks = after.get("restore_to_point_in_time")
    if not isinstance(blocks, list) or not blocks or not isinstance(blocks[0], Mapping):
        return None
    point = blocks[0]
    source = point.get("source_cluster_identifier") or point.get("source_cluster_resource_id")
    when = point.get("restore_to_time") or "its latest restorable time"
    clone = " (copy-on-write clone)" if point.get("restore_type") == "copy-on-write" else ""
    return f"cluster {source} at {when}{clone}"


def _action(actions: Sequence[str]) -> str:
    if "delete" in actions and "create" in actions:
        return "replace"
    if len(actions) == 1:
        return {"no-op": "noop"}.get(actions[0], actions[0])
    return "+".join(actions)


def _diff(address: str, action: str, details: Mapping[str, Any]) -> ResourceDiff:
    forcing = [list(path) for path in details.get("replace_paths") or [] if isinstance(path, list)]
    changes = []
    for found, steps in _walk(
        details.get("before"),
        details.get("after"),
        details.get("before_sensitive"),
        details.get("after_sensitive"),
        details.get("after_unknown"),
        [],
    ):
        forces = any(_prefix(p, steps) or _prefix(steps, p) for p in forcing)
        if action == "replace" and found.unknown and not forces:
            continue  # recomputed by the new resource (its id, arn, endpoint…): not what the user changed
        changes.append(dataclasses.replace(found, forces_replacement=forces))
    return ResourceDiff(address, action, tuple(changes), tuple(_path(p) for p in forcing))


def _walk(
    before: Any, after: Any, before_sensitive: Any, after_sensitive: Any, unknown: Any, steps: list[Any]
) -> Iterator[tuple[AttributeChange, list[Any]]]:
    """Every leaf that differs between ``before`` and ``after``, with its path's steps."""
    sensitive = before_sensitive is True or after_sensitive is True
    if unknown is True:
        yield AttributeChange(_path(steps), None if sensitive else before, None, sensitive, unknown=True), steps
        return
    if isinstance(before, dict) and isinstance(after, dict) and not sensitive:
        for key in sorted(before.keys() | after.keys()):
            yield from _walk(
                before.get(key),
                after.get(key),
                _child(before_sensitive, key),
                _child(after_sensitive, key),
                _child(unknown, key),
                [*steps, key],
            )
        return
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and all(isinstance(item, dict) for item in before + after)
        and not sensitive
    ):  # nested blocks: compare them field by field
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _walk(
                old,
                new,
                _child(before_sensitive, index),
                _child(after_sensitive, index),
                _child(unknown, index),
                [*steps, index],
            )
        return
    if _same(before, after) and not _has_unknown(unknown):
        return
    if sensitive:
        yield AttributeChange(_path(steps), None, None, sensitive=True), steps
    else:
        yield AttributeChange(_path(steps), before, after), steps


def _child(mark: Any, key: str | int) -> Any:
    """The sensitive/unknown mark of a member: terraform marks a whole value with ``true``."""
    if mark is True:
        return True
    if isinstance(mark, dict) and isinstance(key, str):
        return mark.get(key)
    if isinstance(mark, list) and isinstance(key, int) and key < len(mark):
        return mark[key]
    return None


def _has_unknown(mark: Any) -> bool:
    if isinstance(mark, dict):
        return any(_has_unknown(v) for v in mark.values())
    if isinstance(mark, list):
        return any(_has_unknown(v) for v in mark)
    return mark is True


def _same(before: Any, after: Any) -> bool:
    """Equal, or a zero value that becomes null (an optional argument left unset: the provider's default)."""
    if before == after:
        return True
    zero = before in (None, [], {}, "") or (before in (0, False) and not isinstance(before, float))
    return zero and after in (None, [], {})


def _prefix(short: list[Any], long: list[Any]) -> bool:
    return len(short) <= len(long) and long[: len(short)] == short


def _path(steps: Sequence[Any]) -> str:
    """``a.b[0].c``; a map key that is not an identifier as ``["key"]``."""
    text = ""
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _IDENTIFIER.fullmatch(str(step)):
            text += f".{step}" if text else str(step)
        else:
            text += f"[{json.dumps(step)}]"
    return text


def _text(value: Any) -> str:
    """A value as terraform's plan shows it: strings quoted, null, numbers and lists as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, sort_keys=True)


def _data_loss(address: str, kind: str, action: str, details: Mapping[str, Any]) -> Iterator[DataLoss]:
    before: Mapping[str, Any] = details.get("before") or {}
    after: Mapping[str, Any] = details.get("after") or {}
    if kind == CLUSTER_TYPE and action in ("delete", "replace"):
        backup = _backup(after) if action == "replace" else None
        what = (
            "destroyed: the cluster and its data are deleted"
            if action != "replace"
            else f"replaced: the cluster and its data are deleted, a new one is restored from {backup}"
            if backup
            else "replaced: the cluster and its data are deleted, a new empty one is created"
        )
        if before.get("skip_final_snapshot"):
            snapshot = "NO final snapshot is taken (skip_final_snapshot)"
        else:
            snapshot = f"a final snapshot is taken ({before.get('final_snapshot_identifier')})"
        # AWS's default (delete_automated_backups unset, null in the state): removed with the cluster
        backups = (
            "; its automated backups are deleted with it" if before.get("delete_automated_backups") is not False else ""
        )
        yield DataLoss(address, f"the cluster is {what}; {snapshot}{backups}")
    elif kind == INSTANCE_TYPE and action in ("delete", "replace"):
        verb = "replaced" if action == "replace" else "destroyed"
        yield DataLoss(address, f"the instance is {verb}: its connections drop, its cache and logs are lost")
    if kind == CLUSTER_TYPE and action in ("update", "replace"):  # what the (new) cluster will do
        if after.get("skip_final_snapshot") is True and not before.get("skip_final_snapshot"):
            yield DataLoss(
                address, "skip_final_snapshot becomes true: no final snapshot will be taken when the cluster is deleted"
            )
        if before.get("delete_automated_backups") is False and after.get("delete_automated_backups") is not False:
            yield DataLoss(address, "delete_automated_backups becomes true: backups are deleted with the cluster")
        old, new = before.get("backup_retention_period"), after.get("backup_retention_period")
        if action == "update" and isinstance(old, int) and isinstance(new, int) and new < old:
            yield DataLoss(
                address,
                f"backup_retention_period is lowered from {old} to {new} days: "
                f"automated backups older than {new} days are deleted",
            )
