"""Bring your own network, end to end: a central team's pieces on the emulator, then tfgen apply.

A platform team made the VPC, subnets, a DB subnet group and a security group with boto3
(as it would in the account); each spec names them. ``tfgen apply --local`` must deploy the
cluster into them, with no stand-in VPC, create none of them, plan clean afterwards, and
leave every one of them intact when ``tfgen destroy`` removes what tfgen made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_deploy import (  # noqa: F401  (shared_dir, deploy_env: fixtures this module uses)
    STATE_FILE,
    V2_SPEC,
    Run,
    aws,
    deploy_env,
    ok,
    shared_dir,
    tfgen,
)
from tfgen.deploy import workdir
from tfgen.spec.loading import load_spec

REGION = "us-east-1"  # examples/local.yaml's
PORT = 5432


@dataclass(frozen=True)
class SharedNetwork:
    """What the central team made."""

    vpc_id: str
    subnet_ids: list[str]
    subnet_group: str
    security_group_id: str


def make_shared_network(url: str, prefix: str) -> SharedNetwork:
    """A VPC, two subnets, a DB subnet group and a "databases" security group, made with boto3."""
    ec2, rds = aws(url, REGION, "ec2"), aws(url, REGION, "rds")
    vpc_id = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.40.{n}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in enumerate("ab")
    ]
    subnet_group = f"{prefix}-shared-subnets"
    rds.create_db_subnet_group(
        DBSubnetGroupName=subnet_group, DBSubnetGroupDescription="central team: data subnets", SubnetIds=subnet_ids
    )
    group_id = ec2.create_security_group(
        GroupName=f"{prefix}-databases", Description="central team: databases", VpcId=vpc_id
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT, "IpRanges": [{"CidrIp": "10.40.0.0/16"}]}
        ],
    )
    return SharedNetwork(vpc_id, subnet_ids, subnet_group, group_id)


def snapshot(url: str, shared: SharedNetwork) -> dict[str, Any]:
    """The shared pieces as AWS describes them (to compare before and after tfgen)."""
    ec2, rds = aws(url, REGION, "ec2"), aws(url, REGION, "rds")
    (group,) = ec2.describe_security_groups(GroupIds=[shared.security_group_id])["SecurityGroups"]
    (subnet_group,) = rds.describe_db_subnet_groups(DBSubnetGroupName=shared.subnet_group)["DBSubnetGroups"]
    return {
        "vpcs": sorted(vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"]),
        "subnets": sorted(s["SubnetId"] for s in ec2.describe_subnets(SubnetIds=shared.subnet_ids)["Subnets"]),
        "group": (group["GroupName"], group["VpcId"], group["IpPermissions"]),
        "subnet_group": (subnet_group["VpcId"], sorted(s["SubnetIdentifier"] for s in subnet_group["Subnets"])),
    }


def write_spec(directory: Path, name: str, **top: Any) -> Path:
    """examples/local.yaml as ``name``, its network replaced by ``top`` (vpc_id, subnet_ids, network)."""
    data = yaml.safe_load(V2_SPEC.read_text(encoding="utf-8"))
    for key in ("vpc_id", "subnet_ids", "network"):
        data.pop(key)
    data.update(name=name, **top)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def deploy_and_destroy(url: str, spec_path: Path, directory: Path, shared: SharedNetwork) -> dict[str, Any]:
    """apply, a clean second plan, destroy: the shared pieces the same throughout. Returns what apply made."""
    spec = load_spec(spec_path).spec
    local = ["--endpoint", url, "--workdir", str(directory)]
    before = snapshot(url, shared)
    apply = ok(tfgen("apply", spec_path, "--auto-approve", *local))
    assert "module.cluster.aws_db_subnet_group" not in apply.out
    assert not (directory / "local_network.tf").exists()
    assert snapshot(url, shared) == before  # no stand-in VPC, nothing of theirs changed

    rds = aws(url, REGION, "rds")
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=spec.name)["DBClusters"]
    assert cluster["DBSubnetGroup"] == shared.subnet_group
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [spec.name]}])["DBInstances"]
    assert [i["DBSubnetGroup"]["DBSubnetGroupName"] for i in instances] == [shared.subnet_group]
    outputs = ok(tfgen("output", spec_path, "--json", *local))
    found = {
        "cluster": cluster,
        "groups": [m["VpcSecurityGroupId"] for m in cluster["VpcSecurityGroups"]],
        "outputs": yaml.safe_load(outputs.out),
    }
    assert found["outputs"]["db_subnet_group_name"] == shared.subnet_group
    assert sorted(found["outputs"]["security_group_ids"]) == sorted(found["groups"])

    again = ok(tfgen("plan", spec_path, *local))
    assert f"{directory}: no changes; the infrastructure matches the spec" in again.out

    destroy: Run = ok(tfgen("destroy", spec_path, "--auto-approve", *local))
    assert "destroy complete: 0 added, 0 changed, " in destroy.out
    assert spec.name not in [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]
    assert snapshot(url, shared) == before  # the shared pieces outlive the cluster
    assert yaml.safe_load((directory / STATE_FILE).read_text(encoding="utf-8"))["resources"] == []
    return found


@pytest.mark.terraform
def test_existing_subnet_group_and_security_group_beside_the_modules_own(
    tmp_path: Path, endpoint: str, plugin_mirror: Path
) -> None:
    shared = make_shared_network(endpoint, "besides")
    network = {
        "db_subnet_group_name": shared.subnet_group,
        "security_group_ids": [shared.security_group_id],
        "allowed_cidr_blocks": ["10.40.0.0/16"],
        "egress": [{"cidr": "10.41.0.0/16", "port": 443, "description": "HTTPS to internal services"}],
    }
    spec_path = write_spec(tmp_path / "specs", "tfgen-besides", vpc_id=shared.vpc_id, network=network)
    assert load_spec(spec_path).spec.subnet_ids is None
    directory = tmp_path / "work"
    ec2 = aws(endpoint, REGION, "ec2")
    found = deploy_and_destroy(endpoint, spec_path, directory, shared)

    # the module's own group was made in the shared VPC, beside the shared one, with its egress rule
    own = found["outputs"]["security_group_id"]
    assert sorted(found["groups"]) == sorted([own, shared.security_group_id])
    assert found["outputs"]["security_group_ids"][0] == own
    # ...and went with the cluster; the shared group stayed
    assert ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [own]}])["SecurityGroups"] == []
    assert ec2.describe_security_groups(GroupIds=[shared.security_group_id])["SecurityGroups"]


@pytest.mark.terraform
def test_only_existing_network_pieces(tmp_path: Path, endpoint: str, plugin_mirror: Path) -> None:
    shared = make_shared_network(endpoint, "only")
    network = {
        "create_security_group": False,
        "security_group_ids": [shared.security_group_id],
        "db_subnet_group_name": shared.subnet_group,
    }
    spec_path = write_spec(tmp_path / "specs", "tfgen-only-shared", network=network)
    spec = load_spec(spec_path).spec
    assert spec.vpc_id is None and spec.subnet_ids is None
    directory = tmp_path / "work"
    plan = ok(tfgen("plan", spec_path, "--endpoint", endpoint, "--workdir", directory))
    assert "aws_security_group" not in plan.out and "aws_db_subnet_group" not in plan.out
    assert "aws_vpc." not in plan.out and "aws_subnet." not in plan.out  # no stand-in network
    record = yaml.safe_load((directory / workdir.TARGET_FILE).read_text(encoding="utf-8"))
    assert record["target"] == "local"

    found = deploy_and_destroy(endpoint, spec_path, directory, shared)
    assert found["groups"] == [shared.security_group_id]
    assert found["outputs"]["security_group_ids"] == [shared.security_group_id]
    assert "security_group_id" not in found["outputs"]
