"""The inputs platform teams reach for (issue 16): storage type, RDS Extended Support, the
instances' CA, network type, automated backups on delete, Performance Insights retention and
Database Insights.

Each input: its bad values (one fixture each, in tests/test_spec.py's INVALID), its boundary
values here, `tfgen schema` and `tfgen new`, the rendered module, and the module's own
`terraform test` (tests/test_module_tests.py: mock providers for rds-managed, a plan against
the emulator for production). What moto stores and returns (moto 5.2.5's RDS backend: the
cluster's NetworkType, the instances' CACertificateIdentifier, AvailabilityZone and PromotionTier)
is applied on the emulator below;
and the instances' parameter group (moto keeps DB parameter groups and their parameters);
the others moto drops (EngineLifecycleSupport, PerformanceInsightsRetentionPeriod,
DatabaseInsightsMode) or fails on (StorageType: a KeyError in DBCluster.default_allocated_storage
for aurora and aurora-iopt1), so they are checked by render + `terraform validate` (terraform
test runs it) + the mock-provider `terraform test` only.
"""

from __future__ import annotations

import datetime
import json
import re
import typing
from pathlib import Path

import pytest

from tests.goldens import GOLDENS, spec_path
from tests.test_deploy import aws, ok, shared_dir  # noqa: F401  (shared_dir: a fixture this module uses)
from tests.test_lifecycle import Deployed, _deploy, deployed_env
from tests.test_spec import BASE, spec_of
from tfgen import api, facts
from tfgen.spec import rules
from tfgen.spec.jsonschema import json_schema
from tfgen.spec.loading import load_spec
from tfgen.spec.model import Spec


@pytest.mark.parametrize(
    ("field_name", "values"),
    [
        ("storage_type", facts.raw()["storage_type"]["values"]),
        ("engine_lifecycle_support", facts.raw()["engine_lifecycle_support"]["values"]),
        ("network_type", facts.raw()["network_type"]["values"]),
        ("database_insights_mode", facts.raw()["database_insights"]["modes"]),
    ],
)
def test_enums_are_the_facts(field_name: str, values: list[str]) -> None:
    literal, none = typing.get_args(Spec.model_fields[field_name].annotation)
    assert none is type(None)
    assert list(typing.get_args(literal)) == values


@pytest.mark.parametrize("days", [7, 31, 93, 465, 713, 731])
def test_performance_insights_retention_boundaries(days: int) -> None:
    assert spec_of(f"performance_insights_retention_days: {days}\n").performance_insights_retention_days == days


@pytest.mark.parametrize("days", [465, 496, 731])
def test_advanced_database_insights_from_465_days(days: int) -> None:
    spec = spec_of(f"performance_insights_retention_days: {days}\ndatabase_insights_mode: advanced\n")
    assert spec.database_insights_mode == "advanced"


@pytest.mark.parametrize(
    ("extra", "field_name", "value"),
    [
        ('engine_version: "14.7"\nstorage_type: aurora-iopt1\n', "storage_type", "aurora-iopt1"),
        ('engine_version: "13"\nstorage_type: aurora-iopt1\n', "storage_type", "aurora-iopt1"),  # AWS picks the minor
        ("storage_type: aurora\n", "storage_type", "aurora"),
        ("network_type: DUAL\n", "network_type", "DUAL"),
        ("ca_cert_identifier: rds-ca-ecc384-g1\n", "ca_cert_identifier", "rds-ca-ecc384-g1"),
        ("database_insights_mode: standard\n", "database_insights_mode", "standard"),
        ("delete_automated_backups: false\n", "delete_automated_backups", False),
    ],
)
def test_valid_values(extra: str, field_name: str, value: object) -> None:
    assert getattr(spec_of(extra), field_name) == value


def test_v1_keeps_its_automated_backups_and_extended_support_choice() -> None:
    v1 = 'engine_version: "13.12"\nserverless:\n  version: v1\n'
    spec = spec_of(v1 + "delete_automated_backups: false\nengine_lifecycle_support: open-source-rds-extended-support\n")
    assert not spec.delete_automated_backups


def test_opting_out_of_extended_support_after_standard_support_warns_that_creation_fails() -> None:
    spec = spec_of('engine_version: "13"\nengine_lifecycle_support: open-source-rds-extended-support-disabled\n')
    after = facts.engine_majors()[13].end_of_standard_support + datetime.timedelta(days=1)
    assert rules.warnings_for(spec, today=after)[-1:] == [
        (
            ("engine_lifecycle_support",),
            "aurora-postgresql 13 left standard support on 2026-02-28: with RDS Extended Support disabled AWS "
            "refuses to create the cluster; upgrade the major version",
        )
    ]
    before = facts.engine_majors()[13].end_of_standard_support
    assert not [loc for loc, _ in rules.warnings_for(spec, today=before) if loc == ("engine_lifecycle_support",)]


@pytest.mark.parametrize("version", ["13.11", "14.8", "15.3", "16.1", "17.4", "16", "15.10"])
def test_the_data_api_from_each_majors_first_minor(version: str) -> None:
    assert spec_of(f'engine_version: "{version}"\nenable_http_endpoint: true\n').enable_http_endpoint


def test_the_data_api_where_aws_lists_it_unavailable_warns() -> None:
    spec = spec_of("enable_http_endpoint: true\n", base=BASE.replace("region: eu-west-1", "region: ap-south-2"))
    assert (
        ("enable_http_endpoint",),
        "AWS lists the Data API for Aurora PostgreSQL Serverless v2 as not available in ap-south-2",
    ) in rules.warnings_for(spec)
    assert not [
        loc
        for loc, _ in rules.warnings_for(spec_of("enable_http_endpoint: true\n"))
        if loc[0] == "enable_http_endpoint"
    ]


def test_v1_keeps_its_own_data_api_unchecked() -> None:
    spec = spec_of('engine_version: "13.12"\nserverless:\n  version: v1\nenable_http_endpoint: true\n')
    assert spec.enable_http_endpoint


def test_the_module_sets_the_data_api_from_the_spec() -> None:
    assert "  enable_http_endpoint = var.enable_http_endpoint\n" in (GOLDENS["readers"] / "main.tf").read_text()
    variables = (GOLDENS["readers"] / "variables.tf").read_text()
    block = variables[variables.index('variable "enable_http_endpoint"') :]
    assert "default     = true" in block[: block.index("}\n")]
    minimal = (GOLDENS["minimal"] / "variables.tf").read_text()
    block = minimal[minimal.index('variable "enable_http_endpoint"') :]
    assert "default     = false" in block[: block.index("}\n")]
    assert "The RDS Data API is on" in (GOLDENS["readers"] / "README.md").read_text()


@pytest.mark.parametrize(("instances", "max_readers"), [(1, 15), (2, 14), (15, 1)])
def test_reader_autoscaling_fills_the_cluster_up_to_15_replicas(instances: int, max_readers: int) -> None:
    spec = spec_of(
        f"serverless:\n  instances: {instances}\n  readers:\n    autoscaling: {{max_readers: {max_readers}}}\n"
    )
    scaling = spec.serverless.readers.autoscaling  # type: ignore[union-attr]
    assert scaling is not None
    assert (scaling.predefined_metric, scaling.effective_target) == ("RDSReaderAverageCPUUtilization", 70)


def test_reader_autoscaling_on_connections_tracks_the_given_target() -> None:
    extra = "serverless:\n  readers:\n    autoscaling: {max_readers: 2, metric: connections, target: 400}\n"
    scaling = spec_of(extra).serverless.readers.autoscaling  # type: ignore[union-attr]
    assert scaling is not None
    assert (scaling.predefined_metric, scaling.effective_target) == ("RDSReaderAverageDatabaseConnections", 400)


def test_the_module_scales_readers_and_leaves_their_instances_alone() -> None:
    readers = (GOLDENS["readers"] / "readers.tf").read_text()
    for line in (
        'scalable_dimension = "rds:cluster:ReadReplicaCount"',
        'resource_id        = "cluster:${aws_rds_cluster.this.cluster_identifier}"',
        'predefined_metric_type = "RDSReaderAverageCPUUtilization"',
        "depends_on = [aws_rds_cluster_instance.this]",
    ):
        assert line in readers
    # the autoscaler's replicas stay out of the plan: the cluster never names its members
    assert "cluster_members" not in (GOLDENS["readers"] / "main.tf").read_text()
    readme = (GOLDENS["readers"] / "README.md").read_text()
    assert "**The replicas it adds are not managed by Terraform**" in readme
    assert "aws_appautoscaling" not in (GOLDENS["minimal"] / "readers.tf").read_text()


def test_custom_endpoints_by_instance_number() -> None:
    extra = "serverless:\n  instances: 3\nendpoints:\n  reporting: {type: READER, excluded: [1]}\n  all: {type: ANY}\n"
    endpoints = spec_of(extra).endpoints
    assert (endpoints["reporting"].excluded, endpoints["all"].members) == ([1], [])


def test_the_module_makes_each_endpoint_over_its_instances_and_outputs_it() -> None:
    readers = (GOLDENS["readers"] / "readers.tf").read_text()
    assert 'cluster_endpoint_identifier = "catalog-reads-${each.key}"' in readers
    assert "[for n in each.value.excluded : aws_rds_cluster_instance.this[n - 1].identifier]" in readers
    variables = (GOLDENS["readers"] / "variables.tf").read_text()
    assert 'type     = "READER"' in variables and "excluded = [1]" in variables
    outputs = (GOLDENS["readers"] / "outputs.tf").read_text()
    assert 'output "custom_endpoints"' in outputs
    assert "`reporting` (READER, every instance but 1)" in (GOLDENS["readers"] / "README.md").read_text()
    assert "aws_rds_cluster_endpoint" not in (GOLDENS["minimal"] / "readers.tf").read_text()


def test_schema_names_each_input_with_its_values() -> None:
    properties = json_schema()["properties"]
    assert properties["storage_type"]["anyOf"][0]["enum"] == ["aurora", "aurora-iopt1"]
    assert properties["network_type"]["anyOf"][0]["enum"] == ["IPV4", "DUAL"]
    assert properties["database_insights_mode"]["anyOf"][0]["enum"] == ["standard", "advanced"]
    assert properties["delete_automated_backups"]["type"] == "boolean"
    assert properties["enable_http_endpoint"]["type"] == "boolean"
    assert properties["endpoints"]["type"] == "object"
    for name in ("engine_lifecycle_support", "ca_cert_identifier", "performance_insights_retention_days"):
        assert name in properties


def test_the_starter_offers_each_input_and_uncommented_it_is_valid(tmp_path: Path) -> None:
    starter = tmp_path / "aurora.yaml"
    api.new_spec(starter)
    names = (
        "delete_automated_backups",
        "storage_type",
        "engine_lifecycle_support",
        "network_type",
        "ca_cert_identifier",
        "performance_insights_retention_days",
        "database_insights_mode",
        "instance_parameters",
        "enable_http_endpoint",
        "instance_overrides",
        "  - {instance",
        "iam_roles",
        "  - {feature",
        "readers",
        "  autoscaling",
        "endpoints",
        "  reporting",
    )
    lines = starter.read_text().splitlines()
    commented = [re.fullmatch(r"(\s*)# (.*)", line) for line in lines]
    uncommented = [
        found[1] + found[2] if found and found[2].split(":")[0] in names else line
        for found, line in zip(commented, lines, strict=True)
    ]
    assert sum(line != original for line, original in zip(uncommented, lines, strict=True)) == len(names)
    starter.write_text("\n".join(uncommented) + "\n")
    spec = load_spec(starter).spec
    assert (spec.storage_type, spec.network_type, spec.database_insights_mode) == ("aurora", "IPV4", "standard")
    assert spec.serverless.instance_overrides[0].availability_zone == "eu-west-1a"  # type: ignore[union-attr]


def test_production_uses_every_input_and_the_module_sets_them() -> None:
    spec = load_spec(spec_path("production")).spec
    assert spec.storage_type == "aurora-iopt1"
    assert spec.engine_lifecycle_support == "open-source-rds-extended-support-disabled"
    assert spec.ca_cert_identifier == "rds-ca-rsa4096-g1"
    assert (spec.performance_insights_retention_days, spec.database_insights_mode) == (465, "advanced")
    assert spec.delete_automated_backups is False
    main = (GOLDENS["production"] / "main.tf").read_text()
    for line in (
        "storage_type          = var.storage_type",
        'engine_lifecycle_support = "open-source-rds-extended-support-disabled"',
        "delete_automated_backups     = var.delete_automated_backups",
        "performance_insights_retention_period = var.performance_insights_retention_period",
        "database_insights_mode                = var.database_insights_mode",
        "ca_cert_identifier         = var.ca_cert_identifier",
    ):
        assert line in main
    variables = (GOLDENS["production"] / "variables.tf").read_text()
    assert 'default     = "aurora-iopt1"' in variables
    assert "default     = 465" in variables


def test_a_spec_without_the_inputs_leaves_them_to_aws() -> None:
    variables = (GOLDENS["minimal"] / "variables.tf").read_text()
    for name in ("storage_type", "network_type", "ca_cert_identifier", "database_insights_mode"):
        block = variables[variables.index(f'variable "{name}"') :]
        assert "default     = null" in block[: block.index("}\n")]
    assert "engine_lifecycle_support" not in (GOLDENS["minimal"] / "main.tf").read_text()


# --------------------------------------------------------------------------- on the emulator


@pytest.fixture(scope="module")
def inputs_applied(
    plugin_mirror: Path,
    endpoint: str,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    """examples/local.yaml, dual-stack, two instances on the ECC CA with their own parameter group and
    per-instance settings; applied."""
    base = tmp_path_factory.mktemp("inputs")
    return _deploy(
        base,
        endpoint,
        plugin_mirror,
        shared_dir,
        name="tfgen-inputs",
        network_type="DUAL",
        ca_cert_identifier="rds-ca-ecc384-g1",
        delete_automated_backups=False,
        instance_parameters=[{"name": "log_temp_files", "value": 0, "apply_method": "immediate"}],
        serverless={
            "min_capacity": 0.5,
            "max_capacity": 4,
            "instances": 2,
            "instance_overrides": [
                {"instance": 1, "availability_zone": "us-east-1c"},
                {"instance": 2, "promotion_tier": 7},
            ],
        },
    )


@pytest.mark.emulator
@pytest.mark.terraform
def test_inputs_reach_the_cluster_and_its_instances(inputs_applied: Deployed) -> None:
    """On the emulator: moto stores network_type (cluster), and the instances' CA, parameter group, zone and tier."""
    rds = aws(inputs_applied.url, "us-east-1", "rds")
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=inputs_applied.name)["DBClusters"]
    assert cluster["NetworkType"] == "DUAL"
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [inputs_applied.name]}])
    assert [i["CACertificateIdentifier"] for i in instances["DBInstances"]] == ["rds-ca-ecc384-g1"] * 2
    by_id = {i["DBInstanceIdentifier"]: i for i in instances["DBInstances"]}
    assert by_id["tfgen-inputs-1"]["AvailabilityZone"] == "us-east-1c"
    assert (by_id["tfgen-inputs-1"]["PromotionTier"], by_id["tfgen-inputs-2"]["PromotionTier"]) == (0, 7)
    groups = {group["DBParameterGroupName"] for i in instances["DBInstances"] for group in i["DBParameterGroups"]}
    (group,) = groups
    assert group.startswith("tfgen-inputs-")
    (described,) = rds.describe_db_parameter_groups(DBParameterGroupName=group)["DBParameterGroups"]
    assert described["DBParameterGroupFamily"] == f"aurora-postgresql{facts.default_engine_version('v2')}"
    parameters = rds.describe_db_parameters(DBParameterGroupName=group, Source="user")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"]) for p in parameters] == [("log_temp_files", "0")]


@pytest.mark.emulator
@pytest.mark.terraform
def test_a_second_plan_of_the_inputs_shows_no_changes(inputs_applied: Deployed) -> None:
    """On the emulator: what AWS read back matches the configuration (no perpetual diff).

    The instance parameter group's parameters read back only because the emulator answers
    ``Source: user`` as AWS does (fix ``rds-parameter-source-user`` in tfgen/emulator/fixes.py).
    """
    changes, planned = inputs_applied.plan_changes()
    assert (changes["add"], changes["change"], changes["remove"]) == (0, 0, 0), planned


@pytest.fixture(scope="module")
def readers_applied(
    plugin_mirror: Path,
    endpoint: str,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    """examples/local.yaml with two instances and Aurora Auto Scaling on the readers' connections; applied."""
    base = tmp_path_factory.mktemp("readers")
    return _deploy(
        base,
        endpoint,
        plugin_mirror,
        shared_dir,
        name="tfgen-readers",
        master_password={"source": "rds_managed"},
        serverless={
            "min_capacity": 0.5,
            "max_capacity": 4,
            "instances": 2,
            "readers": {
                "autoscaling": {
                    "min_readers": 1,
                    "max_readers": 5,
                    "metric": "connections",
                    "target": 300,
                    "scale_in_cooldown": 900,
                }
            },
        },
        endpoints={"reporting": {"type": "READER", "excluded": [1]}, "pinned": {"type": "ANY", "members": [2]}},
    )


@pytest.mark.emulator
@pytest.mark.terraform
def test_custom_endpoints_route_to_their_instances(
    readers_applied: Deployed,
    plugin_mirror: Path,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the emulator (custom endpoints: moto lacks them, tfgen.emulator.rds_actions adds them)."""
    deployed_env(monkeypatch, plugin_mirror, shared_dir)  # as the apply ran: `tfgen output` reads its state
    rds = aws(readers_applied.url, "us-east-1", "rds")
    found = {
        endpoint["DBClusterEndpointIdentifier"]: endpoint
        for endpoint in rds.describe_db_cluster_endpoints(DBClusterIdentifier="tfgen-readers")["DBClusterEndpoints"]
    }
    assert sorted(found) == ["tfgen-readers-pinned", "tfgen-readers-reporting"]
    reporting, pinned = found["tfgen-readers-reporting"], found["tfgen-readers-pinned"]
    assert (reporting["CustomEndpointType"], reporting["ExcludedMembers"], reporting["StaticMembers"]) == (
        "READER",
        ["tfgen-readers-1"],
        [],
    )
    assert (pinned["CustomEndpointType"], pinned["StaticMembers"]) == ("ANY", ["tfgen-readers-2"])
    outputs = json.loads(ok(readers_applied.run("output", readers_applied.spec_path, "--json")).out)
    assert outputs["custom_endpoints"] == {"pinned": pinned["Endpoint"], "reporting": reporting["Endpoint"]}


@pytest.mark.emulator
@pytest.mark.terraform
def test_reader_autoscaling_registers_the_cluster_and_its_policy(readers_applied: Deployed) -> None:
    """On the emulator (moto's Application Auto Scaling): the target and the target-tracking policy."""
    client = aws(readers_applied.url, "us-east-1", "application-autoscaling")
    (target,) = client.describe_scalable_targets(ServiceNamespace="rds")["ScalableTargets"]
    assert (target["ResourceId"], target["ScalableDimension"]) == (
        "cluster:tfgen-readers",
        "rds:cluster:ReadReplicaCount",
    )
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 5)
    (policy,) = client.describe_scaling_policies(ServiceNamespace="rds")["ScalingPolicies"]
    assert (policy["PolicyName"], policy["PolicyType"]) == ("tfgen-readers-readers", "TargetTrackingScaling")
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "RDSReaderAverageDatabaseConnections"
    assert (tracking["TargetValue"], tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (300, 900, 300)


@pytest.mark.emulator
@pytest.mark.terraform
def test_a_replica_the_autoscaler_added_is_not_in_the_plan(readers_applied: Deployed) -> None:
    """A reader Aurora Auto Scaling added (made here with boto3, as moto's autoscaler adds none) plans no change."""
    rds = aws(readers_applied.url, "us-east-1", "rds")
    rds.create_db_instance(
        DBInstanceIdentifier="application-autoscaling-tfgen-readers-0",
        DBClusterIdentifier=readers_applied.name,
        DBInstanceClass="db.serverless",
        Engine="aurora-postgresql",
        PromotionTier=15,
    )
    try:
        changes, planned = readers_applied.plan_changes()
        assert (changes["add"], changes["change"], changes["remove"]) == (0, 0, 0), planned
    finally:
        rds.delete_db_instance(DBInstanceIdentifier="application-autoscaling-tfgen-readers-0")
