"""The spec's ``restore`` section: create the cluster from a backup instead of empty.

``restore.snapshot_identifier`` names a cluster snapshot (its identifier, ``rds:…`` for an
automated one, or its ARN: the only way to name another account's shared snapshot);
``restore.point_in_time`` names a source cluster (identifier or ARN) and a time in RFC 3339,
or the latest restorable time. The module renders ``snapshot_identifier`` or a
``restore_to_point_in_time`` block on ``aws_rds_cluster`` and ignores later changes to both:
a backup is read once, when the cluster is created. How the fields fit the rest of the spec is
checked by :func:`restore_problems` (called from :mod:`tfgen.spec.rules`); the rules come
from ``[restore]`` in ``tfgen/facts/aws.toml``.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Annotated, Literal

from tfgen import facts
from tfgen.spec.record import AfterValidator, BeforeValidator, Invalid, Record
from tfgen.spec.yaml_source import Loc

if TYPE_CHECKING:
    from tfgen.spec.model import Spec

_SNAPSHOT_NAME = re.compile(r"(rds:)?[A-Za-z][A-Za-z0-9-]*", re.ASCII)
_CLUSTER_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}", re.ASCII)
# RFC 3339 date-time (section 5.6): a zone is required, "Z" or an offset
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def _no_hyphen_runs(name: str) -> None:
    if "--" in name or name.endswith("-"):
        raise Invalid("must not contain two consecutive hyphens or end with a hyphen")


def _snapshot(value: str) -> str:
    rules = facts.raw()["restore"]
    if value.startswith("arn:"):
        if not re.fullmatch(rules["snapshot_arn_pattern"], value, re.ASCII):
            raise Invalid(
                f"{value!r} is not a DB cluster snapshot ARN such as "
                "arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:orders-db-2026-11-20"
            )
        _no_hyphen_runs(value.rsplit(":", 1)[1])
        return value
    name = value.removeprefix("rds:")
    if not 1 <= len(name) <= rules["snapshot_max_length"] or not _SNAPSHOT_NAME.fullmatch(value):
        raise Invalid(
            f"{value!r} is not a DB cluster snapshot identifier (1-{rules['snapshot_max_length']} letters, digits "
            "and hyphens, a letter first; rds:… for an automated snapshot) or ARN"
        )
    _no_hyphen_runs(name)
    return value


def _source_cluster(value: str) -> str:
    if value.startswith("arn:"):
        if not re.fullmatch(facts.raw()["restore"]["cluster_arn_pattern"], value, re.ASCII):
            raise Invalid(
                f"{value!r} is not a DB cluster ARN such as arn:aws:rds:eu-west-1:111122223333:cluster:orders-db"
            )
        _no_hyphen_runs(value.rsplit(":", 1)[1])
        return value
    if not _CLUSTER_NAME.fullmatch(value):
        raise Invalid(
            f"{value!r} is not a DB cluster identifier (1-63 lowercase letters, digits and hyphens, a letter first) "
            "or ARN"
        )
    _no_hyphen_runs(value)
    return value


def _rfc3339(value: str) -> str:
    if not _RFC3339.fullmatch(value) or parse_time(value) is None:
        raise Invalid(f"{value!r} is not an RFC 3339 time with a zone, such as 2026-11-20T03:15:00Z")
    return value


def _time_text(value: object) -> object:
    """A time YAML read as a timestamp (written without quotes) back to RFC 3339 text."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.isoformat()  # refused below: no zone
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    return value


def parse_time(value: str) -> datetime.datetime | None:
    """An RFC 3339 time as an aware datetime (None when it is not one)."""
    try:
        parsed = datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


SnapshotIdentifier = Annotated[str, AfterValidator(_snapshot)]
SourceCluster = Annotated[str, AfterValidator(_source_cluster)]
RestoreTime = Annotated[str, BeforeValidator(_time_text), AfterValidator(_rfc3339)]


class PointInTime(Record):
    """Restore a cluster's continuous backup to a time (``RestoreDBClusterToPointInTime``)."""

    source_cluster_identifier: SourceCluster
    """The cluster whose backup is restored: its identifier, or its ARN."""
    restore_to_time: RestoreTime | None = None
    """An RFC 3339 time within the source's backup retention period, e.g. 2026-11-20T03:15:00Z."""
    use_latest_restorable_time: bool = False
    """Restore to the latest restorable time (a few minutes ago) instead of ``restore_to_time``."""
    restore_type: Literal["full-copy", "copy-on-write"] = "full-copy"
    """full-copy (a new copy of the data) or copy-on-write (an Aurora clone, to the latest time only)."""


class Restore(Record):
    """Where the new cluster's data comes from: one snapshot, or one cluster's point in time."""

    snapshot_identifier: SnapshotIdentifier | None = None
    """A DB cluster snapshot: identifier, ``rds:…`` (automated), or ARN (another account's shared one)."""
    point_in_time: PointInTime | None = None

    @property
    def source(self) -> str:
        """The backup, in words: ``snapshot X`` or ``cluster Y at T`` / ``… at its latest restorable time``."""
        if self.snapshot_identifier is not None:
            return f"snapshot {self.snapshot_identifier}"
        assert self.point_in_time is not None
        point = self.point_in_time
        when = point.restore_to_time or "its latest restorable time"
        kind = " (clone)" if point.restore_type == "copy-on-write" else ""
        return f"cluster {point.source_cluster_identifier} at {when}{kind}"


Problem = tuple[Loc, str]


def restore_problems(spec: Spec, now: datetime.datetime | None = None) -> list[Problem]:
    """What makes the ``restore`` section invalid with the rest of the spec (every field valid on its own)."""
    restore = spec.restore
    if restore is None:
        return []
    loc: Loc = ("restore",)
    problems: list[Problem] = []
    if (restore.snapshot_identifier is None) == (restore.point_in_time is None):
        problems.append((loc, "give snapshot_identifier or point_in_time, exactly one"))
    if not spec.is_v2:
        problems.append((loc, "Aurora Serverless v1 clusters can no longer be created, restored ones included; use v2"))
    snapshot = restore.snapshot_identifier
    if snapshot is not None and snapshot.startswith("arn:"):
        region = snapshot.split(":")[3]
        if region != spec.region:
            problems.append(
                (
                    (*loc, "snapshot_identifier"),
                    f"the snapshot is in {region}, the cluster in {spec.region}: copy the snapshot to "
                    f"{spec.region} first (aws rds copy-db-cluster-snapshot)",
                )
            )
        if spec.kms_key_id is None and not spec.create_kms_key:
            problems.append(
                (
                    (*loc, "snapshot_identifier"),
                    "a snapshot named by ARN (another account's, shared) needs kms_key_id or create_kms_key: true, "
                    "so that the restored cluster is encrypted with a key of this account instead of the "
                    "snapshot's (whose key must also be shared with this account)",
                )
            )
    point = restore.point_in_time
    if point is not None:
        problems.extend(_point_in_time_problems(spec, point, now or datetime.datetime.now(datetime.UTC)))
    return problems


def _point_in_time_problems(spec: Spec, point: PointInTime, now: datetime.datetime) -> list[Problem]:
    loc: Loc = ("restore", "point_in_time")
    problems: list[Problem] = []
    source = point.source_cluster_identifier
    if source.startswith("arn:") and source.split(":")[3] != spec.region:
        problems.append(
            ((*loc, "source_cluster_identifier"), f"the source cluster is in {source.split(':')[3]}, not {spec.region}")
        )
    if source == spec.name:
        problems.append(
            (
                (*loc, "source_cluster_identifier"),
                f"{source} is this cluster's own name: the restored cluster needs a name of its own",
            )
        )
    if (point.restore_to_time is None) == (not point.use_latest_restorable_time):
        problems.append((loc, "give restore_to_time or use_latest_restorable_time: true, exactly one"))
    elif point.restore_to_time is not None:
        if point.restore_type == "copy-on-write":
            problems.append(
                (
                    (*loc, "restore_to_time"),
                    "a copy-on-write clone is of the latest time: AWS refuses RestoreToTime with it; "
                    "use use_latest_restorable_time: true or restore_type: full-copy",
                )
            )
        when = parse_time(point.restore_to_time)
        if when is not None and when > now:
            problems.append(((*loc, "restore_to_time"), f"{point.restore_to_time} is in the future"))
    return problems
