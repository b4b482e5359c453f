"""Tests of tfgen.emulator: the provider override, moto's fixes, the servers.

Every server a test starts, the test stops (fixtures with ``finally``/``yield``).
The terraform tests need ``terraform`` on PATH and the offline provider mirror in
``TFGEN_PLUGIN_MIRROR``; they skip without them, or fail when
``TFGEN_REQUIRE_TERRAFORM`` is set (CI).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tfgen import facts
from tfgen.emulator import background
from tfgen.emulator.background import EmulatorInfo, start_background, state_path, status, stop_background
from tfgen.emulator.endpoint import health, post, reset
from tfgen.emulator.fixes import apply_moto_fixes
from tfgen.emulator.provider import AWS_SERVICES, OVERRIDE_FILENAME, provider_override, write_provider_override
from tfgen.emulator.server import Emulator, running_emulator
from tfgen.errors import EmulatorError
from tfgen.facts import aws_refusal

REGION = "eu-west-1"


# ----------------------------------------------------------------------------- helpers


def _require(reason: str) -> None:
    """Skip, or fail in CI (TFGEN_REQUIRE_TERRAFORM), when a prerequisite is missing."""
    if os.environ.get("TFGEN_REQUIRE_TERRAFORM"):
        pytest.fail(f"{reason} (TFGEN_REQUIRE_TERRAFORM is set, so this is not skipped)")
    pytest.skip(reason)


def _terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        _require("terraform is not on PATH")
    assert path is not None
    return path


def _mirror() -> Path:
    value = os.environ.get("TFGEN_PLUGIN_MIRROR")
    if not value:
        _require("TFGEN_PLUGIN_MIRROR is not set: no offline provider mirror for terraform init")
    mirror = Path(str(value))
    if not (mirror / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        _require(f"TFGEN_PLUGIN_MIRROR={mirror} holds no registry.terraform.io/hashicorp/aws")
    return mirror


def _terraform_env(tmp_path: Path, mirror: Path | None = None) -> dict[str, str]:
    """An environment isolating terraform from the user's HOME, config and AWS setup."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    cli_config = home / "tfgen.tfrc"
    if mirror is not None:
        cli_config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
    else:
        cli_config.write_text("")
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(
        HOME=str(home),
        TF_CLI_CONFIG_FILE=str(cli_config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
    )
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_tfgen/health", timeout=5) as response:
        doc: dict[str, Any] = json.loads(response.read())
    return doc


def _accepts_connections(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _plain(value: Any) -> Any:
    """python-hcl2 output without its quotes around strings and block markers."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rds(url: str) -> Any:
    import boto3

    return boto3.client(
        "rds", endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


def _rds_in(url: str, region: str) -> Any:
    import boto3

    return boto3.client(
        "rds", endpoint_url=url, region_name=region, aws_access_key_id="test", aws_secret_access_key="test"
    )


def _ec2(url: str) -> Any:
    import boto3

    return boto3.client(
        "ec2", endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


def _create_clusters(url: str) -> dict[str, dict[str, Any]]:
    """Create a Serverless v2 and a v1 cluster; their DescribeDBClusters entries by mode."""
    rds = _rds(url)
    rds.create_db_cluster(
        DBClusterIdentifier="v2",
        Engine="aurora-postgresql",
        EngineMode="provisioned",
        EngineVersion="16.6",
        MasterUsername="app_admin",
        ManageMasterUserPassword=True,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 4, "SecondsUntilAutoPause": 300},
    )
    rds.create_db_cluster(
        DBClusterIdentifier="v1",
        Engine="aurora-postgresql",
        EngineMode="serverless",
        EngineVersion="13.12",
        MasterUsername="app_admin",
        MasterUserPassword="not-a-real-password",
        ScalingConfiguration={
            "MinCapacity": 2,
            "MaxCapacity": 16,
            "AutoPause": True,
            "SecondsUntilAutoPause": 300,
            "TimeoutAction": "RollbackCapacityChange",
        },
    )
    return {c["EngineMode"]: c for c in rds.describe_db_clusters()["DBClusters"]}


def _sg_reference_rule_description(url: str) -> str | None:
    """Create an ingress rule referencing another group; the description AWS would echo."""
    ec2 = _ec2(url)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    db = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    app = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=db,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": app, "Description": "from the app"}],
            }
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [db]}])
    [rule] = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
    description: str | None = rule.get("Description")
    return description


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture
def local_url() -> Iterator[str]:
    """An in-process emulator (fixes applied), stopped after the test."""
    with Emulator() as url:
        yield url


@pytest.fixture
def raw_moto_url(tmp_path: Path) -> Iterator[str]:
    """A separate ``python -m tfgen.emulator.server serve --no-fixes`` process: moto as shipped."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "tfgen.emulator.server", "serve", "--port", str(port), "--no-fixes"]
    with (tmp_path / "raw-moto.log").open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"raw moto server exited: {(tmp_path / 'raw-moto.log').read_text()}"
            try:
                if _health(url)["pid"] == proc.pid:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "raw moto server did not answer in 30s"
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def base_dir(tmp_path: Path) -> Iterator[Path]:
    """A base directory whose background emulator, if a test starts one, is stopped."""
    base = tmp_path / "project"
    base.mkdir()
    try:
        yield base
    finally:
        info = background._read_state(state_path(base))
        if (
            info is not None
            and _pid_alive(info.pid)
            and "tfgen.emulator.server" in (background._cmdline(info.pid) or "")
        ):
            stop_background(base)


# ---------------------------------------------------------------------- provider override


def test_override_sets_dummy_credentials_and_every_endpoint() -> None:
    url = "http://127.0.0.1:4566"
    text = provider_override(url + "/", REGION)

    doc = hcl2.loads(text)
    [provider] = doc["provider"]
    aws = _plain(provider)["aws"]
    assert aws["region"] == REGION
    assert aws["access_key"] == "test"
    assert aws["secret_key"] == "test"
    for flag in ("skip_credentials_validation", "skip_metadata_api_check", "s3_use_path_style"):
        assert aws[flag] is True, flag
    [endpoints] = aws["endpoints"]
    assert set(endpoints) == set(AWS_SERVICES)
    assert all(value == url for value in endpoints.values()), "trailing slash is dropped"


def test_aws_services_cover_the_module() -> None:
    expected = {"rds", "ec2", "cloudwatch", "secretsmanager", "kms", "iam", "sts", "logs", "s3", "sns", "backup"}
    assert expected <= set(AWS_SERVICES)
    assert len(set(AWS_SERVICES)) == len(AWS_SERVICES)


@pytest.mark.parametrize(
    ("endpoint", "region"),
    [
        ("127.0.0.1:5000", REGION),
        ("ftp://127.0.0.1:5000", REGION),
        ('http://127.0.0.1:5000"}', REGION),
        ("http://127.0.0.1:${var.port}", REGION),
        ("http://127.0.0.1:5000", "Europe"),
        ("http://127.0.0.1:5000", 'eu-west-1"'),
    ],
)
def test_override_rejects_what_is_not_a_url_or_region(endpoint: str, region: str) -> None:
    with pytest.raises(EmulatorError):
        provider_override(endpoint, region)


def test_write_provider_override(tmp_path: Path) -> None:
    path = write_provider_override(tmp_path, "http://127.0.0.1:5000", REGION)
    assert path == tmp_path / OVERRIDE_FILENAME
    assert path.name.endswith("_override.tf"), "terraform only merges *_override.tf files as overrides"
    assert path.read_text() == provider_override("http://127.0.0.1:5000", REGION)


@pytest.mark.terraform
def test_override_is_terraform_fmt_clean(tmp_path: Path) -> None:
    terraform = _terraform()
    (tmp_path / OVERRIDE_FILENAME).write_text(provider_override("http://127.0.0.1:45678", "us-east-1"))
    result = _run(
        [terraform, "fmt", "-check", "-diff", "-no-color", OVERRIDE_FILENAME], tmp_path, _terraform_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.terraform
def test_aws_services_are_endpoints_of_the_pinned_provider(tmp_path: Path) -> None:
    terraform, mirror = _terraform(), _mirror()
    env = _terraform_env(tmp_path, mirror)
    (tmp_path / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
        '      version = "5.100.0"\n    }\n  }\n}\n'
    )
    init = _run([terraform, "init", "-backend=false", "-no-color"], tmp_path, env)
    assert init.returncode == 0, init.stdout + init.stderr
    schema = _run([terraform, "providers", "schema", "-json"], tmp_path, env)
    assert schema.returncode == 0, schema.stderr
    [provider] = json.loads(schema.stdout)["provider_schemas"].values()
    arguments = provider["provider"]["block"]["block_types"]["endpoints"]["block"]["attributes"]
    assert set(AWS_SERVICES) <= set(arguments), set(AWS_SERVICES) - set(arguments)


# ---------------------------------------------------------------------------- moto fixes


def test_apply_moto_fixes_is_idempotent() -> None:
    from moto.rds.models import DBCluster

    first = apply_moto_fixes()
    getter = DBCluster.__dict__["scaling_configuration_info"].fget
    assert apply_moto_fixes() == first
    assert DBCluster.__dict__["scaling_configuration_info"].fget is getter, "patched twice"
    assert first == (
        "rds-scaling-configuration-info",
        "rds-modify-iam-database-authentication",
        "ec2-security-group-rule-description",
        "rds-delete-automated-cluster-snapshots",
        "rds-managed-secret-credentials",
        "rds-aurora-storage-type",
        "rds-parameter-source-user",
        "rds-instance-subnet-group-of-cluster",
        "rds-managed-password-kept",
        "secretsmanager-cancel-managed-rotation",
        "rds-strict-create-db-cluster",
        "rds-strict-create-db-instance",
        "rds-strict-modify-db-cluster",
        "rds-strict-create-db-subnet-group",
        "appautoscaling-tags",
        "rds-performance-insights",
        "rds-performance-insights-kms-key",
        "rds-remove-role-from-db-cluster",
        "rds-cluster-endpoints",
        "rds-global-members-in-any-region",
        "iam-aws-managed-policies",
    )


@pytest.mark.parametrize("storage_type", ["aurora", "aurora-iopt1"])
def test_aurora_storage_types_are_accepted(local_url: str, storage_type: str) -> None:
    import boto3

    rds = boto3.client(
        "rds", region_name="us-east-1", endpoint_url=local_url, aws_access_key_id="test", aws_secret_access_key="test"
    )
    identifier = f"storage-{storage_type}"
    rds.create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        EngineVersion="16.6",
        MasterUsername="dbadmin",
        MasterUserPassword="a-long-enough-password",
        StorageType=storage_type,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 2},
    )
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    assert cluster["StorageType"] == storage_type


def test_a_modified_iam_authentication_flag_is_reported(local_url: str) -> None:
    """moto stores the modified flag apart from the one it reports; the fix reports it (as AWS applies it)."""
    import boto3

    rds = boto3.client(
        "rds", endpoint_url=local_url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    rds.create_db_cluster(
        DBClusterIdentifier="iam-auth", Engine="aurora-postgresql", MasterUsername="x", MasterUserPassword="password1"
    )
    for flag in (True, False):
        rds.modify_db_cluster(
            DBClusterIdentifier="iam-auth", EnableIAMDatabaseAuthentication=flag, ApplyImmediately=True
        )
        described = rds.describe_db_clusters(DBClusterIdentifier="iam-auth")["DBClusters"][0]
        assert described["IAMDatabaseAuthenticationEnabled"] is flag
    rds.delete_db_cluster(DBClusterIdentifier="iam-auth", SkipFinalSnapshot=True)


def test_performance_insights_flag_is_kept(local_url: str) -> None:
    import boto3

    rds = boto3.client(
        "rds", region_name="us-east-1", endpoint_url=local_url, aws_access_key_id="test", aws_secret_access_key="test"
    )
    rds.create_db_cluster(
        DBClusterIdentifier="pi-cluster",
        Engine="aurora-postgresql",
        EngineMode="provisioned",
        MasterUsername="admin_user",
        MasterUserPassword="password-123456",
        EnablePerformanceInsights=True,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="pi-instance",
        DBClusterIdentifier="pi-cluster",
        DBInstanceClass="db.serverless",
        Engine="aurora-postgresql",
        EnablePerformanceInsights=True,
    )
    cluster = rds.describe_db_clusters(DBClusterIdentifier="pi-cluster")["DBClusters"][0]
    instance = rds.describe_db_instances(DBInstanceIdentifier="pi-instance")["DBInstances"][0]
    assert cluster["PerformanceInsightsEnabled"] is True
    assert instance["PerformanceInsightsEnabled"] is True
    rds.modify_db_cluster(DBClusterIdentifier="pi-cluster", EnablePerformanceInsights=False, ApplyImmediately=True)
    cluster = rds.describe_db_clusters(DBClusterIdentifier="pi-cluster")["DBClusters"][0]
    assert cluster["PerformanceInsightsEnabled"] is False


def test_aws_managed_policies_exist_in_the_emulator(local_url: str) -> None:
    import boto3

    iam = boto3.client(
        "iam", region_name="us-east-1", endpoint_url=local_url, aws_access_key_id="test", aws_secret_access_key="test"
    )
    arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn


def test_moto_fix_scaling_configuration_info_is_in_force(local_url: str) -> None:
    clusters = _create_clusters(local_url)
    assert "ScalingConfigurationInfo" not in clusters["provisioned"], (
        "a Serverless v2 (provisioned) cluster must have no ScalingConfigurationInfo, as in AWS"
    )
    assert clusters["provisioned"]["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 4
    assert clusters["serverless"]["ScalingConfigurationInfo"] == {
        "MinCapacity": 2,
        "MaxCapacity": 16,
        "AutoPause": True,
        "SecondsUntilAutoPause": 300,
        "TimeoutAction": "RollbackCapacityChange",
    }


def _scalable_target_tags(url: str) -> Any:
    import boto3

    client = boto3.client(
        "application-autoscaling",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    arn = client.register_scalable_target(
        ServiceNamespace="rds",
        ResourceId="cluster:tagged",
        ScalableDimension="rds:cluster:ReadReplicaCount",
        MinCapacity=0,
        MaxCapacity=2,
    )["ScalableTargetARN"]
    client.tag_resource(ResourceARN=arn, Tags={"team": "reads", "tier": "db"})
    client.untag_resource(ResourceARN=arn, TagKeys=["tier"])
    return client.list_tags_for_resource(ResourceARN=arn)["Tags"]


def test_moto_fix_appautoscaling_tags_is_in_force(local_url: str) -> None:
    assert _scalable_target_tags(local_url) == {"team": "reads"}


def test_moto_fix_security_group_rule_description_is_in_force(local_url: str) -> None:
    assert _sg_reference_rule_description(local_url) == "from the app"


def _instance_subnet_group(url: str) -> str | None:
    """The DB subnet group DescribeDBInstances names for an instance created without one in a cluster with one."""
    import boto3

    rds, ec2 = (
        _rds(url),
        boto3.client(
            "ec2", region_name=REGION, endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test"
        ),
    )
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.60.{n}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for n, z in enumerate("ab")
    ]
    rds.create_db_subnet_group(DBSubnetGroupName="inherited", DBSubnetGroupDescription="x", SubnetIds=subnets)
    _v2_cluster(rds, identifier="inherits", DBSubnetGroupName="inherited")
    rds.create_db_instance(
        DBInstanceIdentifier="inherits-1",
        DBClusterIdentifier="inherits",
        DBInstanceClass="db.serverless",
        Engine="aurora-postgresql",
    )
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier="inherits-1")["DBInstances"]
    return (instance.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")


def test_moto_fix_instance_subnet_group_of_cluster_is_in_force(local_url: str) -> None:
    assert _instance_subnet_group(local_url) == "inherited"


def _managed_cluster(rds: Any, name: str) -> dict[str, Any]:
    """A Serverless v2 cluster whose master password RDS manages (a secret ``rds!cluster-…``)."""
    created: dict[str, Any] = rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        EngineVersion="16.6",
        MasterUsername="app_admin",
        ManageMasterUserPassword=True,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
    )["DBCluster"]
    return created


def _secret_after_managing_again(url: str) -> tuple[str, str]:
    """The managed secret's ARN before and after a ModifyDBCluster that asks RDS to manage the password again."""
    rds = _rds(url)
    _managed_cluster(rds, "managed-again")

    def arn() -> str:
        (cluster,) = rds.describe_db_clusters(DBClusterIdentifier="managed-again")["DBClusters"]
        return str(cluster["MasterUserSecret"]["SecretArn"])

    before = arn()
    rds.modify_db_cluster(DBClusterIdentifier="managed-again", ManageMasterUserPassword=True, ApplyImmediately=True)
    return before, arn()


def test_moto_fix_managed_password_kept_is_in_force(local_url: str) -> None:
    before, after = _secret_after_managing_again(local_url)
    assert after == before


def _cancel_managed_rotation(url: str) -> bool:
    """RotationEnabled of an RDS-managed secret after RotateSecret (rules only) and CancelRotateSecret.

    Raises:
        ClientError: If CancelRotateSecret is refused (moto asks for a Lambda ARN).
    """
    import boto3

    arn = _managed_cluster(_rds(url), "rotated")["MasterUserSecret"]["SecretArn"]
    sm = boto3.client(
        "secretsmanager", endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )
    sm.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    sm.cancel_rotate_secret(SecretId=arn)
    return bool(sm.describe_secret(SecretId=arn).get("RotationEnabled"))


def test_moto_fix_cancel_managed_rotation_is_in_force(local_url: str) -> None:
    assert _cancel_managed_rotation(local_url) is False


def test_moto_still_has_the_gaps_the_fixes_correct(raw_moto_url: str) -> None:
    """Fails when a newer moto no longer needs a fix: then delete it from apply_moto_fixes."""
    import moto

    clusters = _create_clusters(raw_moto_url)
    assert "ScalingConfigurationInfo" in clusters["provisioned"], (
        f"moto {moto.__version__} no longer returns ScalingConfigurationInfo for a provisioned "
        "cluster: the rds-scaling-configuration-info fix in tfgen.emulator.fixes.apply_moto_fixes is "
        "unnecessary; remove it"
    )
    rds = _rds(raw_moto_url)
    _v2_cluster(rds, version="16.0")  # the strict rules: moto takes a retired version
    assert rds.describe_db_clusters(DBClusterIdentifier="strict")["DBClusters"][0]["EngineVersion"] == "16.0", (
        f"moto {moto.__version__} now refuses what tfgen.emulator.strict refuses: review its rules"
    )
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):  # NotImplementedError: an HTTP 500
        _scalable_target_tags(raw_moto_url)
    assert _sg_reference_rule_description(raw_moto_url) is None, (
        f"moto {moto.__version__} now returns the description of a rule referencing a security "
        "group: the ec2-security-group-rule-description fix in tfgen.emulator.fixes.apply_moto_fixes is "
        "unnecessary; remove it"
    )
    assert "Source" not in _user_parameter(raw_moto_url), (
        f"moto {moto.__version__} now returns the Source of a parameter the user set: the "
        "rds-parameter-source-user fix in tfgen.emulator.fixes.apply_moto_fixes is unnecessary; remove it"
    )
    assert _instance_subnet_group(raw_moto_url) is None, (
        f"moto {moto.__version__} now puts an instance in its cluster's DB subnet group: the "
        "rds-instance-subnet-group-of-cluster fix in tfgen.emulator.fixes.apply_moto_fixes is unnecessary; remove it"
    )
    _subnet_group(raw_moto_url)
    _subnet_group(raw_moto_url)  # moto replaces the group: strict mode refuses, as AWS does
    with pytest.raises(ClientError, match="Lambda function ARN"):
        _cancel_managed_rotation(raw_moto_url)  # else: the secretsmanager-cancel-managed-rotation fix is unnecessary
    before, after = _secret_after_managing_again(raw_moto_url)
    assert after != before, (
        f"moto {moto.__version__} now keeps a managed secret: the rds-managed-password-kept fix in "
        "tfgen.emulator.fixes.apply_moto_fixes is unnecessary; remove it"
    )
    from botocore.parsers import ResponseParserError

    rds = _rds(raw_moto_url)
    for call in (
        lambda: rds.remove_role_from_db_cluster(DBClusterIdentifier="strict", RoleArn=ROLE_ARN),
        lambda: rds.describe_db_cluster_endpoints(DBClusterIdentifier="strict"),
    ):
        with pytest.raises((ClientError, ResponseParserError)):  # an HTTP 500: tfgen.emulator.rds_actions adds them
            call()


ROLE_ARN = "arn:aws:iam::123456789012:role/importer"


def test_moto_fix_performance_insights_kms_key_is_in_force(local_url: str) -> None:
    """An instance's Performance Insights key reads back (the module's own key, with create_kms_key)."""
    rds = _rds(local_url)
    _v2_cluster(rds, identifier="insights")
    key = "arn:aws:kms:us-east-1:123456789012:key/insights"
    _v2_instance(rds, "insights", 1, EnablePerformanceInsights=True, PerformanceInsightsKMSKeyId=key)
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier="insights-1")["DBInstances"]
    assert (instance["PerformanceInsightsEnabled"], instance["PerformanceInsightsKMSKeyId"]) == (True, key)


def test_moto_fix_global_members_leave_from_any_region(local_url: str) -> None:
    """A secondary in us-west-2 leaves its global cluster (RemoveFromGlobalCluster, then DeleteDBCluster)."""
    east, west = _rds(local_url), _rds_in(local_url, "us-west-2")
    east.create_global_cluster(GlobalClusterIdentifier="world", Engine="aurora-postgresql", EngineVersion="16.6")
    _v2_cluster(east, identifier="first", GlobalClusterIdentifier="world")
    secondary = west.create_db_cluster(
        DBClusterIdentifier="second",
        Engine="aurora-postgresql",
        EngineVersion="16.6",
        GlobalClusterIdentifier="world",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
    )["DBCluster"]
    (found,) = west.describe_global_clusters(GlobalClusterIdentifier="world")["GlobalClusters"]
    assert [member["IsWriter"] for member in found["GlobalClusterMembers"]] == [True, False]
    west.remove_from_global_cluster(GlobalClusterIdentifier="world", DbClusterIdentifier=secondary["DBClusterArn"])
    west.delete_db_cluster(DBClusterIdentifier="second", SkipFinalSnapshot=True)
    (found,) = east.describe_global_clusters(GlobalClusterIdentifier="world")["GlobalClusters"]
    assert [member["IsWriter"] for member in found["GlobalClusterMembers"]] == [True]
    east.delete_db_cluster(DBClusterIdentifier="first", SkipFinalSnapshot=True)
    east.delete_global_cluster(GlobalClusterIdentifier="world")
    assert east.describe_global_clusters()["GlobalClusters"] == []


def test_moto_fix_remove_role_from_db_cluster_is_in_force(local_url: str) -> None:
    """RemoveRoleFromDBCluster: the association goes; a second removal is DBClusterRoleNotFound (AWS's 404)."""
    rds = _rds(local_url)
    _v2_cluster(rds, identifier="roles")
    rds.add_role_to_db_cluster(DBClusterIdentifier="roles", RoleArn=ROLE_ARN, FeatureName="s3Import")
    rds.remove_role_from_db_cluster(DBClusterIdentifier="roles", RoleArn=ROLE_ARN, FeatureName="s3Import")
    assert rds.describe_db_clusters(DBClusterIdentifier="roles")["DBClusters"][0]["AssociatedRoles"] == []
    code, _ = _error(rds.remove_role_from_db_cluster, DBClusterIdentifier="roles", RoleArn=ROLE_ARN)
    assert code == "DBClusterRoleNotFound"
    code, _ = _error(rds.remove_role_from_db_cluster, DBClusterIdentifier="nowhere", RoleArn=ROLE_ARN)
    assert code == "DBClusterNotFoundFault"


def test_moto_fix_cluster_endpoints_are_in_force(local_url: str) -> None:
    """Custom endpoints: created, read, tagged, modified and deleted as the aws provider calls them."""
    rds = _rds(local_url)
    cluster = _v2_cluster(rds, identifier="ends")
    for n in (1, 2):
        _v2_instance(rds, "ends", n)
    created = rds.create_db_cluster_endpoint(
        DBClusterIdentifier="ends",
        DBClusterEndpointIdentifier="ends-reporting",
        EndpointType="READER",
        ExcludedMembers=["ends-1"],
        Tags=[{"Key": "team", "Value": "reads"}],
    )
    assert (created["Status"], created["EndpointType"], created["CustomEndpointType"]) == (
        "available",
        "CUSTOM",
        "READER",
    )
    assert created["Endpoint"].startswith("ends-reporting.cluster-custom-")
    assert created["Endpoint"].split(".", 1)[1] == cluster["Endpoint"].split(".", 1)[1].replace(
        "cluster-", "cluster-custom-"
    )
    arn = created["DBClusterEndpointArn"]
    assert rds.list_tags_for_resource(ResourceName=arn)["TagList"] == [{"Key": "team", "Value": "reads"}]
    (found,) = rds.describe_db_cluster_endpoints(DBClusterIdentifier="ends")["DBClusterEndpoints"]
    assert found["ExcludedMembers"] == ["ends-1"] and found["StaticMembers"] == []
    code, _ = _error(
        rds.create_db_cluster_endpoint,
        DBClusterIdentifier="ends",
        DBClusterEndpointIdentifier="ends-reporting",
        EndpointType="ANY",
    )
    assert code == "DBClusterEndpointAlreadyExistsFault"
    code, _ = _error(
        rds.create_db_cluster_endpoint,
        DBClusterIdentifier="ends",
        DBClusterEndpointIdentifier="ends-other",
        EndpointType="ANY",
        StaticMembers=["elsewhere-1"],
    )
    assert code == "DBInstanceNotFound"
    modified = rds.modify_db_cluster_endpoint(
        DBClusterEndpointIdentifier="ends-reporting", EndpointType="ANY", StaticMembers=["ends-2"], ExcludedMembers=[]
    )
    assert (modified["CustomEndpointType"], modified["StaticMembers"], modified["ExcludedMembers"]) == (
        "ANY",
        ["ends-2"],
        [],
    )
    assert rds.delete_db_cluster_endpoint(DBClusterEndpointIdentifier="ends-reporting")["Status"] == "deleting"
    assert rds.describe_db_cluster_endpoints(DBClusterEndpointIdentifier="ends-reporting")["DBClusterEndpoints"] == []
    code, _ = _error(rds.delete_db_cluster_endpoint, DBClusterEndpointIdentifier="ends-reporting")
    assert code == "DBClusterEndpointNotFoundFault"


def _user_parameter(url: str) -> dict[str, Any]:
    """The parameter set in a new DB parameter group, as DescribeDBParameters returns it."""
    rds = _rds(url)
    rds.create_db_parameter_group(
        DBParameterGroupName="own", DBParameterGroupFamily="aurora-postgresql17", Description="instances"
    )
    setting = {"ParameterName": "log_temp_files", "ParameterValue": "0", "ApplyMethod": "immediate"}
    rds.modify_db_parameter_group(DBParameterGroupName="own", Parameters=[setting])
    (found,) = rds.describe_db_parameters(DBParameterGroupName="own")["Parameters"]
    return dict(found)


def _subnet_group(url: str, name: str = "twice") -> Any:
    """CreateDBSubnetGroup ``name`` over two subnets of a new VPC."""
    ec2 = _ec2(url)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for n, z in enumerate("ab")
    ]
    return _rds(url).create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="d", SubnetIds=subnets)


def test_strict_create_refuses_a_subnet_group_name_in_use(local_url: str) -> None:
    _subnet_group(local_url, "in-use")
    code, message = _error(_subnet_group, url=local_url, name="in-use")
    assert code == "DBSubnetGroupAlreadyExists"
    assert "in-use" in message


def test_a_repeated_create_of_a_name_in_use_is_refused_as_aws_refuses_it(local_url: str) -> None:
    """What recovery after an interrupted apply relies on: a name in use is refused, never replaced."""
    import boto3

    options = {"endpoint_url": local_url, "region_name": REGION, "aws_access_key_id": "t", "aws_secret_access_key": "t"}
    ec2, kms, secrets = (boto3.client(name, **options) for name in ("ec2", "kms", "secretsmanager"))  # type: ignore[call-overload]
    rds = _rds(local_url)
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    family = {"DBParameterGroupFamily": "aurora-postgresql16", "Description": "d"}
    calls = {
        "InvalidGroup.Duplicate": lambda: ec2.create_security_group(GroupName="twice", Description="d", VpcId=vpc),
        "DBParameterGroupAlreadyExists": lambda: rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName="twice", **family
        ),
        "ResourceExistsException": lambda: secrets.create_secret(Name="twice"),
        "AlreadyExistsException": lambda: kms.create_alias(AliasName="alias/twice", TargetKeyId=key),
    }
    for code, call in calls.items():
        call()
        assert _error(call)[0] == code
    rds.create_db_parameter_group(DBParameterGroupName="twice", **family)
    assert _error(rds.create_db_parameter_group, DBParameterGroupName="twice", **family)[0] == (
        "DBParameterGroupAlreadyExists"
    )
    facts = [aws_refusal(name, group="x").code for name in ("security_group_exists", "parameter_group_exists")]
    facts += [aws_refusal(name, group="x").code for name in ("secret_exists", "alias_exists")]
    assert facts == list(calls)  # the codes tfgen.facts records


def test_moto_fix_parameter_source_is_in_force(local_url: str) -> None:
    assert _user_parameter(local_url)["Source"] == "user"


# ------------------------------------------------------------------------- strict mode


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    """(code, message) of the AWS error ``call(**kwargs)`` answers with; fails if it succeeds."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def _v2_instance(rds: Any, cluster: str, number: int, **changes: Any) -> Any:
    """Instance ``<cluster>-<number>``, db.serverless, of a cluster :func:`_v2_cluster` made."""
    return rds.create_db_instance(
        DBInstanceIdentifier=f"{cluster}-{number}",
        DBClusterIdentifier=cluster,
        DBInstanceClass="db.serverless",
        Engine="aurora-postgresql",
        **changes,
    )["DBInstance"]


def _v2_cluster(rds: Any, identifier: str = "strict", version: str | None = "16.6", **changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "DBClusterIdentifier": identifier,
        "Engine": "aurora-postgresql",
        "MasterUsername": "app_admin",
        "MasterUserPassword": "not-a-real-password",
        "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 4},
        **changes,
    }
    if version is not None:
        arguments["EngineVersion"] = version
    return rds.create_db_cluster(**arguments)["DBCluster"]


@pytest.mark.parametrize(
    ("version", "why"),
    [("12.7", "a major tfgen.facts does not know"), ("16.0", "retired"), ("14.2", "below the Serverless v2 minimum")],
)
def test_strict_create_refuses_a_version_aws_does_not_offer(local_url: str, version: str, why: str) -> None:
    code, message = _error(_v2_cluster, rds=_rds(local_url), version=version)
    assert (code, message) == ("InvalidParameterCombination", f"Cannot find version {version} for aurora-postgresql"), (
        why
    )


def test_strict_serverless_v2_minimum_applies_to_serverless_v2_only(local_url: str) -> None:
    rds = _rds(local_url)
    row = facts.engine_major("14")
    assert row is not None and row.serverless_v2_minimum == (14, 3)
    # a provisioned cluster without Serverless v2 scaling may run 14.2, but gets no db.serverless instance
    rds.create_db_cluster(
        DBClusterIdentifier="old",
        Engine="aurora-postgresql",
        EngineVersion="14.2",
        MasterUsername="app_admin",
        MasterUserPassword="not-a-real-password",
    )
    code, message = _error(
        rds.create_db_instance,
        DBInstanceIdentifier="old-1",
        DBClusterIdentifier="old",
        Engine="aurora-postgresql",
        DBInstanceClass="db.serverless",
    )
    assert (code, message) == ("InvalidParameterCombination", "Cannot find version 14.2 for aurora-postgresql")


@pytest.mark.parametrize(("version", "reported"), [("17", "17.7"), ("16", "16.8"), (None, "17.7")])
def test_strict_create_resolves_a_major_to_its_lts_minor(local_url: str, version: str | None, reported: str) -> None:
    """AWS reports a concrete minor; the provider keeps a configured "17" when the actual starts with "17."."""
    rds = _rds(local_url)
    major = facts.engine_major(version or facts.default_engine_version("v2"))
    assert major is not None and major.lts == reported
    assert _v2_cluster(rds, version=version)["EngineVersion"] == reported
    rds.create_db_instance(
        DBInstanceIdentifier="strict-1",
        DBClusterIdentifier="strict",
        Engine="aurora-postgresql",
        DBInstanceClass="db.serverless",
    )
    assert rds.describe_db_instances(DBInstanceIdentifier="strict-1")["DBInstances"][0]["EngineVersion"] == reported


def test_strict_min_capacity_zero_needs_the_pause_minimum(local_url: str) -> None:
    rds = _rds(local_url)
    row = facts.engine_major("16")
    assert row is not None and row.pause_minimum == (16, 3)
    paused = {"MinCapacity": 0, "MaxCapacity": 4, "SecondsUntilAutoPause": 300}
    code, message = _error(_v2_cluster, rds=rds, version="16.2", ServerlessV2ScalingConfiguration=paused)
    assert code == "InvalidParameterCombination"
    assert message.startswith("The minimum capacity of 0 ACUs isn't supported for aurora-postgresql 16.2.")
    _v2_cluster(rds, "pausable", "16.3", ServerlessV2ScalingConfiguration=paused)
    _v2_cluster(rds, "old", "16.2")  # 0.5 ACU is fine
    code, _ = _error(
        rds.modify_db_cluster, DBClusterIdentifier="old", ServerlessV2ScalingConfiguration=paused, ApplyImmediately=True
    )
    assert code == "InvalidParameterCombination"


def test_strict_identifiers_in_use_are_refused(local_url: str) -> None:
    rds = _rds(local_url)
    _v2_cluster(rds)
    assert _error(_v2_cluster, rds=rds)[0] == "DBClusterAlreadyExistsFault"
    assert _error(_v2_cluster, rds=rds, identifier="STRICT")[0] == "DBClusterAlreadyExistsFault"  # case-insensitive
    instance = {
        "DBInstanceIdentifier": "strict-1",
        "DBClusterIdentifier": "strict",
        "Engine": "aurora-postgresql",
        "DBInstanceClass": "db.serverless",
    }
    rds.create_db_instance(**instance)
    # moto refuses a second instance itself (no fix needed): pinned here
    assert _error(rds.create_db_instance, **instance) == ("DBInstanceAlreadyExists", "DB instance already exists")
    assert len(rds.describe_db_clusters()["DBClusters"]) == 1


def test_strict_protected_cluster_is_not_deleted(local_url: str) -> None:
    """moto 5.2.5 refuses it itself, with AWS's code and text (facts [errors.protected_cluster])."""
    rds = _rds(local_url)
    _v2_cluster(rds, DeletionProtection=True)
    refusal = facts.aws_refusal("protected_cluster")
    code, message = _error(rds.delete_db_cluster, DBClusterIdentifier="strict", SkipFinalSnapshot=True)
    assert (code, message) == (refusal.code, refusal.message)
    assert message == "Cannot delete protected Cluster, please disable deletion protection and try again."
    rds.modify_db_cluster(DBClusterIdentifier="strict", DeletionProtection=False, ApplyImmediately=True)
    rds.delete_db_cluster(DBClusterIdentifier="strict", SkipFinalSnapshot=True)


@pytest.mark.parametrize("requested", ["16.8", "16"])
def test_strict_modify_refuses_a_downgrade(local_url: str, requested: str) -> None:
    """A pinned 16.8 after an upgrade to 16.9, or the major alone (its LTS minor, 16.8): AWS refuses."""
    rds = _rds(local_url)
    _v2_cluster(rds, version="16.9")
    code, message = _error(
        rds.modify_db_cluster, DBClusterIdentifier="strict", EngineVersion=requested, ApplyImmediately=True
    )
    assert (code, message) == ("InvalidParameterCombination", "Cannot upgrade aurora-postgresql from 16.9 to 16.8")
    rds.modify_db_cluster(DBClusterIdentifier="strict", EngineVersion="16.10", ApplyImmediately=True)
    assert rds.describe_db_clusters()["DBClusters"][0]["EngineVersion"] == "16.10"


# ------------------------------------------------------------------ in-process emulator


def test_in_process_emulator_starts_empty_and_stops(local_url: str) -> None:
    assert local_url.startswith("http://127.0.0.1:")
    doc = _health(local_url)
    assert doc["pid"] == os.getpid()
    assert "rds-scaling-configuration-info" in doc["fixes"]
    assert _rds(local_url).describe_db_clusters()["DBClusters"] == [], "state of earlier tests leaked"


ENHANCED_MONITORING = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


def _fill_account(url: str) -> None:
    """Leave something in every service the module uses, the AWS managed policy attached."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(
            service, endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
        )

    iam = client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="monitoring", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName="monitoring", PolicyArn=ENHANCED_MONITORING)
    _create_clusters(url)
    client("ec2").create_vpc(CidrBlock="10.9.0.0/16")
    client("s3").create_bucket(Bucket="tfgen-reset", CreateBucketConfiguration={"LocationConstraint": REGION})
    client("secretsmanager").create_secret(Name="tfgen-reset", SecretString="x")
    client("kms").create_key()


@pytest.mark.parametrize("how", ["tfgen", "moto"])
def test_reset_empties_the_account_and_keeps_aws_managed_policies(local_url: str, how: str) -> None:
    import boto3

    def client(service: str) -> Any:
        return boto3.client(
            service, endpoint_url=local_url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
        )

    vpcs = {vpc["VpcId"] for vpc in client("ec2").describe_vpcs()["Vpcs"]}  # the default VPC
    _fill_account(local_url)
    assert client("iam").get_policy(PolicyArn=ENHANCED_MONITORING)["Policy"]["AttachmentCount"] == 1

    if how == "tfgen":
        reset(local_url)
    else:
        post(local_url + "/moto-api/reset")

    iam = client("iam")
    assert iam.list_roles()["Roles"] == []
    assert _rds(local_url).describe_db_clusters()["DBClusters"] == []
    assert len(client("ec2").describe_vpcs()["Vpcs"]) == len(vpcs), "only a default VPC"
    assert client("s3").list_buckets()["Buckets"] == []
    assert client("secretsmanager").list_secrets()["SecretList"] == []
    assert client("kms").list_keys()["Keys"] == []
    policy = iam.get_policy(PolicyArn=ENHANCED_MONITORING)["Policy"]
    assert policy["Arn"] == ENHANCED_MONITORING
    assert policy["AttachmentCount"] == 0, "an attachment before the reset leaked into the new account"
    _fill_account(local_url)  # the same names again: nothing of the old account is in the way (S3 bucket names)


@pytest.mark.emulator
def test_running_emulator_stops_its_server_on_error() -> None:
    with pytest.raises(KeyboardInterrupt), running_emulator() as url:
        assert _accepts_connections(url)
        raise KeyboardInterrupt
    assert not _accepts_connections(url)


def test_running_emulator_uses_the_given_endpoint(local_url: str) -> None:
    with running_emulator(None, endpoint=local_url + "/") as url:
        assert url == local_url
    assert _accepts_connections(local_url), "a server tfgen did not start is left alone"


def test_running_emulator_rejects_an_endpoint_nobody_listens_on() -> None:
    with (
        pytest.raises(EmulatorError, match="nothing accepts connections"),
        running_emulator(None, endpoint=f"http://127.0.0.1:{_free_port()}"),
    ):
        pass


def test_emulator_url_requires_a_running_server() -> None:
    with pytest.raises(EmulatorError, match="not running"):
        _ = Emulator().url


# ------------------------------------------------------------------ background emulator


@pytest.mark.emulator
def test_background_start_status_stop(base_dir: Path) -> None:
    assert status(base_dir) is None
    info = start_background(base_dir)

    record = json.loads(state_path(base_dir).read_text())
    assert record["pid"] == info.pid
    assert record["port"] == info.port
    assert record["url"] == info.url == f"http://127.0.0.1:{info.port}"
    assert state_path(base_dir) == base_dir / ".tfgen" / "emulator.json"
    assert info.pid != os.getpid(), "the background server is a separate process"
    assert os.getsid(info.pid) == info.pid, "it runs in its own session (no Ctrl-C from our terminal)"
    assert _health(info.url)["pid"] == info.pid
    assert status(base_dir) == info
    assert start_background(base_dir) == info, "a second start reuses the running server"

    with running_emulator(base_dir) as url:
        assert url == info.url, "--local reuses the background server"
    assert status(base_dir) == info, "--local does not stop a background server"

    assert stop_background(base_dir) is True
    assert not _pid_alive(info.pid)
    assert not state_path(base_dir).exists()
    assert not _accepts_connections(info.url)
    assert status(base_dir) is None
    assert stop_background(base_dir) is False


def test_stale_state_with_a_dead_pid_is_cleaned(base_dir: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    port = _free_port()
    stale = EmulatorInfo(pid=dead.pid, port=port, url=f"http://127.0.0.1:{port}", log=base_dir / "x.log")
    state_path(base_dir).parent.mkdir(parents=True)

    background._write_state(state_path(base_dir), stale)
    assert status(base_dir) is None
    assert not state_path(base_dir).exists()

    background._write_state(state_path(base_dir), stale)
    assert stop_background(base_dir) is False
    assert not state_path(base_dir).exists()


def test_a_reused_pid_is_never_stopped(base_dir: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state_path(base_dir).parent.mkdir(parents=True)
        port = _free_port()
        info = EmulatorInfo(pid=other.pid, port=port, url=f"http://127.0.0.1:{port}", log=base_dir / "x.log")
        background._write_state(state_path(base_dir), info)
        assert stop_background(base_dir) is False
        assert other.poll() is None, "stop must end only the emulator it recorded"
        assert not state_path(base_dir).exists()
    finally:
        other.kill()
        other.wait()


def test_corrupt_state_is_cleaned(base_dir: Path) -> None:
    state_path(base_dir).parent.mkdir(parents=True)
    state_path(base_dir).write_text("{not json")
    assert status(base_dir) is None
    assert not state_path(base_dir).exists()


def test_a_server_that_dies_at_start_is_reported(base_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", shutil.which("false") or "/bin/false")
    with pytest.raises(EmulatorError, match="exited with code 1") as caught:
        start_background(base_dir)
    assert caught.value.hint is not None and "emulator.log" in caught.value.hint
    assert not state_path(base_dir).exists()


# -------------------------------------------------------------------- terraform (slow)

_V2_CONFIG = """
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

resource "aws_vpc" "this" {
  cidr_block = "10.7.0.0/16"
}

resource "aws_security_group" "app" {
  name        = "app"
  description = "Application"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "db" {
  name        = "db"
  description = "Database"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "app" {
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from the application"
  referenced_security_group_id = aws_security_group.app.id
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
}

resource "aws_rds_cluster" "this" {
  cluster_identifier          = "tfgen-test-v2"
  engine                      = "aurora-postgresql"
  engine_mode                 = "provisioned"
  engine_version              = "16.6"
  master_username             = "app_admin"
  manage_master_user_password = true
  vpc_security_group_ids      = [aws_security_group.db.id]
  storage_encrypted           = true
  skip_final_snapshot         = true

  serverlessv2_scaling_configuration {
    min_capacity             = 0
    max_capacity             = 4
    seconds_until_auto_pause = 300
  }
}
"""


@pytest.mark.terraform
def test_terraform_v2_cluster_plans_no_changes_after_apply(tmp_path: Path, local_url: str) -> None:
    terraform, mirror = _terraform(), _mirror()
    env = _terraform_env(tmp_path, mirror)
    work = tmp_path / "module"
    work.mkdir()
    (work / "main.tf").write_text(_V2_CONFIG)
    write_provider_override(work, local_url, "eu-west-1")

    for args in (["init", "-no-color"], ["apply", "-auto-approve", "-no-color"]):
        result = _run([terraform, *args], work, env)
        assert result.returncode == 0, f"terraform {args[0]}:\n{result.stdout}\n{result.stderr}"
    plan = _run([terraform, "plan", "-detailed-exitcode", "-no-color"], work, env)
    assert plan.returncode == 0, f"the second plan is not empty (exit {plan.returncode}):\n{plan.stdout}\n{plan.stderr}"
    assert "No changes." in plan.stdout


def _one_answer(answer: bytes, *, close: bool) -> tuple[str, threading.Thread]:
    """A server on 127.0.0.1 that sends ``answer`` to one request, then closes or keeps the connection a while."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with server:
            connection, _ = server.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(answer)
                if not close:
                    connection.recv(1)  # until the client hangs up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.getsockname()[1]}", thread


@pytest.mark.parametrize("close", [True, False], ids=["closed", "kept-open"])
def test_health_reads_the_document_whether_or_not_the_server_closes(close: bool) -> None:
    body = json.dumps({"service": "tfgen-emulator", "fixes": []}).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    url, thread = _one_answer(head.encode() + body, close=close)
    assert health(url, timeout=30) == {"service": "tfgen-emulator", "fixes": []}
    thread.join(timeout=30)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.0 404 NOT FOUND\r\nContent-Length: 2\r\n\r\n{}",
        b'HTTP/1.0 200 OK\r\n\r\n{"service": "another"}',
        b"HTTP/1.0 200 OK\r\n\r\nnot json",
        b"garbage",
    ],
    ids=["404", "another-service", "not-json", "not-http"],
)
def test_health_is_none_for_anything_but_a_tfgen_emulator(answer: bytes) -> None:
    url, thread = _one_answer(answer, close=True)
    assert health(url, timeout=30) is None
    thread.join(timeout=30)
