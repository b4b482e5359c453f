"""tfgen import without AWS: what a described cluster becomes (spec, comments, import blocks, changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tfgen.ops.adoption import _numbered, adopt
from tfgen.ops.discovery import Found, ImportRefusedError
from tfgen.spec import writing
from tfgen.spec.loading import load_spec


def _found(**cluster: Any) -> Found:
    base: dict[str, Any] = {
        "DBClusterIdentifier": "orders",
        "Engine": "aurora-postgresql",
        "EngineMode": "provisioned",
        "EngineVersion": "16.8",
        "DatabaseName": "app",
        "MasterUsername": "admin1",
        "Port": 5432,
        "StorageEncrypted": True,
        "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 8},
        "PreferredBackupWindow": "03:00-04:00",
        "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
        "BackupRetentionPeriod": 7,
        "DBClusterParameterGroup": "default.aurora-postgresql16",
    }
    instances = [
        {"DBInstanceIdentifier": "orders-2", "PromotionTier": 1, "MonitoringInterval": 0},
        {"DBInstanceIdentifier": "orders-1", "PromotionTier": 0, "MonitoringInterval": 0},
    ]
    groups = [{"GroupId": "sg-0a1b2c3d4e5f67890", "GroupName": "default", "Description": "default VPC security group"}]
    subnets = {"DBSubnetGroupName": "shared"}
    return Found("eu-west-1", base | cluster, instances, groups, subnets, None, None, None, [], None, [])


def test_instances_named_as_the_module_names_them_keep_their_numbers() -> None:
    def named(*names: str) -> list[str]:
        return [i["DBInstanceIdentifier"] for i in _numbered("m", [{"DBInstanceIdentifier": n} for n in names])]

    assert named("m-2", "m-1") == ["m-1", "m-2"]
    assert named("m-a", "m-2", "m-9") == ["m-a", "m-2", "m-9"]  # others fill the gaps, in the order given


def test_a_cluster_becomes_a_valid_spec_with_comments(tmp_path: Path) -> None:
    adopted = adopt(_found())
    assert adopted.spec["serverless"].get("instance_overrides") is None  # orders-1, orders-2 as the module names them
    addresses = [b.address for b in adopted.imports]
    assert addresses[:3] == [
        "module.cluster.aws_rds_cluster.this",
        "module.cluster.aws_rds_cluster_instance.this[0]",
        "module.cluster.aws_rds_cluster_instance.this[1]",
    ]
    assert adopted.spec["network"] == {
        "create_security_group": False,
        "security_group_ids": ["sg-0a1b2c3d4e5f67890"],
        "db_subnet_group_name": "shared",
    }
    assert adopted.spec["master_password"] == {"source": "write_only"}
    assert any(change.startswith("master password") for change in adopted.changes)
    text = writing.dump(adopted.spec, adopted.comments, ["header line"])
    path = tmp_path / "orders.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_spec(path).spec
    assert (spec.name, spec.engine_version, spec.alarms.enabled) == ("orders", "16.8", False)
    assert yaml.safe_load(text)["engine_version"] == "16.8"  # a string, quoted
    assert "# header line" in text and "# deployed: none of tfgen's alarms" in text


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"StorageEncrypted": False}, "is not encrypted"),
        ({"DatabaseName": None}, "has no database name"),
    ],
)
def test_what_would_force_a_new_cluster_is_refused(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ImportRefusedError) as caught:
        adopt(_found(**changes))
    assert reason in caught.value.message
