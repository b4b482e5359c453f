"""Recovery from an interrupted apply: the stand-in network of ``--local`` (VPC, subnets, client group).

A SIGTERM while AWS holds one of the stand-in's creates (:func:`tests.test_recovery.interrupt_when_held`)
leaves it unrecorded; the next apply adopts it by the deployment's tag, so nothing exists twice, and
destroy removes it all. Kept apart from :mod:`tests.test_recovery` so that xdist, which runs a file
in one worker, spreads these three-minute runs over its workers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_deploy import (  # noqa: F401  (shared_dir, deploy_env: fixtures this module uses)
    V2_SPEC,
    aws,
    deploy_env,
    derive_spec,
    shared_dir,
)
from tests.test_recovery import (  # noqa: F401  (db_endpoint, mirror_env: fixtures this module uses)
    REGION,
    db_endpoint,
    interrupt_when_held,
    mirror_env,
    ok,
    on_the_emulator,
    run,
)
from tfgen.deploy import imports, inflight, recovery, standin
from tfgen.spec.loading import load_spec


def stand_in_at_aws(url: str, tag: str) -> dict[str, list[str]]:
    """The stand-in pieces AWS holds with the deployment's tag (a VPC's CIDR, a subnet's, a group's name)."""
    ec2 = aws(url, REGION, "ec2")
    tagged = [{"Name": f"tag:{standin.TAG}", "Values": [tag]}]
    groups = ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]
    return {
        "vpcs": sorted(v["CidrBlock"] for v in ec2.describe_vpcs(Filters=tagged)["Vpcs"]),
        "subnets": sorted(s["CidrBlock"] for s in ec2.describe_subnets(Filters=tagged)["Subnets"]),
        "groups": sorted(g["GroupName"] for g in groups),
    }


@on_the_emulator
@pytest.mark.parametrize(
    ("action", "addresses"),
    [
        ("CreateSubnet", ("aws_subnet.local[0]", "aws_subnet.local[1]")),  # CI: InvalidSubnet.Conflict
        ("CreateVpc", ("aws_vpc.local",)),  # nothing refuses a second VPC: it would be duplicated
        # the stand-in's client group or the module's (in the stand-in VPC), whichever AWS got first
        ("CreateSecurityGroup", ("aws_security_group.local_clients", "module.cluster.aws_security_group.this")),
    ],
    ids=["subnet", "vpc", "security-group"],
)
def test_the_stand_in_network_left_by_an_interrupted_apply_is_adopted_not_duplicated(
    tmp_path: Path,
    db_endpoint: str,  # noqa: F811  (the fixture of tests.test_recovery)
    action: str,
    addresses: tuple[str, ...],
) -> None:
    name = f"stand-in-{action[6:].lower()}"
    spec = derive_spec(V2_SPEC, tmp_path / "specs", name=name, master_password={"source": "rds_managed"})
    directory = tmp_path / "work"
    local = interrupt_when_held(spec, db_endpoint, directory, action, hold=1)
    tag = standin.of(load_spec(spec).spec, directory, "local").tag
    whole = {
        "vpcs": ["10.0.0.0/16"],
        "subnets": ["10.0.0.0/24", "10.0.1.0/24"],
        "groups": sorted([f"{name}-local-clients"]),
    }
    state = recovery.state_addresses((directory / "terraform.tfstate").read_text(encoding="utf-8"))
    # the held one: created at AWS, not recorded. Its twin (the other subnet or group) may have been
    # in flight too when the SIGTERM came (its "create started" line not read yet): then it is
    # adopted as well, or created by the next apply if AWS never got it.
    missing = [a for a in addresses if a not in state]
    assert missing, state

    again = ok(run("apply", spec, "--auto-approve", *local))
    adopted = [
        a for a in missing if f"left by an interrupted apply: {a} (" in again.stderr or f", {a} (" in again.stderr
    ]
    assert adopted, again.stderr
    assert "apply complete: " in again.stdout
    assert stand_in_at_aws(db_endpoint, tag) == whole  # nothing twice
    module_groups = aws(db_endpoint, REGION, "ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    assert len(module_groups) == 1
    assert not (directory / imports.IMPORTS_FILE).exists() and not (directory / inflight.MARKER).exists()
    assert "no changes; the infrastructure matches the spec" in ok(run("plan", spec, *local)).stdout
    ok(run("destroy", spec, "--auto-approve", *local))
    assert stand_in_at_aws(db_endpoint, tag) == {"vpcs": [], "subnets": [], "groups": []}
