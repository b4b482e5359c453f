"""tfgen/deploy/advice.py: the hint added to terraform's errors whose cause tfgen knows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfgen.deploy import advice
from tfgen.spec.loading import parse_spec
from tfgen.spec.model import Spec
from tfgen.terraform.errors import TerraformRunError
from tfgen.terraform.results import Diagnostic

DOWNGRADE = (
    "updating RDS Cluster (orders-db): operation error RDS: ModifyDBCluster, https response error StatusCode: 400, "
    "api error InvalidParameterCombination: Cannot upgrade aurora-postgresql from 17.8 to 17.7"
)


def _spec(engine_version: str | None) -> Spec:
    text = "name: orders-db\nregion: us-east-1\nvpc_id: vpc-0a1b2c3d\nsubnet_ids: [subnet-0a1b2c3d, subnet-0a1b2c3e]\n"
    text += "network:\n  allowed_cidr_blocks: [10.0.0.0/16]\n"
    if engine_version is not None:
        text += f'engine_version: "{engine_version}"\n'
    return parse_spec(text, Path("orders.yaml")).spec


def _error(*summaries: str) -> TerraformRunError:
    diagnostics = [Diagnostic(severity="error", summary=summary) for summary in summaries]
    return TerraformRunError(
        "terraform apply failed", command=["apply"], returncode=1, diagnostics=diagnostics, output=[]
    )


def test_a_refused_downgrade_under_a_major_names_the_running_minor_and_the_provider_issue() -> None:
    hint = advice.explain(_error(DOWNGRADE), Path("work"), _spec(None)).hint
    assert hint is not None
    assert 'set engine_version: "17.8"' in hint
    assert "terraform-provider-aws#45026" in hint


def test_a_refused_downgrade_under_a_pinned_minor_says_the_cluster_moved() -> None:
    refused = "api error InvalidParameterCombination: Cannot upgrade aurora-postgresql from 16.9 to 16.8"
    hint = advice.explain(_error(refused), Path("work"), _spec("16.8")).hint
    assert hint is not None
    assert "runs aurora-postgresql 16.9" in hint and "pins 16.8" in hint
    assert 'set engine_version: "16.9"' in hint


def test_the_lock_error_keeps_its_hint_and_other_errors_get_none() -> None:
    locked = advice.explain(_error(advice.LOCK_ERROR), Path("work"), _spec(None)).hint
    assert locked is not None and "force-unlock" in locked and "work" in locked
    assert advice.explain(_error("Error: something else"), Path("work"), _spec(None)).hint is None
    assert advice.explain(_error(DOWNGRADE), Path("work")).hint is None  # no spec, no claim about it


@pytest.mark.parametrize("summary", ["Cannot upgrade aurora-postgresql from 17.8 to 17.7", DOWNGRADE])
def test_the_pattern_comes_from_the_facts_file(summary: str) -> None:
    found = advice._downgrade_pattern().search(summary)
    assert found is not None and (found["current"], found["requested"]) == ("17.8", "17.7")
