"""plan / apply / output / destroy end to end: real terraform against a real moto server.

Nothing is mocked: every command goes through ``cli.main`` (or ``python -m tfgen``),
terraform runs for real with the offline provider mirror (``TFGEN_PLUGIN_MIRROR``),
and what it created is checked with boto3 against the same moto server.

One background emulator (a separate process, so that the in-process emulators some
commands start, which reset moto's in-process state, never touch it) serves the whole
module; each deployment has its own cluster name and working directory. The v2
deployment of ``examples/local.yaml`` is applied once (module fixture) and shared by
the v2 tests; ``test_v2_destroy_leaves_nothing`` destroys it and must stay the last
v2 test of the file. Cluster creation and deletion cost about 30 s each on moto
(the aws provider's waiters), an instance as much again.

Terraform keeps ``.terraform/`` in each working directory here (``TF_DATA_DIR`` unset,
as for a user), so a working directory initialised by one test is reused as is by
the next; a module-wide plugin cache keeps the 600 MB aws provider from being
unpacked per init.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from tfgen import api, facts
from tfgen.cli import app as cli
from tfgen.deploy import workdir
from tfgen.emulator import background, provider
from tfgen.emulator.endpoint import HOST
from tfgen.emulator.server import Emulator
from tfgen.errors import ExitCode
from tfgen.render import templates as render
from tfgen.render.manifest import MANIFEST
from tfgen.spec.loading import load_spec
from tfgen.spec.model import ServerlessV2, Spec
from tfgen.terraform.commands import Terraform

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
V2_SPEC = EXAMPLES / "local.yaml"
V1_SPEC = EXAMPLES / "v1-legacy.yaml"

LOCK_FILE = ".terraform.tfstate.lock.info"
STATE_FILE = "terraform.tfstate"

# ----------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Run:
    """One tfgen command: its arguments, exit code and captured output."""

    argv: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:
        return f"tfgen {' '.join(self.argv)} -> exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def tfgen(*argv: object) -> Run:
    """``cli.main(argv)`` with stdout and stderr captured.

    Captures by redirecting ``sys.stdout``/``sys.stderr`` (what typer and the reporters
    write to), so it also works in module-scoped fixtures, where ``capsys`` does not.
    """
    args = tuple(str(a) for a in argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return Run(args, code, out.getvalue(), err.getvalue())


def ok(run: Run) -> Run:
    assert run.code == 0, str(run)
    assert "Traceback" not in run.text, str(run)
    return run


def derive_spec(source: Path, directory: Path, **changes: Any) -> Path:
    """A copy of ``source`` with top-level keys replaced (written to ``directory``)."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.update(changes)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def v1_spec(directory: Path, **changes: Any) -> Path:
    """examples/v1-legacy.yaml, deployable on the emulator.

    * ``deletion_protection: false`` (the example keeps the default, true): else
      destroy fails, on moto as on AWS.
    * CIDR ranges instead of the example's ``allowed_security_group_ids``: with a
      security group, ``--local`` cannot even plan (see
      ``test_local_plan_of_a_spec_with_allowed_security_groups``).
    """
    base: dict[str, Any] = {
        "deletion_protection": False,
        "network": {"allowed_cidr_blocks": ["10.30.0.0/16", "10.31.0.0/16"]},
    }
    return derive_spec(V1_SPEC, directory, **(base | changes))


def aws(url: str, region: str, service: str) -> Any:
    """A boto3 client of the emulator at ``url`` (the dummy credentials of the provider override)."""
    return boto3.client(
        service, endpoint_url=url, region_name=region, aws_access_key_id="test", aws_secret_access_key="test"
    )


def error_code(call: Any, **kwargs: Any) -> str | None:
    """The AWS error code of ``call(**kwargs)``, or None if it succeeded."""
    try:
        call(**kwargs)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


def files_under(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): p.read_text(encoding="utf-8")
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def cluster_exists(url: str, spec: Spec) -> bool:
    rds = aws(url, spec.region, "rds")
    return error_code(rds.describe_db_clusters, DBClusterIdentifier=spec.name) is None


def workdir_texts(directory: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file of a working directory except the provider binaries."""
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "providers" not in path.relative_to(directory).parts:
            yield path, path.read_bytes()


# ------------------------------------------------------------------------ checks on moto


def check_deployment(url: str, spec: Spec) -> dict[str, Any]:
    """Assert that what the spec describes exists on the emulator; return the ids found."""
    rds, ec2, cloudwatch = (aws(url, spec.region, s) for s in ("rds", "ec2", "cloudwatch"))

    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=spec.name)["DBClusters"]
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["EngineMode"] == spec.engine_mode
    # a major alone: AWS (and the strict emulator) reports a concrete minor, the provider keeps the major
    assert cluster["EngineVersion"] == facts.resolve_engine_version(spec.effective_engine_version)
    assert cluster["StorageEncrypted"] is True
    assert cluster["CopyTagsToSnapshot"] is True
    assert cluster["DeletionProtection"] is spec.deletion_protection
    assert cluster["DatabaseName"] == spec.database_name
    assert cluster["MasterUsername"] == spec.master_username
    assert cluster["Port"] == spec.port
    assert cluster["BackupRetentionPeriod"] == spec.backup_retention_period
    assert cluster["PreferredBackupWindow"] == spec.preferred_backup_window
    assert {t["Key"]: t["Value"] for t in cluster["TagList"]} == spec.tags
    serverless = spec.serverless
    if isinstance(serverless, ServerlessV2):
        scaling = cluster["ServerlessV2ScalingConfiguration"]
        assert scaling["MinCapacity"] == serverless.min_capacity
        assert scaling["MaxCapacity"] == serverless.max_capacity
        assert "ScalingConfigurationInfo" not in cluster  # the moto fix: AWS has it for v1 only
        instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [spec.name]}])["DBInstances"]
        identifiers = [f"{spec.name}-{n + 1}" for n in range(serverless.instances)]
        assert sorted(i["DBInstanceIdentifier"] for i in instances) == sorted(identifiers)
        assert {i["DBInstanceClass"] for i in instances} == {"db.serverless"}
        assert {i["PubliclyAccessible"] for i in instances} == {False}
        writers = [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if m["IsClusterWriter"]]
        assert writers == [identifiers[0]]
    else:
        scaling = cluster["ScalingConfigurationInfo"]
        assert scaling["MinCapacity"] == serverless.min_capacity
        assert scaling["MaxCapacity"] == serverless.max_capacity
        assert scaling["AutoPause"] is serverless.auto_pause
        assert scaling["SecondsUntilAutoPause"] == serverless.seconds_until_auto_pause
        assert scaling["TimeoutAction"] == serverless.timeout_action
        assert scaling["SecondsBeforeTimeout"] == serverless.seconds_before_timeout
        assert "ServerlessV2ScalingConfiguration" not in cluster

    # the security group: exactly one ingress rule per allowed source, on the port, described; no egress
    (membership,) = cluster["VpcSecurityGroups"]
    group_id = membership["VpcSecurityGroupId"]
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert group["GroupName"] == spec.name
    vpc_id = group["VpcId"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    assert [r for r in rules if r["IsEgress"]] == []
    ingress = [r for r in rules if not r["IsEgress"]]
    for rule in ingress:
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", spec.port, spec.port), rule
        assert rule.get("Description", "").startswith("PostgreSQL from "), rule
    cidrs = sorted(r.get("CidrIpv4") or r["CidrIpv6"] for r in ingress if "ReferencedGroupInfo" not in r)
    assert cidrs == sorted(spec.network.allowed_cidr_blocks)
    referenced = [r["ReferencedGroupInfo"]["GroupId"] for r in ingress if "ReferencedGroupInfo" in r]
    expected_groups = []
    if spec.network.allowed_security_group_ids:  # --local stands in one group for the spec's
        (clients,) = ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [f"{spec.name}-local-clients"]}]
        )["SecurityGroups"]
        expected_groups = [clients["GroupId"]]
    assert referenced == expected_groups
    assert len(ingress) == len(spec.network.allowed_cidr_blocks) + len(expected_groups)

    # the DB subnet group: the (stand-in) subnets of the cluster's VPC
    assert cluster["DBSubnetGroup"] == spec.name
    (subnet_group,) = rds.describe_db_subnet_groups(DBSubnetGroupName=spec.name)["DBSubnetGroups"]
    assert subnet_group["VpcId"] == vpc_id
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert len(subnets) == 2
    assert {s["SubnetIdentifier"] for s in subnet_group["Subnets"]} == {s["SubnetId"] for s in subnets}

    # the alarms: every built-in one, with the model's threshold and dimensions
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNamePrefix=f"{spec.name}-")["MetricAlarms"]}
    expected_keys = {"cpu", "connections", "capacity"} | ({"acu_utilization"} if spec.is_v2 else set())
    assert {a.key for a in spec.builtin_alarms} == expected_keys
    assert sorted(alarms) == sorted(f"{spec.name}-{a.key.replace('_', '-')}" for a in spec.builtin_alarms)
    for definition in spec.builtin_alarms:
        alarm = alarms[f"{spec.name}-{definition.key.replace('_', '-')}"]
        assert alarm["Namespace"] == "AWS/RDS"
        assert alarm["MetricName"] == definition.metric
        assert alarm["Statistic"] == definition.statistic
        assert alarm["ComparisonOperator"] == definition.comparison
        assert alarm["Threshold"] == pytest.approx(definition.threshold)
        assert alarm["Period"] == spec.alarms.period
        assert alarm["EvaluationPeriods"] == spec.alarms.evaluation_periods
        assert alarm["TreatMissingData"] == spec.treat_missing_data
        assert alarm["AlarmDescription"] == definition.description
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        expected = {"DBClusterIdentifier": spec.name}
        if spec.is_v2:  # on the writer: at the cluster level AWS averages the instances
            expected["Role"] = "WRITER"
        assert dimensions == expected, definition.key

    return {"cluster": cluster, "security_group_id": group_id, "vpc_id": vpc_id}


def check_outputs(run: Run, spec: Spec, found: dict[str, Any]) -> dict[str, Any]:
    """``tfgen output --json``: the module's outputs, none masked (write_only has no sensitive output)."""
    ok(run)
    values = json.loads(run.out)
    cluster = found["cluster"]
    assert values["cluster_identifier"] == spec.name
    assert values["cluster_arn"] == cluster["DBClusterArn"]
    assert values["endpoint"] == cluster["Endpoint"]
    assert values["port"] == spec.port
    assert values["database_name"] == spec.database_name
    assert values["master_username"] == spec.master_username
    assert values["security_group_id"] == found["security_group_id"]
    assert values["db_subnet_group_name"] == spec.name
    assert sorted(values["alarm_arns"]) == sorted(a.key for a in spec.builtin_alarms)
    assert values["password_location"] == spec.password_location
    assert values["master_user_secret_arn"].startswith(f"arn:aws:secretsmanager:{spec.region}:")
    if spec.skip_final_snapshot:
        assert "final_snapshot_identifier" not in values  # null: terraform lists no null outputs
    else:
        assert values["final_snapshot_identifier"].startswith(f"{spec.final_snapshot_prefix}-")
    if spec.is_v2:
        assert values["instance_identifiers"] == [f"{spec.name}-1"]
    assert api.SENSITIVE_MASK not in json.dumps(values)
    return dict(values)


def read_password(url: str, spec: Spec, secret_arn: str) -> str:
    """The master password, from the module's secret (the only place it lives)."""
    secrets = aws(url, spec.region, "secretsmanager")
    document = json.loads(secrets.get_secret_value(SecretId=secret_arn)["SecretString"])
    assert document["username"] == spec.master_username
    assert document["dbClusterIdentifier"] == spec.name
    password = str(document["password"])
    assert len(password) == spec.master_password.length
    return password


def check_password_nowhere(password: str, directory: Path, runs: list[Run]) -> None:
    """The password is in no file of the working directory (state included) and no tfgen output."""
    assert (directory / STATE_FILE).is_file()
    assert password not in (directory / STATE_FILE).read_text(encoding="utf-8")
    for path, data in workdir_texts(directory):
        assert password.encode() not in data, f"the master password is in {path}"
    for run in runs:
        assert password not in run.text, f"the master password was printed by: tfgen {' '.join(run.argv)}"


def check_gone(url: str, spec: Spec, found: dict[str, Any], secret_arn: str) -> None:
    """Nothing of the deployment is left on the emulator (but a final snapshot, if asked for)."""
    rds, ec2, cloudwatch, secrets = (aws(url, spec.region, s) for s in ("rds", "ec2", "cloudwatch", "secretsmanager"))
    assert error_code(rds.describe_db_clusters, DBClusterIdentifier=spec.name) == "DBClusterNotFoundFault"
    assert spec.name not in [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]
    assert rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [spec.name]}])["DBInstances"] == []
    assert cloudwatch.describe_alarms(AlarmNamePrefix=f"{spec.name}-")["MetricAlarms"] == []
    assert error_code(ec2.describe_security_groups, GroupIds=[found["security_group_id"]]) is not None
    assert ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [spec.name]}])["SecurityGroups"] == []
    assert error_code(rds.describe_db_subnet_groups, DBSubnetGroupName=spec.name) == "DBSubnetGroupNotFoundFault"
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [found["vpc_id"]]}])["Vpcs"] == []
    assert "DeletedDate" in secrets.describe_secret(SecretId=secret_arn)  # scheduled for deletion (7 days)


def check_render_matches_workdir(spec_path: Path, directory: Path, out: Path) -> None:
    """``tfgen render`` writes the very module that apply deploys from the working directory."""
    run = ok(tfgen("render", spec_path, "-o", out))
    assert "wrote" in run.out
    rendered = files_under(out)
    assert rendered.pop(MANIFEST)  # render records what it wrote; the working directory is tfgen's alone
    assert rendered == files_under(directory / "module")


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Module-wide directory: plugin cache, HOME of the module fixtures, emulator record."""
    base = tmp_path_factory.mktemp("deploy")
    for name in ("plugin-cache", "home", "emulator"):
        (base / name).mkdir()
    return base


def _deploy_env(mp: pytest.MonkeyPatch, shared: Path) -> None:
    mp.setenv("TFGEN_PLUGIN_CACHE_DIR", str(shared / "plugin-cache"))
    mp.delenv("TF_DATA_DIR", raising=False)  # .terraform/ in each working directory, as tfgen expects
    mp.delenv("TF_CLI_ARGS", raising=False)
    mp.setenv("CHECKPOINT_DISABLE", "1")


@pytest.fixture(autouse=True)
def deploy_env(isolated_env: None, monkeypatch: pytest.MonkeyPatch, shared_dir: Path) -> None:
    """On top of conftest's isolation: the module's plugin cache, .terraform/ in the working directory."""
    _deploy_env(monkeypatch, shared_dir)


@dataclass
class Deployment:
    """The shared v2 deployment of examples/local.yaml."""

    spec_path: Path
    spec: Spec
    url: str
    directory: Path
    render_dir: Path
    plan: Run
    cluster_after_plan: bool
    apply: Run
    found: dict[str, Any]
    runs: list[Run] = field(default_factory=list)
    """Every tfgen command run on this deployment (checked for the password)."""
    password: str = ""
    secret_arn: str = ""

    def run(self, *argv: object) -> Run:
        result = tfgen(*argv)
        self.runs.append(result)
        return result

    def local_args(self) -> list[str]:
        return ["--endpoint", self.url, "--workdir", str(self.directory)]


@pytest.fixture(scope="module")
def v2(plugin_mirror: Path, endpoint: str, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """examples/local.yaml planned, then applied with --auto-approve (about 70 s)."""
    base = tmp_path_factory.mktemp("v2")
    spec = load_spec(V2_SPEC).spec
    directory = base / "work"
    with pytest.MonkeyPatch.context() as mp:  # conftest's isolation is per test: redo it for the module
        mp.setenv("HOME", str(shared_dir / "home"))
        mp.setenv("XDG_CACHE_HOME", str(shared_dir / "home" / ".cache"))
        mp.setenv("TFGEN_PLUGIN_MIRROR", str(plugin_mirror))
        _deploy_env(mp, shared_dir)
        args = ["--endpoint", endpoint, "--workdir", str(directory)]
        plan = ok(tfgen("plan", V2_SPEC, *args))
        cluster_after_plan = cluster_exists(endpoint, spec)
        apply = ok(tfgen("apply", V2_SPEC, "--auto-approve", *args))
    deployment = Deployment(
        spec_path=V2_SPEC,
        spec=spec,
        url=endpoint,
        directory=directory,
        render_dir=base / "rendered",
        plan=plan,
        cluster_after_plan=cluster_after_plan,
        apply=apply,
        found=check_deployment(endpoint, spec),
        runs=[plan, apply],
    )
    outputs = json.loads(deployment.run("output", V2_SPEC, "--json", *args).out)
    deployment.secret_arn = outputs["master_user_secret_arn"]
    deployment.password = read_password(endpoint, spec, deployment.secret_arn)
    return deployment


# ------------------------------------------------------------------- v2: the shared deployment


@pytest.mark.terraform
def test_v2_plan_then_apply(v2: Deployment) -> None:
    spec = v2.spec
    # plan: shows every change, creates nothing, saves the plan
    assert not v2.cluster_after_plan
    assert "Plan: " in v2.plan.out and " to add, 0 to change, 0 to destroy." in v2.plan.out
    assert "+ module.cluster.aws_rds_cluster.this (create)" in v2.plan.out
    assert "+ module.cluster.aws_rds_cluster_instance.this[0] (create)" in v2.plan.out
    for alarm in spec.builtin_alarms:
        assert f'+ module.cluster.aws_cloudwatch_metric_alarm.builtin["{alarm.key}"] (create)' in v2.plan.out
    # apply: progress per resource, then the summary; the saved plan is gone
    added = int(v2.plan.out.split("Plan: ")[1].split(" ")[0])
    assert f"apply complete: {added} added, 0 changed, 0 destroyed." in v2.apply.out
    assert "module.cluster.aws_rds_cluster.this: create started" in v2.apply.out
    assert "module.cluster.aws_rds_cluster.this: created in " in v2.apply.out
    assert not (v2.directory / workdir.PLAN_FILE).exists()
    assert not (v2.directory / LOCK_FILE).exists()
    record = json.loads((v2.directory / workdir.TARGET_FILE).read_text(encoding="utf-8"))
    assert record["target"] == "local"
    assert (v2.directory / provider.OVERRIDE_FILENAME).read_text(encoding="utf-8").count(v2.url) == len(
        provider.AWS_SERVICES
    )


@pytest.mark.terraform
def test_v2_render_is_the_deployed_module(v2: Deployment) -> None:
    check_render_matches_workdir(v2.spec_path, v2.directory, v2.render_dir)


@pytest.mark.terraform
def test_v2_resources_match_the_spec(v2: Deployment) -> None:
    found = check_deployment(v2.url, v2.spec)
    assert found["cluster"]["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0
    assert found["cluster"]["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 4


@pytest.mark.terraform
def test_v2_output(v2: Deployment) -> None:
    as_json = v2.run("output", v2.spec_path, "--json", *v2.local_args())
    values = check_outputs(as_json, v2.spec, v2.found)
    # nothing is sensitive: --show-sensitive shows the very same
    shown = ok(v2.run("output", v2.spec_path, "--json", "--show-sensitive", *v2.local_args()))
    assert json.loads(shown.out) == values
    # the plain form: one `name = value` line per output, strings bare, the rest as JSON
    plain = ok(v2.run("output", v2.spec_path, *v2.local_args()))
    lines = plain.out.splitlines()
    assert len(lines) == len(values)
    assert f"cluster_identifier = {v2.spec.name}" in lines
    assert f"port = {v2.spec.port}" in lines
    assert f"instance_identifiers = {json.dumps(values['instance_identifiers'])}" in lines
    assert api.SENSITIVE_MASK not in plain.out


@pytest.mark.terraform
def test_v2_second_plan_shows_no_changes(v2: Deployment) -> None:
    run = ok(v2.run("plan", v2.spec_path, *v2.local_args()))
    assert f"{v2.directory}: no changes; the infrastructure matches the spec" in run.out
    assert "to add" not in run.out
    # the same through --json: the events on stdout, the verdict on stderr
    as_json = ok(v2.run("plan", v2.spec_path, "--json", *v2.local_args()))
    events = [json.loads(line) for line in as_json.out.splitlines()]
    summaries = [e for e in events if e.get("type") == "change_summary"]
    assert summaries and summaries[-1]["changes"]["add"] == summaries[-1]["changes"]["change"] == 0
    assert not [e for e in events if e.get("type") == "planned_change"]
    assert "no changes" in as_json.err
    # for CI, as terraform plan -detailed-exitcode: 0 without changes
    assert v2.run("plan", v2.spec_path, "--detailed-exitcode", *v2.local_args()).code == 0


@pytest.mark.terraform
def test_plan_detailed_exitcode_is_2_with_changes(v2: Deployment, tmp_path: Path) -> None:
    """A spec never applied (another cluster, another working directory): changes, so 2; without the flag, 0."""
    other = tmp_path / "other.yaml"
    other.write_text(v2.spec_path.read_text(encoding="utf-8").replace(v2.spec.name, "tfgen-other", 1), encoding="utf-8")
    local = ["--endpoint", v2.url, "--workdir", str(tmp_path / "work")]
    detailed = v2.run("plan", other, "--detailed-exitcode", *local)
    assert detailed.code == 2, str(detailed)
    assert "Plan: " in detailed.out and "to add" in detailed.out
    assert ok(v2.run("plan", other, *local)).code == 0


@pytest.mark.terraform
def test_v2_plan_of_a_prepared_workdir_runs_only_terraform_plan(
    v2: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing changed: no render, no `terraform version`, no init; a changed spec renders (and inits) again."""
    commands: list[str] = []
    renders: list[str] = []
    execute, render_module = Terraform._execute, render.render_module

    def spy(self: Terraform, argv: list[str], *args: Any, **kwargs: Any) -> int:
        commands.append(argv[1])
        return execute(self, argv, *args, **kwargs)

    def counting(spec: Spec, env: Any = None) -> dict[str, str]:
        renders.append(spec.name)
        return render_module(spec, env)

    monkeypatch.setattr(Terraform, "_execute", spy)
    monkeypatch.setattr(render, "render_module", counting)

    def plan(spec_path: Path) -> list[str]:
        commands.clear()
        ok(v2.run("plan", spec_path, *v2.local_args()))
        return list(commands)

    assert plan(v2.spec_path) == ["plan"]
    assert renders == []
    retagged = derive_spec(V2_SPEC, tmp_path, tags={"purpose": "retagged"})
    assert plan(retagged) == ["plan", "show"]  # no init (the same providers and module call); its changes are read
    assert '"retagged"' in (v2.directory / "module" / "variables.tf").read_text(encoding="utf-8")
    assert plan(v2.spec_path) == ["plan"]  # and back
    assert plan(v2.spec_path) == ["plan"]
    assert len(renders) == 2
    check_render_matches_workdir(v2.spec_path, v2.directory, tmp_path / "rendered")


@pytest.mark.terraform
def test_v2_write_only_password_is_never_in_state_or_output(v2: Deployment) -> None:
    assert v2.password  # read from the module's secret in moto's Secrets Manager
    state = json.loads((v2.directory / STATE_FILE).read_text(encoding="utf-8"))
    assert state["resources"], "the state is empty"
    check_password_nowhere(v2.password, v2.directory, v2.runs)


@pytest.mark.terraform
def test_v2_destroy_refused_without_a_terminal(v2: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))  # input there is, but no terminal to ask on
    state = (v2.directory / STATE_FILE).read_bytes()
    run = v2.run("destroy", v2.spec_path, *v2.local_args())
    assert run.code == ExitCode.USAGE, str(run)
    assert "error: refusing to destroy without confirmation: there is no terminal to ask on" in run.err
    assert "hint: pass --auto-approve" in run.err
    assert (v2.directory / STATE_FILE).read_bytes() == state
    assert cluster_exists(v2.url, v2.spec)


@pytest.mark.terraform
def test_v2_local_workdir_refuses_real_aws(v2: Deployment) -> None:
    """A working directory applied with --local is never used against AWS: state and files untouched."""
    before = {path: data for path, data in workdir_texts(v2.directory)}
    for argv in (
        ["plan", v2.spec_path],
        ["apply", v2.spec_path, "--auto-approve"],
        ["destroy", v2.spec_path, "--auto-approve"],
        ["output", v2.spec_path],
    ):
        run = v2.run(*argv, "--workdir", v2.directory)
        assert run.code == ExitCode.USAGE, str(run)
        assert (
            f"error: {v2.directory} holds state of the local emulator; refusing to use it against real AWS" in run.err
        )
        assert "hint: add --local, or pick another --workdir for AWS" in run.err
        assert "Traceback" not in run.text
    assert dict(workdir_texts(v2.directory)) == before
    assert cluster_exists(v2.url, v2.spec)


@pytest.mark.terraform
def test_v2_doctor_finds_the_deployed_cluster_and_its_password(v2: Deployment) -> None:
    # this emulator runs no databases (--no-databases): the connection is not checked, and doctor says why
    run = v2.run("doctor", V2_SPEC, "--json", *v2.local_args())
    report = json.loads(run.out)
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["cluster_status"]["status"] == "PASS", checks["cluster_status"]
    assert checks["connection"]["status"] == "WARN", checks["connection"]
    assert checks["connection"]["data"]["kind"] == "no_database"
    assert "not checked: the emulator's clusters are API records only" in checks["connection"]["evidence"]
    assert checks["backups"]["status"] == "PASS"  # moto's automated snapshot of the new cluster
    assert run.code == 0 and report["ok"], str(run)  # WARNs only: nothing failed
    assert v2.password not in run.out + run.err


@pytest.mark.terraform
def test_v2_destroy_leaves_nothing(v2: Deployment) -> None:
    """Destroy plans -destroy and applies that plan: never python-terraform's `destroy -force`.

    Must stay the last test of the shared deployment.
    """
    run = ok(v2.run("destroy", v2.spec_path, "--auto-approve", *v2.local_args()))
    assert "-force" not in run.text and "flag provided but not defined" not in run.text
    assert "destroy complete: 0 added, 0 changed, " in run.out
    destroyed = int(run.out.split("destroy complete: 0 added, 0 changed, ")[1].split(" ")[0])
    added = int(v2.apply.out.split("apply complete: ")[1].split(" ")[0])
    assert destroyed == added
    assert "(delete)" in run.out
    check_gone(v2.url, v2.spec, v2.found, v2.secret_arn)
    state = json.loads((v2.directory / STATE_FILE).read_text(encoding="utf-8"))
    assert state["resources"] == []
    assert not (v2.directory / workdir.PLAN_FILE).exists()
    # the previous state (terraform.tfstate.backup) and the destroy's output hold no password either
    check_password_nowhere(v2.password, v2.directory, v2.runs)
    # a destroyed deployment plans to create everything again
    again = ok(v2.run("plan", v2.spec_path, *v2.local_args()))
    assert f"Plan: {added} to add, 0 to change, 0 to destroy." in again.out


# ---------------------------------------------------------------------------------- v1


@pytest.mark.terraform
def test_v1_end_to_end(tmp_path: Path, endpoint: str, plugin_mirror: Path) -> None:
    """render -> plan -> apply -> output -> plan (no changes) -> destroy of a Serverless v1 spec."""
    spec_path = v1_spec(tmp_path / "specs")
    spec = load_spec(spec_path).spec
    assert not spec.is_v2 and spec.master_password.source == "write_only"
    directory = tmp_path / "work"
    local = ["--endpoint", endpoint, "--workdir", str(directory)]
    runs: list[Run] = []

    def run(*argv: object) -> Run:
        runs.append(tfgen(*argv))
        return runs[-1]

    plan = ok(run("plan", spec_path, *local))
    assert "+ module.cluster.aws_rds_cluster.this (create)" in plan.out
    assert "aws_rds_cluster_instance" not in plan.out  # v1: capacity lives in the cluster
    assert "warning: " in plan.err and "Serverless v1 reached end of life" in plan.err
    assert not cluster_exists(endpoint, spec)
    check_render_matches_workdir(spec_path, directory, tmp_path / "rendered")

    apply = ok(run("apply", spec_path, "--auto-approve", *local))
    added = int(plan.out.split("Plan: ")[1].split(" ")[0])
    assert f"apply complete: {added} added, 0 changed, 0 destroyed." in apply.out
    found = check_deployment(endpoint, spec)
    assert found["cluster"]["ScalingConfigurationInfo"]["AutoPause"] is True
    # v1 publishes its logs by itself: the module made the group first, with the spec's retention
    logs = aws(endpoint, spec.region, "logs")
    (group,) = logs.describe_log_groups(logGroupNamePrefix=spec.log_group_name)["logGroups"]
    assert (group["logGroupName"], group["retentionInDays"]) == (spec.log_group_name, spec.logs.retention_days)
    assert not found["cluster"].get("EnabledCloudwatchLogsExports")  # nothing to export: v1 cannot

    values = check_outputs(run("output", spec_path, "--json", *local), spec, found)
    assert "instance_identifiers" not in values
    password = read_password(endpoint, spec, values["master_user_secret_arn"])

    again = ok(run("plan", spec_path, *local))
    assert f"{directory}: no changes; the infrastructure matches the spec" in again.out
    check_password_nowhere(password, directory, runs)

    destroy = ok(run("destroy", spec_path, "--auto-approve", *local))
    assert f"destroy complete: 0 added, 0 changed, {added} destroyed." in destroy.out
    assert "-force" not in destroy.text
    check_gone(endpoint, spec, found, values["master_user_secret_arn"])
    assert not logs.describe_log_groups(logGroupNamePrefix=spec.log_group_name)["logGroups"]
    # skip_final_snapshot is false: the final snapshot is the one thing left, as asked
    rds = aws(endpoint, spec.region, "rds")
    (snapshot,) = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=values["final_snapshot_identifier"])[
        "DBClusterSnapshots"
    ]
    assert snapshot["DBClusterIdentifier"] == spec.name and snapshot["SnapshotType"] == "manual"
    check_password_nowhere(password, directory, runs)


@pytest.mark.terraform
def test_destroy_of_a_protected_cluster_deletes_nothing_until_the_documented_path(
    tmp_path: Path, endpoint: str, plugin_mirror: Path
) -> None:
    """A protected cluster: destroy refuses before deleting anything; the hint's path then works.

    The path: ``deletion_protection: false`` in the spec, ``tfgen apply``, ``tfgen destroy``.
    """
    spec_path = v1_spec(tmp_path / "specs", deletion_protection=True)
    spec = load_spec(spec_path).spec
    directory = tmp_path / "work"
    local = ["--endpoint", endpoint, "--workdir", str(directory)]
    ok(tfgen("apply", spec_path, "--auto-approve", *local))
    found = check_deployment(endpoint, spec)
    state_before = (directory / STATE_FILE).read_text(encoding="utf-8")

    refused = tfgen("destroy", spec_path, "--auto-approve", *local)
    assert refused.code == 1, str(refused)
    assert "Traceback" not in refused.text
    assert "module.cluster.aws_rds_cluster.this has deletion protection (in the spec and on the deployed cluster)" in (
        refused.err
    )
    assert "set `deletion_protection: false` in the spec, run `tfgen apply`, then `tfgen destroy`" in refused.err
    assert "destroy complete" not in refused.out
    check_deployment(endpoint, spec)  # everything is still there: the secret, the alarms, the cluster
    assert (directory / STATE_FILE).read_text(encoding="utf-8") == state_before
    assert not (directory / workdir.PLAN_FILE).exists()

    # the spec says false, the deployed cluster is still protected: apply first
    spec_path = v1_spec(tmp_path / "specs", deletion_protection=False)
    spec = load_spec(spec_path).spec
    refused = tfgen("destroy", spec_path, "--auto-approve", *local)
    assert refused.code == 1, str(refused)
    assert "(on the deployed cluster)" in refused.err
    assert "the spec already says `deletion_protection: false`: run `tfgen apply`, then `tfgen destroy`" in refused.err
    assert (directory / STATE_FILE).read_text(encoding="utf-8") == state_before

    ok(tfgen("apply", spec_path, "--auto-approve", *local))
    values = json.loads(ok(tfgen("output", spec_path, "--json", *local)).out)
    destroy = ok(tfgen("destroy", spec_path, "--auto-approve", *local))
    assert f"final snapshot: {values['final_snapshot_identifier']} (taken as " in destroy.out
    assert "destroy complete: 0 added, 0 changed, " in destroy.out
    check_gone(endpoint, spec, found, values["master_user_secret_arn"])


# ---------------------------------------------------------------------- Ctrl-C during apply


class Background:
    """``python -m tfgen ...`` in its own session (like a terminal's foreground job), output collected."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tfgen", *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(needle in line for line in self.lines):
            if self.proc.poll() is not None:
                self._reader.join(5)
                if any(needle in line for line in self.lines):
                    return
                pytest.fail(f"tfgen exited ({self.proc.returncode}) before {needle!r}:\n{self.text}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {needle!r} within {timeout:g}s:\n{self.text}")
            time.sleep(0.1)

    def ctrl_c(self) -> None:
        """SIGINT to the whole foreground process group, as a terminal sends it."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(5)
        return code

    def cleanup(self) -> None:
        """Stop tfgen if a test failed half way: Ctrl-C twice (tfgen kills terraform's group), then kill."""
        if self.proc.poll() is None:
            for _ in range(2):
                with contextlib.suppress(ProcessLookupError):
                    self.ctrl_c()
                time.sleep(1)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)


@pytest.mark.terraform
def test_ctrl_c_during_apply_stops_cleanly_and_apply_recovers(
    tmp_path: Path, endpoint: str, plugin_mirror: Path
) -> None:
    spec_path = v1_spec(tmp_path / "specs", name="tfgen-sigint")  # v1: no instance, the cheapest cluster
    spec = load_spec(spec_path).spec
    directory = tmp_path / "work"
    local = ["--endpoint", endpoint, "--workdir", str(directory)]

    job = Background(["apply", str(spec_path), "--auto-approve", *local], cwd=tmp_path)
    try:
        job.wait_for("aws_rds_cluster.this: create started", timeout=300)
        time.sleep(0.5)
        job.ctrl_c()
        code = job.finish(timeout=120)
    finally:
        job.cleanup()
    assert code == ExitCode.INTERRUPTED, job.text
    assert "error: terraform apply interrupted; terraform stopped cleanly and released its state lock" in job.text
    assert "hint: resources being changed may be half done: run plan again to see what is left" in job.text
    assert "Traceback" not in job.text
    assert "killed" not in job.text  # one Ctrl-C: forwarded once, terraform not killed
    assert not (directory / LOCK_FILE).exists()
    assert not (directory / workdir.PLAN_FILE).exists()
    assert (directory / STATE_FILE).is_file()  # what was created before the interrupt is recorded

    retry = ok(tfgen("apply", spec_path, "--auto-approve", *local))
    assert "apply complete: " in retry.out
    check_deployment(endpoint, spec)
    again = ok(tfgen("plan", spec_path, *local))
    assert f"{directory}: no changes; the infrastructure matches the spec" in again.out
    assert not (directory / LOCK_FILE).exists()


# ---------------------------------------------------------------- errors and refusals (fast)


@pytest.mark.terraform
def test_terraform_error_is_a_diagnostic_with_exit_1(tmp_path: Path, endpoint: str, plugin_mirror: Path) -> None:
    spec_path = derive_spec(V2_SPEC, tmp_path / "specs", name="tfgen-broken")
    spec = load_spec(spec_path).spec
    directory = tmp_path / "work"
    directory.mkdir()
    # workdir.prepare leaves files it does not know alone: this one fails every plan
    (directory / "broken.tf").write_text('locals {\n  x = file("${path.module}/missing.txt")\n}\n', encoding="utf-8")

    run = tfgen("apply", spec_path, "--auto-approve", "--endpoint", endpoint, "--workdir", directory)
    assert run.code == ExitCode.FAILED, str(run)
    assert "Traceback" not in run.text
    assert f"error: terraform plan failed in {directory} (exit 1)" in run.err, str(run)
    # the diagnostic: its file:line and summary on one line
    assert [line for line in run.err.splitlines() if "broken.tf:2" in line and "Invalid function argument" in line]
    assert "missing.txt" in run.err  # terraform's detail comes along
    assert "apply complete" not in run.text
    assert not (directory / workdir.PLAN_FILE).exists()
    assert not (directory / STATE_FILE).exists()
    assert not cluster_exists(endpoint, spec)


@pytest.mark.terraform
@pytest.mark.emulator
def test_missing_provider_is_explained(tmp_path: Path, plugin_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/aurora.yaml needs hashicorp/random, which the mirror lacks (in-process emulator)."""
    monkeypatch.chdir(tmp_path)  # no background emulator recorded here: --local starts one in-process
    run = tfgen("plan", EXAMPLES / "aurora.yaml", "--local", "--workdir", tmp_path / "work")
    assert run.code == ExitCode.FAILED, str(run)
    assert "Traceback" not in run.text
    assert (
        f"error: terraform init could not install provider hashicorp/random: it is not in the plugin mirror "
        f"{plugin_mirror.absolute()}" in run.err
    ), str(run)
    hint = next(line for line in run.err.splitlines() if line.startswith("hint: "))
    assert "master_password.source: rds_managed" in hint and "write_only" in hint
    assert "hashicorp/aws" in hint
    # the in-process emulator the command started is stopped again
    assert not [t for t in threading.enumerate() if t.name == "tfgen-emulator"]


def test_apply_refused_without_a_terminal(tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))  # input there is, but no terminal to ask on
    spec_path = derive_spec(V2_SPEC, tmp_path / "specs", name="tfgen-refused")
    directory = tmp_path / "work"
    run = tfgen("apply", spec_path, "--endpoint", endpoint, "--workdir", directory)
    assert run.code == ExitCode.USAGE, str(run)
    assert run.err == (
        "error: refusing to apply without confirmation: there is no terminal to ask on\nhint: pass --auto-approve\n"
    )
    assert run.out == ""
    assert not directory.exists()  # refused before anything was rendered, planned or applied
    assert not cluster_exists(endpoint, load_spec(spec_path).spec)


def test_aws_workdir_refuses_the_emulator(tmp_path: Path) -> None:
    """The other direction: a working directory prepared for real AWS is never used with --local."""
    spec = load_spec(V2_SPEC).spec
    directory = tmp_path / "work"
    prepared = workdir.prepare(spec, directory, local_endpoint=None)
    assert prepared.target == "aws"
    record = json.loads((directory / workdir.TARGET_FILE).read_text(encoding="utf-8"))
    assert record["target"] == "aws"
    assert not (directory / provider.OVERRIDE_FILENAME).exists()
    before = files_under(directory)
    for argv in (["plan", V2_SPEC, "--local"], ["plan", V2_SPEC, "--endpoint", "http://127.0.0.1:9"]):
        run = tfgen(*argv, "--workdir", directory)
        assert run.code == ExitCode.USAGE, str(run)
        assert f"error: {directory} holds state of real AWS; refusing to use it with the local emulator" in run.err
        assert "hint: drop --local, or pick another --workdir for the emulator" in run.err
    assert files_under(directory) == before


@pytest.mark.terraform
def test_output_masks_sensitive_values(
    tmp_path: Path, terraform_cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """No write_only output is sensitive: a state with a sensitive output (real terraform) shows the masking."""
    directory = tmp_path / "outputs"
    directory.mkdir()
    secret = "hunter2-never-shown"
    (directory / "main.tf").write_text(
        f'output "token" {{\n  value     = "{secret}"\n  sensitive = true\n}}\n\n'
        'output "endpoint" {\n  value = "db.example"\n}\n\n'
        'output "ports" {\n  value = [5432]\n}\n',
        encoding="utf-8",
    )
    env = {**os.environ, **terraform_cli_env}
    applied = subprocess.run(
        ["terraform", "apply", "-auto-approve", "-input=false", "-no-color"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr

    def output(*flags: str) -> tuple[int, str, str]:
        code = cli.main(["output", str(V2_SPEC), "--workdir", str(directory), *flags])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    code, out, err = output()
    assert code == 0, err
    assert out.splitlines() == ["endpoint = db.example", "ports = [5432]", f"token = {api.SENSITIVE_MASK}"]
    code, out, err = output("--json")
    assert code == 0, err
    assert json.loads(out) == {"endpoint": "db.example", "ports": [5432], "token": api.SENSITIVE_MASK}
    assert secret not in out + err
    code, out, err = output("--json", "--show-sensitive")
    assert code == 0, err
    assert json.loads(out)["token"] == secret


# ------------------------------------------------------------------------- emulator CLI


@pytest.mark.emulator
def test_emulator_cli_start_status_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(["emulator", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    try:
        code, out, err = run("start")
        assert code == 0, err
        info = background.status(tmp_path)
        assert info is not None
        first, databases = out.splitlines()
        assert first == f"emulator running at {info.url} (pid {info.pid})"
        assert databases.startswith("databases: clusters ")  # real servers, or why not
        assert info.url.startswith(f"http://{HOST}:")
        # it answers like AWS
        assert aws(info.url, "us-east-1", "sts").get_caller_identity()["Account"] == "123456789012"

        assert run("status") == (0, f"{info.url}\n", "")
        assert run("start") == (0, out, "")  # already running: the same server

        assert run("stop") == (0, "emulator stopped\n", "")
        with pytest.raises(ProcessLookupError):
            os.kill(info.pid, 0)
        assert not background.state_path(tmp_path).exists()
        assert run("status") == (ExitCode.FAILED, "", "emulator not running\n")
        assert run("stop") == (0, "emulator was not running\n", "")
    finally:
        background.stop_background(tmp_path)


# ------------------------------------------------------------------- fixed regressions


@pytest.mark.terraform
def test_local_plan_of_a_spec_with_allowed_security_groups(tmp_path: Path, endpoint: str, plugin_mirror: Path) -> None:
    spec_path = derive_spec(V1_SPEC, tmp_path / "specs", name="tfgen-sg-sources", deletion_protection=False)
    assert load_spec(spec_path).spec.network.allowed_security_group_ids
    # the rules are keyed by position: ids unknown until apply (the local stand-in group) plan fine
    run = tfgen("plan", spec_path, "--endpoint", endpoint, "--workdir", tmp_path / "work")
    ok(run)
    assert "+ module.cluster.aws_vpc_security_group_ingress_rule.security_group[" in run.out


@pytest.mark.emulator
def test_emulator_lets_a_deleted_cluster_be_created_again_at_once() -> None:
    with Emulator() as url:
        rds = aws(url, "us-east-1", "rds")
        cluster = {
            "DBClusterIdentifier": "tfgen-again",
            "Engine": "aurora-postgresql",
            "EngineVersion": "16.6",
            "MasterUsername": "demo_admin",
            "MasterUserPassword": "not-a-secret-1234",
        }
        rds.create_db_cluster(**cluster)
        rds.delete_db_cluster(DBClusterIdentifier="tfgen-again", SkipFinalSnapshot=True)
        # AWS deletes automated backups with the cluster (emulator fix rds-delete-automated-cluster-snapshots)
        rds.create_db_cluster(**cluster)
