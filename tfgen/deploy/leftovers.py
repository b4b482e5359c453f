"""What an interrupted apply leaves besides the cluster, its instances and log group.

:mod:`tfgen.deploy.recovery` adopts the resources AWS dates by identifier. The module creates
more, and a repeated create does one of two things on AWS:

- **refused** for a name in use: the DB subnet group (``name = spec.name``,
  ``DBSubnetGroupAlreadyExists``), the security group (``name = spec.name`` in ``vpc_id``,
  ``InvalidGroup.Duplicate``) and the custom endpoints ``<name>-<key>``
  (``DBClusterEndpointAlreadyExistsFault``). AWS records no creation time for them, so the
  evidence that the interrupted apply made them is what the module writes into them: its
  description, every tag of the spec (and ``Name`` for the security group), the spec's VPC, the
  spec's cluster (an endpoint). A same-named deployment from another working directory would
  also own a cluster of that name created before the mark, which :mod:`tfgen.deploy.recovery`
  refuses. One that does not match is refused (:class:`~tfgen.deploy.recovery.ForeignResourceError`).
- **duplicated silently** with a ``name_prefix``: the cluster and instance parameter groups
  (``<name>-``), the write-only password's secret (``<name>-master-``), the enhanced monitoring
  role and the integration roles (``iam_roles``). The provider names each ``prefix`` + an
  18-digit UTC timestamp + 8 hex digits (terraform-plugin-sdk ``helper/id.PrefixedUniqueId``):
  the name says when this machine's terraform created it. Ours: a name of that shape from after
  the mark (same clock: no tolerance), the module's description (parameter groups, secret),
  every tag of the spec, and where AWS dates it (``CreatedDate`` of a secret, ``CreateDate`` of
  a role) no earlier than the mark less :data:`CLOCK_SKEW`. Anything else with the prefix is
  someone else's and left alone. When the state lacks the address, the newest of ours is
  adopted; the others (an apply interrupted twice at that step) are reported with the command
  that removes them, never deleted: tfgen deletes only through terraform.

Unnamed, the KMS key (``create_kms_key``): a repeated create makes a second key, billed until
deleted. Ours: a customer key, enabled, with the module's description and the spec's tags,
created (``CreationDate``) no earlier than the mark less :data:`CLOCK_SKEW`; adopted or reported
as a ``name_prefix`` resource is. Its alias ``alias/<name>`` is refused when repeated
(``AlreadyExistsException``): ours when created after the mark and pointing to the module's key
(the state's, or the one adopted).

Harmless when repeated, so not looked for: CloudWatch alarms (``PutMetricAlarm`` overwrites),
Application Auto Scaling targets and policies (register/put overwrite), the monitoring role's
policy attachment and the integration roles' inline policies (idempotent). The roles'
associations with the cluster (``AddRoleToDBCluster`` refuses a repeat:
``DBClusterRoleAlreadyExists``) carry no date nor tags: ours when in the spec's cluster (itself
checked by :mod:`tfgen.deploy.recovery`) with the spec's ``role_arn`` or the module's role. Not
The global cluster a primary creates (``GlobalClusterAlreadyExistsFault``) has no date nor tags:
ours only when its writer is the spec's cluster. An empty one (the interrupted apply stopped
before the cluster joined it) is refused, never adopted: it could be one made by hand for
``create: false``.

The AWS queries are :mod:`tfgen.deploy.searches`'.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tfgen.deploy import imports
from tfgen.spec.model import Spec

CLOCK_SKEW = datetime.timedelta(minutes=5)
"""How much AWS's clock may lag this machine's when a creation time is compared with the mark's."""
KEY_ADDRESS = "module.cluster.aws_kms_key.this"
_SUFFIX = re.compile(r"(?P<when>\d{18})[0-9a-f]{8}")


@dataclass(frozen=True)
class Target:
    """A resource of the module that a repeated create refuses or duplicates."""

    address: str
    kind: str
    """``subnet_group``, ``security_group``, ``cluster_parameter_group``, ``parameter_group``, ``secret``, ``role``."""
    name: str
    """Its name, or with :attr:`prefixed` the ``name_prefix``."""
    prefixed: bool = False
    """Made with a ``name_prefix`` (or no name at all): a repeated create makes another."""
    unnamed: bool = False
    """No name at all (the KMS key): found by description and tags, dated by AWS's creation time."""
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    vpc: str | None = None
    cluster: str | None = None
    """The cluster it must belong to (a custom endpoint)."""
    parent: str | None = None
    """What it must point to: a fixed ID (the spec's ``role_arn``), else the address of the
    module's resource (the KMS key, an integration role) whose ID the state or an adoption gives."""
    rule: tuple[str, str, int] | None = None
    """A security group rule's direction (``ingress``, ``egress``), peer (a CIDR or a group ID) and
    TCP port; :attr:`name` is then the name of the module's group that holds it."""


@dataclass(frozen=True)
class Existing:
    """What AWS has under a target's name or prefix."""

    id: str
    """The import ID (a group's name or ID, a secret's ARN)."""
    name: str
    created: datetime.datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    vpc: str | None = None
    parent: str | None = None
    """What it points to: a KMS alias's key, a role association's role ARN."""
    cluster: str | None = None


Search = Callable[[Target], list[Existing]]
"""Asks AWS what exists under a target's name (one or none) or prefix (any number)."""


@dataclass(frozen=True)
class Sweep:
    """What the next apply imports, what it leaves (reported), what is not tfgen's (refused)."""

    blocks: tuple[imports.ImportBlock, ...] = ()
    orphans: tuple[tuple[Target, Existing], ...] = ()
    foreign: tuple[tuple[str, str], ...] = ()
    """(what, why it is not tfgen's) for each resource under a module's name that is someone else's."""

    def __add__(self, other: Sweep) -> Sweep:
        return Sweep(self.blocks + other.blocks, self.orphans + other.orphans, self.foreign + other.foreign)

    def describe(self, region: str, endpoint: str | None = None) -> list[str]:
        """A warning per orphan: what it is and how to remove it (tfgen does not).

        The command names the spec's ``region`` and, on the emulator, its ``endpoint``: run as
        shown, it reaches the orphan, never a namesake in the user's default region or real account.
        """
        where = f" --region {region}" + (f" --endpoint-url {endpoint}" if endpoint else "")
        return [
            f"warning: {target.kind.replace('_', ' ')} {existing.id} was created by an interrupted apply and is "
            f"not in the state (a later one replaced it); tfgen does not delete it: {removal(target, existing)}{where}"
            for target, existing in self.orphans
        ]


def descriptions(name: str, port: int) -> dict[str, str]:
    """The descriptions the module's templates give each kind (tests hold the templates to them)."""
    return {
        "kms_key": f"Aurora PostgreSQL cluster {name}: storage, secrets, logs, Performance Insights",
        "subnet_group": f"Subnets of Aurora PostgreSQL cluster {name}",
        "security_group": f"Aurora PostgreSQL cluster {name}: port {port} from allowed sources only",
        "cluster_parameter_group": f"Aurora PostgreSQL cluster {name}: query logging and statistics",
        "parameter_group": f"Aurora PostgreSQL cluster {name}: instance parameters",
        "secret": (
            f"Master credentials of Aurora PostgreSQL cluster {name} (written by Terraform, never stored in its state)"
        ),
    }


def targets(spec: Spec, vpc: str | None = None) -> list[Target]:
    """The spec's resources that a repeated create refuses (by name) or duplicates (by prefix).

    ``vpc``: the VPC of the module's security group when it is not the spec's (the stand-in's
    on the emulator, :mod:`tfgen.deploy.standin`; empty when that VPC does not exist yet).
    """
    said = descriptions(spec.name, spec.port)
    tags = dict(spec.tags)
    m = "module.cluster."
    found = []
    if spec.create_kms_key:  # the key first: the alias must point to the key that is tfgen's
        found.append(
            Target(KEY_ADDRESS, "kms_key", "", prefixed=True, unnamed=True, description=said["kms_key"], tags=tags)
        )
        found.append(Target(f"{m}aws_kms_alias.this", "kms_alias", f"alias/{spec.name}", parent=KEY_ADDRESS))
    if spec.network.db_subnet_group_name is None:
        found.append(
            Target(
                f"{m}aws_db_subnet_group.this", "subnet_group", spec.name, description=said["subnet_group"], tags=tags
            )
        )
    if spec.network.create_security_group:
        found.append(
            Target(
                f"{m}aws_security_group.this",
                "security_group",
                spec.name,
                description=said["security_group"],
                tags={**tags, "Name": spec.name},
                vpc=spec.vpc_id if vpc is None else vpc,
            )
        )
    if spec.network.create_security_group:  # after the group: a rule must be on the group that is tfgen's
        found += _rules(spec, f"{m}aws_security_group.this", spec.vpc_id if vpc is None else vpc)
    found.append(
        Target(
            f"{m}aws_rds_cluster_parameter_group.this",
            "cluster_parameter_group",
            f"{spec.name}-",
            prefixed=True,
            description=said["cluster_parameter_group"],
            tags=tags,
        )
    )
    if spec.instance_parameters:
        found.append(
            Target(
                f"{m}aws_db_parameter_group.this[0]",
                "parameter_group",
                f"{spec.name}-",
                prefixed=True,
                description=said["parameter_group"],
                tags=tags,
            )
        )
    if spec.master_password.source == "write_only":
        found.append(
            Target(
                f"{m}aws_secretsmanager_secret.master",
                "secret",
                f"{spec.name}-master-",
                prefixed=True,
                description=said["secret"],
                tags=tags,
            )
        )
    role_prefix = f"{spec.name[:24].rstrip('-')}-"  # the module view's iam_name_prefix
    if spec.effective_monitoring_interval > 0:
        found.append(
            Target(f"{m}aws_iam_role.monitoring[0]", "role", f"{role_prefix}monitoring-", prefixed=True, tags=tags)
        )
    for role in spec.iam_roles:
        if role.role_arn is None:
            found.append(
                Target(
                    f'{m}aws_iam_role.integration["{role.feature}"]',
                    "role",
                    f"{role_prefix}{role.feature.lower()}-",
                    prefixed=True,
                    tags=tags,
                )
            )
    for role in spec.iam_roles:  # after the roles: an association must hold the module's role
        parent = role.role_arn or f'{m}aws_iam_role.integration["{role.feature}"]'
        found.append(
            Target(
                f'{m}aws_rds_cluster_role_association.this["{role.feature}"]',
                "role_association",
                role.feature,
                cluster=spec.name,
                parent=parent,
            )
        )
    glob = spec.global_database
    if glob is not None and glob.role == "primary" and glob.create:
        found.append(Target(f"{m}aws_rds_global_cluster.this", "global_cluster", glob.identifier, cluster=spec.name))
    for key in spec.endpoints:
        found.append(
            Target(
                f'{m}aws_rds_cluster_endpoint.this["{key}"]',
                "endpoint",
                f"{spec.name}-{key}",
                tags=tags,
                cluster=spec.name,
            )
        )
    return found  # fmt: skip


def _rules(spec: Spec, group: str, vpc: str | None) -> list[Target]:
    """The rules of the module's security group (``group`` its address, in ``vpc``), described as network.tf.j2 does."""
    m = "module.cluster."
    network = spec.network
    found = [
        Target(f'{m}aws_vpc_security_group_ingress_rule.cidr["{cidr}"]', "security_group_rule", spec.name,
               description=f"PostgreSQL from {cidr}", vpc=vpc, parent=group, rule=("ingress", cidr, spec.port))
        for cidr in network.allowed_cidr_blocks
    ]  # fmt: skip
    found += [
        Target(f'{m}aws_vpc_security_group_ingress_rule.security_group["{index}"]', "security_group_rule", spec.name,
               description=f"PostgreSQL from security group {peer}", vpc=vpc, parent=group,
               rule=("ingress", peer, spec.port))
        for index, peer in enumerate(network.allowed_security_group_ids)
    ]  # fmt: skip
    found += [
        Target(f'{m}aws_vpc_security_group_egress_rule.this["{rule.cidr} {rule.port}"]', "security_group_rule",
               spec.name, description=rule.description or f"TCP {rule.port} to {rule.cidr}", vpc=vpc,
               parent=group, rule=("egress", rule.cidr, rule.port))
        for rule in network.egress
    ]  # fmt: skip
    return found


def named_at(target: Target, name: str) -> datetime.datetime | None:
    """When terraform named ``name`` from the target's prefix; None if it is not such a name."""
    match = _SUFFIX.fullmatch(name[len(target.name) :]) if name.startswith(target.name) else None
    if match is None:
        return None
    try:
        when = datetime.datetime.strptime(match["when"][:14], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return when.replace(tzinfo=datetime.UTC, microsecond=int(match["when"][14:]) * 100)


def problems(target: Target, existing: Existing, since: datetime.datetime) -> list[str]:
    """Why ``existing`` is not what the interrupted apply created (nothing: it is)."""
    found = []
    if target.unnamed and existing.created is None:
        return ["AWS gives no creation time for it"]
    if target.prefixed and not target.unnamed:
        named = named_at(target, existing.name)
        if named is None:
            return [f"its name is not {target.name} and terraform's unique suffix"]
        if named < since:
            found.append(f"terraform named it at {named:%Y-%m-%d %H:%M:%S} UTC, before the interrupted apply began")
    if existing.created is not None and existing.created < since - CLOCK_SKEW:
        found.append(f"it was created at {existing.created:%Y-%m-%d %H:%M:%S} UTC, before the interrupted apply began")
    if target.description is not None and existing.description != target.description:
        found.append(f"its description is not the module's ({existing.description!r})")
    if target.vpc is not None and existing.vpc != target.vpc:
        found.append(f"it is in VPC {existing.vpc}, not {target.vpc}")
    if target.cluster is not None and existing.cluster != target.cluster:
        belongs = "to no cluster" if existing.cluster is None else f"to cluster {existing.cluster}"
        found.append(f"it belongs {belongs}, not {target.cluster}")
    differing = sorted(key for key, value in target.tags.items() if existing.tags.get(key) != value)
    if differing:
        found.append(f"its tags differ from the ones the module sets ({', '.join(differing)})")
    return found


def sweep(
    spec: Spec, in_state: Mapping[str, str], since: datetime.datetime, search: Search, *, vpc: str | None = None
) -> Sweep:
    """Import blocks for what the interrupted apply created and the state lacks; orphans; foreign resources.

    ``in_state`` maps each address of the state to its ID (:func:`state_ids`); ``vpc`` as for :func:`targets`.
    """
    blocks: list[imports.ImportBlock] = []
    orphans: list[tuple[Target, Existing]] = []
    foreign: list[tuple[str, str]] = []
    reason = f"created by the apply interrupted at {since:%Y-%m-%d %H:%M:%S} UTC, not in the state"
    for target in targets(spec, vpc):
        if target.address in in_state and not target.prefixed:
            continue
        found = search(target)
        if not target.prefixed:
            for existing in found:
                refused = problems(target, existing, since)
                wanted = _parent(target.parent, in_state, blocks) if target.parent is not None else None
                if target.parent is not None and not _points_to(existing.parent, wanted):
                    refused.append(f"it points to {existing.parent}, not to {wanted or target.parent}")
                if refused:
                    foreign.append((f"{target.kind.replace('_', ' ')} {existing.id}", "; ".join(refused)))
                else:
                    blocks.append(imports.ImportBlock(target.address, existing.id, reason))
            continue
        ours = sorted(
            (e for e in found if not problems(target, e, since) and e.id != in_state.get(target.address)),
            key=lambda e: named_at(target, e.name) or e.created or since,  # the newest last
        )
        if ours and target.address not in in_state:
            blocks.append(imports.ImportBlock(target.address, ours.pop().id, reason))
        orphans += [(target, existing) for existing in ours]
    return Sweep(tuple(blocks), tuple(orphans), tuple(foreign))


def _parent(parent: str, in_state: Mapping[str, str], blocks: list[imports.ImportBlock]) -> str | None:
    """The ID of what a target must point to: fixed, or its resource's in the state or adopted."""
    if not parent.startswith("module."):
        return parent
    return in_state.get(parent) or next((b.id for b in blocks if b.address == parent), None)


def _points_to(found: str | None, wanted: str | None) -> bool:
    """Whether ``found`` (a key ID, a role ARN) is ``wanted`` (a key ID, a role's ARN or name)."""
    return found is not None and wanted is not None and (found == wanted or found.endswith(f":role/{wanted}"))


def removal(target: Target, existing: Existing) -> str:
    """The AWS CLI command that removes an orphan (shown, never run)."""
    commands = {
        "kms_key": f"aws kms schedule-key-deletion --key-id {existing.id} --pending-window-in-days 7",
        "kms_alias": f"aws kms delete-alias --alias-name {existing.id}",
        "role_association": (
            f"aws rds remove-role-from-db-cluster --db-cluster-identifier {existing.cluster} "
            f"--role-arn {existing.parent} --feature-name {existing.name}"
        ),
        "global_cluster": f"aws rds delete-global-cluster --global-cluster-identifier {existing.id}",
        "endpoint": f"aws rds delete-db-cluster-endpoint --db-cluster-endpoint-identifier {existing.id}",
        "subnet_group": f"aws rds delete-db-subnet-group --db-subnet-group-name {existing.id}",
        "security_group": f"aws ec2 delete-security-group --group-id {existing.id}",
        "security_group_rule": (
            f"aws ec2 revoke-security-group-{target.rule[0] if target.rule else 'ingress'} "
            f"--group-id {existing.parent} --security-group-rule-ids {existing.id}"
        ),
        "vpc": f"aws ec2 delete-vpc --vpc-id {existing.id}",
        "cluster_parameter_group": (
            f"aws rds delete-db-cluster-parameter-group --db-cluster-parameter-group-name {existing.id}"
        ),
        "parameter_group": f"aws rds delete-db-parameter-group --db-parameter-group-name {existing.id}",
        "secret": f"aws secretsmanager delete-secret --secret-id {existing.id}",
        "role": f"aws iam delete-role --role-name {existing.id}",
    }
    return commands[target.kind]


def state_ids(state: str) -> dict[str, str]:
    """Each managed resource instance address of a state (``terraform state pull``) and its ``id``."""
    try:
        data = json.loads(state) if state.strip() else {}
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for resource in data.get("resources") or []:
        if resource.get("mode") != "managed":
            continue
        base = ".".join(p for p in (resource.get("module"), resource.get("type"), resource.get("name")) if p)
        for instance in resource.get("instances") or [{}]:
            key = instance.get("index_key")
            address = base if key is None else f"{base}[{key if isinstance(key, int) else json.dumps(key)}]"
            found[address] = str((instance.get("attributes") or {}).get("id") or "")
    return found
