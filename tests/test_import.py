"""tfgen import, end to end on the emulator: clusters made three ways, taken over by tfgen.

Each cluster is made outside tfgen's working directory (boto3 by hand; the shape
terraform-aws-modules/rds-aurora gives, made with boto3; tfgen itself, its working directory
then dropped, a v2 and a v1 cluster). ``tfgen import`` writes a spec and import blocks; the first plan imports
every existing resource and replaces nothing; apply clears the import blocks; the second
plan is clean.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_deploy import (  # noqa: F401  (shared_dir, deploy_env: fixtures this module uses)
    V2_SPEC,
    Run,
    aws,
    deploy_env,
    derive_spec,
    ok,
    shared_dir,
    tfgen,
)
from tfgen.deploy import imports
from tfgen.spec.loading import load_spec

REGION = "us-east-1"
PORT = 5432


def _network(url: str, cidr: str) -> tuple[str, list[str]]:
    ec2 = aws(url, REGION, "ec2")
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{n}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in enumerate("ab")
    ]
    return vpc, subnets


def make_by_hand(url: str, name: str, *, v1: bool = False) -> None:
    """A cluster made with boto3 as someone would by hand: own names for everything, a few extras."""
    ec2, rds, logs, cloudwatch = (aws(url, REGION, s) for s in ("ec2", "rds", "logs", "cloudwatch"))
    vpc, subnets = _network(url, "10.50" if not v1 else "10.51")
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{name}-subnets", DBSubnetGroupDescription="by hand", SubnetIds=subnets
    )
    group = ec2.create_security_group(GroupName=f"{name}-db", Description="by hand", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT, "IpRanges": [{"CidrIp": "10.50.0.0/16"}]}
        ],
    )
    family = "aurora-postgresql13" if v1 else "aurora-postgresql16"
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName=f"{name}-params", DBParameterGroupFamily=family, Description="by hand"
    )
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName=f"{name}-params",
        Parameters=[
            {"ParameterName": "log_min_duration_statement", "ParameterValue": "500", "ApplyMethod": "immediate"},
            {
                "ParameterName": "idle_in_transaction_session_timeout",
                "ParameterValue": "60000",
                "ApplyMethod": "immediate",
            },
        ],
    )
    log_group = f"/aws/rds/cluster/{name}/postgresql"
    logs.create_log_group(logGroupName=log_group)
    logs.put_retention_policy(logGroupName=log_group, retentionInDays=30)
    common: dict[str, Any] = {
        "DBClusterIdentifier": name,
        "Engine": "aurora-postgresql",
        "MasterUsername": "handadmin",
        "MasterUserPassword": "by-hand-password-1",
        "DatabaseName": "app",
        "DBSubnetGroupName": f"{name}-subnets",
        "VpcSecurityGroupIds": [group],
        "StorageEncrypted": True,
        "DBClusterParameterGroupName": f"{name}-params",
        "BackupRetentionPeriod": 3,
        "Tags": [{"Key": "team", "Value": "by-hand"}],
    }
    if v1:
        rds.create_db_cluster(
            **common,
            EngineVersion="13.12",
            EngineMode="serverless",
            ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 8, "AutoPause": True, "SecondsUntilAutoPause": 600},
        )
    else:
        rds.create_db_cluster(
            **common,
            EngineVersion="16.8",
            ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
            EnableCloudwatchLogsExports=["postgresql"],
        )
        for suffix in "ab":
            rds.create_db_instance(
                DBInstanceIdentifier=f"{name}-{suffix}",
                DBClusterIdentifier=name,
                Engine="aurora-postgresql",
                DBInstanceClass="db.serverless",
            )
    for alarm, metric, statistic, threshold in (
        (f"{name}-high-cpu", "CPUUtilization", "Average", 90),  # named <cluster>-…: adopted as a custom alarm
        (f"ops-{name}-connections", "DatabaseConnections", "Maximum", 500),  # named otherwise: left alone
    ):
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            MetricName=metric,
            Namespace="AWS/RDS",
            Statistic=statistic,
            Period=60,
            EvaluationPeriods=5,
            Threshold=threshold,
            ComparisonOperator="GreaterThanThreshold",
            Dimensions=[{"Name": "DBClusterIdentifier", "Value": name}],
        )


def make_rds_aurora_shape(url: str, name: str) -> None:
    """What terraform-aws-modules/rds-aurora makes for a Serverless v2 PostgreSQL cluster (its defaults).

    Its names and groups: a security group ``<name>-<suffix>`` (name_prefix) described
    "Control traffic to/from RDS Aurora <name>", a DB subnet group ``<name>`` described
    "For Aurora cluster <name>", a cluster parameter group ``<name>-<suffix>`` (name_prefix,
    description "<name> DB cluster parameter group"), instances ``<name>-<key>`` (its
    ``instances`` map: ``one``, ``two``), Performance Insights off, tags on everything.
    """
    ec2, rds = aws(url, REGION, "ec2"), aws(url, REGION, "rds")
    vpc, subnets = _network(url, "10.52")
    tags = [{"Key": "Terraform", "Value": "true"}, {"Key": "Environment", "Value": "dev"}]
    rds.create_db_subnet_group(
        DBSubnetGroupName=name, DBSubnetGroupDescription=f"For Aurora cluster {name}", SubnetIds=subnets, Tags=tags
    )
    group = ec2.create_security_group(
        GroupName=f"{name}-20240101000000000000000001",
        Description=f"Control traffic to/from RDS Aurora {name}",
        VpcId=vpc,
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT, "IpRanges": [{"CidrIp": "10.52.0.0/16"}]}
        ],
    )
    parameters = f"{name}-20240101000000000000000002"
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName=parameters,
        DBParameterGroupFamily="aurora-postgresql16",
        Description=f"{name} DB cluster parameter group",
        Tags=tags,
    )
    rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        EngineMode="provisioned",
        EngineVersion="16.8",
        MasterUsername="root",
        ManageMasterUserPassword=True,
        DatabaseName="example",
        DBSubnetGroupName=name,
        VpcSecurityGroupIds=[group],
        StorageEncrypted=True,
        DBClusterParameterGroupName=parameters,
        BackupRetentionPeriod=7,
        CopyTagsToSnapshot=True,
        ServerlessV2ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 10},
        EnableCloudwatchLogsExports=["postgresql"],
        Tags=tags,
    )
    for key in ("one", "two"):
        rds.create_db_instance(
            DBInstanceIdentifier=f"{name}-{key}",
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            DBInstanceClass="db.serverless",
            Tags=tags,
        )


def import_and_adopt(url: str, name: str, directory: Path) -> dict[str, Any]:
    """import → plan (imports, no replacement) → apply (import blocks cleared) → plan clean. Returns what each said."""
    spec_path = directory / f"{name}.yaml"
    work = directory / "work"
    local = ["--endpoint", url, "--workdir", str(work)]
    rds = aws(url, REGION, "rds")
    (before,) = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
    imported = ok(tfgen("import", name, "--region", REGION, "-o", spec_path, *local))
    blocks = imports.read(work)
    assert [b.address for b in blocks if b.address.endswith("aws_rds_cluster.this")], blocks
    spec = load_spec(spec_path).spec
    assert spec.name == name

    plan = ok(tfgen("plan", spec_path, *local))
    assert f"Plan: {len(blocks)} to import, " in plan.out, plan.out
    assert "replace" not in plan.out and "(delete" not in plan.out, plan.out
    assert "LOSES DATA" not in plan.text, plan.text
    for block in blocks:
        assert f"{block.address} (import" in plan.out, (block.address, plan.out)

    applied = ok(tfgen("apply", spec_path, "--auto-approve", *local))
    assert f"apply complete: {len(blocks)} imported, " in applied.text, applied.text
    assert not (work / imports.IMPORTS_FILE).exists()
    (after,) = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
    assert after["ClusterCreateTime"] == before["ClusterCreateTime"]  # the same cluster, never replaced
    assert after["DbClusterResourceId"] == before["DbClusterResourceId"]

    again = ok(tfgen("plan", spec_path, *local))
    assert "no changes; the infrastructure matches the spec" in again.out, again.out
    return {"import": imported, "plan": plan, "spec": spec, "blocks": blocks, "spec_path": spec_path}


@pytest.mark.terraform
def test_import_a_v2_cluster_made_by_hand(tmp_path: Path, endpoint: str, plugin_mirror: Path) -> None:
    make_by_hand(endpoint, "hand-v2")
    found = import_and_adopt(endpoint, "hand-v2", tmp_path)
    spec = found["spec"]
    # its own network pieces, used as they are
    assert spec.network.create_security_group is False
    assert spec.network.db_subnet_group_name == "hand-v2-subnets"
    assert [o.identifier for o in spec.serverless.instance_overrides] == ["hand-v2-a", "hand-v2-b"]
    assert spec.master_password.source == "write_only"
    assert (spec.slow_query_ms, spec.logs.retention_days, spec.backup_retention_period) == (500, 30, 3)
    assert [c.name for c in spec.alarms.custom] == ["high-cpu"] and spec.alarms.enabled is False
    assert "left alone: alarm ops-hand-v2-connections" in found["import"].out
    text = found["spec_path"].read_text(encoding="utf-8")
    assert "# What the first apply changes:" in text and "master password" in text


@pytest.mark.terraform
def test_import_a_cluster_of_rds_aurora_shape(tmp_path: Path, endpoint: str, plugin_mirror: Path) -> None:
    make_rds_aurora_shape(endpoint, "aurora-shape")
    spec = import_and_adopt(endpoint, "aurora-shape", tmp_path)["spec"]
    assert spec.master_password.source == "rds_managed"  # RDS manages it already: unchanged
    assert spec.network.db_subnet_group_name == "aurora-shape"  # its description is not tfgen's
    assert [o.identifier for o in spec.serverless.instance_overrides] == ["aurora-shape-one", "aurora-shape-two"]
    assert spec.tags == {"Terraform": "true", "Environment": "dev"}


@pytest.mark.terraform
def test_import_a_cluster_tfgen_made_after_its_working_directory_is_lost(
    tmp_path: Path, endpoint: str, plugin_mirror: Path
) -> None:
    made = derive_spec(
        V2_SPEC,
        tmp_path / "made",
        name="made-by-tfgen",
        master_password={"source": "rds_managed"},
        serverless={"min_capacity": 0.5, "max_capacity": 4, "instances": 2},
        network={"allowed_cidr_blocks": ["10.53.0.0/16"], "egress": [{"cidr": "10.54.0.0/16", "port": 443}]},
        parameters=[{"name": "idle_in_transaction_session_timeout", "value": "60000"}],
    )
    first = tmp_path / "first"  # on the emulator: in local_network.tf's stand-in VPC
    ok(tfgen("apply", made, "--auto-approve", "--endpoint", endpoint, "--workdir", first))
    shutil.rmtree(first)  # the state is lost; the cluster is not

    found = import_and_adopt(endpoint, "made-by-tfgen", tmp_path / "again")
    spec = found["spec"]
    addresses = {b.address.removeprefix("module.cluster.") for b in found["blocks"]}
    # everything tfgen made is imported into its own address
    assert {
        "aws_rds_cluster.this",
        "aws_rds_cluster_instance.this[0]",
        "aws_rds_cluster_instance.this[1]",
        "aws_security_group.this",
        'aws_vpc_security_group_ingress_rule.cidr["10.53.0.0/16"]',
        'aws_vpc_security_group_egress_rule.this["10.54.0.0/16 443"]',
        "aws_db_subnet_group.this",
        "aws_rds_cluster_parameter_group.this",
        "aws_cloudwatch_log_group.postgresql",
        'aws_cloudwatch_metric_alarm.builtin["cpu"]',
        "aws_iam_role.monitoring[0]",
    } <= addresses, addresses
    assert spec.network.create_security_group and spec.subnet_ids is not None
    assert spec.serverless.instance_overrides == []
    assert spec.master_password.source == "rds_managed"
    original = yaml.safe_load(made.read_text(encoding="utf-8"))
    assert spec.parameters[0].name == original["parameters"][0]["name"]


@pytest.mark.terraform
def test_import_a_v1_cluster_made_by_hand(tmp_path: Path, endpoint: str, plugin_mirror: Path) -> None:
    make_by_hand(endpoint, "hand-v1", v1=True)
    spec = import_and_adopt(endpoint, "hand-v1", tmp_path)["spec"]
    assert spec.serverless.version == "v1"
    assert (spec.serverless.min_capacity, spec.serverless.max_capacity) == (2, 8)
    assert spec.master_password.source == "write_only"


@pytest.mark.terraform
def test_import_a_v1_cluster_tfgen_made_after_its_working_directory_is_lost(
    tmp_path: Path, endpoint: str, plugin_mirror: Path
) -> None:
    from tests.test_signals import v1_spec

    made = v1_spec(tmp_path / "made", "made-v1")
    data = yaml.safe_load(made.read_text(encoding="utf-8"))
    made.write_text(yaml.safe_dump({**data, "region": REGION}, sort_keys=False), encoding="utf-8")
    first = tmp_path / "first"
    ok(tfgen("apply", made, "--auto-approve", "--endpoint", endpoint, "--workdir", first))
    shutil.rmtree(first)  # the state is lost; the cluster is not

    found = import_and_adopt(endpoint, "made-v1", tmp_path / "again")
    spec, original = found["spec"], load_spec(made).spec
    assert spec.serverless.version == "v1"
    assert (spec.serverless.min_capacity, spec.serverless.max_capacity) == (
        original.serverless.min_capacity,
        original.serverless.max_capacity,
    )
    addresses = {b.address.removeprefix("module.cluster.") for b in found["blocks"]}
    assert {"aws_rds_cluster.this", "aws_security_group.this", "aws_db_subnet_group.this"} <= addresses, addresses
    assert not any(a.startswith("aws_rds_cluster_instance.") for a in addresses)  # v1 has no instances


def _import(url: str, name: str, directory: Path) -> Run:
    return tfgen(
        "import",
        name,
        "--region",
        REGION,
        "-o",
        directory / "out.yaml",
        "--endpoint",
        url,
        "--workdir",
        directory / "w",
    )


def test_import_refuses_what_a_spec_cannot_express(tmp_path: Path, endpoint: str) -> None:
    rds = aws(endpoint, REGION, "rds")
    base: dict[str, Any] = {"MasterUsername": "admin1", "MasterUserPassword": "password-1234", "StorageEncrypted": True}
    rds.create_db_cluster(DBClusterIdentifier="mysql-one", Engine="aurora-mysql", **base)
    rds.create_db_cluster(
        DBClusterIdentifier="multi-az",
        Engine="postgres",
        DBClusterInstanceClass="db.m6gd.large",
        StorageType="io1",
        AllocatedStorage=100,
        Iops=1000,
        **base,
    )
    rds.create_db_cluster(DBClusterIdentifier="provisioned", Engine="aurora-postgresql", EngineVersion="16.8", **base)
    rds.create_db_cluster(
        DBClusterIdentifier="mixed",
        Engine="aurora-postgresql",
        EngineVersion="16.8",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
        DatabaseName="app",
        **base,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="mixed-big",
        DBClusterIdentifier="mixed",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    rds.create_global_cluster(GlobalClusterIdentifier="world", Engine="aurora-postgresql", EngineVersion="16.8")
    rds.create_db_cluster(
        DBClusterIdentifier="member",
        Engine="aurora-postgresql",
        EngineVersion="16.8",
        GlobalClusterIdentifier="world",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
        **base,
    )
    expected = {
        "mysql-one": "runs engine aurora-mysql",
        "multi-az": "is a Multi-AZ DB cluster",
        "provisioned": "is a provisioned Aurora cluster",
        "mixed": "has provisioned (non-serverless) instances: mixed-big (db.r6g.large)",
        "member": "is a member of global cluster world",
        "missing": "no DB cluster missing in us-east-1",
    }
    for name, reason in expected.items():
        run = _import(endpoint, name, tmp_path / name)
        assert run.code != 0 and reason in run.err, (name, str(run))
        assert "Traceback" not in run.text
        assert not (tmp_path / name / "out.yaml").exists()
        assert not (tmp_path / name / "w").exists()


def test_import_never_overwrites_a_spec_without_force(tmp_path: Path, endpoint: str) -> None:
    out = tmp_path / "out.yaml"
    out.write_text("mine\n", encoding="utf-8")
    run = _import(endpoint, "whatever", tmp_path)
    assert run.code == 2 and "already exists; not overwriting it" in run.err, str(run)
    assert out.read_text(encoding="utf-8") == "mine\n"
