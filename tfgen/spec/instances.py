"""Per-instance settings of a Serverless v2 cluster: ``serverless.instance_overrides``.

Instances are numbered as their identifiers are (``<name>-1`` is instance 1); an override
changes one instance's availability zone, promotion tier or identifier, the others keep the
module's defaults (an AZ AWS picks, promotion tier = instance number - 1, ``<name>-<number>``). Cross-field rules (the
instance exists, the zone is in the spec's region) live in :mod:`tfgen.spec.rules`.
"""

from __future__ import annotations

from typing import Annotated

from tfgen.spec.fields import AvailabilityZone, ClusterName
from tfgen.spec.record import Field, Record


class InstanceOverride(Record):
    """One instance's own settings; strict, unknown fields refused, frozen (as every section)."""

    instance: Annotated[int, Field(ge=1, le=15)]
    """The instance's number: ``<name>-<instance>``."""
    availability_zone: AvailabilityZone | None = None
    """Replaces the instance when changed (ForceNew); one of the DB subnet group's zones."""
    promotion_tier: Annotated[int, Field(ge=0, le=15)] | None = None
    """Failover order, 0 first (AWS: 0-15)."""
    identifier: ClusterName | None = None
    """The instance's DB instance identifier instead of ``<name>-<instance>`` (ForceNew): an adopted
    instance keeps the name it was given (``tfgen import`` writes it)."""
