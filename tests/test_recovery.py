"""Recovery from an interrupted apply, ``tfgen rotate``, and ``--local`` keeping what apply creates.

The fast tests hold :mod:`tfgen.deploy.recovery`'s rules to a fake AWS: only what the interrupted
apply created (after it began, the module's tags, in this cluster) is adopted. The slow ones run
``tfgen apply`` with real terraform against a background emulator whose clusters are real
PostgreSQL servers, through a proxy that holds AWS's answer to CreateDBCluster (or
CreateDBInstance), and stop it with SIGTERM there: AWS created the resource, terraform never
recorded it. The next apply must adopt it instead of creating it twice, set the write-only
password again on the cluster and in its secret (``doctor`` connects with the secret's
password), and ``tfgen rotate`` must do the same on demand.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import http.client
import json
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_deploy import (  # noqa: F401  (shared_dir, deploy_env: fixtures this module uses)
    V2_SPEC,
    aws,
    deploy_env,
    derive_spec,
    shared_dir,
)
from tests.test_local_sql import NEEDS_BINARIES
from tests.test_signals import Apply
from tfgen.deploy import imports, inflight, leftovers, recovery, standin
from tfgen.emulator import background
from tfgen.spec.loading import load_spec

REGION = "us-east-1"
NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)


# ----------------------------------------------------------------------------- fast: the rules


def _spec(tmp_path: Path, **changes: object) -> object:
    return load_spec(derive_spec(V2_SPEC, tmp_path, name="orders", **changes)).spec


def _lookup(found: dict[str, recovery.Found]) -> recovery.Lookup:
    return lambda candidate: found.get(candidate.id)


def test_what_the_interrupted_apply_created_is_adopted(tmp_path: Path) -> None:
    spec = _spec(tmp_path, serverless={"min_capacity": 0.5, "max_capacity": 4, "instances": 2})
    tags = {"purpose": "tfgen-demo"}
    found = {
        "orders": recovery.Found(NOW + datetime.timedelta(seconds=5), tags),
        "orders-2": recovery.Found(NOW + datetime.timedelta(seconds=9), tags, "orders"),
        "/aws/rds/cluster/orders/postgresql": recovery.Found(NOW + datetime.timedelta(seconds=1), tags),
    }
    in_state = {"module.cluster.aws_rds_cluster_instance.this[0]"}
    blocks = recovery.adopt(spec, in_state, NOW, _lookup(found))  # type: ignore[arg-type]
    assert [(b.address, b.id) for b in blocks] == [
        (inflight.CLUSTER_ADDRESS, "orders"),
        ("module.cluster.aws_cloudwatch_log_group.postgresql", "/aws/rds/cluster/orders/postgresql"),
        ("module.cluster.aws_rds_cluster_instance.this[1]", "orders-2"),
    ]
    adoption = recovery.Adoption(tuple(blocks), 2)
    assert adoption.describe()[0].startswith("adopting 3 resource(s) left by an interrupted apply: ")
    assert "master_password_version 2" in adoption.describe()[1]


def test_an_instance_named_by_an_override_is_looked_up_by_that_name(tmp_path: Path) -> None:
    """``instance_overrides[].identifier`` (an adopted instance's own name) is the name AWS is asked for."""
    serverless = {"min_capacity": 0.5, "max_capacity": 4, "instances": 2}
    overrides = [{"instance": 2, "identifier": "orders-reader-b"}]
    spec = _spec(tmp_path, serverless={**serverless, "instance_overrides": overrides})
    assert [c.id for c in recovery.candidates(spec) if c.kind == "instance"] == ["orders-1", "orders-reader-b"]  # type: ignore[arg-type]
    tags = {"purpose": "tfgen-demo"}
    found = {"orders-reader-b": recovery.Found(NOW + datetime.timedelta(seconds=9), tags, "orders")}
    in_state = {inflight.CLUSTER_ADDRESS, "module.cluster.aws_rds_cluster_instance.this[0]"}
    blocks = recovery.adopt(spec, in_state, NOW, _lookup(found))  # type: ignore[arg-type]
    assert [(b.address, b.id) for b in blocks] == [
        ("module.cluster.aws_rds_cluster_instance.this[1]", "orders-reader-b")
    ]


@pytest.mark.parametrize(
    ("found", "reason"),
    [
        (recovery.Found(NOW - datetime.timedelta(hours=1), {"purpose": "tfgen-demo"}), "before the interrupted apply"),
        (recovery.Found(None, {"purpose": "tfgen-demo"}), "at an unknown time"),
        (recovery.Found(NOW, {"purpose": "billing"}), "its tags differ from the ones the module sets (purpose)"),
    ],
)
def test_a_cluster_that_is_not_tfgens_is_refused(tmp_path: Path, found: recovery.Found, reason: str) -> None:
    spec = _spec(tmp_path)
    with pytest.raises(recovery.ForeignResourceError) as caught:
        recovery.adopt(spec, set(), NOW, _lookup({"orders": found}))  # type: ignore[arg-type]
    assert "cluster orders exists at AWS but not in this working directory's state" in str(caught.value)
    assert reason in str(caught.value)


def test_an_instance_of_another_cluster_is_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    found = {"orders-1": recovery.Found(NOW, {"purpose": "tfgen-demo"}, "billing")}
    with pytest.raises(recovery.ForeignResourceError) as caught:
        recovery.adopt(spec, {inflight.CLUSTER_ADDRESS}, NOW, _lookup(found))  # type: ignore[arg-type]
    assert "it belongs to cluster billing, not orders" in str(caught.value)


def test_the_mark_of_an_apply_and_the_password_version(tmp_path: Path) -> None:
    assert inflight.interrupted_since(tmp_path) is None
    inflight.begin(tmp_path)
    first = inflight.interrupted_since(tmp_path)
    assert first is not None
    inflight.begin(tmp_path)  # an apply interrupted twice: the earliest start counts
    assert inflight.interrupted_since(tmp_path) == first
    imports.write(tmp_path, [imports.ImportBlock(inflight.CLUSTER_ADDRESS, "orders")])
    inflight.finish(tmp_path)
    assert inflight.interrupted_since(tmp_path) is None and imports.read(tmp_path) == []

    assert inflight.password_version(tmp_path) == 1
    assert inflight.bump_password_version(tmp_path) == 2
    path = tmp_path / inflight.VERSION_FILE
    assert json.loads(path.read_text()) == {"master_password_version": 2}
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_new_working_directory_takes_the_password_version_from_the_state(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "specs")
    state = {
        "resources": [
            {
                "mode": "managed",
                "module": "module.cluster",
                "type": "aws_rds_cluster",
                "name": "this",
                "instances": [{"attributes": {"master_password_wo_version": 3}}],
            }
        ]
    }
    pulls: list[int] = []

    def pull() -> str:
        pulls.append(1)
        return json.dumps(state)

    recovery.recover(tmp_path, spec, pull, None, print)  # type: ignore[arg-type]
    assert inflight.password_version(tmp_path) == 3
    recovery.recover(tmp_path, spec, pull, None, print)  # type: ignore[arg-type]
    assert len(pulls) == 1  # the working directory knows it now
    assert inflight.version_in_state("") is None


def test_a_cluster_without_its_secret_version_gets_a_new_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted after CreateDBCluster was recorded, before the secret version: they must agree again."""
    spec = _spec(tmp_path / "specs")
    monkeypatch.setattr(recovery, "aws_lookup", lambda region, endpoint: _lookup({}))
    monkeypatch.setattr(recovery, "_sweep", lambda *args: leftovers.Sweep())
    resource = {"mode": "managed", "module": "module.cluster", "name": "master", "instances": [{}]}
    cluster = {**resource, "type": "aws_rds_cluster", "name": "this"}
    cluster["instances"] = [{"attributes": {"master_password_wo_version": 1}}]
    secret_version = {**resource, "type": "aws_secretsmanager_secret_version"}
    told: list[str] = []
    for resources, version in (([cluster, secret_version], None), ([cluster], 2)):
        inflight.begin(tmp_path)
        state = json.dumps({"resources": resources})
        pull = functools.partial(str, state)
        adoption = recovery.recover(tmp_path, spec, pull, None, told.append)  # type: ignore[arg-type]
        assert adoption.password_version == version
    assert told == [
        "the write-only master password is set again (master_password_version 2): the cluster the interrupted "
        "apply created and its secret get the same new password in this apply"
    ]
    destroyed = recovery.recover(tmp_path, spec, pull, None, told.append, destroying=True)  # type: ignore[arg-type]
    assert destroyed.password_version is None


def test_state_addresses() -> None:
    state = {
        "resources": [
            {
                "mode": "managed",
                "module": "module.cluster",
                "type": "aws_rds_cluster",
                "name": "this",
                "instances": [{}],
            },
            {
                "mode": "managed",
                "module": "module.cluster",
                "type": "aws_rds_cluster_instance",
                "name": "this",
                "instances": [{"index_key": 0}, {"index_key": 1}],
            },
            {"mode": "data", "module": "module.cluster", "type": "aws_region", "name": "current", "instances": [{}]},
        ]
    }
    assert recovery.state_addresses(json.dumps(state)) == {
        inflight.CLUSTER_ADDRESS,
        "module.cluster.aws_rds_cluster_instance.this[0]",
        "module.cluster.aws_rds_cluster_instance.this[1]",
    }
    assert recovery.state_addresses("") == set()


def test_rotate_refuses_what_it_cannot_rotate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tfgen.cli.main import main

    spec = derive_spec(V2_SPEC, tmp_path / "specs", name="orders")
    assert main(["rotate", str(spec), "--workdir", str(tmp_path / "none"), "--auto-approve"]) == 2
    assert "nothing was deployed from" in capsys.readouterr().err
    directory = tmp_path / "work"
    directory.mkdir()
    (directory / "main.tf").write_text("# deployed\n", encoding="utf-8")
    random = derive_spec(V2_SPEC, tmp_path / "specs", name="orders", master_password={"source": "random"})
    assert main(["rotate", str(random), "--workdir", str(directory), "--auto-approve"]) == 2
    assert "master_password.source random keeps the password in the Terraform state" in capsys.readouterr().err
    assert not (directory / inflight.VERSION_FILE).exists()


# ----------------------------------------------------------------------------- fast: the other resources


def _suffix(when: datetime.datetime, counter: int = 1) -> str:
    """terraform's unique suffix for a name_prefix (helper/id.PrefixedUniqueId) at ``when``."""
    return when.strftime("%Y%m%d%H%M%S") + f"{when.microsecond // 100:04d}{counter:08x}"


def _search(found: dict[str, list[leftovers.Existing]]) -> leftovers.Search:
    return lambda target: found.get(target.kind, [])


def test_the_targets_descriptions_are_the_modules(tmp_path: Path) -> None:
    from tfgen.api import render

    changes: dict[str, object] = {
        "instance_parameters": [{"name": "log_lock_waits", "value": "1"}],
        "monitoring_interval": 60,
        "create_kms_key": True,
        "iam_roles": [{"feature": "s3Import", "buckets": ["imports"]}],
        "endpoints": {"reporting": {"type": "READER"}},
    }
    spec = _spec(tmp_path, **changes)
    kinds = {t.kind: t for t in leftovers.targets(spec)}  # type: ignore[arg-type]
    addresses = [t.address for t in leftovers.targets(spec)]  # type: ignore[arg-type]
    assert 'module.cluster.aws_iam_role.integration["s3Import"]' in addresses
    assert kinds["endpoint"] == leftovers.Target(
        'module.cluster.aws_rds_cluster_endpoint.this["reporting"]',
        "endpoint",
        "orders-reporting",
        tags={"purpose": "tfgen-demo"},
        cluster="orders",
    )
    assert set(kinds) == {
        "role_association",
        "endpoint",
        "kms_key",
        "kms_alias",
        "subnet_group",
        "security_group",
        "security_group_rule",
        "cluster_parameter_group",
        "parameter_group",
        "secret",
        "role",
    }
    module = tmp_path / "module"
    render(derive_spec(V2_SPEC, tmp_path, name="orders", **changes), module)
    text = "".join(path.read_text(encoding="utf-8") for path in module.rglob("*.tf"))
    for kind, description in leftovers.descriptions("orders", spec.port).items():  # type: ignore[attr-defined]
        assert f'"{description}"' in text, kind
    names = {
        "orders-s3import-": 'name_prefix = "orders-${lower(each.key)}-"',
        "orders-reporting": 'cluster_endpoint_identifier = "orders-${each.key}"',
        "s3Import": "feature_name          = each.key",
    }
    for target in leftovers.targets(spec):  # type: ignore[arg-type]
        expected = names.get(target.name) or (f'"{target.name}"' if target.name else "")
        assert expected in text, target
    # the rules' descriptions, as recovery writes them out, are the module's
    assert 'description       = "PostgreSQL from ${each.value}"' in text
    assert 'description                  = "PostgreSQL from security group ${each.value}"' in text
    template = (Path(__file__).parents[1] / "templates" / "module" / "network.tf.j2").read_text(encoding="utf-8")
    assert 'coalesce(each.value.description, "TCP ${each.value.port} to ${each.value.cidr}")' in template


def test_a_rule_of_the_modules_group_left_by_an_interrupted_apply_is_adopted(tmp_path: Path) -> None:
    network = {"allowed_cidr_blocks": ["10.0.0.0/16"], "egress": [{"cidr": "10.9.0.0/16", "port": 443}]}
    spec = _spec(tmp_path, network=network)
    rules = [t for t in leftovers.targets(spec) if t.kind == "security_group_rule"]  # type: ignore[arg-type]
    assert [(t.address, t.description, t.rule) for t in rules] == [
        ('module.cluster.aws_vpc_security_group_ingress_rule.cidr["10.0.0.0/16"]', "PostgreSQL from 10.0.0.0/16",
         ("ingress", "10.0.0.0/16", spec.port)),
        ('module.cluster.aws_vpc_security_group_egress_rule.this["10.9.0.0/16 443"]', "TCP 443 to 10.9.0.0/16",
         ("egress", "10.9.0.0/16", 443)),
    ]  # fmt: skip
    rule = leftovers.Existing("sgr-1", "", None, {}, "PostgreSQL from 10.0.0.0/16", "vpc-0a1b2c3d4e5f60001", "sg-1")

    def search(target: leftovers.Target) -> list[leftovers.Existing]:  # AWS answers the ingress rule's query only
        return [rule] if target.rule is not None and target.rule[0] == "ingress" else []

    in_state = {"module.cluster.aws_security_group.this": "sg-1"}
    swept = leftovers.sweep(spec, in_state, NOW, search)  # type: ignore[arg-type]
    assert ('module.cluster.aws_vpc_security_group_ingress_rule.cidr["10.0.0.0/16"]', "sgr-1") in [
        (b.address, b.id) for b in swept.blocks
    ]
    # the same rule on a group that is not the module's (in the state): never adopted
    swept = leftovers.sweep(spec, {"module.cluster.aws_security_group.this": "sg-2"}, NOW, search)  # type: ignore[arg-type]
    assert not [b for b in swept.blocks if b.id == "sgr-1"]
    assert ("security group rule sgr-1", "it points to sg-1, not to sg-2") in swept.foreign


def test_named_groups_of_the_interrupted_apply_are_adopted_others_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    said = leftovers.descriptions("orders", spec.port)  # type: ignore[attr-defined]
    tags = {"purpose": "tfgen-demo"}
    found = {
        "subnet_group": [leftovers.Existing("orders", "orders", None, tags, said["subnet_group"], "vpc-1")],
        "security_group": [
            leftovers.Existing(
                "sg-1", "orders", None, {**tags, "Name": "orders"}, said["security_group"], "vpc-0a1b2c3d4e5f60001"
            )
        ],
    }
    swept = leftovers.sweep(spec, {}, NOW, _search(found))  # type: ignore[arg-type]
    assert [(b.address, b.id) for b in swept.blocks] == [
        ("module.cluster.aws_db_subnet_group.this", "orders"),
        ("module.cluster.aws_security_group.this", "sg-1"),
    ]
    assert not swept.foreign and not swept.orphans
    in_state = {"module.cluster.aws_db_subnet_group.this": "orders"}
    assert [b.id for b in leftovers.sweep(spec, in_state, NOW, _search(found)).blocks] == ["sg-1"]  # type: ignore[arg-type]

    found["subnet_group"] = [leftovers.Existing("orders", "orders", None, {"purpose": "billing"}, "by hand")]
    found["security_group"] = [
        leftovers.Existing("sg-2", "orders", None, {**tags, "Name": "orders"}, said["security_group"], "vpc-other")
    ]
    swept = leftovers.sweep(spec, {}, NOW, _search(found))  # type: ignore[arg-type]
    assert not swept.blocks
    assert swept.foreign == (
        (
            "subnet group orders",
            "its description is not the module's ('by hand'); its tags differ from the ones the module sets (purpose)",
        ),
        ("security group sg-2", "it is in VPC vpc-other, not vpc-0a1b2c3d4e5f60001"),
    )


def test_a_prefixed_resource_of_the_interrupted_apply_is_adopted_the_older_ones_reported(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    said = leftovers.descriptions("orders", spec.port)  # type: ignore[attr-defined]
    tags = {"purpose": "tfgen-demo"}
    later = NOW + datetime.timedelta(seconds=3)

    def secret(
        when: datetime.datetime, created: datetime.datetime | None = None, **changes: object
    ) -> leftovers.Existing:
        name = f"orders-master-{_suffix(when)}"
        fields: dict[str, object] = {"tags": tags, "description": said["secret"], "created": created or when}
        return leftovers.Existing(f"arn:{name}", name, **{**fields, **changes})  # type: ignore[arg-type]

    found = {
        "secret": [
            secret(NOW + datetime.timedelta(seconds=1)),  # the first interrupted attempt
            secret(later),  # the second
            secret(NOW - datetime.timedelta(days=1)),  # named before the mark: another lifetime's, left alone
            secret(later, tags={"purpose": "billing"}),  # not the spec's tags
            leftovers.Existing("arn:orders-master-by-hand", "orders-master-by-hand", NOW, tags, said["secret"]),
        ]
    }
    swept = leftovers.sweep(spec, {}, NOW, _search(found))  # type: ignore[arg-type]
    assert [(b.address, b.id) for b in swept.blocks] == [
        ("module.cluster.aws_secretsmanager_secret.master", f"arn:orders-master-{_suffix(later)}")
    ]
    assert [existing.id for _, existing in swept.orphans] == [found["secret"][0].id]
    (warning,) = swept.describe("eu-west-1")
    assert f"secret {found['secret'][0].id} was created by an interrupted apply" in warning
    # the orphan's own region, never the user's default one
    assert warning.endswith(f"aws secretsmanager delete-secret --secret-id {found['secret'][0].id} --region eu-west-1")
    # on the emulator the command goes to the emulator, never to the account of the user's credentials
    (warning,) = swept.describe("eu-west-1", "http://127.0.0.1:4566")
    assert warning.endswith(" --region eu-west-1 --endpoint-url http://127.0.0.1:4566")

    # the state holds the later one: the earlier one is an orphan, reported, nothing adopted
    in_state = {"module.cluster.aws_secretsmanager_secret.master": found["secret"][1].id}
    swept = leftovers.sweep(spec, in_state, NOW, _search(found))  # type: ignore[arg-type]
    assert not swept.blocks and [e.id for _, e in swept.orphans] == [found["secret"][0].id]


def test_a_kms_key_of_the_interrupted_apply_is_adopted_and_its_alias_with_it(tmp_path: Path) -> None:
    spec = _spec(tmp_path, create_kms_key=True)
    said = leftovers.descriptions("orders", spec.port)  # type: ignore[attr-defined]
    tags = {"purpose": "tfgen-demo"}

    def key(key_id: str, created: datetime.datetime, **changes: object) -> leftovers.Existing:
        fields: dict[str, object] = {"created": created, "tags": tags, "description": said["kms_key"], **changes}
        return leftovers.Existing(key_id, key_id, **fields)  # type: ignore[arg-type]

    found = {
        "kms_key": [
            key("k-first", NOW + datetime.timedelta(seconds=1)),
            key("k-second", NOW + datetime.timedelta(seconds=30)),
            key("k-old", NOW - datetime.timedelta(days=3)),  # another lifetime's
            key("k-none", None),  # type: ignore[arg-type]
        ],
        "kms_alias": [leftovers.Existing("alias/orders", "alias/orders", NOW, parent="k-second")],
    }
    swept = leftovers.sweep(spec, {}, NOW, _search(found))  # type: ignore[arg-type]
    assert [(b.address, b.id) for b in swept.blocks][:2] == [
        (leftovers.KEY_ADDRESS, "k-second"),
        ("module.cluster.aws_kms_alias.this", "alias/orders"),
    ]
    assert [e.id for _, e in swept.orphans] == ["k-first"]
    assert "aws kms schedule-key-deletion --key-id k-first" in swept.describe(spec.region)[0]

    found["kms_alias"] = [leftovers.Existing("alias/orders", "alias/orders", NOW, parent="k-someone")]
    swept = leftovers.sweep(spec, {leftovers.KEY_ADDRESS: "k-second"}, NOW, _search(found))  # type: ignore[arg-type]
    assert swept.foreign == (("kms alias alias/orders", "it points to k-someone, not to k-second"),)


def test_a_role_association_is_adopted_when_it_holds_the_modules_role(tmp_path: Path) -> None:
    roles = [
        {"feature": "s3Import", "buckets": ["imports"]},
        {"feature": "Lambda", "role_arn": "arn:aws:iam::123456789012:role/fn"},
    ]
    spec = _spec(tmp_path, iam_roles=roles)

    def association(feature: str, role: str) -> leftovers.Existing:
        arn = f"arn:aws:iam::123456789012:role/{role}"
        return leftovers.Existing(f"orders,{arn}", feature, cluster="orders", parent=arn)

    found = {"s3Import": [association("s3Import", "orders-s3import-x")], "Lambda": [association("Lambda", "fn")]}

    def search(target: leftovers.Target) -> list[leftovers.Existing]:
        return found.get(target.name, []) if target.kind == "role_association" else []

    in_state = {'module.cluster.aws_iam_role.integration["s3Import"]': "orders-s3import-x"}
    swept = leftovers.sweep(spec, in_state, NOW, search)  # type: ignore[arg-type]
    assert [(b.address, b.id) for b in swept.blocks] == [
        (
            'module.cluster.aws_rds_cluster_role_association.this["s3Import"]',
            "orders,arn:aws:iam::123456789012:role/orders-s3import-x",
        ),
        ('module.cluster.aws_rds_cluster_role_association.this["Lambda"]', "orders,arn:aws:iam::123456789012:role/fn"),
    ]
    found["Lambda"] = [association("Lambda", "other")]
    swept = leftovers.sweep(spec, in_state, NOW, search)  # type: ignore[arg-type]
    assert swept.foreign == (
        (
            "role association orders,arn:aws:iam::123456789012:role/other",
            "it points to arn:aws:iam::123456789012:role/other, not to arn:aws:iam::123456789012:role/fn",
        ),
    )


def test_a_global_cluster_is_adopted_only_with_the_specs_cluster_as_its_writer(tmp_path: Path) -> None:
    spec = _spec(tmp_path, engine_version="17.7", **{"global": {"identifier": "orders-global", "role": "primary"}})
    target = next(t for t in leftovers.targets(spec) if t.kind == "global_cluster")  # type: ignore[arg-type]
    assert target.address == "module.cluster.aws_rds_global_cluster.this"
    ours = {"global_cluster": [leftovers.Existing("orders-global", "orders-global", cluster="orders")]}
    swept = leftovers.sweep(spec, {}, NOW, _search(ours))  # type: ignore[arg-type]
    assert [(b.address, b.id) for b in swept.blocks] == [(target.address, "orders-global")]
    empty = {"global_cluster": [leftovers.Existing("orders-global", "orders-global")]}
    swept = leftovers.sweep(spec, {}, NOW, _search(empty))  # type: ignore[arg-type]
    assert swept.foreign == (("global cluster orders-global", "it belongs to no cluster, not orders"),)


def test_terraforms_unique_suffix_dates_a_name() -> None:
    target = leftovers.Target(
        "module.cluster.aws_rds_cluster_parameter_group.this", "cluster_parameter_group", "orders-", True
    )
    assert leftovers.named_at(target, "orders-20261126120003123400000001") == datetime.datetime(
        2026, 11, 26, 12, 0, 3, 123400, tzinfo=datetime.UTC
    )
    for name in ("orders-2-20261126120003123400000001", "orders-20261126120003123400000001x", "billing-1"):
        assert leftovers.named_at(target, name) is None
    assert leftovers.problems(target, leftovers.Existing("orders-x", "orders-x"), NOW) == [
        "its name is not orders- and terraform's unique suffix"
    ]


def test_state_ids() -> None:
    state = {
        "resources": [
            {
                "mode": "managed",
                "module": "module.cluster",
                "type": "aws_db_parameter_group",
                "name": "this",
                "instances": [{"index_key": 0, "attributes": {"id": "orders-1"}}],
            },
            {"mode": "data", "module": "module.cluster", "type": "aws_region", "name": "current", "instances": [{}]},
        ]
    }
    assert leftovers.state_ids(json.dumps(state)) == {"module.cluster.aws_db_parameter_group.this[0]": "orders-1"}
    assert leftovers.state_ids("") == {}


# ----------------------------------------------------------------------------- fast: the stand-in network


def _piece(kind: str, id: str, vpc: str, tagged: str | None = "orders-1a2b", **fields: object) -> standin.Piece:
    tags = {standin.TAG: tagged} if tagged else {}
    return standin.Piece(kind, id, vpc, tags=tags, **fields)  # type: ignore[arg-type]


def test_the_stand_in_network_is_rendered_with_the_tag_recovery_looks_for(tmp_path: Path) -> None:
    from tfgen.deploy import workdir

    spec = _spec(tmp_path / "specs")
    directory = tmp_path / "work"
    workdir.prepare(spec, directory, local_endpoint="http://127.0.0.1:1")  # type: ignore[arg-type]
    text = (directory / standin.FILENAME).read_text(encoding="utf-8")
    stand = standin.of(spec, directory, "local")  # type: ignore[arg-type]
    assert text.count(f'"{standin.TAG}" = "{stand.tag}"') == 3  # the VPC, the subnets, the client group
    assert f'cidr_block = "{stand.cidr}"' in text and f'name        = "{stand.clients}"' in text
    assert f'description = "{standin.CLIENTS_DESCRIPTION}"' in text
    assert 'availability_zone = "us-east-1${["a", "b"][count.index]}"' in text and standin.ZONES == ("a", "b")
    assert [stand.subnet_cidr(i) for i in (0, 1)] == ["10.0.0.0/24", "10.0.1.0/24"]  # cidrsubnet(cidr, 8, i)
    # each deployment its own: another working directory (local state), another state location
    assert standin.of(spec, tmp_path / "other", "local").tag != stand.tag  # type: ignore[arg-type]
    # two checkouts sharing a state share its stand-in (tests/test_teams.py)
    assert standin.of(spec, tmp_path / "other", "s3://b/k").tag == standin.of(spec, directory, "s3://b/k").tag  # type: ignore[arg-type]
    # written once: another checkout or a state moved to S3 updates nothing (tests/test_teams.py migrates one)
    text = (directory / standin.FILENAME).read_text(encoding="utf-8")
    assert text.count('ignore_changes = [tags["tfgen:stand-in"]]') == 3, text


def test_the_stand_in_left_by_an_interrupted_apply_is_adopted_by_its_tag(tmp_path: Path) -> None:
    stand = standin.StandIn("orders", "orders-1a2b", REGION)
    clients = {"name": "orders-local-clients", "description": standin.CLIENTS_DESCRIPTION}
    found = [
        _piece("vpc", "vpc-empty", "vpc-empty", cidr="10.0.0.0/16"),  # an apply interrupted twice at CreateVpc
        _piece("vpc", "vpc-held", "vpc-held", cidr="10.0.0.0/16"),
        _piece("subnet", "subnet-a", "vpc-held", cidr="10.0.0.0/24", zone="us-east-1a"),
        _piece("security_group", "sg-c", "vpc-held", **clients),
    ]
    swept = standin.sweep(stand, {}, found, NOW)
    assert [(b.address, b.id) for b in swept.blocks] == [
        ("aws_vpc.local", "vpc-held"),  # the one the apply went on with: it holds the subnet
        ("aws_subnet.local[0]", "subnet-a"),
        ("aws_security_group.local_clients", "sg-c"),
    ]
    assert not swept.foreign and [e.id for _, e in swept.orphans] == ["vpc-empty"]
    (warning,) = swept.describe("us-east-1", "http://127.0.0.1:4566")
    assert "vpc vpc-empty was created by an interrupted apply" in warning
    assert "aws ec2 delete-vpc --vpc-id vpc-empty --region us-east-1 --endpoint-url http://127.0.0.1:4566" in warning

    # the state has the VPC and the first subnet: the second one (CreateSubnet in flight) is adopted
    found.append(_piece("subnet", "subnet-b", "vpc-held", cidr="10.0.1.0/24", zone="us-east-1b"))
    in_state = {
        "aws_vpc.local": "vpc-held",
        "aws_subnet.local[0]": "subnet-a",
        "aws_security_group.local_clients": "sg-c",
    }
    swept = standin.sweep(stand, in_state, found, NOW)
    assert [(b.address, b.id) for b in swept.blocks] == [("aws_subnet.local[1]", "subnet-b")]


def test_a_vpc_or_subnet_that_is_not_the_stand_ins_is_never_adopted(tmp_path: Path) -> None:
    stand = standin.StandIn("orders", "orders-1a2b", REGION)
    found = [
        _piece("vpc", "vpc-untagged", "vpc-untagged", None, cidr="10.0.0.0/16"),
        _piece("vpc", "vpc-other-deployment", "vpc-other-deployment", "orders-ffff", cidr="10.0.0.0/16"),
        _piece("vpc", "vpc-other-cidr", "vpc-other-cidr", cidr="10.9.0.0/16"),
        _piece("subnet", "subnet-x", "vpc-untagged", cidr="10.0.0.0/24", zone="us-east-1a"),
    ]
    assert standin.sweep(stand, {}, found, NOW) == leftovers.Sweep()
    # in the state's VPC, where the next CreateSubnet would collide (InvalidSubnet.Conflict): refused
    found = [
        _piece("subnet", "subnet-hand", "vpc-s", None, cidr="10.0.0.0/24", zone="us-east-1a"),
        _piece("subnet", "subnet-zone", "vpc-s", cidr="10.0.1.0/24", zone="us-east-1c"),
    ]
    swept = standin.sweep(stand, {"aws_vpc.local": "vpc-s"}, found, NOW)
    assert not swept.blocks
    assert swept.foreign == (
        (
            "subnet subnet-hand (in the stand-in VPC vpc-s)",
            "it does not carry the stand-in's tag (tfgen:stand-in = orders-1a2b)",
        ),
        ("subnet subnet-zone (in the stand-in VPC vpc-s)", "its zone is 'us-east-1c', not 'us-east-1b'"),
    )


def test_the_modules_security_group_is_looked_for_in_the_stand_in_vpc(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    groups = {t.kind: t for t in leftovers.targets(spec, "vpc-stand-in")}  # type: ignore[arg-type]
    assert groups["security_group"].vpc == "vpc-stand-in"
    assert {t.kind: t for t in leftovers.targets(spec)}["security_group"].vpc == "vpc-0a1b2c3d4e5f60001"  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- slow: real terraform, real signals


@pytest.fixture(scope="module")
def db_endpoint(shared_dir: Path) -> Iterator[str]:  # noqa: F811  (the fixture of tests.test_deploy)
    """A background emulator whose clusters are real PostgreSQL servers (CreateDBCluster takes seconds)."""
    base = shared_dir / "recovery-emulator"
    info = background.start_background(base)
    try:
        yield info.url
    finally:
        background.stop_background(base)


def on_the_emulator(test: Callable[..., None]) -> Callable[..., None]:
    """A test that runs tfgen with real terraform on an emulator whose clusters are PostgreSQL servers."""
    for mark in (pytest.mark.usefixtures("deploy_env", "mirror_env"), pytest.mark.terraform, pytest.mark.postgres):
        test = mark(test)
    return NEEDS_BINARIES(pytest.mark.emulator(test))


@pytest.fixture
def mirror_env(plugin_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tfgen, run as a program, installs the providers from the offline mirror."""


def run(*argv: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m tfgen`` as the user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tfgen", *map(str, argv)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=cwd,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


class HoldingProxy:
    """A proxy to the emulator that passes ``action`` on but keeps its answer: AWS did it, terraform never hears.

    The moment between CreateDBCluster (CreateDBInstance, CreateDBSubnetGroup, CreateSecret...)
    and the state write, held open for
    as long as the test needs to interrupt the apply there.
    """

    def __init__(self, upstream: str, action: str, hold: int | None = None) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.action = f"Action={action}&".encode()
        self.target = f".{action}"
        self.left = hold
        """How many more ``action`` calls to hold (None: every one); the others pass."""
        self.lock = threading.Lock()
        self.held = threading.Event()
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                upstream = http.client.HTTPConnection(proxy.upstream.netloc, timeout=600)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body, headers)
                answer = upstream.getresponse()
                data = answer.read()
                target = self.headers.get("X-Amz-Target") or ""  # JSON protocols (Secrets Manager)
                if (proxy.action in body + b"&" or target.endswith(proxy.target)) and proxy.take():
                    proxy.held.set()
                    proxy.release.wait(900)  # never answered: the client gives up first
                    return
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client went away (the apply was stopped)
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        return Handler

    def take(self) -> bool:
        """Whether to hold this call of ``action``."""
        with self.lock:
            if self.left is None:
                return True
            self.left -= 1
            return self.left >= 0

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def interrupt_when_held(spec: Path, url: str, directory: Path, action: str, hold: int | None = None) -> tuple[str, ...]:
    """``tfgen apply`` through a :class:`HoldingProxy`, SIGTERM once AWS did ``action``; the next commands' options.

    ``hold``: how many ``action`` calls the proxy holds (None: all); one of two parallel creates
    held, the other done, the held one is soon the only create in flight.
    """
    proxy = HoldingProxy(url, action, hold)
    job = Apply(spec, proxy.url, directory, umask=0o022)
    try:
        _held_alone(job, proxy, action)
        job.proc.send_signal(signal.SIGTERM)
        assert job.finish() == 143, job.stderr
        assert "terraform apply interrupted by SIGTERM" in job.stderr
    finally:
        job.cleanup()
        proxy.close()
    return ("--endpoint", url, "--workdir", str(directory))


def _held_alone(job: Apply, proxy: HoldingProxy, action: str, bound: float = 600) -> None:
    """Read the apply's lines until AWS did ``action`` and no other create is in flight.

    A SIGTERM while another create (a subnet of the stand-in network, say) waits for its answer
    would leave that one unrecorded too: these tests pin the one resource they are about. The
    bound only ends a broken run.
    """
    running: set[str] = set()
    deadline = time.monotonic() + bound
    while not (proxy.held.is_set() and len(running) <= 1):
        if time.monotonic() > deadline:
            pytest.fail(f"{action} never came alone; in flight: {sorted(running)}\n" + "\n".join(job.seen))
        try:
            line = job.lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            pytest.fail(f"tfgen apply ended before {action}:\n" + "\n".join(job.seen) + job.stderr)
        job.seen.append(line)
        address, _, what = line.strip().partition(": ")
        if what.startswith("create started"):
            running.add(address)
        elif what.startswith(("created", "FAILED")):
            running.discard(address)


def connection_passes(spec: Path, *local: str) -> None:
    """``tfgen doctor`` connects to the database with the password it reads from the secret."""
    done = run("doctor", spec, "--json", *local)
    checks = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
    assert checks["connection"]["status"] == "PASS", (checks["connection"], done.stderr)


def clusters_named(url: str, name: str) -> list[str]:
    found = aws(url, REGION, "rds").describe_db_clusters()["DBClusters"]
    return [c["DBClusterIdentifier"] for c in found if c["DBClusterIdentifier"] == name]


@on_the_emulator
def test_a_cluster_left_by_an_interrupted_apply_is_adopted_its_password_set_again_then_rotated(
    tmp_path: Path, db_endpoint: str
) -> None:
    spec = derive_spec(V2_SPEC, tmp_path / "specs", name="adopt-cluster")
    directory = tmp_path / "work"
    local = interrupt_when_held(spec, db_endpoint, directory, "CreateDBCluster")
    rds = aws(db_endpoint, REGION, "rds")
    assert clusters_named(db_endpoint, "adopt-cluster") == ["adopt-cluster"]
    state = recovery.state_addresses((directory / "terraform.tfstate").read_text(encoding="utf-8"))
    assert inflight.CLUSTER_ADDRESS not in state

    again = ok(run("apply", spec, "--auto-approve", *local))
    assert "adopting 1 resource(s) left by an interrupted apply: module.cluster.aws_rds_cluster.this" in again.stderr
    assert "master_password_version 2" in again.stderr
    assert "apply complete: " in again.stdout
    assert clusters_named(db_endpoint, "adopt-cluster") == ["adopt-cluster"]
    assert not (directory / imports.IMPORTS_FILE).exists() and not (directory / inflight.MARKER).exists()
    plan = ok(run("plan", spec, *local))
    assert "no changes; the infrastructure matches the spec" in plan.stdout
    connection_passes(spec, *local)  # the secret and the cluster agree

    rotated = ok(run("rotate", spec, "--auto-approve", *local))
    assert "master_password_version 2 → 3" in rotated.stderr
    assert "master password rotated (master_password_version 3)" in rotated.stdout
    connection_passes(spec, *local)
    assert "no changes; the infrastructure matches the spec" in ok(run("plan", spec, *local)).stdout
    ok(run("destroy", spec, "--auto-approve", *local))
    assert rds.describe_db_clusters()["DBClusters"] == [] or not clusters_named(db_endpoint, "adopt-cluster")


@on_the_emulator
def test_an_instance_left_by_an_interrupted_apply_is_adopted_then_its_managed_secret_rotated(
    tmp_path: Path, db_endpoint: str
) -> None:
    spec = derive_spec(V2_SPEC, tmp_path / "specs", name="adopt-instance", master_password={"source": "rds_managed"})
    directory = tmp_path / "work"
    rds = aws(db_endpoint, REGION, "rds")

    def instance_exists() -> bool:
        return any(i["DBInstanceIdentifier"] == "adopt-instance-1" for i in rds.describe_db_instances()["DBInstances"])

    local = interrupt_when_held(spec, db_endpoint, directory, "CreateDBInstance")
    assert instance_exists()
    state = recovery.state_addresses((directory / "terraform.tfstate").read_text(encoding="utf-8"))
    assert inflight.CLUSTER_ADDRESS in state and "module.cluster.aws_rds_cluster_instance.this[0]" not in state
    again = ok(run("apply", spec, "--auto-approve", *local))
    assert (
        "adopting 1 resource(s) left by an interrupted apply: module.cluster.aws_rds_cluster_instance.this[0]"
        in again.stderr
    )
    assert "master_password_version" not in again.stderr  # rds_managed: RDS owns the password
    assert "no changes; the infrastructure matches the spec" in ok(run("plan", spec, *local)).stdout

    rotated = ok(run("rotate", spec, *local))  # rds_managed: RDS rotates its secret; no apply, nothing to approve
    assert "rotation of arn:aws:secretsmanager:" in rotated.stdout
    connection_passes(spec, *local)
    ok(run("destroy", spec, "--auto-approve", *local))


@on_the_emulator
def test_a_cluster_tfgen_did_not_create_is_never_adopted(tmp_path: Path, db_endpoint: str) -> None:
    spec = derive_spec(V2_SPEC, tmp_path / "specs", name="not-ours", master_password={"source": "rds_managed"})
    aws(db_endpoint, REGION, "rds").create_db_cluster(
        DBClusterIdentifier="not-ours",
        Engine="aurora-postgresql",
        MasterUsername="someone",
        MasterUserPassword="x" * 12,
    )
    directory = tmp_path / "work"
    directory.mkdir()
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)  # the cluster predates the apply
    (directory / inflight.MARKER).write_text(json.dumps({"started": later.isoformat()}))
    local = ("--endpoint", db_endpoint, "--workdir", directory)
    refused = run("apply", spec, "--auto-approve", *local)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "error: cluster not-ours exists at AWS but not in this working directory's state" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (directory / imports.IMPORTS_FILE).exists()
    assert (
        not (directory / "terraform.tfstate").exists()
        or "not-ours" not in (directory / "terraform.tfstate").read_text()
    )
    aws(db_endpoint, REGION, "rds").delete_db_cluster(DBClusterIdentifier="not-ours", SkipFinalSnapshot=True)


@on_the_emulator
def test_local_apply_starts_the_background_emulator_that_output_and_destroy_then_use(tmp_path: Path) -> None:
    spec = derive_spec(V2_SPEC, tmp_path / "specs", name="autostart", master_password={"source": "rds_managed"})
    base = tmp_path / "project"
    base.mkdir()
    assert background.status(base) is None
    try:
        applied = ok(run("apply", spec, "--auto-approve", "--local", cwd=base))
        info = background.status(base)
        assert info is not None
        assert f"note: started the background emulator at {info.url}" in applied.stderr
        outputs = json.loads(ok(run("output", spec, "--local", "--json", cwd=base)).stdout)
        assert outputs["cluster_identifier"] == "autostart"
        assert "started the background emulator" not in ok(run("plan", spec, "--local", cwd=base)).stderr
        ok(run("destroy", spec, "--auto-approve", "--local", cwd=base))
        assert aws(info.url, REGION, "rds").describe_db_clusters()["DBClusters"] == []
    finally:
        background.stop_background(base)
