"""The AWS queries behind :mod:`tfgen.deploy.leftovers`: what exists under each target's name or prefix.

Read only (Describe*/List*), and only after an interrupted apply.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from tfgen.deploy.leftovers import Existing, Search, Target, named_at
from tfgen.deploy.standin import TAG, Piece, StandIn


def aws_search(options: Mapping[str, Any]) -> Search:
    """A :data:`Search` through boto3 clients made with ``options`` (region, endpoint, credentials).

    Errors are botocore's; the caller turns them into a ``RecoveryError``.
    """
    import boto3  # heavy: only a working directory with an interrupted apply needs it

    session = boto3.session.Session()
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, **options)
        return clients[service]

    def search(target: Target) -> list[Existing]:
        finders = {
            "kms_key": _keys,
            "kms_alias": _aliases,
            "role_association": _associations,
            "global_cluster": _global_clusters,
            "endpoint": _endpoints,
            "subnet_group": _subnet_groups,
            "security_group": _security_groups,
            "security_group_rule": _security_group_rules,
            "cluster_parameter_group": _parameter_groups("DBCluster"),
            "parameter_group": _parameter_groups("DB"),
            "secret": _secrets,
            "role": _roles,
        }
        return finders[target.kind](client, target)

    return search


def stand_in_pieces(options: Mapping[str, Any], stand: StandIn, vpc: str | None) -> list[Piece]:
    """Every VPC tagged as ``stand``'s, and the subnets and groups of those and of ``vpc`` (the state's).

    Errors are botocore's; the caller turns them into a ``RecoveryError``.
    """
    import boto3  # heavy: only a working directory with an interrupted apply needs it

    ec2 = boto3.session.Session().client("ec2", **options)
    vpcs = _pages(ec2, "describe_vpcs", "Vpcs", Filters=[{"Name": f"tag:{TAG}", "Values": [stand.tag]}])
    found = [Piece("vpc", v["VpcId"], v["VpcId"], v.get("CidrBlock", ""), tags=_ec2_tags(v)) for v in vpcs]
    ids = sorted({p.id for p in found} | ({vpc} if vpc else set()))
    if not ids:
        return found
    within = [{"Name": "vpc-id", "Values": ids}]
    found += [
        Piece("subnet", s["SubnetId"], s["VpcId"], s.get("CidrBlock", ""), s.get("AvailabilityZone", ""),
              tags=_ec2_tags(s))
        for s in _pages(ec2, "describe_subnets", "Subnets", Filters=within)
    ]  # fmt: skip
    groups = ec2.describe_security_groups(Filters=[*within, {"Name": "group-name", "Values": [stand.clients]}])
    found += [
        Piece("security_group", g["GroupId"], g.get("VpcId", ""), name=g["GroupName"],
              description=g.get("Description", ""), tags=_ec2_tags(g))
        for g in groups["SecurityGroups"]
    ]  # fmt: skip
    return found


def _ec2_tags(item: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in item.get("Tags") or []}


def _pages(client: Any, operation: str, key: str, **arguments: Any) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator(operation).paginate(**arguments) for item in page.get(key) or []]


def _described(client: Any, operation: str, key: str, missing: str, **arguments: Any) -> list[dict[str, Any]]:
    """``client.operation(**arguments)[key]``; none when AWS answers ``missing`` (nothing by that name)."""
    from botocore.exceptions import ClientError

    try:
        return list(getattr(client, operation)(**arguments)[key])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == missing:
            return []
        raise


def _rds_tags(rds: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in rds.list_tags_for_resource(ResourceName=arn).get("TagList") or []}


def _subnet_groups(client: Callable[[str], Any], target: Target) -> list[Existing]:
    rds = client("rds")
    groups = _described(
        rds, "describe_db_subnet_groups", "DBSubnetGroups", "DBSubnetGroupNotFoundFault", DBSubnetGroupName=target.name
    )
    return [
        Existing(g["DBSubnetGroupName"], g["DBSubnetGroupName"], None, _rds_tags(rds, g["DBSubnetGroupArn"]),
                 g.get("DBSubnetGroupDescription"), g.get("VpcId"))
        for g in groups
    ]  # fmt: skip


def _security_groups(client: Callable[[str], Any], target: Target) -> list[Existing]:
    filters = [{"Name": "group-name", "Values": [target.name]}]
    if target.vpc is not None:
        filters.append({"Name": "vpc-id", "Values": [target.vpc]})
    groups = client("ec2").describe_security_groups(Filters=filters)["SecurityGroups"]
    return [
        Existing(g["GroupId"], g["GroupName"], None, {t["Key"]: t.get("Value", "") for t in g.get("Tags") or []},
                 g.get("Description"), g.get("VpcId"))
        for g in groups
    ]  # fmt: skip


def _security_group_rules(client: Callable[[str], Any], target: Target) -> list[Existing]:
    """The rules of the group named ``target.name`` (in its VPC) with the target's direction, peer and port."""
    assert target.rule is not None
    direction, peer, port = target.rule
    ec2 = client("ec2")
    groups = [group.id for group in _security_groups(client, target)]
    if not groups:
        return []
    rules = _pages(ec2, "describe_security_group_rules", "SecurityGroupRules",
                   Filters=[{"Name": "group-id", "Values": groups}])  # fmt: skip
    return [
        Existing(r["SecurityGroupRuleId"], r.get("Description") or "", None,
                 {t["Key"]: t.get("Value", "") for t in r.get("Tags") or []}, r.get("Description"), target.vpc,
                 r.get("GroupId"))
        for r in rules
        if bool(r.get("IsEgress")) == (direction == "egress") and r.get("IpProtocol") == "tcp"
        and r.get("FromPort") == port and r.get("ToPort") == port
        and peer in (r.get("CidrIpv4"), r.get("CidrIpv6"), (r.get("ReferencedGroupInfo") or {}).get("GroupId"))
    ]  # fmt: skip


def _parameter_groups(kind: str) -> Callable[[Callable[[str], Any], Target], list[Existing]]:
    """A finder of the cluster (``kind`` ``DBCluster``) or instance (``DB``) parameter groups named from a prefix."""

    def find(client: Callable[[str], Any], target: Target) -> list[Existing]:
        rds = client("rds")
        groups = _pages(rds, f"describe_{'db_cluster' if kind == 'DBCluster' else 'db'}_parameter_groups",
                        f"{kind}ParameterGroups")  # fmt: skip
        return [
            Existing(name, name, None, _rds_tags(rds, g[f"{kind}ParameterGroupArn"]), g.get("Description"))
            for g in groups
            if named_at(target, name := g[f"{kind}ParameterGroupName"]) is not None
        ]

    return find


def _secrets(client: Callable[[str], Any], target: Target) -> list[Existing]:
    secrets = _pages(client("secretsmanager"), "list_secrets", "SecretList",
                     Filters=[{"Key": "name", "Values": [target.name]}])  # fmt: skip
    return [
        Existing(s["ARN"], s["Name"], _utc(s.get("CreatedDate")), {t["Key"]: t.get("Value", "") for t in s.get("Tags") or []},
                 s.get("Description"))
        for s in secrets
        if named_at(target, s["Name"]) is not None
    ]  # fmt: skip


def _roles(client: Callable[[str], Any], target: Target) -> list[Existing]:
    iam = client("iam")
    found = []
    for role in _pages(iam, "list_roles", "Roles"):
        if named_at(target, name := role["RoleName"]) is None:
            continue
        tags = {t["Key"]: t.get("Value", "") for t in iam.list_role_tags(RoleName=name).get("Tags") or []}
        found.append(Existing(name, name, _utc(role.get("CreateDate")), tags))
    return found


def _keys(client: Callable[[str], Any], target: Target) -> list[Existing]:
    kms = client("kms")
    found = []
    for listed in _pages(kms, "list_keys", "Keys"):
        key = kms.describe_key(KeyId=listed["KeyId"])["KeyMetadata"]
        if key.get("KeyManager") != "CUSTOMER" or key.get("KeyState") != "Enabled":
            continue  # AWS's own keys; a key pending deletion is no one's to adopt
        if key.get("Description") != target.description:
            continue
        tags = {
            t["TagKey"]: t.get("TagValue", "") for t in _pages(kms, "list_resource_tags", "Tags", KeyId=key["KeyId"])
        }
        found.append(Existing(key["KeyId"], key["KeyId"], _utc(key.get("CreationDate")), tags, key.get("Description")))
    return found


def _aliases(client: Callable[[str], Any], target: Target) -> list[Existing]:
    return [
        Existing(a["AliasName"], a["AliasName"], _utc(a.get("CreationDate")), parent=a.get("TargetKeyId"))
        for a in _pages(client("kms"), "list_aliases", "Aliases")
        if a["AliasName"] == target.name
    ]


def _endpoints(client: Callable[[str], Any], target: Target) -> list[Existing]:
    rds = client("rds")
    found = _described(
        rds,
        "describe_db_cluster_endpoints",
        "DBClusterEndpoints",
        "DBClusterEndpointNotFoundFault",
        DBClusterEndpointIdentifier=target.name,
    )
    return [
        Existing(e["DBClusterEndpointIdentifier"], e["DBClusterEndpointIdentifier"],
                 tags=_rds_tags(rds, e["DBClusterEndpointArn"]), cluster=e.get("DBClusterIdentifier"))
        for e in found
        if e.get("EndpointType") == "CUSTOM"
    ]  # fmt: skip


def _associations(client: Callable[[str], Any], target: Target) -> list[Existing]:
    clusters = _described(
        client("rds"),
        "describe_db_clusters",
        "DBClusters",
        "DBClusterNotFoundFault",
        DBClusterIdentifier=target.cluster,
    )
    return [
        Existing(f"{c['DBClusterIdentifier']},{r['RoleArn']}", target.name, cluster=c["DBClusterIdentifier"],
                 parent=r["RoleArn"])
        for c in clusters
        for r in c.get("AssociatedRoles") or []
        if r.get("FeatureName") == target.name
    ]  # fmt: skip


def _global_clusters(client: Callable[[str], Any], target: Target) -> list[Existing]:
    found = _described(
        client("rds"),
        "describe_global_clusters",
        "GlobalClusters",
        "GlobalClusterNotFoundFault",
        GlobalClusterIdentifier=target.name,
    )
    existing = []
    for glob in found:
        if glob["GlobalClusterIdentifier"] != target.name:
            continue  # moto 5.2.5 lists them all
        writers = [m["DBClusterArn"] for m in glob.get("GlobalClusterMembers") or [] if m.get("IsWriter")]
        writer = writers[0].rsplit(":cluster:", 1)[-1] if writers else None
        existing.append(Existing(glob["GlobalClusterIdentifier"], glob["GlobalClusterIdentifier"], cluster=writer))
    return existing


def _utc(when: Any) -> datetime.datetime | None:
    if not isinstance(when, datetime.datetime):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=datetime.UTC)
