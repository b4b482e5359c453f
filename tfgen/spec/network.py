"""The spec's ``network`` section: who may reach the cluster, and the network pieces it brings.

By default the module makes its own security group (in ``vpc_id``, admitting the database
port from ``allowed_cidr_blocks`` and ``allowed_security_group_ids``, with ``egress`` rules if
any) and its own DB subnet group (over ``subnet_ids``). A platform team's shared pieces
replace or join them: ``security_group_ids`` are attached besides the module's group, or
instead of it with ``create_security_group: false``; ``db_subnet_group_name`` names an
existing DB subnet group instead of ``subnet_ids``. The module never creates, changes or
destroys those. How the fields fit together is checked by :func:`network_problems` and
:func:`network_warnings` (called from :mod:`tfgen.spec.rules`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from tfgen import facts
from tfgen.spec.fields import Cidr, DbSubnetGroupName, Description, EgressCidr, SecurityGroupId
from tfgen.spec.record import Field, Record
from tfgen.spec.yaml_source import Loc

if TYPE_CHECKING:
    from tfgen.spec.model import Spec


class EgressRule(Record):
    """One outbound rule of the module's security group: TCP to one port of one network."""

    cidr: EgressCidr
    port: Annotated[int, Field(ge=1, le=65535)]
    description: Description | None = None


class Network(Record):
    """Who may reach the database port, and which existing network pieces the cluster uses."""

    allowed_cidr_blocks: list[Cidr] = []
    allowed_security_group_ids: list[SecurityGroupId] = []
    create_security_group: bool = True
    """False: the cluster has only ``security_group_ids`` (they must admit its clients)."""
    security_group_ids: list[SecurityGroupId] = []
    """Existing security groups attached to the cluster, besides the module's own unless ``create_security_group`` is false."""
    db_subnet_group_name: DbSubnetGroupName | None = None
    """An existing DB subnet group, instead of the one the module makes over ``subnet_ids``."""
    egress: list[EgressRule] = []
    """Outbound rules of the module's security group (default none: the database only answers)."""

    @property
    def names_existing_pieces(self) -> bool:
        """True when the spec names shared security groups or a shared DB subnet group.

        With ``--local`` such a spec is deployed into the emulator's own VPC pieces (which the
        user created there first), without tfgen's stand-in VPC.
        """
        return bool(self.security_group_ids) or self.db_subnet_group_name is not None


Problem = tuple[Loc, str]


def network_problems(spec: Spec) -> list[Problem]:
    """What makes the network fields invalid together (every field valid on its own)."""
    network = spec.network
    problems: list[Problem] = []
    if network.create_security_group:
        if spec.vpc_id is None:
            problems.append(
                (
                    ("vpc_id",),
                    "required field is missing: the module makes its security group in it "
                    "(or set network.create_security_group: false and give network.security_group_ids)",
                )
            )
    else:
        if not network.security_group_ids:
            problems.append(
                (
                    ("network", "create_security_group"),
                    "false needs network.security_group_ids: without a security group AWS attaches "
                    "the VPC's default one",
                )
            )
        for field_name in ("allowed_cidr_blocks", "allowed_security_group_ids", "egress"):
            if getattr(network, field_name):
                problems.append(
                    (
                        ("network", field_name),
                        "the module makes no security group to hold these rules (network.create_security_group: "
                        "false); add them to one of network.security_group_ids",
                    )
                )
    if network.db_subnet_group_name is not None and spec.subnet_ids is not None:
        problems.append(
            (("network", "db_subnet_group_name"), "give subnet_ids or network.db_subnet_group_name, not both")
        )
    if network.db_subnet_group_name is None and spec.subnet_ids is None:
        problems.append(
            (
                ("subnet_ids",),
                "required field is missing; or name an existing DB subnet group in network.db_subnet_group_name",
            )
        )
    limits = facts.raw()["limits"]["security_groups_per_network_interface"]
    count = len(network.security_group_ids) + network.create_security_group
    if count > limits["maximum"]:
        problems.append(
            (
                ("network", "security_group_ids"),
                f"{count} security groups with the module's own: AWS attaches at most {limits['maximum']} "
                "to a network interface (the quota's maximum)",
            )
        )
    egress = [(rule.cidr, rule.port) for rule in network.egress]
    for index, key in enumerate(egress):
        if key in egress[:index]:
            problems.append((("network", "egress", index), f"duplicate rule to {key[0]} port {key[1]}"))
    return problems


def network_warnings(spec: Spec) -> list[Problem]:
    """What is valid about the network but deserves the user's attention."""
    network = spec.network
    found: list[Problem] = []
    sources = network.allowed_cidr_blocks or network.allowed_security_group_ids or network.security_group_ids
    if not sources:  # shared groups carry rules of their own
        found.append((("network",), "no allowed_cidr_blocks or allowed_security_group_ids: nothing can connect"))
    if not network.create_security_group and spec.vpc_id is not None:
        found.append((("vpc_id",), "unused: the module makes no security group (network.create_security_group: false)"))
    limits = facts.raw()["limits"]["security_groups_per_network_interface"]
    count = len(network.security_group_ids) + network.create_security_group
    if limits["default"] < count <= limits["maximum"]:
        found.append(
            (
                ("network", "security_group_ids"),
                f"{count} security groups with the module's own: AWS's default quota is {limits['default']} "
                "per network interface; raise it (Service Quotas, Amazon VPC) before apply",
            )
        )
    return found
