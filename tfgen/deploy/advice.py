"""What to do after terraform failed: a hint added to the error, from what tfgen knows.

Each hint answers one error whose cause tfgen can name (``tfgen/facts/aws.toml`` says where
the rule comes from); any other error keeps terraform's words only.
"""

from __future__ import annotations

import re
from pathlib import Path

from tfgen import facts
from tfgen.spec.model import Spec
from tfgen.terraform.errors import TerraformRunError

LOCK_ERROR = "Error acquiring the state lock"
"""Summary of terraform's diagnostic when another run holds the state lock."""


def _downgrade_pattern() -> re.Pattern[str]:
    """AWS's refusal of a lower engine version ([errors.version_downgrade]), with the two versions captured."""
    message = facts.raw()["errors"]["version_downgrade"]["message"]
    return re.compile(
        re.escape(message)
        .replace(r"\{current\}", r"(?P<current>\d+(?:\.\d+)?)")
        .replace(r"\{requested\}", r"(?P<requested>\d+(?:\.\d+)?)")
    )


def explain(error: TerraformRunError, directory: Path, spec: Spec | None = None) -> TerraformRunError:
    """Add what to do to ``error`` when its cause is known (the state lock, an engine version AWS refuses)."""
    if error.hint is not None:
        return error
    if any(d.summary == LOCK_ERROR for d in error.errors):
        error.hint = (
            "another run holds the state lock (its ID and owner are above): wait for it, or pass "
            "--lock-timeout 5m to wait; if that run died, `terraform force-unlock ID` "
            f"in {directory} releases the lock"
        )
    elif spec is not None:
        error.hint = _engine_version_hint(error, spec)
    return error


def _engine_version_hint(error: TerraformRunError, spec: Spec) -> str | None:
    pattern = _downgrade_pattern()
    for diagnostic in error.errors:
        found = pattern.search(f"{diagnostic.summary} {diagnostic.detail}")
        if found is None:
            continue
        current = found["current"]
        if spec.engine_minor_pinned:
            return (
                f"the cluster runs aurora-postgresql {current} (upgraded by AWS or by hand) and the spec pins "
                f'{spec.effective_engine_version}: set engine_version: "{current}" in the spec and apply again'
            )
        return (
            f"AWS upgraded the cluster to {current}; with the major {spec.effective_engine_version!r} the aws "
            "provider sends the major again on any change of the cluster, and AWS reads it as its default "
            f'minor, a downgrade (hashicorp/terraform-provider-aws#45026): set engine_version: "{current}" '
            "in the spec (automatic minor upgrades then turn off) and apply again"
        )
    return None
