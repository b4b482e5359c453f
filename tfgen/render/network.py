"""The module's network inputs: its own security group and DB subnet group, or existing ones.

What the spec's ``network`` section (:mod:`tfgen.spec.network`) becomes in the module's
interface (:mod:`tfgen.render.interface`): ``vpc_id`` and the rules of the module's security
group when it makes one, ``subnet_ids`` or an existing ``db_subnet_group_name``, and the
existing ``security_group_ids``, so that a vendoring repository can override each.
"""

from __future__ import annotations

from tfgen.render.interface import Validation, Variable
from tfgen.spec.model import Spec

_ID_LIST = "list(string)"

EGRESS_TYPE = """list(object({
    cidr        = string
    port        = number
    description = optional(string)
  }))"""


def network_variables(spec: Spec) -> list[Variable]:
    """The network pieces: the module's own security group and subnet group, or existing ones."""
    network = spec.network
    found = []
    if network.create_security_group:
        found.append(Variable("vpc_id", "string", "VPC of the cluster's security group.", spec.vpc_id))
    if network.db_subnet_group_name is None:
        found.append(
            Variable(
                "subnet_ids",
                _ID_LIST,
                "Subnets of the DB subnet group (at least two, in different availability zones).",
                spec.subnet_ids,
                (Validation("length(var.subnet_ids) >= 2", "Aurora needs at least two subnets."),),
                nullable=False,
            )
        )
    else:
        found.append(
            Variable(
                "db_subnet_group_name",
                "string",
                "An existing DB subnet group of the cluster (the module neither creates nor changes it).",
                network.db_subnet_group_name,
                nullable=False,
            )
        )
    if network.security_group_ids:
        what = "besides the module's own" if network.create_security_group else "its only ones"
        found.append(
            Variable(
                "security_group_ids",
                _ID_LIST,
                f"Existing security groups attached to the cluster, {what} (the module never changes them).",
                network.security_group_ids,
                ()
                if network.create_security_group
                else (
                    Validation("length(var.security_group_ids) >= 1", "The cluster needs at least one security group."),
                ),
                nullable=False,
            )
        )
    if not network.create_security_group:
        return found
    found.extend(
        [
            Variable(
                "allowed_cidr_blocks",
                _ID_LIST,
                "CIDR blocks allowed to connect to the PostgreSQL port.",
                network.allowed_cidr_blocks,
                (
                    Validation(
                        'alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0)) && !endswith(c, "/0")])',
                        "Each entry must be a CIDR block narrower than /0.",
                    ),
                ),
                nullable=False,
            ),
            Variable(
                "allowed_security_group_ids",
                _ID_LIST,
                "Security groups allowed to connect to the PostgreSQL port.",
                network.allowed_security_group_ids,
                nullable=False,
            ),
        ]
    )
    if network.egress:
        found.append(
            Variable(
                "egress_rules",
                EGRESS_TYPE,
                "Outbound TCP rules of the cluster's security group: one port of one network each.",
                [rule.model_dump(exclude_none=True) for rule in network.egress],
                (
                    Validation(
                        'alltrue([for r in var.egress_rules : can(cidrhost(r.cidr, 0)) && !endswith(r.cidr, "/0") && r.port >= 1 && r.port <= 65535])',
                        "Each egress rule needs a CIDR block narrower than /0 and a port from 1 to 65535.",
                    ),
                ),
                nullable=False,
            )
        )
    return found
