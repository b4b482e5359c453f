"""IAM role associations (issue 16): ``iam_roles`` → one role association per feature, with the
module's own narrow role or an existing one.

Bad values: one fixture each in tests/test_spec.py's INVALID. The golden module:
examples/integrations.yaml (tests/golden/integrations); its Checkov findings in
tests/test_security.py and its mock-provider ``terraform test`` in tests/test_module_tests.py.
On the emulator: moto 5.2.5 implements AddRoleToDBCluster (DescribeDBClusters' AssociatedRoles,
status ACTIVE) and IAM roles with inline policies, so the roles are applied and read back below;
it lacks RemoveRoleFromDBCluster, which tfgen.emulator.rds_actions adds, so they are destroyed too.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest

from tests.goldens import GOLDENS, spec_path
from tests.test_deploy import aws, ok, shared_dir  # noqa: F401  (shared_dir: a fixture this module uses)
from tests.test_lifecycle import Deployed, _deploy, deployed_env
from tests.test_spec import spec_of
from tfgen import api, facts
from tfgen.errors import SpecError
from tfgen.spec.integrations import IamRole
from tfgen.spec.jsonschema import json_schema
from tfgen.spec.loading import load_spec

FEATURES = facts.raw()["iam_role_features"]


def test_the_features_are_the_facts() -> None:
    assert list(typing.get_args(IamRole.model_fields["feature"].annotation)) == FEATURES["values"]


@pytest.mark.parametrize(
    "entry",
    [
        "{feature: s3Import, buckets: [landing, reference-data/2024/]}",
        "{feature: s3Export, buckets: [my.reports-bucket/exports/daily]}",
        "{feature: Lambda, functions: ['arn:aws:lambda:eu-west-1:111122223333:function:notify:live']}",
        "{feature: s3Export, role_arn: 'arn:aws:iam::111122223333:role/team/exporter'}",
    ],
)
def test_valid_entries(entry: str) -> None:
    (role,) = spec_of(f"iam_roles:\n  - {entry}\n").iam_roles
    assert role.feature in FEATURES["values"]


def test_schema_names_the_features() -> None:
    schema = json_schema()
    assert schema["properties"]["iam_roles"]["items"] == {"$ref": "#/$defs/IamRole"}
    role = schema["$defs"]["IamRole"]
    assert role["properties"]["feature"]["enum"] == FEATURES["values"]
    assert role["required"] == ["feature"]


def test_the_starter_offers_iam_roles(tmp_path: Path) -> None:
    starter = tmp_path / "aurora.yaml"
    api.new_spec(starter)
    text = starter.read_text()
    assert "# iam_roles:" in text and "#   - {feature: s3Import, buckets: [orders-landing/incoming/]}" in text


def _policies(name: str) -> str:
    return (GOLDENS[name] / "integrations.tf").read_text()


def test_the_module_allows_each_feature_only_its_actions() -> None:
    """The actions integrations.tf allows per feature are the facts' (and nothing ends in a wildcard)."""
    text = _policies("integrations")
    for feature, actions in FEATURES["actions"].items():
        block = text[text.index(f"      {feature} = jsonencode(") :]
        block = block[: block.index("\n      })\n")]
        lines = [line for line in block.splitlines() if line.strip().startswith("Action ")]
        found = set(re.findall(r'"((?:s3|lambda):[A-Za-z]+)"', "\n".join(lines)))
        assert found == set(actions), feature
    assert '"*"' not in text
    assert '"rds.amazonaws.com"' in text and FEATURES["principal_service"] == "rds.amazonaws.com"
    for key in ('"aws:SourceAccount"', '"aws:SourceArn"     = aws_rds_cluster.this.arn'):
        assert key in text


def test_without_iam_roles_the_module_has_none() -> None:
    for name in GOLDENS:
        if not load_spec(spec_path(name)).spec.iam_roles:
            assert "resource" not in _policies(name), name
            assert 'variable "iam_roles"' not in (GOLDENS[name] / "variables.tf").read_text()


def test_the_golden_passes_the_spec_s_roles() -> None:
    variables = (GOLDENS["integrations"] / "variables.tf").read_text()
    assert 'buckets = ["ingest-landing/incoming/", "ingest-reference"]' in variables
    assert 'functions = ["arn:aws:lambda:eu-west-1:111122223333:function:notify-orders"]' in variables


# --------------------------------------------------------------------------- on the emulator

EXISTING_ROLE = "arn:aws:iam::123456789012:role/team-exporter"


@pytest.fixture(scope="module")
def roles_applied(
    plugin_mirror: Path,
    endpoint: str,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    """examples/local.yaml with an S3 import role and a Lambda role of the module's, and an existing export role; applied."""
    base = tmp_path_factory.mktemp("roles")
    roles: list[dict[str, Any]] = [
        {"feature": "s3Import", "buckets": ["tfgen-landing/incoming/", "tfgen-reference"]},
        {"feature": "s3Export", "role_arn": EXISTING_ROLE},
        {"feature": "Lambda", "functions": ["arn:aws:lambda:us-east-1:123456789012:function:notify"]},
    ]
    return _deploy(base, endpoint, plugin_mirror, shared_dir, name="tfgen-roles", iam_roles=roles)


@pytest.mark.emulator
@pytest.mark.terraform
def test_roles_are_associated_with_the_cluster(roles_applied: Deployed) -> None:
    rds = aws(roles_applied.url, "us-east-1", "rds")
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=roles_applied.name)["DBClusters"]
    associated = {role["FeatureName"]: role for role in cluster["AssociatedRoles"]}
    assert sorted(associated) == ["Lambda", "s3Export", "s3Import"]
    assert {role["Status"] for role in associated.values()} == {"ACTIVE"}
    assert associated["s3Export"]["RoleArn"] == EXISTING_ROLE

    iam = aws(roles_applied.url, "us-east-1", "iam")
    name = associated["s3Import"]["RoleArn"].rsplit("/", 1)[1]
    assert name.startswith("tfgen-roles-s3import-")
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "rds.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": "123456789012",
        "aws:SourceArn": cluster["DBClusterArn"],
    }
    (policy_name,) = iam.list_role_policies(RoleName=name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    assert document["Statement"] == [
        {
            "Sid": "ListBucket0",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::tfgen-landing",
            "Condition": {"StringLike": {"s3:prefix": ["incoming/*"]}},
        },
        {
            "Sid": "ListBucket1",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::tfgen-reference",
        },
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::tfgen-landing/incoming/*", "arn:aws:s3:::tfgen-reference/*"],
        },
    ]
    lambda_role = associated["Lambda"]["RoleArn"].rsplit("/", 1)[1]
    assert [role["Arn"] for role in iam.list_roles()["Roles"] if "s3export" in role["RoleName"]] == []
    assert lambda_role.startswith("tfgen-roles-lambda-")


@pytest.mark.emulator
@pytest.mark.terraform
def test_a_second_plan_of_the_roles_shows_no_changes(roles_applied: Deployed) -> None:
    changes, planned = roles_applied.plan_changes()
    assert (changes["add"], changes["change"], changes["remove"]) == (0, 0, 0), planned


@pytest.mark.emulator
@pytest.mark.terraform
def test_destroy_removes_the_associations_and_the_cluster(
    roles_applied: Deployed,
    plugin_mirror: Path,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Last of the tests on roles_applied (--dist loadfile keeps a file's order): ``tfgen destroy`` on the
    emulator deletes each aws_rds_cluster_role_association (RemoveRoleFromDBCluster, which moto lacks and
    tfgen.emulator.rds_actions adds), the module's roles and the cluster; the existing role is only let go."""
    deployed_env(monkeypatch, plugin_mirror, shared_dir)  # as the apply ran
    ok(roles_applied.run("destroy", roles_applied.spec_path, "--auto-approve"))
    rds = aws(roles_applied.url, "us-east-1", "rds")
    assert roles_applied.name not in [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]
    iam = aws(roles_applied.url, "us-east-1", "iam")
    assert [role["RoleName"] for role in iam.list_roles()["Roles"] if role["RoleName"].startswith("tfgen-roles-")] == []


# --------------------------------------------------------------------------- activity streams


def test_activity_stream_modes_are_the_facts() -> None:
    from tfgen.spec.integrations import ActivityStream

    assert (
        list(typing.get_args(ActivityStream.model_fields["mode"].annotation))
        == facts.raw()["activity_streams"]["modes"]
    )


def test_activity_streams_are_refused_while_aws_has_none_for_serverless_v2() -> None:
    """AWS lists database activity streams among the provisioned features Serverless v2 lacks: the spec says so."""
    rules = facts.raw()["activity_streams"]
    assert rules["serverless_v2"] is False and "db.serverless" not in rules["instance_classes"]
    schema = json_schema()
    assert schema["$defs"]["ActivityStream"]["properties"]["mode"]["enum"] == ["async", "sync"]
    with pytest.raises(SpecError) as info:
        spec_of("activity_stream:\n  mode: sync\ncreate_kms_key: true\n")
    assert (
        "database activity streams are not supported for Aurora Serverless v2 (Aurora User Guide, "
        "'Supported Regions and Aurora DB engines for database activity streams'; " in info.value.message
    )


def test_with_support_a_stream_would_need_a_customer_managed_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from tfgen.spec import integrations

    rules = {**facts.raw(), "activity_streams": {**facts.raw()["activity_streams"], "serverless_v2": True}}
    monkeypatch.setattr(integrations.facts, "raw", lambda: rules)
    with pytest.raises(SpecError) as info:
        spec_of("activity_stream:\n  mode: async\n")
    assert "activity_stream.kms_key_id: required: a customer-managed KMS key" in info.value.message
    assert spec_of("activity_stream:\n  mode: async\ncreate_kms_key: true\n").activity_stream is not None
