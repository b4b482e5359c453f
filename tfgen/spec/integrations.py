"""The spec's ``iam_roles`` and ``activity_stream`` sections: the AWS services the cluster reaches.

``activity_stream`` asks for a database activity stream (``[activity_streams]`` in the facts:
refused while AWS offers none for Serverless v2). ``iam_roles``: the AWS services the cluster
reaches through IAM roles.

Each entry names an Aurora PostgreSQL feature (``s3Import``, ``s3Export``, ``Lambda``: AWS
associates one role per feature) and either the S3 buckets or Lambda functions the feature may
use, for which the module makes a role whose policy allows only those resources and only the
actions the feature needs, trusted by RDS for this cluster alone; or ``role_arn``, an existing
role the module associates as it is. The feature names, actions and sources are
``[iam_role_features]`` in ``tfgen/facts/aws.toml``; how the fields fit together is checked by
:func:`iam_role_problems` (called from :mod:`tfgen.spec.rules`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from tfgen import facts
from tfgen.spec.fields import KmsKeyArn
from tfgen.spec.record import AfterValidator, Invalid, Record
from tfgen.spec.yaml_source import Loc

if TYPE_CHECKING:
    from tfgen.spec.model import Spec

Problem = tuple[Loc, str]

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)
_KEY_PREFIX = re.compile(r"[A-Za-z0-9!_.'()/=+-]*", re.ASCII)
_FUNCTION = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?",
    re.ASCII,
)
_ROLE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}", re.ASCII)


def _bucket(value: str) -> str:
    bucket, _, prefix = value.partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise Invalid(
            f"{value!r} is not a bucket name (3-63 lowercase letters, digits, dots, hyphens), optionally /prefix"
        )
    if not _KEY_PREFIX.fullmatch(prefix):
        # a wildcard in the prefix would widen the policy beyond what the spec names
        raise Invalid(f"{value!r}: the key prefix may hold letters, digits and !_.'()/=+- only (no wildcards)")
    return value


def _pattern(regex: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise Invalid(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


Bucket = Annotated[str, AfterValidator(_bucket)]
FunctionArn = Annotated[str, _pattern(_FUNCTION, "a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)")]
RoleArn = Annotated[str, _pattern(_ROLE, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")]


class IamRole(Record):
    """One feature's role: made by the module for the named buckets or functions, or an existing one."""

    feature: Literal["s3Import", "s3Export", "Lambda"]
    """The feature name AWS associates the role with (``aws_rds_cluster_role_association.feature_name``)."""
    buckets: list[Bucket] = []
    """s3Import / s3Export: ``bucket`` or ``bucket/key-prefix`` (in the cluster's region); the role reaches only these."""
    functions: list[FunctionArn] = []
    """Lambda: the functions' ARNs; the role may invoke only these."""
    role_arn: RoleArn | None = None
    """An existing role instead (the module associates it, never changes it): no buckets or functions then."""


class ActivityStream(Record):
    """A database activity stream: the cluster's activity, encrypted, to a Kinesis stream AWS creates."""

    mode: Literal["async", "sync"] = "async"
    """async favours the database's performance, sync the stream's completeness (Aurora PostgreSQL only)."""
    kms_key_id: KmsKeyArn | None = None
    """The customer-managed key that encrypts the stream (default: the module's own, with create_kms_key)."""


def activity_stream_problems(spec: Spec) -> list[Problem]:
    """Where AWS offers database activity streams, and the key they need (``[activity_streams]``)."""
    stream = spec.activity_stream
    if stream is None:
        return []
    rules = facts.raw()["activity_streams"]
    if not spec.is_v2:
        return [(("activity_stream",), "Aurora Serverless v1 cannot have database activity streams")]
    if not rules["serverless_v2"]:
        classes = ", ".join(rules["instance_classes"])
        return [
            (
                ("activity_stream",),
                "database activity streams are not supported for Aurora Serverless v2 (Aurora User Guide, "
                f"{rules['guide']!r}; AWS runs them on provisioned instances only: {classes}); every instance "
                "of this module is db.serverless",
            )
        ]
    if stream.kms_key_id is None and not spec.create_kms_key:
        return [
            (
                ("activity_stream", "kms_key_id"),
                "required: a customer-managed KMS key (the AWS managed key cannot encrypt activity streams), "
                "or create_kms_key: true",
            )
        ]
    return []


def iam_role_problems(spec: Spec) -> list[Problem]:
    """What makes the ``iam_roles`` entries invalid together (every field valid on its own)."""
    problems: list[Problem] = []
    if spec.iam_roles and not spec.is_v2:
        return [(("iam_roles",), "Aurora Serverless v1 cannot have IAM role associations (S3 import/export, Lambda)")]
    seen: list[str] = []
    for index, role in enumerate(spec.iam_roles):
        loc: Loc = ("iam_roles", index)
        if role.feature in seen:
            problems.append(
                ((*loc, "feature"), f"duplicate feature {role.feature}: AWS associates one role per feature")
            )
        seen.append(role.feature)
        wanted, other = ("functions", "buckets") if role.feature == "Lambda" else ("buckets", "functions")
        if getattr(role, other):
            problems.append(((*loc, other), f"{role.feature} takes {wanted}, not {other}"))
        if role.role_arn is not None and getattr(role, wanted):
            problems.append(
                (
                    (*loc, "role_arn"),
                    f"give role_arn (an existing role) or {wanted} (the module makes the role), not both",
                )
            )
        elif role.role_arn is None and not getattr(role, wanted) and not getattr(role, other):
            problems.append(
                (
                    loc,
                    f"{role.feature} needs {wanted} (the module makes a role that reaches only them) or role_arn "
                    "(an existing role)",
                )
            )
        values: list[str] = getattr(role, wanted)
        for position, value in enumerate(values):
            if value in values[:position]:
                problems.append(((*loc, wanted, position), f"duplicate {value}"))
    return problems
