"""The spec's ``global`` section: this cluster's place in an Aurora global database.

One spec per region: the ``primary`` creates the global cluster (``aws_rds_global_cluster``,
or joins an existing empty one with ``create: false``) and writes; each ``secondary`` joins it
from another region, read-only, with the primary's master user, password and database. The
rules AWS and the provider impose (``[global_database]`` in ``tfgen/facts/aws.toml``) are checked
by :func:`global_problems` (called from :mod:`tfgen.spec.rules`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from tfgen import facts
from tfgen.spec.fields import ClusterName, Region
from tfgen.spec.record import Record
from tfgen.spec.yaml_source import Loc

if TYPE_CHECKING:
    from tfgen.spec.model import Spec

Problem = tuple[Loc, str]


class GlobalDatabase(Record):
    """The global database this cluster belongs to, and its role in it."""

    identifier: ClusterName
    """The global cluster's identifier, the same in every region's spec."""
    role: Literal["primary", "secondary"]
    """primary: the writer (creates the global cluster); secondary: a read-only copy in another region."""
    source_region: Region | None = None
    """secondary: the primary's region (the runbook's switchover and failover commands name it)."""
    create: bool = True
    """primary: false joins a global cluster created elsewhere (it must have no primary yet)."""


def global_problems(spec: Spec) -> list[Problem]:
    """What makes ``global`` invalid with the rest of the spec."""
    found = spec.global_database
    if found is None:
        return []
    if not spec.is_v2:
        return [(("global",), "Aurora Serverless v1 cannot be part of a global database")]
    problems: list[Problem] = []
    rules = facts.raw()["global_database"]
    version = spec.effective_engine_version
    if not spec.engine_minor_pinned:
        row = facts.engine_majors().get(spec.engine_major)
        example = row.lts if row is not None else facts.engine_majors()[max(facts.engine_majors())].lts
        problems.append(
            (
                ("engine_version",),
                f'{version}: a global database needs a pinned minor (such as "{example}"), the same in every '
                "region's spec",
            )
        )
    else:
        minimum = rules["minimum"].get(str(spec.engine_major))
        if minimum is not None and _version(version) < _version(minimum):
            problems.append((("engine_version",), f"{version} does not support global databases (needs {minimum}+)"))
    if spec.master_password.source == "rds_managed":
        problems.append(
            (
                ("master_password", "source"),
                "rds_managed is not available to clusters of a global database (RDS's Secrets Manager "
                "integration); use write_only",
            )
        )
    if found.role == "primary":
        if found.source_region is not None:
            problems.append((("global", "source_region"), "only for a secondary (the primary's region)"))
        return problems
    if not found.create:
        problems.append((("global", "create"), "only for a primary (a secondary joins the global cluster)"))
    defaults = type(spec).model_fields
    if spec.master_password != defaults["master_password"].default:
        problems.append(
            (
                ("master_password",),
                "a secondary has the primary's master password: remove it (AWS refuses one for a cross-region "
                "replica; database_name and master_username name the primary's, for the runbook)",
            )
        )
    if found.source_region is None:
        problems.append((("global", "source_region"), "required for a secondary: the primary's region"))
    elif found.source_region == spec.region:
        problems.append((("global", "source_region"), f"is region ({spec.region}): a secondary is in another region"))
    if not spec.create_kms_key and spec.kms_key_id is None:
        problems.append(
            (
                ("global",),
                "a secondary's storage needs a KMS key of its own region: set create_kms_key: true or kms_key_id",
            )
        )
    elif spec.kms_key_id is not None and spec.kms_key_id.split(":")[3] != spec.region:
        problems.append((("kms_key_id",), f"a secondary needs a key of its own region, {spec.region}"))
    return problems


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)
