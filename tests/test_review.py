"""The plan review (tfgen.deploy.review): terraform's JSON plan in, attribute diffs and data loss out; no terraform.

``fixtures/plans/v1-replace.json`` is ``terraform show -json`` of a real plan (aws provider
5.100.0 on the emulator) that changes examples/v1-legacy.yaml's ``database_name`` (ForceNew),
``max_capacity``, ``backup_retention_period``, ``skip_final_snapshot`` and tags, trimmed to four
resources; its secrets are replaced by ``FAKE-SECRET-*`` markers, which nothing may show.
``fixtures/plans/log-groups-imported.json`` is ``terraform show -json`` of a real plan (the same
provider and emulator) with two ``import`` blocks: one imports only, one imports and updates
(``configuration`` and ``prior_state`` left out).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tfgen.cli import output
from tfgen.deploy import review
from tfgen.deploy.review import AttributeChange, ReviewedPlan
from tfgen.terraform.results import PlanResult, ResourceChange

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
CLUSTER = "module.cluster.aws_rds_cluster.this"
INSTANCE = "module.cluster.aws_rds_cluster_instance.this[0]"


def replace_plan() -> dict[str, Any]:
    return dict(json.loads((FIXTURES / "v1-replace.json").read_text(encoding="utf-8")))


def change(address: str, kind: str, actions: list[str], before: Any, after: Any, **more: Any) -> dict[str, Any]:
    """One entry of ``resource_changes``."""
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "change": {"actions": actions, "before": before, "after": after, **more},
    }


def cluster(**values: Any) -> dict[str, Any]:
    return {"cluster_identifier": "orders-db", "skip_final_snapshot": False, **values}


def cluster_update(before: dict[str, Any], after: dict[str, Any], **more: Any) -> dict[str, Any]:
    """An update of the cluster from ``before`` to ``after`` (on top of :func:`cluster`)."""
    return change(CLUSTER, "aws_rds_cluster", ["update"], cluster(**before), cluster(**after), **more)


def by_path(changes: tuple[AttributeChange, ...]) -> dict[str, tuple[str, str, bool]]:
    return {c.path: (c.before_text, c.after_text, c.forces_replacement) for c in changes}


def test_a_replacement_names_what_forces_it_and_shows_what_the_spec_changed() -> None:
    found = review.review_plan(replace_plan())
    diff = found.diff(CLUSTER)
    assert diff is not None and diff.action == "replace" and diff.replaced_by == ("database_name",)
    assert by_path(diff.changes) == {
        "backup_retention_period": ("14", "7", False),
        "database_name": ('"reports"', '"reports2"', True),
        "final_snapshot_identifier": ('"tfgen-cap-final-20261126130338"', "null", False),
        "scaling_configuration[0].max_capacity": ("8", "16", False),
        "skip_final_snapshot": ("false", "true", False),
        "tags.team": ('"analytics"', '"x"', False),
        "tags_all.team": ('"analytics"', '"x"', False),
    }  # not the attributes the new cluster recomputes (id, arn, endpoint…), nor unset ones ("" -> null)
    assert found.cluster_name == "tfgen-cap"


def test_an_update_lists_old_and_new_values() -> None:
    found = review.review_plan(replace_plan())
    alarm = found.diff('module.cluster.aws_cloudwatch_metric_alarm.builtin["capacity"]')
    assert alarm is not None and alarm.action == "update" and alarm.replaced_by == ()
    assert by_path(alarm.changes)["threshold"] == ("8", "16", False)
    assert [d.address for d in found.diffs] == [
        'module.cluster.aws_cloudwatch_metric_alarm.builtin["capacity"]',
        CLUSTER,
        "module.cluster.aws_secretsmanager_secret_version.master",
        "module.cluster.aws_security_group.this",
    ]


def test_sensitive_values_are_masked_and_never_kept() -> None:
    found = review.review_plan(replace_plan())
    secret = found.diff("module.cluster.aws_secretsmanager_secret_version.master")
    assert secret is not None
    assert by_path(secret.changes)["secret_string"] == (review.SENSITIVE, review.SENSITIVE, False)
    assert "FAKE-SECRET" not in repr(found)
    assert "FAKE-SECRET" not in json.dumps([d.to_json() for d in found.diffs])


def test_a_value_known_after_apply_is_shown_so() -> None:
    plan = {
        "resource_changes": [
            cluster_update(
                {"engine_version_actual": "16.8", "port": 5432},
                {"engine_version_actual": None, "port": 5433},
                after_unknown={"engine_version_actual": True},
            )
        ]
    }
    (diff,) = review.review_plan(plan).diffs
    assert by_path(diff.changes) == {
        "engine_version_actual": ('"16.8"', review.UNKNOWN, False),
        "port": ("5432", "5433", False),
    }
    assert diff.changes[0].to_json() == {
        "path": "engine_version_actual",
        "before": "16.8",
        "after": review.UNKNOWN,
        "forces_replacement": False,
    }


def test_map_keys_that_are_not_identifiers_are_quoted() -> None:
    plan = {"resource_changes": [cluster_update({"tags": {"cost center": "a"}}, {"tags": {}})]}
    (diff,) = review.review_plan(plan).diffs
    assert by_path(diff.changes) == {'tags["cost center"]': ('"a"', "null", False)}


def test_the_replaced_cluster_is_data_loss_with_its_final_snapshot() -> None:
    losses = review.review_plan(replace_plan()).data_loss
    assert [(loss.address, loss.reason) for loss in losses] == [
        (
            CLUSTER,
            "the cluster is replaced: the cluster and its data are deleted, a new empty one is created; a final "
            "snapshot is taken (tfgen-cap-final-20261126130338); its automated backups are deleted with it",
        ),
        (CLUSTER, "skip_final_snapshot becomes true: no final snapshot will be taken when the cluster is deleted"),
    ]


@pytest.mark.parametrize(
    ("before", "after", "reason"),
    [
        ({"skip_final_snapshot": False}, {"skip_final_snapshot": True}, "skip_final_snapshot becomes true"),
        ({"delete_automated_backups": False}, {"delete_automated_backups": True}, "delete_automated_backups becomes"),
        ({"backup_retention_period": 14}, {"backup_retention_period": 7}, "lowered from 14 to 7 days"),
    ],
)
def test_an_update_that_loses_backups_is_data_loss(before: dict[str, Any], after: dict[str, Any], reason: str) -> None:
    plan = {"resource_changes": [cluster_update(before, after)]}
    (loss,) = review.review_plan(plan).data_loss
    assert loss.address == CLUSTER and reason in loss.reason


def test_updates_that_keep_the_data_are_not_data_loss() -> None:
    plan = {
        "resource_changes": [
            cluster_update({"backup_retention_period": 7}, {"backup_retention_period": 14}),
            cluster_update({"tags": {"a": "1"}}, {"tags": {"a": "2"}}),
            change(
                "module.cluster.aws_cloudwatch_metric_alarm.cpu", "aws_cloudwatch_metric_alarm", ["delete"], {}, None
            ),
        ]
    }
    assert review.review_plan(plan).data_loss == ()


def test_a_destroy_loses_the_cluster_and_its_instances() -> None:
    plan = {
        "resource_changes": [
            change(CLUSTER, "aws_rds_cluster", ["delete"], cluster(skip_final_snapshot=True), None),
            change(INSTANCE, "aws_rds_cluster_instance", ["delete"], {"identifier": "orders-db-1"}, None),
        ]
    }
    found = review.review_plan(plan)
    assert found.diffs == () and found.cluster_name == "orders-db"
    assert [loss.address for loss in found.data_loss] == [CLUSTER, INSTANCE]
    assert "NO final snapshot is taken (skip_final_snapshot)" in found.data_loss[0].reason
    assert found.data_loss[1].reason.startswith("the instance is destroyed")


def test_reviewed_keeps_the_plan(tmp_path: Path) -> None:
    planned = PlanResult(tmp_path / "p", True, add=1, resource_changes=(ResourceChange(CLUSTER, "replace"),))
    checked = review.reviewed(planned, replace_plan())
    assert isinstance(checked, ReviewedPlan) and (checked.plan_file, checked.add) == (planned.plan_file, 1)
    assert checked.review == review.review_plan(replace_plan())


def test_the_plan_shows_diffs_and_a_data_loss_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    planned = review.reviewed(
        PlanResult(
            tmp_path / "p",
            True,
            add=1,
            change=1,
            remove=1,
            resource_changes=(
                ResourceChange(CLUSTER, "replace"),
                ResourceChange('module.cluster.aws_cloudwatch_metric_alarm.builtin["capacity"]', "update"),
            ),
        ),
        replace_plan(),
    )
    output.print_changes(planned, json_lines=False)
    assert output.print_data_loss(planned, json_lines=False) == "tfgen-cap"
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[1] == f"  -/+ {CLUSTER} (replace: forced by database_name)"
    assert '      database_name: "reports" -> "reports2"  # forces replacement' in lines
    assert "      scaling_configuration[0].max_capacity: 8 -> 16" in lines
    assert "      threshold: 8 -> 16" in lines
    assert "WARNING: THIS PLAN LOSES DATA of cluster tfgen-cap:" in captured.err
    assert f"  {CLUSTER}: the cluster is replaced: " in captured.err
    assert "FAKE-SECRET" not in captured.out + captured.err


def test_json_lines_carry_the_diffs_as_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    planned = review.reviewed(
        PlanResult(tmp_path / "p", True, resource_changes=(ResourceChange(CLUSTER, "replace"),)), replace_plan()
    )
    output.print_changes(planned, json_lines=True)
    output.print_data_loss(planned, json_lines=True)
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    diffs = [e for e in events if e["type"] == "resource_diff"]
    assert [e["address"] for e in diffs][:2] == [
        'module.cluster.aws_cloudwatch_metric_alarm.builtin["capacity"]',
        CLUSTER,
    ]
    cluster_event = diffs[1]
    assert cluster_event["action"] == "replace" and cluster_event["replaced_by"] == ["database_name"]
    assert {"path": "database_name", "before": "reports", "after": "reports2", "forces_replacement": True} in (
        cluster_event["changes"]
    )
    assert [e["address"] for e in events if e["type"] == "data_loss"] == [CLUSTER, CLUSTER]
    assert "Plan: " in captured.err and "FAKE-SECRET" not in captured.out + captured.err


def test_a_plan_without_a_review_prints_as_before(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    planned = PlanResult(tmp_path / "p", True, add=1, resource_changes=(ResourceChange(CLUSTER, "create"),))
    output.print_changes(planned, json_lines=False)
    assert output.print_data_loss(planned, json_lines=False) is None
    assert capsys.readouterr().out == f"Plan: 1 to add, 0 to change, 0 to destroy.\n  + {CLUSTER} (create)\n"


def restore_create(**after: Any) -> dict[str, Any]:
    return {"resource_changes": [change(CLUSTER, "aws_rds_cluster", ["create"], None, cluster(**after))]}


@pytest.mark.parametrize(
    ("after", "said"),
    [
        ({"snapshot_identifier": "orders-db-final-20261120"}, "snapshot orders-db-final-20261120"),
        (
            {
                "restore_to_point_in_time": [
                    {"source_cluster_identifier": "orders-db", "restore_to_time": "2026-11-20T03:15:00Z"}
                ]
            },
            "cluster orders-db at 2026-11-20T03:15:00Z",
        ),
        (
            {
                "restore_to_point_in_time": [
                    {
                        "source_cluster_identifier": "orders-db",
                        "use_latest_restorable_time": True,
                        "restore_type": "copy-on-write",
                    }
                ]
            },
            "cluster orders-db at its latest restorable time (copy-on-write clone)",
        ),
        ({"snapshot_identifier": None, "restore_to_point_in_time": []}, None),
    ],
)
def test_a_cluster_created_from_a_backup_is_said_so(after: dict[str, Any], said: str | None) -> None:
    assert review.review_plan(restore_create(**after)).restored_from == said


def test_an_update_of_a_restored_cluster_restores_nothing() -> None:
    plan = {"resource_changes": [cluster_update({"snapshot_identifier": "s1"}, {"snapshot_identifier": "s1"})]}
    assert review.review_plan(plan).restored_from is None


def test_a_replaced_restored_cluster_is_restored_again_and_said_so() -> None:
    replaced = change(
        CLUSTER,
        "aws_rds_cluster",
        ["delete", "create"],
        cluster(snapshot_identifier="s1"),
        cluster(snapshot_identifier="s1"),
    )
    found = review.review_plan({"resource_changes": [replaced]})
    assert found.restored_from == "snapshot s1"
    assert "a new one is restored from snapshot s1" in found.data_loss[0].reason


def test_the_plan_says_the_cluster_is_restored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = restore_create(snapshot_identifier="orders-db-final-20261120")
    planned = review.reviewed(
        PlanResult(tmp_path / "p", True, add=1, resource_changes=(ResourceChange(CLUSTER, "create"),)), plan
    )
    output.print_changes(planned, json_lines=False)
    assert "The cluster is created from a backup: snapshot orders-db-final-20261120." in capsys.readouterr().out
    output.print_changes(planned, json_lines=True)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"type": "restore", "@module": "tfgen", "source": "snapshot orders-db-final-20261120"} in events


def test_a_saved_plan_counts_and_shows_its_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_json = json.loads((FIXTURES / "log-groups-imported.json").read_text(encoding="utf-8"))
    planned = review.saved_plan(tmp_path / "plan.tfplan", plan_json)
    assert (planned.changes_present, planned.imported, planned.add, planned.change, planned.remove) == (
        True,
        2,
        0,
        1,
        0,
    )
    assert planned.resource_changes == (
        ResourceChange("aws_cloudwatch_log_group.postgresql", "import", importing=True),
        ResourceChange("aws_cloudwatch_log_group.upgrade", "update", importing=True),
    )
    output.print_changes(planned, json_lines=False)
    assert capsys.readouterr().out.splitlines()[:3] == [
        "Plan: 2 to import, 0 to add, 1 to change, 0 to destroy.",  # terraform's own words for this plan
        "    aws_cloudwatch_log_group.postgresql (import)",
        "  ~ aws_cloudwatch_log_group.upgrade (import, update)",
    ]
