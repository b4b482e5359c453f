"""Custom endpoints of a Serverless v2 cluster: ``endpoints: {reporting: {type, members | excluded}}``.

Each becomes an ``aws_rds_cluster_endpoint`` named ``<name>-<key>`` over some instances,
numbered as ``serverless.instance_overrides`` numbers them (``<name>-1`` is instance 1):
``members`` are its only instances (static members: replicas Aurora Auto Scaling adds later are
not among them), ``excluded`` the instances it leaves out (every other one, those the
autoscaler adds included), neither: every instance of its ``type``. :func:`endpoint_problems`
(called from :mod:`tfgen.spec.rules`) holds them to AWS's rules (``[custom_endpoints]`` in
``tfgen/facts/aws.toml``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from tfgen import facts
from tfgen.spec.record import AfterValidator, Invalid, Record
from tfgen.spec.yaml_source import Loc

if TYPE_CHECKING:
    from tfgen.spec.model import Spec

Problem = tuple[Loc, str]


def _endpoint_name(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", value, re.ASCII):
        raise Invalid("must be lowercase letters, digits and single hyphens, starting with a letter")
    return value


EndpointName = Annotated[str, AfterValidator(_endpoint_name)]


class CustomEndpoint(Record):
    """One custom endpoint: its type and which instances it routes to."""

    type: Literal["READER", "ANY"]
    """READER: the readers among its instances only; ANY: any of them, the writer included."""
    members: list[int] = []
    """Instance numbers it routes to, and only these."""
    excluded: list[int] = []
    """Instance numbers it leaves out (it routes to every other instance, added ones too)."""


def endpoint_problems(spec: Spec) -> list[Problem]:
    """Custom endpoints: v2 only, at most five, existing instances, members or excluded, identifiers AWS accepts."""
    from tfgen.spec.model import ServerlessV2  # model imports this module's records

    if not spec.endpoints:
        return []
    if not isinstance(spec.serverless, ServerlessV2):
        return [(("endpoints",), "Aurora Serverless v1 has no instances for custom endpoints")]
    instances = spec.serverless.instances
    rules = facts.raw()["custom_endpoints"]
    limit = rules["identifier_max_length"]
    problems: list[Problem] = []
    if len(spec.endpoints) > rules["max_per_cluster"]:
        problems.append(
            (("endpoints",), f"{len(spec.endpoints)} endpoints: a cluster has at most {rules['max_per_cluster']}")
        )
    for key, endpoint in spec.endpoints.items():
        loc = ("endpoints", key)
        identifier = f"{spec.name}-{key}"
        if len(identifier) > limit:
            problems.append((loc, f"the endpoint identifier {identifier} is longer than {limit} characters"))
        if endpoint.members and endpoint.excluded:
            problems.append(((*loc, "excluded"), "give members or excluded, not both"))
        for field_name in ("members", "excluded"):
            numbers: list[int] = getattr(endpoint, field_name)
            for index, number in enumerate(numbers):
                where = (*loc, field_name, index)
                if number in numbers[:index]:
                    problems.append((where, f"duplicate instance {number}"))
                elif not 1 <= number <= instances:
                    problems.append((where, f"instance {number} does not exist: serverless.instances is {instances}"))
    return problems
