"""The destroy check (tfgen.deploy.safety): terraform's JSON destroy plan in, refuse or allow out; no terraform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tfgen.deploy import safety
from tfgen.deploy.safety import ClusterDeletion, DestroyPlan, ProtectedClusterError
from tfgen.errors import ExitCode, TfgenError
from tfgen.terraform.results import PlanResult, ResourceChange

CLUSTER = "module.cluster.aws_rds_cluster.this"


def destroy_plan(
    *,
    configured: bool | None,
    deployed: bool,
    skip_final_snapshot: bool = False,
    snapshot: str | None = "orders-db-final-20261126115000",
    constant: bool | None = None,
) -> dict[str, Any]:
    """The parts of ``terraform show -json`` of a destroy plan that the check reads."""
    variables = {} if configured is None else {"deletion_protection": {"default": configured}}
    expressions = {} if constant is None else {"deletion_protection": {"constant_value": constant}}
    before = {
        "deletion_protection": deployed,
        "skip_final_snapshot": skip_final_snapshot,
        "final_snapshot_identifier": None if skip_final_snapshot else snapshot,
    }
    return {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "module.cluster.aws_cloudwatch_metric_alarm.cpu",
                "module_address": "module.cluster",
                "type": "aws_cloudwatch_metric_alarm",
                "change": {"actions": ["delete"], "before": {"alarm_name": "cpu"}},
            },
            {
                "address": CLUSTER,
                "module_address": "module.cluster",
                "type": "aws_rds_cluster",
                "change": {"actions": ["delete"], "before": before, "after": None},
            },
        ],
        "configuration": {
            "root_module": {
                "module_calls": {
                    "cluster": {
                        "source": "./module",
                        "expressions": expressions,
                        "module": {"variables": variables},
                    }
                }
            }
        },
    }


@pytest.mark.parametrize(
    ("configured", "deployed", "refused"),
    [(True, True, True), (False, True, True), (True, False, True), (False, False, False)],
)
def test_a_protected_cluster_is_refused_in_the_spec_or_deployed(
    configured: bool, deployed: bool, refused: bool
) -> None:
    clusters = safety.inspect_destroy(destroy_plan(configured=configured, deployed=deployed))
    assert [c.address for c in clusters] == [CLUSTER]
    assert (clusters[0].protected_in_config, clusters[0].protected_deployed) == (configured, deployed)
    if not refused:
        safety.check_destroy(clusters)
        return
    with pytest.raises(ProtectedClusterError) as caught:
        safety.check_destroy(clusters)
    error = caught.value
    assert isinstance(error, TfgenError) and error.exit_code is ExitCode.FAILED
    assert "\n" not in error.message and error.hint is not None and "\n" not in error.hint
    assert error.message.startswith(f"{CLUSTER} has deletion protection (")
    assert error.message.endswith("nothing was destroyed")
    assert ("in the spec" in error.message) is configured
    assert ("on the deployed cluster" in error.message) is deployed
    assert error.hint.endswith("run `tfgen apply`, then `tfgen destroy`")
    assert ("set `deletion_protection: false` in the spec" in error.hint) is configured


def test_the_module_call_argument_wins_over_the_variable_default() -> None:
    (cluster,) = safety.inspect_destroy(destroy_plan(configured=True, deployed=False, constant=False))
    assert cluster.protected_in_config is False
    safety.check_destroy((cluster,))


def test_a_plan_without_the_variable_is_judged_by_the_deployed_cluster() -> None:
    (cluster,) = safety.inspect_destroy(destroy_plan(configured=None, deployed=False))
    assert cluster.protected_in_config is None and not cluster.protected
    (cluster,) = safety.inspect_destroy(destroy_plan(configured=None, deployed=True))
    assert cluster.protected


def test_the_final_snapshot_is_named_or_skipped() -> None:
    (taken,) = safety.inspect_destroy(destroy_plan(configured=False, deployed=False))
    assert taken.final_snapshot == "orders-db-final-20261126115000" and not taken.skip_final_snapshot
    (skipped,) = safety.inspect_destroy(destroy_plan(configured=False, deployed=False, skip_final_snapshot=True))
    assert skipped.final_snapshot is None and skipped.skip_final_snapshot


def test_only_clusters_the_plan_deletes_are_checked() -> None:
    plan = destroy_plan(configured=True, deployed=True)
    plan["resource_changes"][1]["change"]["actions"] = ["no-op"]
    assert safety.inspect_destroy(plan) == ()
    assert safety.inspect_destroy({}) == ()  # nothing deployed: terraform shows no resource changes
    safety.check_destroy(())


def test_checked_destroy_keeps_the_plan_and_adds_the_clusters(tmp_path: Path) -> None:
    planned = PlanResult(
        plan_file=tmp_path / "tfgen.tfplan",
        changes_present=True,
        remove=2,
        resource_changes=(ResourceChange(CLUSTER, "delete"),),
    )
    checked = safety.checked_destroy(planned, destroy_plan(configured=False, deployed=False))
    assert isinstance(checked, DestroyPlan) and isinstance(checked, PlanResult)
    assert (checked.plan_file, checked.remove, checked.resource_changes) == (
        planned.plan_file,
        2,
        planned.resource_changes,
    )
    assert checked.clusters == (
        ClusterDeletion(CLUSTER, False, False, "orders-db-final-20261126115000", skip_final_snapshot=False),
    )
    with pytest.raises(ProtectedClusterError):
        safety.checked_destroy(planned, destroy_plan(configured=True, deployed=False))


def test_destroy_names_the_final_snapshot_or_says_loudly_there_is_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tfgen.cli import output

    planned = PlanResult(plan_file=tmp_path / "tfgen.tfplan", changes_present=True)
    taken = safety.checked_destroy(planned, destroy_plan(configured=False, deployed=False))
    skipped = safety.checked_destroy(planned, destroy_plan(configured=False, deployed=False, skip_final_snapshot=True))
    output.print_deletions(taken, json_lines=False)
    output.print_deletions(skipped, json_lines=False)
    output.print_deletions(planned, json_lines=False)  # apply's plan: nothing to say
    captured = capsys.readouterr()
    assert captured.out == f"final snapshot: orders-db-final-20261126115000 (taken as {CLUSTER} is deleted)\n"
    assert captured.err == (
        f"WARNING: NO FINAL SNAPSHOT: {CLUSTER} is deleted without one (skip_final_snapshot); its data is gone for good\n"
    )
