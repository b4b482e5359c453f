"""The RDS Data API (``enable_http_endpoint``): which clusters AWS gives it to.

Serverless v2 clusters get it from one minor of each major on (``[data_api]`` in
``tfgen/facts/aws.toml``, with the provider's history: before its PR #38997 a v2 cluster never
got it), and not in every region. :func:`data_api_problems` refuses a pinned minor below the
minimum; :func:`data_api_warnings` names a region AWS lists as without it. Both are called from
:mod:`tfgen.spec.rules`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfgen import facts
from tfgen.spec.yaml_source import Loc

if TYPE_CHECKING:
    from tfgen.spec.model import Spec

Problem = tuple[Loc, str]

_LOC: Loc = ("enable_http_endpoint",)


def _minimums() -> dict[int, tuple[int, int]]:
    found: dict[int, tuple[int, int]] = {}
    for major, minor in facts.raw()["data_api"]["minimum"].items():
        found[int(major)] = facts.minor_of(minor) or (int(major), 0)
    return found


def data_api_problems(spec: Spec) -> list[Problem]:
    """A Serverless v2 spec with the Data API on an engine minor that does not have it."""
    if not (spec.enable_http_endpoint and spec.is_v2 and spec.engine_minor_pinned):
        return []
    version = spec.effective_engine_version
    pinned = facts.minor_of(version)
    minimums = _minimums()
    if pinned is None or pinned[0] not in minimums or pinned >= minimums[pinned[0]]:
        return []
    needs = ", ".join(f"{major}.{minor}+" for major, minor in minimums.values())
    return [
        (
            _LOC,
            f"the Data API needs aurora-postgresql {needs} with Serverless v2; engine_version is {version} "
            f'(or give the major "{pinned[0]}": AWS picks a current minor)',
        )
    ]


def data_api_warnings(spec: Spec) -> list[Problem]:
    """A region AWS lists as without the Data API for Serverless v2."""
    if spec.enable_http_endpoint and spec.is_v2 and spec.region in facts.raw()["data_api"]["unavailable_regions"]:
        return [(_LOC, f"AWS lists the Data API for Aurora PostgreSQL Serverless v2 as not available in {spec.region}")]
    return []
