"""Bring your own network: the spec's ``network`` pieces, validated and rendered.

Invalid cases are fixture files (tests/fixtures/specs/network/invalid-<reason>.yaml), each
a small spec with one mistake; the end-to-end runs on the emulator are in
tests/test_shared_network.py.
"""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest

from tfgen.errors import ExitCode, SpecError
from tfgen.render import templates as render
from tfgen.render.interface import variables
from tfgen.render.outputs import outputs
from tfgen.spec.loading import load_spec, parse_spec
from tfgen.spec.model import Spec

FIXTURES = Path(__file__).parent / "fixtures" / "specs" / "network"
SPEC = Path("spec.yaml")

HEAD = """\
name: orders-db
region: eu-west-1
"""
VPC = "vpc_id: vpc-0a1b2c3d4e5f67890\n"
SUBNETS = "subnet_ids: [subnet-0a1b2c3d4e5f67891, subnet-0a1b2c3d4e5f67892]\n"
SHARED = "sg-0a1b2c3d4e5f67890"
NOT_HELD = (
    "the module makes no security group to hold these rules (network.create_security_group: false); "
    "add them to one of network.security_group_ids"
)

INVALID = [
    (
        "invalid-no-security-group.yaml",
        8,
        "network.create_security_group: false needs network.security_group_ids: without a security group "
        "AWS attaches the VPC's default one",
    ),
    ("invalid-allowed-cidr-without-own-group.yaml", 10, f"network.allowed_cidr_blocks: {NOT_HELD}"),
    ("invalid-egress-without-own-group.yaml", 10, f"network.egress: {NOT_HELD}"),
    (
        "invalid-subnet-group-and-subnets.yaml",
        10,
        "network.db_subnet_group_name: give subnet_ids or network.db_subnet_group_name, not both",
    ),
    (
        "invalid-no-subnets.yaml",
        2,
        "subnet_ids: required field is missing; or name an existing DB subnet group in network.db_subnet_group_name",
    ),
    (
        "invalid-vpc-id-for-own-group.yaml",
        2,
        "vpc_id: required field is missing: the module makes its security group in it "
        "(or set network.create_security_group: false and give network.security_group_ids)",
    ),
    (
        "invalid-subnet-group-uppercase.yaml",
        7,
        "network.db_subnet_group_name: AWS stores DB subnet group names in lowercase; write 'shared-db' "
        "(another case would read back as a change that replaces the cluster)",
    ),
    (
        "invalid-subnet-group-default.yaml",
        7,
        "network.db_subnet_group_name: 'default' is AWS's reserved name, not a DB subnet group you can name",
    ),
    (
        "invalid-subnet-group-leading-digit.yaml",
        7,
        "network.db_subnet_group_name: must start with a letter and contain only letters, digits, periods, "
        "underscores, spaces and hyphens",
    ),
    ("invalid-subnet-group-too-long.yaml", 7, "network.db_subnet_group_name: must be 1 to 255 characters"),
    (
        "invalid-too-many-security-groups.yaml",
        10,
        "network.security_group_ids: 17 security groups with the module's own: AWS attaches at most 16 "
        "to a network interface (the quota's maximum)",
    ),
    ("invalid-security-group-ids-duplicate.yaml", 9, f"network.security_group_ids[1]: duplicate {SHARED}"),
    (
        "invalid-egress-open-world.yaml",
        11,
        "network.egress[0].cidr: '0.0.0.0/0' lets the database reach the whole internet; "
        "name the networks that need it",
    ),
    ("invalid-egress-port.yaml", 11, "network.egress[0].port: must be less than or equal to 65535"),
    ("invalid-egress-duplicate.yaml", 12, "network.egress[1]: duplicate rule to 10.1.0.0/16 port 443"),
    (
        "invalid-egress-unknown-key.yaml",
        11,
        "network.egress[0].descripton: unknown field; did you mean 'description'?",
    ),
]


@pytest.mark.parametrize(("fixture", "line", "message"), INVALID, ids=[case[0][8:-5] for case in INVALID])
def test_invalid_network(fixture: str, line: int, message: str) -> None:
    path = FIXTURES / fixture
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [f"{path}:{line}: {message}"]
    assert info.value.exit_code == ExitCode.USAGE


def test_every_network_fixture_has_a_case() -> None:
    listed = [case[0] for case in INVALID]
    assert len(listed) == len(set(listed))
    assert {path.name for path in FIXTURES.glob("*.yaml")} == set(listed)


def spec_of(text: str) -> Spec:
    return parse_spec(HEAD + text, SPEC).spec


def warnings_of(text: str) -> list[str]:
    return parse_spec(HEAD + text, SPEC).warnings


# ------------------------------------------------------------------------------------- valid specs


def test_defaults_are_todays_network() -> None:
    network = spec_of(VPC + SUBNETS + "network:\n  allowed_cidr_blocks: [10.0.0.0/16]\n").network
    assert network.create_security_group is True
    assert (network.security_group_ids, network.db_subnet_group_name, network.egress) == ([], None, [])
    assert not network.names_existing_pieces


def test_shared_groups_only_need_no_vpc() -> None:
    spec = spec_of(SUBNETS + f"network:\n  create_security_group: false\n  security_group_ids: [{SHARED}]\n")
    assert spec.vpc_id is None and spec.network.names_existing_pieces
    # their rules decide who connects: no "nothing can connect" warning
    assert warnings_of(SUBNETS + f"network:\n  create_security_group: false\n  security_group_ids: [{SHARED}]\n") == []


def test_an_existing_subnet_group_needs_no_subnets() -> None:
    spec = spec_of(
        VPC + "network:\n  db_subnet_group_name: shared.db_subnets 2\n  allowed_cidr_blocks: [10.0.0.0/16]\n"
    )
    assert spec.subnet_ids is None and spec.network.db_subnet_group_name == "shared.db_subnets 2"


def test_a_subnet_group_name_of_255_characters() -> None:
    name = "a" + "-" * 253 + "z"
    spec = spec_of(VPC + f"network:\n  db_subnet_group_name: {name}\n  allowed_cidr_blocks: [10.0.0.0/16]\n")
    assert spec.network.db_subnet_group_name == name


def test_vpc_id_without_an_own_group_is_unused() -> None:
    text = VPC + SUBNETS + f"network:\n  create_security_group: false\n  security_group_ids: [{SHARED}]\n"
    assert warnings_of(text) == [
        "spec.yaml:3: vpc_id: unused: the module makes no security group (network.create_security_group: false)"
    ]


def groups(count: int) -> str:
    return "".join(f"    - sg-0a1b2c3d4e5f678{n:02d}\n" for n in range(count))


def test_security_groups_above_the_default_quota_warn() -> None:
    # 5 with the module's own: the default quota, no warning; 6: above it, a warning; 16: the maximum
    base = VPC + SUBNETS + "network:\n  allowed_cidr_blocks: [10.0.0.0/16]\n  security_group_ids:\n"
    assert warnings_of(base + groups(4)) == []
    assert warnings_of(base + groups(5)) == [
        "spec.yaml:7: network.security_group_ids: 6 security groups with the module's own: AWS's default quota "
        "is 5 per network interface; raise it (Service Quotas, Amazon VPC) before apply"
    ]
    assert len(spec_of(base + groups(15)).network.security_group_ids) == 15


def test_shared_groups_count_as_ingress() -> None:
    assert warnings_of(VPC + SUBNETS + f"network:\n  security_group_ids: [{SHARED}]\n") == []
    assert warnings_of(VPC + SUBNETS) == [
        "spec.yaml:1: network: no allowed_cidr_blocks or allowed_security_group_ids: nothing can connect"
    ]


def test_egress_rules() -> None:
    text = (
        VPC
        + SUBNETS
        + (
            "network:\n  allowed_cidr_blocks: [10.0.0.0/16]\n  egress:\n"
            "    - {cidr: 10.1.0.0/16, port: 443, description: HTTPS}\n    - {cidr: 'fd00::/8', port: 443}\n"
        )
    )
    rules = spec_of(text).network.egress
    assert [(rule.cidr, rule.port, rule.description) for rule in rules] == [
        ("10.1.0.0/16", 443, "HTTPS"),
        ("fd00::/8", 443, None),
    ]


# ------------------------------------------------------------------------------------------ render


def rendered(text: str) -> dict[str, dict[str, object]]:
    """The module's network.tf and main.tf, parsed: resources by address."""
    files = render.render_module(spec_of(text))
    found: dict[str, dict[str, object]] = {}
    for name in ("network.tf", "main.tf"):
        for block in hcl2.loads(files[name]).get("resource", []):
            for rtype, named in block.items():
                for rname, body in named.items():
                    found[f"{rtype.strip(chr(34))}.{rname.strip(chr(34))}"] = body
    return found


def test_only_shared_pieces_render_no_network_resources() -> None:
    text = f"network:\n  create_security_group: false\n  security_group_ids: [{SHARED}]\n  db_subnet_group_name: shared-db\n"
    resources = rendered(text)
    assert not [address for address in resources if "security_group" in address or "subnet_group" in address]
    cluster = resources["aws_rds_cluster.this"]
    assert cluster["db_subnet_group_name"] == "${var.db_subnet_group_name}"
    assert cluster["vpc_security_group_ids"] == "${var.security_group_ids}"
    spec = spec_of(text)
    names = [variable.name for variable in variables(spec)]
    assert "db_subnet_group_name" in names and "security_group_ids" in names
    assert not {"vpc_id", "subnet_ids", "allowed_cidr_blocks", "allowed_security_group_ids"} & set(names)
    by_name = {output.name: output.value for output in outputs(spec)}
    assert by_name["db_subnet_group_name"] == "var.db_subnet_group_name"
    assert by_name["security_group_ids"] == "var.security_group_ids"
    assert "security_group_id" not in by_name


def test_shared_groups_join_the_modules_own() -> None:
    resources = rendered(VPC + SUBNETS + f"network:\n  security_group_ids: [{SHARED}]\n")
    cluster = resources["aws_rds_cluster.this"]
    assert cluster["vpc_security_group_ids"] == "${concat([aws_security_group.this.id], var.security_group_ids)}"
    assert "aws_security_group.this" in resources and "aws_db_subnet_group.this" in resources
    assert "aws_vpc_security_group_egress_rule.this" not in resources


def test_egress_rules_render_one_resource_per_rule() -> None:
    text = VPC + SUBNETS + "network:\n  egress:\n    - {cidr: 10.1.0.0/16, port: 443}\n"
    rule = rendered(text)["aws_vpc_security_group_egress_rule.this"]
    assert rule["ip_protocol"] == '"tcp"' and rule["from_port"] == "${each.value.port}"
    (egress,) = [variable for variable in variables(spec_of(text)) if variable.name == "egress_rules"]
    assert egress.default == [{"cidr": "10.1.0.0/16", "port": 443}]


def test_the_cluster_is_replaced_by_a_new_subnet_group_so_the_final_snapshot_suffix_follows_it() -> None:
    files = render.render_module(spec_of(VPC + "network:\n  db_subnet_group_name: shared-db\n"))
    assert "db_subnet_group_name = var.db_subnet_group_name" in files["main.tf"].split('resource "aws_rds_cluster"')[0]
