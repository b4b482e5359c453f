"""The module's inputs and outputs for the AWS services the cluster reaches: IAM role associations.

What the spec's ``iam_roles`` (:mod:`tfgen.spec.integrations`) becomes in the module's
interface: one map variable by feature name, so that a repository that vendors the module can
add a bucket or bring its own role, held by validations to what AWS and the spec accept.
Present only when the spec names roles (the module then has ``integrations.tf``'s resources).
"""

from __future__ import annotations

from tfgen import facts
from tfgen.render.interface import Output, Validation, Variable
from tfgen.spec.model import Spec

IAM_ROLES_TYPE = """map(object({
    role_arn  = optional(string)
    buckets   = optional(list(string), [])
    functions = optional(list(string), [])
  }))"""


def integration_variables(spec: Spec) -> list[Variable]:
    """The ``iam_roles`` variable (none when the spec names no roles)."""
    if not spec.iam_roles:
        return []
    features = facts.raw()["iam_role_features"]["values"]
    listed = ", ".join(f'"{feature}"' for feature in features)
    return [
        Variable(
            "iam_roles",
            IAM_ROLES_TYPE,
            "IAM roles associated with the cluster, by feature (" + ", ".join(features) + "): buckets "
            '("bucket" or "bucket/prefix") or functions (ARNs) for a role the module makes, reaching only them; '
            "or role_arn, an existing role.",
            {
                role.feature: {key: value for key, value in role.model_dump(exclude={"feature"}).items() if value}
                for role in spec.iam_roles
            },
            (
                Validation(
                    f"alltrue([for feature, role in var.iam_roles : contains([{listed}], feature)])",
                    f"iam_roles keys must be feature names: {', '.join(features)}.",
                ),
                Validation(
                    "alltrue([for feature, role in var.iam_roles : role.role_arn != null ? "
                    "length(role.buckets) + length(role.functions) == 0 : "
                    '(feature == "Lambda" ? length(role.functions) > 0 && length(role.buckets) == 0 : '
                    "length(role.buckets) > 0 && length(role.functions) == 0)])",
                    "Each of iam_roles needs role_arn alone, or buckets (s3Import, s3Export) or functions (Lambda).",
                ),
            ),
            nullable=False,
        )
    ]


def integration_outputs(spec: Spec) -> list[Output]:
    """The roles' ARNs by feature (none when the spec names no roles)."""
    if not spec.iam_roles:
        return []
    return [
        Output(
            "iam_role_arns",
            "IAM role associated with the cluster, by feature (the module's own or the given role_arn).",
            "{ for feature, association in aws_rds_cluster_role_association.this : feature => association.role_arn }",
        )
    ]
