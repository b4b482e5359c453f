"""Global databases (issue 16): ``global:`` → the primary's ``aws_rds_global_cluster`` and
``global_cluster_identifier``, a secondary without master user, password or database, and the
runbook's switchover/failover section.

Bad values: one fixture each in tests/test_spec.py's INVALID. Goldens: examples/global-primary.yaml
and examples/global-secondary.yaml; their Checkov findings in tests/test_security.py and their
module tests in tests/test_module_tests.py (the primary, write_only, plans against the emulator;
the secondary applies with mock providers). On the emulator: moto 5.2.5 implements
CreateGlobalCluster, DescribeGlobalClusters and CreateDBCluster with GlobalClusterIdentifier (in
any region: one emulator serves them all), so below a primary in us-east-1 and a secondary in
us-west-2 form global cluster tfgen-global, each plans no change after its apply, and both are
destroyed, the secondary first (the emulator fix ``rds-global-member-deleted-in-any-region``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.goldens import GOLDENS, spec_path
from tests.test_deploy import V2_SPEC, aws, derive_spec, ok, shared_dir  # noqa: F401  (shared_dir: a fixture)
from tests.test_lifecycle import Deployed, _deploy, apply_spec, deployed_env
from tests.test_spec import BASE, problems_of, spec_of
from tfgen import api, facts
from tfgen.spec.jsonschema import json_schema
from tfgen.spec.loading import load_spec

RULES = facts.raw()["global_database"]


def test_every_serverless_v2_minor_supports_global_databases() -> None:
    """tfgen's engine rows and the global minimums agree: no Serverless v2 minor lacks global databases."""
    for major, row in facts.engine_majors().items():
        minimum = tuple(int(part) for part in RULES["minimum"][str(major)].split("."))
        assert row.serverless_v2_minimum >= minimum


def test_schema_names_the_roles() -> None:
    schema = json_schema()
    section = schema["$defs"]["GlobalDatabase"]
    assert section["properties"]["role"]["enum"] == ["primary", "secondary"]
    assert section["required"] == ["identifier", "role"]
    assert "global" in schema["properties"]


def test_the_section_is_global_and_its_attribute_name_points_there() -> None:
    spec = spec_of('engine_version: "16.8"\nglobal:\n  identifier: orders-global\n  role: primary\n')
    assert spec.global_database is not None and spec.model_dump()["global"]["identifier"] == "orders-global"
    (problem,) = problems_of(
        BASE + 'engine_version: "16.8"\nglobal_database:\n  identifier: orders-global\n  role: primary\n'
    )
    assert problem == "spec.yaml:11: global_database: unknown field; the key is 'global'"


def test_the_starter_offers_a_global_database(tmp_path: Path) -> None:
    starter = tmp_path / "aurora.yaml"
    api.new_spec(starter)
    text = starter.read_text()
    assert "# global:" in text and "#   role: primary" in text


def test_a_secondary_sends_no_credentials() -> None:
    spec = load_spec(spec_path("global-secondary")).spec
    assert (spec.credential_source, spec.needs_random_provider) == ("primary", False)
    main = (GOLDENS["global-secondary"] / "main.tf").read_text()
    cluster = main[main.index('resource "aws_rds_cluster" "this"') :]
    for argument in ("master_username", "database_name", "master_password", "manage_master_user_password"):
        assert f"  {argument} " not in cluster, argument
    assert 'global_cluster_identifier = "payments-global"' in cluster
    assert "ignore_changes = [replication_source_identifier]" in cluster
    assert "kms_key_id            = aws_kms_key.this.arn" in cluster
    assert "resource" not in (GOLDENS["global-secondary"] / "global.tf").read_text()
    outputs = (GOLDENS["global-secondary"] / "outputs.tf").read_text()
    assert "master_user_secret_arn" not in outputs and "master_password" not in outputs


def test_the_primary_creates_the_global_cluster() -> None:
    text = (GOLDENS["global-primary"] / "global.tf").read_text()
    assert 'resource "aws_rds_global_cluster" "this"' in text
    assert 'engine_version            = "16.8"' in text
    main = (GOLDENS["global-primary"] / "main.tf").read_text()
    assert "global_cluster_identifier = aws_rds_global_cluster.this.id" in main
    assert "ignore_changes = [replication_source_identifier, engine_version]" in main


def test_a_primary_may_join_an_existing_global_cluster(tmp_path: Path) -> None:
    extra = 'engine_version: "16.8"\nglobal:\n  identifier: orders-global\n  role: primary\n  create: false\n'
    spec = spec_of(extra)
    assert spec.global_database is not None and not spec.global_database.create
    source = tmp_path / "spec.yaml"
    source.write_text(
        (spec_path("global-primary")).read_text().replace("  role: primary", "  role: primary\n  create: false")
    )
    api.render(source, tmp_path / "module")
    assert 'global_cluster_identifier = "payments-global"' in (tmp_path / "module" / "main.tf").read_text()
    assert "resource" not in (tmp_path / "module" / "global.tf").read_text()


@pytest.mark.parametrize("name", ["global-primary", "global-secondary"])
def test_the_runbook_has_switchover_and_failover_commands(name: str) -> None:
    runbook = (GOLDENS[name] / "RUNBOOK.md").read_text()
    section = runbook[runbook.index("## 7. Global database `payments-global`") :]
    arn = '"$TARGET"'
    for command in (RULES["switchover"], RULES["failover"]):
        assert command.format(identifier='"$GLOBAL"', target_arn=arn) in section
    assert "GLOBAL=payments-global" in section


def test_without_global_database_no_runbook_section() -> None:
    assert "switchover" not in (GOLDENS["production"] / "RUNBOOK.md").read_text()


# --------------------------------------------------------------------------- on the emulator


@pytest.fixture(scope="module")
def primary_applied(
    plugin_mirror: Path,
    endpoint: str,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    """examples/local.yaml as the primary of global database tfgen-global; applied."""
    base = tmp_path_factory.mktemp("global")
    return _deploy(
        base,
        endpoint,
        plugin_mirror,
        shared_dir,
        name="tfgen-global-primary",
        engine_version="16.8",
        **{"global": {"identifier": "tfgen-global", "role": "primary"}},
    )


@pytest.mark.emulator
@pytest.mark.terraform
def test_the_primary_is_the_writer_of_its_global_cluster(primary_applied: Deployed) -> None:
    rds = aws(primary_applied.url, "us-east-1", "rds")
    (found,) = rds.describe_global_clusters(GlobalClusterIdentifier="tfgen-global")["GlobalClusters"]
    assert (found["Engine"], found["EngineVersion"], found["StorageEncrypted"]) == ("aurora-postgresql", "16.8", True)
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=primary_applied.name)["DBClusters"]
    assert found["GlobalClusterMembers"] == [
        {**found["GlobalClusterMembers"][0], "DBClusterArn": cluster["DBClusterArn"], "IsWriter": True}
    ]


@pytest.mark.emulator
@pytest.mark.terraform
def test_a_second_plan_of_the_primary_shows_no_changes(primary_applied: Deployed) -> None:
    changes, planned = primary_applied.plan_changes()
    assert (changes["add"], changes["change"], changes["remove"]) == (0, 0, 0), planned


@pytest.fixture(scope="module")
def secondary_applied(
    primary_applied: Deployed,
    plugin_mirror: Path,
    endpoint: str,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    """examples/local.yaml as the secondary of tfgen-global in us-west-2 (no password, a key of its own); applied."""
    base = tmp_path_factory.mktemp("global-secondary")
    spec_path = derive_spec(
        V2_SPEC,
        base / "specs",
        name="tfgen-global-secondary",
        region="us-west-2",
        engine_version="16.8",
        create_kms_key=True,
        **{"global": {"identifier": "tfgen-global", "role": "secondary", "source_region": "us-east-1"}},
    )
    data = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    del data["master_password"]  # a secondary has the primary's
    spec_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return apply_spec(spec_path, base, endpoint, plugin_mirror, shared_dir)


@pytest.mark.emulator
@pytest.mark.terraform
def test_the_secondary_joins_the_global_cluster_from_another_region(
    primary_applied: Deployed, secondary_applied: Deployed
) -> None:
    east, west = aws(primary_applied.url, "us-east-1", "rds"), aws(secondary_applied.url, "us-west-2", "rds")
    (primary,) = east.describe_db_clusters(DBClusterIdentifier=primary_applied.name)["DBClusters"]
    (secondary,) = west.describe_db_clusters(DBClusterIdentifier=secondary_applied.name)["DBClusters"]
    assert ":us-west-2:" in secondary["DBClusterArn"]
    (found,) = west.describe_global_clusters(GlobalClusterIdentifier="tfgen-global")["GlobalClusters"]
    members = {member["DBClusterArn"]: member for member in found["GlobalClusterMembers"]}
    assert {arn: member["IsWriter"] for arn, member in members.items()} == {
        primary["DBClusterArn"]: True,
        secondary["DBClusterArn"]: False,
    }
    assert members[primary["DBClusterArn"]]["Readers"] == [secondary["DBClusterArn"]]


@pytest.mark.emulator
@pytest.mark.terraform
def test_after_the_secondary_joined_neither_region_plans_a_change(
    primary_applied: Deployed, secondary_applied: Deployed
) -> None:
    for deployed in (secondary_applied, primary_applied):
        changes, planned = deployed.plan_changes()
        assert (changes["add"], changes["change"], changes["remove"]) == (0, 0, 0), (deployed.name, planned)


@pytest.mark.emulator
@pytest.mark.terraform
def test_destroying_the_secondary_then_the_primary_removes_the_global_cluster(
    primary_applied: Deployed,
    secondary_applied: Deployed,
    plugin_mirror: Path,
    shared_dir: Path,  # noqa: F811  (the fixture of tests.test_deploy)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Last of the tests on the emulator (--dist loadfile keeps a file's order): as the runbook says, the
    secondary's region first; AWS refuses to delete a global cluster that still has members."""
    deployed_env(monkeypatch, plugin_mirror, shared_dir)  # as the apply ran
    east = aws(primary_applied.url, "us-east-1", "rds")
    ok(secondary_applied.run("destroy", secondary_applied.spec_path, "--auto-approve"))
    (found,) = east.describe_global_clusters(GlobalClusterIdentifier="tfgen-global")["GlobalClusters"]
    assert [member["IsWriter"] for member in found["GlobalClusterMembers"]] == [True]
    ok(primary_applied.run("destroy", primary_applied.spec_path, "--auto-approve"))
    assert east.describe_global_clusters()["GlobalClusters"] == []
