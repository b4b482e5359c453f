"""The stand-in network of ``--local`` (``local_network.tf``), and what an interrupted apply leaves of it.

On the emulator the spec's VPC, subnets and client security groups do not exist, so the root
configuration creates stand-ins: a VPC (:data:`CIDR`), a subnet in each of two zones (its
``/24`` blocks, as ``cidrsubnet(cidr, 8, i)``) and a client security group
(``<name>-local-clients``). An apply interrupted while one of them was in flight leaves it
created but not in the state. The next create would then fail (a subnet:
``InvalidSubnet.Conflict``, its CIDR in use in the VPC; the group: ``InvalidGroup.Duplicate``)
or duplicate silently (a VPC: nothing makes it unique).

AWS records no creation time for VPCs, subnets or security groups, so the evidence that a
piece is this deployment's stand-in is what the configuration writes into it: the
:data:`TAG` tag, whose value names the deployment (the spec's name and a digest of where its
state lives: the working directory for the local backend, else the backend's location), and
the VPC's CIDR; a subnet's CIDR, zone and VPC; the group's name, description and VPC. A VPC
without the tag or with another CIDR is never adopted (it is not tfgen's). A subnet or group
in the stand-in VPC that the next create would collide with but that does not carry the tag is
refused (:class:`~tfgen.deploy.recovery.ForeignResourceError`). Several tagged VPCs (an apply
interrupted twice at CreateVpc): the one holding the stand-in's subnets (else the first by ID)
is adopted, the others reported with the command that removes them, never deleted.

The AWS queries are :func:`tfgen.deploy.searches.stand_in_pieces`.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tfgen.deploy import imports, leftovers
from tfgen.spec.model import Spec

FILENAME = "local_network.tf"
CIDR = "10.0.0.0/16"
TAG = "tfgen:stand-in"
"""The tag every stand-in piece carries; its value names the deployment (:func:`of`)."""
ZONES = ("a", "b")
"""The subnets' zones, after the region's name: ``aws_subnet.local[i]`` is in ``<region><ZONES[i]>``."""
VPC_ADDRESS = "aws_vpc.local"
CLIENTS_ADDRESS = "aws_security_group.local_clients"
CLIENTS_DESCRIPTION = "Stand-in for the spec's client security groups (local emulator)"


@dataclass(frozen=True)
class StandIn:
    """This deployment's stand-in network, as ``local_network.tf`` declares it."""

    name: str
    """The spec's name."""
    tag: str
    """The value of :data:`TAG`."""
    region: str
    cidr: str = CIDR

    @property
    def clients(self) -> str:
        """The client security group's name."""
        return f"{self.name}-local-clients"

    def subnet_cidr(self, index: int) -> str:
        """``cidrsubnet(cidr, 8, index)``."""
        return str(list(ipaddress.ip_network(self.cidr).subnets(prefixlen_diff=8))[index])


def of(spec: Spec, directory: Path, identity: str) -> StandIn:
    """The stand-in of the deployment whose state is at ``identity`` (``local``: in ``directory``).

    Two checkouts sharing a state share it. The tag is written when a piece is created and never
    updated (``ignore_changes`` in ``local_network.tf``): a state moved from local to S3 keeps its
    stand-in network as it is, and what an apply interrupted after the move creates carries the
    new value, the one recovery looks for.
    """
    where = str(directory.resolve()) if identity == "local" else identity
    digest = hashlib.sha256(where.encode()).hexdigest()[:12]
    return StandIn(spec.name, f"{spec.name}-{digest}", spec.region)


@dataclass(frozen=True)
class Piece:
    """A VPC, subnet or security group at AWS, as far as telling the stand-in's apart goes."""

    kind: str
    """``vpc``, ``subnet`` or ``security_group``."""
    id: str
    vpc: str
    cidr: str = ""
    zone: str = ""
    name: str = ""
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


def sweep(stand: StandIn, in_state: Mapping[str, str], found: list[Piece], since: datetime.datetime) -> leftovers.Sweep:
    """Import blocks for the stand-in pieces the state lacks; duplicate VPCs (orphans); foreign pieces.

    ``in_state`` maps each address of the state to its ID (:func:`tfgen.deploy.leftovers.state_ids`);
    ``found`` is every VPC carrying :data:`TAG` and the subnets and groups of those and of the
    state's VPC.
    """
    reason = f"created by the apply interrupted at {since:%Y-%m-%d %H:%M:%S} UTC, not in the state"
    blocks: list[imports.ImportBlock] = []
    foreign: list[tuple[str, str]] = []

    def ours(piece: Piece) -> bool:
        return piece.tags.get(TAG) == stand.tag

    vpcs = [p for p in found if p.kind == "vpc" and ours(p) and p.cidr == stand.cidr]
    vpc = in_state.get(VPC_ADDRESS)
    if not vpc and vpcs:
        holding = {p.vpc for p in found if p.kind == "subnet" and ours(p)}
        vpc = min(vpcs, key=lambda p: (p.id not in holding, p.id)).id
        blocks.append(imports.ImportBlock(VPC_ADDRESS, vpc, reason))
    target = leftovers.Target(VPC_ADDRESS, "vpc", stand.cidr, tags={TAG: stand.tag})
    orphans = tuple((target, leftovers.Existing(p.id, p.id, tags=p.tags)) for p in vpcs if p.id != vpc)
    if not vpc:
        return leftovers.Sweep(tuple(blocks), orphans)
    # (address, kind, what a repeated create collides on and its value, what else must match and its value)
    expected = [
        (f"aws_subnet.local[{i}]", "subnet", "cidr", stand.subnet_cidr(i), "zone", f"{stand.region}{zone}")
        for i, zone in enumerate(ZONES)
    ]
    expected.append((CLIENTS_ADDRESS, "security_group", "name", stand.clients, "description", CLIENTS_DESCRIPTION))
    for address, kind, key, value, other, wanted in expected:
        if address in in_state:
            continue
        for piece in (p for p in found if p.kind == kind and p.vpc == vpc and getattr(p, key) == value):
            problems = (
                [] if getattr(piece, other) == wanted else [f"its {other} is {getattr(piece, other)!r}, not {wanted!r}"]
            )
            if not ours(piece):
                problems.append(f"it does not carry the stand-in's tag ({TAG} = {stand.tag})")
            what = f"{kind.replace('_', ' ')} {piece.id} (in the stand-in VPC {vpc})"
            if problems:
                foreign.append((what, "; ".join(problems)))
            else:
                blocks.append(imports.ImportBlock(address, piece.id, reason))
    return leftovers.Sweep(tuple(blocks), orphans, tuple(foreign))
