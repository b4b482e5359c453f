"""After an interrupted apply: adopt what it created but the state lacks; the write-only password's version.

An apply interrupted at the wrong moment (SIGTERM or kill -9 between CreateDBCluster and the
state write, or between CreateDBInstance and the state write) leaves a resource at AWS that the
state does not record: the next apply would create it again and AWS would refuse
(``DBClusterAlreadyExistsFault``). So every apply leaves a mark in its working directory
(:data:`tfgen.deploy.inflight.MARKER`, the time it began) before terraform starts, removed when the apply succeeds. A
mark found by the next command means an apply was interrupted: for each resource whose
identifier the module derives from the spec alone (the cluster, its instances) and that the
state lacks, AWS is asked; one that exists is adopted with a terraform ``import`` block
(:mod:`tfgen.deploy.imports`), but only if it is tfgen's: created after the interrupted apply
began, in this cluster, with every tag the module sets. Anything else with that identifier is
refused (:class:`ForeignResourceError`): tfgen never takes over what it did not create. The
module's other resources that a repeated create refuses or duplicates (subnet and security
groups, parameter groups, the secret, the monitoring role) are :mod:`tfgen.deploy.leftovers`';
the stand-in network of ``--local`` (``local_network.tf``) is :mod:`tfgen.deploy.standin`'s.

The write-only master password (``master_password.source: write_only``) is written to the
cluster and to its secret only when ``master_password_version`` changes. The version lives in
the working directory (:data:`tfgen.deploy.inflight.VERSION_FILE`, a ``*.auto.tfvars.json`` terraform reads by itself;
the root ``main.tf`` passes it to the module): ``tfgen rotate`` increases it, and so does the
adoption of a cluster, so that the cluster (created with the interrupted run's password, which
no secret holds) and the secret get this run's password in one apply.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfgen.deploy import imports, inflight
from tfgen.errors import TfgenError

if TYPE_CHECKING:  # imported when an interrupted apply is found: not on the path of every apply
    from tfgen.deploy import leftovers, standin
    from tfgen.spec.model import Spec

SECRET_VERSION_ADDRESS = "module.cluster.aws_secretsmanager_secret_version.master"  # noqa: S105  (an address)


class RecoveryError(TfgenError):
    """Raised when AWS cannot be asked what an interrupted apply left."""


class ForeignResourceError(RecoveryError):
    """Raised when a resource the spec would create exists but is not tfgen's to adopt.

    Its identifier is the spec's, but the state lacks it and it was not created by the
    interrupted apply (created earlier, in another cluster, or with other tags).
    """


@dataclass(frozen=True)
class Found:
    """A resource that exists at AWS, as far as adopting it goes."""

    created: datetime.datetime | None
    tags: Mapping[str, str]
    cluster: str | None = None
    """For an instance: the cluster it belongs to."""


@dataclass(frozen=True)
class Candidate:
    """A resource the module names from the spec alone: its address and the identifier AWS knows it by."""

    address: str
    id: str
    kind: str
    """``cluster``, ``instance`` or ``log_group``: which lookup finds it."""


Lookup = Callable[[Candidate], Found | None]
"""Asks AWS for a candidate: what it found, or None when nothing has that identifier."""


@dataclass(frozen=True)
class Adoption:
    """What the next apply imports, and whether the write-only password was re-synced."""

    blocks: tuple[imports.ImportBlock, ...] = ()
    password_version: int | None = None
    """The new ``master_password_version`` when it was increased for an adopted cluster."""

    def describe(self) -> list[str]:
        """What to tell the user (nothing when nothing was adopted or re-synced)."""
        lines = []
        if self.blocks:
            names = ", ".join(f"{b.address} ({b.id})" for b in self.blocks)
            lines.append(f"adopting {len(self.blocks)} resource(s) left by an interrupted apply: {names}")
        if self.password_version is not None:
            lines.append(
                f"the write-only master password is set again (master_password_version {self.password_version}): "
                "the cluster the interrupted apply created and its secret get the same new password in this apply"
            )
        return lines


# ----------------------------------------------------------------------------- adoption


def candidates(spec: Spec) -> list[Candidate]:
    """The resources whose identifiers the module derives from the spec alone and AWS dates: cluster, instances, log group.

    The module's other resources (the groups AWS records no creation time for, what a
    ``name_prefix`` names) are :mod:`tfgen.deploy.leftovers`', on other evidence.
    """
    found = [Candidate(inflight.CLUSTER_ADDRESS, spec.name, "cluster")]
    if spec.log_group_managed:
        found.append(Candidate("module.cluster.aws_cloudwatch_log_group.postgresql", spec.log_group_name, "log_group"))
    if spec.is_v2:
        count = getattr(spec.serverless, "instances", 1)
        named = {o.instance: o.identifier for o in getattr(spec.serverless, "instance_overrides", ()) if o.identifier}
        found += [
            Candidate(
                f"module.cluster.aws_rds_cluster_instance.this[{i}]",
                named.get(i + 1) or f"{spec.name}-{i + 1}",
                "instance",
            )
            for i in range(count)
        ]
    return found


def state_addresses(state: str) -> set[str]:
    """Every resource instance address of a state (``terraform state pull``'s JSON)."""
    from tfgen.deploy import leftovers

    return set(leftovers.state_ids(state))


def adopt(spec: Spec, in_state: Iterable[str], since: datetime.datetime, lookup: Lookup) -> list[imports.ImportBlock]:
    """Import blocks for the spec's resources that the state lacks and the interrupted apply created.

    Raises:
        ForeignResourceError: If such a resource exists but is not tfgen's (see the module's docstring).
    """
    present = set(in_state)
    blocks = []
    for candidate in candidates(spec):
        if candidate.address in present:
            continue
        found = lookup(candidate)
        if found is None:
            continue
        _check_ours(spec, candidate, found, since)
        reason = f"created by the apply interrupted at {since:%Y-%m-%d %H:%M:%S} UTC, not in the state"
        blocks.append(imports.ImportBlock(candidate.address, candidate.id, reason))
    return blocks


def _check_ours(spec: Spec, candidate: Candidate, found: Found, since: datetime.datetime) -> None:
    from tfgen.deploy.leftovers import CLOCK_SKEW

    what = f"{candidate.kind} {candidate.id}"
    problems = []
    if found.created is None or found.created < since - CLOCK_SKEW:
        when = "at an unknown time" if found.created is None else f"at {found.created:%Y-%m-%d %H:%M:%S} UTC"
        problems.append(f"it was created {when}, before the interrupted apply began ({since:%Y-%m-%d %H:%M:%S} UTC)")
    if candidate.kind == "instance" and found.cluster != spec.name:
        problems.append(f"it belongs to cluster {found.cluster}, not {spec.name}")
    differing = sorted(key for key, value in spec.tags.items() if found.tags.get(key) != value)
    if differing:
        problems.append(f"its tags differ from the ones the module sets ({', '.join(differing)})")
    if problems:
        raise ForeignResourceError(
            f"{what} exists at AWS but not in this working directory's state, and it is not tfgen's to adopt: "
            + "; ".join(problems),
            hint=f"tfgen adopts only what an interrupted apply created; if {candidate.id} is yours, delete or "
            "rename it, or give the spec another name",
        )


def client_options(region: str, endpoint: str | None) -> dict[str, Any]:
    """boto3 client arguments: the region, and for the emulator its URL and dummy credentials."""
    from tfgen.deploy import backend

    options: dict[str, Any] = {"region_name": region}
    if endpoint is not None:  # the emulator accepts any credentials; never send the user's to it
        options.update(endpoint_url=endpoint, **backend.boto_credentials())
    return options


def aws_lookup(region: str, endpoint: str | None) -> Lookup:
    """A :data:`Lookup` through boto3 (the emulator's dummy credentials with ``endpoint``, else boto3's chain).

    Raises:
        RecoveryError: From the lookup it returns, if AWS cannot be asked.
    """
    import boto3  # heavy: only a working directory with an interrupted apply needs it
    from botocore.exceptions import BotoCoreError, ClientError

    options = client_options(region, endpoint)
    session = boto3.session.Session()
    rds = session.client("rds", **options)
    logs = session.client("logs", **options)

    def lookup(candidate: Candidate) -> Found | None:
        try:
            if candidate.kind == "log_group":
                return _log_group(logs, candidate.id)
            if candidate.kind == "cluster":
                items = rds.describe_db_clusters(DBClusterIdentifier=candidate.id)["DBClusters"]
                return _found(items, "ClusterCreateTime") if items else None
            items = rds.describe_db_instances(DBInstanceIdentifier=candidate.id)["DBInstances"]
            return _found(items, "InstanceCreateTime") if items else None
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("DBClusterNotFoundFault", "DBInstanceNotFound"):
                return None
            raise RecoveryError(
                f"cannot look up {candidate.kind} {candidate.id} after an interrupted apply: {exc}"
            ) from None
        except BotoCoreError as exc:
            raise RecoveryError(
                f"cannot look up {candidate.kind} {candidate.id} after an interrupted apply: {exc}"
            ) from None

    return lookup


def _log_group(logs: Any, name: str) -> Found | None:
    groups = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups") or []
    group = next((g for g in groups if g.get("logGroupName") == name), None)
    if group is None:
        return None
    millis = group.get("creationTime")
    created = datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC) if isinstance(millis, int) else None
    tags = logs.list_tags_log_group(logGroupName=name).get("tags") or {}
    return Found(created, tags)


def _found(items: list[dict[str, Any]], created: str) -> Found:
    item = items[0]
    when = item.get(created)
    if isinstance(when, datetime.datetime) and when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    tags = {t["Key"]: t.get("Value", "") for t in item.get("TagList") or []}
    return Found(when if isinstance(when, datetime.datetime) else None, tags, item.get("DBClusterIdentifier"))


def recover(
    directory: Path,
    spec: Spec,
    pull_state: Callable[[], str],
    endpoint: str | None,
    notify: Callable[[str], None],
    *,
    destroying: bool = False,
) -> Adoption:
    """After an interrupted apply in ``directory``: write import blocks for what it left, and say so.

    An adopted cluster with a write-only password gets a new one (its version increased), which
    the next apply writes to the cluster and to its secret alike (not when ``destroying``). What
    the interrupted apply left but cannot be adopted (:mod:`tfgen.deploy.leftovers`' orphans)
    is named with the command that removes it. Nothing else happens unless an apply was
    interrupted here, but for a write-only password whose version this directory does not
    record yet (a new working directory of a deployed cluster): it is taken from the state.

    Raises:
        ForeignResourceError: If a resource with the spec's identifier exists but is not tfgen's.
        RecoveryError: If AWS cannot be asked.
        TerraformRunError: If the state cannot be read.
    """
    write_only = spec.master_password.source == "write_only"
    since = inflight.interrupted_since(directory)
    if write_only and not (directory / inflight.VERSION_FILE).exists():
        # a new working directory of a deployed cluster (a remote state, a fresh CI checkout): the
        # state's version is the current one, or the next plan would set a new password
        pull_state = functools.cache(pull_state)
        inflight.set_password_version(directory, inflight.version_in_state(pull_state()) or 1)
    if since is None:
        return Adoption()
    state = pull_state()
    addresses = state_addresses(state)
    blocks = adopt(spec, addresses, since, aws_lookup(spec.region, endpoint))
    from tfgen.deploy import backend, standin

    stand = None
    if (directory / standin.FILENAME).exists():
        stand = standin.of(spec, directory, backend.identity(spec, local=True))
    swept = _sweep(spec, state, since, endpoint, stand)
    for line in swept.describe(spec.region, endpoint):
        notify(line)
    blocks += swept.blocks
    adopted = {block.address for block in blocks}
    if blocks:
        imports.write(directory, [*blocks, *(b for b in imports.read(directory) if b.address not in adopted)])
    version = None
    # the cluster has the interrupted run's password and no secret version holds it: a new one for both
    unsynced = inflight.CLUSTER_ADDRESS in adopted or (
        inflight.CLUSTER_ADDRESS in addresses and SECRET_VERSION_ADDRESS not in addresses
    )
    if write_only and unsynced and not destroying:
        version = inflight.bump_password_version(directory)
    adoption = Adoption(tuple(blocks), version)
    for line in adoption.describe():
        notify(line)
    return adoption


def _sweep(
    spec: Spec, state: str, since: datetime.datetime, endpoint: str | None, stand: standin.StandIn | None
) -> leftovers.Sweep:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError  # an emulator without the API answers HTML

    from tfgen.deploy import leftovers, searches, standin

    options = client_options(spec.region, endpoint)
    ids = leftovers.state_ids(state)
    try:
        network, vpc = leftovers.Sweep(), None
        if stand is not None:  # the module's security group is in the stand-in VPC (none yet: no group either)
            vpc = ids.get(standin.VPC_ADDRESS)
            network = standin.sweep(stand, ids, searches.stand_in_pieces(options, stand, vpc), since)
            vpc = vpc or next((b.id for b in network.blocks if b.address == standin.VPC_ADDRESS), "")
        swept = network + leftovers.sweep(spec, ids, since, searches.aws_search(options), vpc=vpc)
    except (BotoCoreError, ClientError, ResponseParserError) as exc:
        raise RecoveryError(f"cannot look for what an interrupted apply left: {exc}") from None
    if swept.foreign:
        raise ForeignResourceError(
            "; ".join(
                f"{what} exists at AWS but not in this working directory's state, and it is not tfgen's to adopt: {why}"
                for what, why in swept.foreign
            ),
            hint="tfgen adopts only what an interrupted apply created; if it is yours, delete or rename it, "
            "or give the spec another name",
        )
    return swept
