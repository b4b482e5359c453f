"""Teams and scale: remote state with locking, environments, a directory of specs.

The fast tests check the environment merging rules and where their errors point, the
backend section, the rendered backend blocks and the per-environment working
directories. The slow ones run real terraform against a real moto server, its S3
included (moto 5.2.5 honours S3 conditional writes, ``If-None-Match: *``, so
terraform's native S3 locking, ``use_lockfile``, really locks there):

* a spec applied with its state in the emulator's S3 (bucket created by tfgen),
* two applies of it started together from two working directories, several times:
  exactly one proceeds, the other fails with terraform's lock error (or waits, with
  ``--lock-timeout``), and the state moves on by exactly one serial,
* a local state migrated to S3 (asked first, foreign states never overwritten),
* a directory of specs planned in parallel with one spec deliberately failing.

Clusters are Serverless v1 (no instance: the cheapest on moto, about 30 s to create).
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from botocore.exceptions import ClientError

from tests.test_deploy import Background, Run, _deploy_env, aws, ok, tfgen
from tfgen.deploy import backend, workdir
from tfgen.deploy import operations as deploy
from tfgen.deploy.migration import StateSummary
from tfgen.deploy.progress import PlainReporter
from tfgen.emulator import server as emulator
from tfgen.errors import ExitCode, SpecError, UsageError
from tfgen.render.templates import MODULE_FILES, render_module
from tfgen.spec.backends import CloudBackend, LocalBackend, S3Backend
from tfgen.spec.jsonschema import json_schema
from tfgen.spec.loading import load_environments, load_spec
from tfgen.spec.model import ServerlessV1, ServerlessV2, Spec
from tfgen.terraform.config import TerraformSettings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "teams"
MERGING = FIXTURES / "environments.yaml"
STATE_BUCKET = "tfgen-team-state"


def spec_errors(path: Path, environment: str | None = None) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec(path, environment)
    return caught.value.problems


# --------------------------------------------------------------------------- environments


def test_environments_merge_over_the_base_spec() -> None:
    base = load_spec(MERGING)
    merged = load_environments(MERGING)
    assert base.environment is None
    assert base.environments == ("dev", "staging", "prod") == tuple(merged)
    assert base.spec.name == "orders"

    dev = merged["dev"]
    assert (dev.environment, dev.environments, dev.label) == ("dev", base.environments, f"{MERGING} --env dev")
    assert dev.spec.name == "orders-dev"  # <name>-<env> unless the environment sets name
    assert dev.spec.serverless == ServerlessV2(min_capacity=0.5, max_capacity=2)  # maps merge key by key
    assert dev.spec.tags == {"team": "orders", "cost-center": "shared", "stage": "dev"}
    assert dev.spec.network.allowed_cidr_blocks == ["10.0.0.0/16", "10.1.0.0/16"]  # untouched
    assert dev.spec.backend == S3Backend(type="s3", bucket="acme-tfstate", region="eu-central-1")
    assert dev.spec.state_location == "s3://acme-tfstate/tfgen/orders-dev.tfstate"
    assert dev.spec.state_region == "eu-central-1"
    assert dev.spec.environments == {}

    staging = merged["staging"].spec
    assert staging.network.allowed_cidr_blocks == ["10.2.0.0/16"]  # lists replace
    assert staging.backend == S3Backend(
        type="s3", bucket="acme-tfstate", key="staging/orders.tfstate", region="eu-central-1"
    )
    assert staging.state_location == "s3://acme-tfstate/staging/orders.tfstate"

    prod = merged["prod"].spec
    assert prod.name == "orders"  # set by the environment
    # another serverless.version or backend.type replaces the whole section (no v2 min_capacity, no bucket)
    assert prod.serverless == ServerlessV1(version="v1", min_capacity=8, max_capacity=32)
    assert prod.backend == CloudBackend(type="cloud", organization="acme", tags=["aurora", "prod"])
    assert prod.state_location == "cloud:acme/tags aurora,prod"
    assert prod.cloud_workspace is None
    assert prod.tags == {"team": "orders", "cost-center": "orders"}
    assert merged["prod"].warnings == [
        f"{MERGING}:37: environments.prod.serverless.version: Aurora Serverless v1 reached end of life on 2025-03-31 "
        "and AWS stopped creating v1 clusters on 2025-01-08; use it only to manage an existing cluster "
        "(serverless.version: v2 is the default)"
    ]
    assert load_spec(MERGING, "prod").spec == prod


def test_backend_and_environments_change_neither_the_digest_nor_the_module() -> None:
    loaded = load_spec(MERGING)
    plain = copy.deepcopy(loaded.document.data)
    del plain["backend"], plain["environments"]
    without = Spec.model_validate(plain)
    assert without.backend == LocalBackend(type="local")
    assert loaded.spec.digest() == without.digest()
    assert render_module(loaded.spec) == render_module(without)


def test_errors_in_an_environment_point_at_its_lines() -> None:
    path = FIXTURES / "invalid-environments.yaml"
    assert spec_errors(path) == [
        f"{path}:14: environments.dev.serverless.max_capacity: must be less than or equal to 256",
        f"{path}:15: environments.dev.portt: unknown field; did you mean 'port'?",
        f"{path}:18: environments.staging.serverless.min_capacity: 6 is above max_capacity 4",
        f"{path}:20: environments.prod.environments: an environment cannot have environments of its own",
        f"{path}:25: environments.prod.backend.bucket: unknown field (only valid with backend.type: s3)",
        f"{path}:27: environments.qa.name: must start with a lowercase letter and contain only lowercase letters, "
        "digits and hyphens",
    ]
    # the file is valid or not as a whole: choosing a valid environment does not hide the others' errors
    assert spec_errors(path, "dev") == spec_errors(path)


def test_a_base_value_that_fails_in_an_environment_names_both(tmp_path: Path) -> None:
    text = (MERGING.read_text(encoding="utf-8").split("environments:")[0]) + (
        "environments:\n  tiny:\n    serverless:\n      max_capacity: 1\n      min_capacity: 1.5\n"
        "  long-environment:\n    alarms:\n      cpu_threshold: 50\n"
    )
    long_base = text.replace("name: orders\n", f"name: {'o' * 44}\n", 1)
    path = tmp_path / "spec.yaml"
    path.write_text(long_base, encoding="utf-8")
    assert spec_errors(path) == [
        # the derived name is too long: the line of the base's name, and which environment made it so
        f"{path}:2: name: at most 60 characters with Serverless v2: instance identifiers append -1 to -15 "
        f"(max 63), got 61 (environment long-environment names the cluster '{'o' * 44}-long-environment'; "
        "set environments.long-environment.name to choose another)",
        f"{path}:26: environments.tiny.serverless.min_capacity: 1.5 is above max_capacity 1",
    ]


def test_environment_names_and_shapes() -> None:
    path = FIXTURES / "invalid-environment-names.yaml"
    assert spec_errors(path) == [
        f"{path}:8: environments: key 'Prod' must be at most 20 lowercase letters, digits and single hyphens, "
        "starting with a letter",
        f"{path}:9: environments.staging: must be a mapping, got a list",
    ]


def test_environments_never_share_a_cluster_or_a_state() -> None:
    path = FIXTURES / "invalid-shared-state.yaml"
    assert spec_errors(path) == [
        f"{path}:12: backend.key: the state s3://acme-tfstate/orders.tfstate is also environment dev's; give each "
        "environment its own (or leave backend.key unset: it defaults to one per cluster name) (environment qa)",
        f"{path}:19: environments.staging.name: 'orders-dev' is also the cluster of environment dev; each "
        "environment needs its own",
    ]


def test_backend_section_errors() -> None:
    path = FIXTURES / "invalid-backend.yaml"
    assert spec_errors(path) == [
        f"{path}:13: environments.s3.backend.bucket: 'Acme_State' is not an S3 bucket name "
        "(3-63 lowercase letters, digits, dots, hyphens)",
        f"{path}:14: environments.s3.backend.key: '/state.tfstate' is not an S3 object key "
        "(no leading or trailing / and no //)",
        f"{path}:15: environments.s3.backend.encrypt: must be true",
        f"{path}:16: environments.s3.backend.dynamodb_table: unknown field; DynamoDB locking is deprecated: "
        "the S3 backend locks with a lock object (use_lockfile, on by default)",
        f"{path}:19: environments.gcs.backend.type: must be 'local', 's3' or 'cloud'",
        f"{path}:25: environments.cloud.backend.tags: give backend.workspace or backend.tags, not both",
    ]
    missing = FIXTURES / "invalid-backend-type-missing.yaml"
    assert spec_errors(missing) == [
        f"{missing}:7: backend.type: required field is missing; one of 'local', 's3' or 'cloud'"
    ]


def test_choosing_an_environment() -> None:
    with pytest.raises(UsageError) as unknown:
        load_spec(MERGING, "prd")
    assert (
        unknown.value.message == f"{MERGING} has no environment 'prd'; did you mean 'prod'? (it has dev, staging, prod)"
    )
    plain = ROOT / "examples" / "local.yaml"
    with pytest.raises(UsageError) as none:
        load_spec(plain, "dev")
    assert none.value.message == f"{plain} has no environments; drop --env dev"
    # deploying needs an environment when there are some: the base spec is a template, not a cluster
    with pytest.raises(UsageError) as required:
        deploy.load(MERGING, None)
    assert required.value.message == f"{MERGING} has environments (dev, staging, prod): choose one with --env"
    assert deploy.load(MERGING, "dev").spec.name == "orders-dev"
    assert deploy.load(plain, None).environment is None


@pytest.mark.parametrize("command", ["plan", "apply", "destroy", "output"])
def test_deploy_commands_need_env_when_the_spec_has_environments(command: str, tmp_path: Path) -> None:
    extra = ["--auto-approve"] if command in ("apply", "destroy") else []
    run = tfgen(command, MERGING, *extra, "--workdir", tmp_path / "work")
    assert run.code == ExitCode.USAGE, str(run)
    assert run.err.splitlines() == [
        f"error: {MERGING} has environments (dev, staging, prod): choose one with --env",
        "hint: e.g. --env dev; each environment is its own cluster and state",
    ]
    assert not (tmp_path / "work").exists()


def test_validate_checks_every_environment() -> None:
    run = ok(tfgen("validate", MERGING))
    assert run.out.splitlines() == [
        f"{MERGING}: valid (orders, Serverless v2, state s3://acme-tfstate/tfgen/orders.tfstate)",
        f"{MERGING} --env dev: valid (orders-dev, Serverless v2, state s3://acme-tfstate/tfgen/orders-dev.tfstate)",
        f"{MERGING} --env staging: valid (orders-staging, Serverless v2, state s3://acme-tfstate/staging/orders.tfstate)",
        f"{MERGING} --env prod: valid (orders, Serverless v1, state cloud:acme/tags aurora,prod)",
    ]
    assert run.err.count("warning: ") == 1 and "environments.prod.serverless.version" in run.err
    one = ok(tfgen("validate", MERGING, "--env", "staging"))
    assert one.out.splitlines() == [
        f"{MERGING} --env staging: valid (orders-staging, Serverless v2, state s3://acme-tfstate/staging/orders.tfstate)"
    ]
    bad = tfgen("validate", FIXTURES / "invalid-environments.yaml")
    assert bad.code == ExitCode.USAGE and bad.out == ""
    assert len(bad.err.splitlines()) == 6


def test_render_an_environment(tmp_path: Path) -> None:
    run = ok(tfgen("render", MERGING, "--env", "dev", "-o", tmp_path / "{name}"))
    assert run.out == f"{tmp_path / 'orders-dev'}: wrote {len(MODULE_FILES)} file(s), 0 unchanged\n"
    assert (
        (tmp_path / "orders-dev" / "main.tf")
        .read_text(encoding="utf-8")
        .startswith("# Generated by tfgen 0.1.0 from spec orders-dev ")
    )
    assert ok(tfgen("render", MERGING, "--env", "dev", "-o", tmp_path / "orders-dev", "--check")).out == (
        f"{tmp_path / 'orders-dev'}: up to date with {MERGING}\n"
    )
    # without --env: the base spec
    ok(tfgen("render", MERGING, "-o", tmp_path / "{name}"))
    assert "from spec orders " in (tmp_path / "orders" / "main.tf").read_text(encoding="utf-8")


def test_schema_describes_backend_and_partial_environments() -> None:
    schema = json_schema()
    for path in (MERGING, ROOT / "examples" / "teams.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    data = yaml.safe_load(MERGING.read_text(encoding="utf-8"))
    for broken in ({"dev": {"portt": 1}}, {"Prod": {}}, {"dev": {"environments": {}}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**data, "environments": broken}, schema)


def test_example_teams_spec() -> None:
    path = ROOT / "examples" / "teams.yaml"
    merged = load_environments(path)
    assert {name: loaded.spec.state_location for name, loaded in merged.items()} == {
        "dev": "s3://acme-terraform-state/tfgen/orders-dev.tfstate",
        "staging": "s3://acme-terraform-state/tfgen/orders-staging.tfstate",
        "prod": "s3://acme-terraform-state-prod/tfgen/orders.tfstate",
    }
    assert merged["prod"].spec.subnet_ids[-1] == "subnet-0a1b2c3d4e5f6000b"
    assert all(loaded.spec.backend.type == "s3" and loaded.spec.backend.use_lockfile for loaded in merged.values())


# ------------------------------------------------------------------------------ backends


def test_s3_backend_block() -> None:
    spec = load_spec(MERGING, "dev").spec
    assert backend.block(spec, endpoint=None) == (
        '  backend "s3" {\n'
        '    bucket       = "acme-tfstate"\n'
        '    key          = "tfgen/orders-dev.tfstate"\n'
        '    region       = "eu-central-1"\n'
        "    encrypt      = true\n"
        "    use_lockfile = true\n"
        "  }"
    )
    local = backend.block(spec, endpoint="http://127.0.0.1:4566/")
    assert local is not None
    assert local.splitlines()[6:] == [
        "",
        "    # --local: the emulator's S3; its dummy credentials come from the environment",
        "    endpoints = {",
        '      s3  = "http://127.0.0.1:4566"',
        '      sts = "http://127.0.0.1:4566"',
        '      iam = "http://127.0.0.1:4566"',
        "    }",
        "    use_path_style              = true",
        "    skip_credentials_validation = true",
        "    skip_requesting_account_id  = true",
        "    skip_metadata_api_check     = true",
        "    skip_region_validation      = true",
        "  }",
    ]
    assert "key" not in local.split("endpoints")[1] and "secret" not in local
    assert (backend.identity(spec, local=True), backend.identity(spec, local=False)) == (spec.state_location,) * 2


def test_cloud_backend_block() -> None:
    prod = load_spec(MERGING, "prod").spec
    assert backend.block(prod, endpoint=None) == (
        '  cloud {\n    organization = "acme"\n\n    workspaces {\n      tags = ["aurora", "prod"]\n    }\n  }'
    )
    named = prod.model_copy(
        update={"backend": CloudBackend(type="cloud", organization="acme", hostname="tfe.example", project="db")}
    )
    assert backend.block(named, endpoint=None) == (
        "  cloud {\n"
        '    organization = "acme"\n'
        '    hostname     = "tfe.example"\n'
        "\n"
        "    workspaces {\n"
        '      name    = "orders"\n'
        '      project = "db"\n'
        "    }\n"
        "  }"
    )
    # HCP Terraform cannot be emulated: --local keeps such a state in the working directory
    assert backend.block(named, endpoint="http://127.0.0.1:1") is None
    assert backend.identity(named, local=True) == "local"
    assert backend.identity(named, local=False) == "cloud:acme/orders"


def test_emulator_credentials_only_in_the_child_environment() -> None:
    env = {"PATH": "/bin", "AWS_PROFILE": "prod-admin", "AWS_SESSION_TOKEN": "t", "AWS_ACCESS_KEY_ID": "AKIA..."}
    assert backend.emulator_env(env) == {"PATH": "/bin", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@pytest.mark.emulator
def test_the_state_bucket_is_created_on_the_emulator() -> None:
    spec = load_spec(MERGING, "dev").spec  # the bucket in eu-central-1, the cluster in eu-west-1
    with emulator.Emulator() as url:
        assert backend.ensure_bucket(url, spec) is True
        assert backend.ensure_bucket(url, spec) is False  # there already: nothing to do
        client = boto3.client(
            "s3", endpoint_url=url, region_name="eu-central-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        assert client.get_bucket_location(Bucket="acme-tfstate")["LocationConstraint"] == "eu-central-1"


def test_each_environment_has_its_own_working_directory(tmp_path: Path) -> None:
    made = {}
    for name in ("dev", "staging"):
        spec = load_spec(MERGING, name).spec
        directory = workdir.default_workdir(tmp_path, spec.name)
        prepared = workdir.prepare(spec, directory, local_endpoint=None)
        made[name] = prepared
        assert prepared.backend == spec.state_location
        assert workdir.recorded_backend(directory) is None  # never initialised
        workdir.mark_initialised(prepared)
        assert workdir.recorded_backend(directory) == spec.state_location
    assert [p.directory for p in made.values()] == [
        tmp_path / ".tfgen" / "orders-dev",
        tmp_path / ".tfgen" / "orders-staging",
    ]
    dev_main = (made["dev"].directory / "main.tf").read_text(encoding="utf-8")
    assert '    key          = "tfgen/orders-dev.tfstate"\n' in dev_main
    assert 'key          = "staging/orders.tfstate"' in (made["staging"].directory / "main.tf").read_text(
        encoding="utf-8"
    )
    for prepared in made.values():  # the root configuration names no credentials
        for path in prepared.directory.glob("*.tf"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\b(access_key|secret_key|token|profile)\b", text), path


def test_working_directories_from_before_backends_count_as_local(tmp_path: Path) -> None:
    (tmp_path / workdir.TARGET_FILE).write_text('{"target": "aws", "init": "abc"}', encoding="utf-8")
    assert workdir.recorded_backend(tmp_path) == "local"


def test_state_summary() -> None:
    state = {
        "version": 4,
        "serial": 7,
        "lineage": "l-1",
        "outputs": {},
        "resources": [
            {
                "module": "module.cluster",
                "mode": "managed",
                "type": "aws_x",
                "name": "a",
                "instances": [{"index_key": 0}, {"index_key": 1}],
            },
            {"mode": "data", "type": "aws_y", "name": "b", "instances": [{}]},
            {
                "module": "module.cluster",
                "mode": "managed",
                "type": "aws_z",
                "name": "c",
                "instances": [{"index_key": "cpu"}],
            },
        ],
    }
    summary = StateSummary.from_json(json.dumps(state))
    assert summary is not None
    assert summary.resources == (
        "data.aws_y.b",
        "module.cluster.aws_x.a[0]",
        "module.cluster.aws_x.a[1]",
        'module.cluster.aws_z.c["cpu"]',
    )
    assert (summary.lineage, summary.serial, summary.describe()) == ("l-1", 7, "4 resources, serial 7")
    moved = StateSummary.from_json(json.dumps({**state, "lineage": "l-2", "serial": 1}))
    assert moved is not None and moved.content == summary.content  # the same resources, whatever the lineage
    changed = copy.deepcopy(state)
    changed["resources"][1]["instances"] = [{"attributes": {"id": "other"}}]
    other = StateSummary.from_json(json.dumps(changed))
    assert other is not None and other.content != summary.content
    assert StateSummary.from_json("") is None
    with pytest.raises(ValueError):
        StateSummary.from_json("[]")


def test_terraform_argv_for_backends_and_locks(tmp_path: Path) -> None:
    from tfgen.terraform.commands import Terraform

    tf = Terraform(tmp_path, TerraformSettings(env={}))
    assert tf.init_argv() == ["terraform", "init", "-no-color", "-input=false", "-json"]
    assert tf.init_argv(reconfigure=True)[-1] == "-reconfigure"
    migrate = tf.init_argv(migrate_state=True)
    assert "-migrate-state" in migrate and "-force-copy" in migrate
    assert "-json" not in migrate  # terraform refuses -migrate-state with -json
    assert "-lock-timeout=5m" in tf.plan_argv(tmp_path / "p", lock_timeout="5m")
    assert "-lock-timeout=5m" in tf.apply_argv(tmp_path / "p", lock_timeout="5m")
    assert not [a for a in tf.plan_argv(tmp_path / "p") + tf.apply_argv(tmp_path / "p") if "lock" in a]
    assert tf.state_pull_argv() == ["terraform", "state", "pull"]


def test_bad_lock_timeout_and_directory_options(tmp_path: Path) -> None:
    run = tfgen("plan", ROOT / "examples" / "local.yaml", "--lock-timeout", "5 minutes", "--workdir", tmp_path / "w")
    assert run.code == ExitCode.USAGE
    assert run.err == "error: --lock-timeout '5 minutes' is not a duration such as 30s, 5m or 1h\n"
    specs = tmp_path / "specs"
    specs.mkdir()
    assert tfgen("plan", specs).err == f"error: {specs}: no spec files (*.yaml, *.yml) in this directory\n"
    (specs / "a.yaml").write_text((ROOT / "examples" / "local.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    for flags, message in (
        (
            ["--workdir", tmp_path / "w"],
            "--workdir names one working directory; a directory of specs gets one per spec",
        ),
        (["--jobs", "0"], "--jobs must be at least 1, got 0"),
        (["--json"], "--json shows the events of one plan; plan the specs of a directory one by one"),
    ):
        run = tfgen("plan", specs, *flags)
        assert (run.code, run.err) == (ExitCode.USAGE, f"error: {message}\n"), str(run)
    assert not (tmp_path / "w").exists() and not (tmp_path / ".tfgen").exists()


# ======================================================================== terraform + moto


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Module-wide directory: plugin cache, HOME of the module fixtures, emulator record."""
    base = tmp_path_factory.mktemp("teams")
    for name in ("plugin-cache", "home", "emulator"):
        (base / name).mkdir()
    return base


@pytest.fixture(autouse=True)
def deploy_env(isolated_env: None, monkeypatch: pytest.MonkeyPatch, shared_dir: Path) -> None:
    """On top of conftest's isolation: the module's plugin cache, .terraform/ in each working directory."""
    _deploy_env(monkeypatch, shared_dir)


def s3(url: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def cluster_data(name: str, **changes: Any) -> dict[str, Any]:
    """A Serverless v1 cluster deployable on the emulator (no instance: the cheapest)."""
    data: dict[str, Any] = {
        "name": name,
        "region": "us-east-1",
        "vpc_id": "vpc-0a1b2c3d4e5f60001",
        "subnet_ids": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
        "engine_version": "13.12",
        "serverless": {"version": "v1"},
        "master_password": {"source": "write_only"},
        "network": {"allowed_cidr_blocks": ["10.30.0.0/16"]},
        "deletion_protection": False,
        "skip_final_snapshot": True,
    }
    data.update(changes)
    return data


def write_spec(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def object_bytes(url: str, key: str) -> bytes | None:
    try:
        return bytes(s3(url).get_object(Bucket=STATE_BUCKET, Key=key)["Body"].read())
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def remote_state(url: str, key: str) -> StateSummary:
    data = object_bytes(url, key)
    assert data is not None, f"no state object s3://{STATE_BUCKET}/{key}"
    summary = StateSummary.from_json(data.decode())
    assert summary is not None
    return summary


@dataclass
class Team:
    """A cluster whose state is in the emulator's S3, and two working directories (two teammates)."""

    url: str
    spec_path: Path
    data: dict[str, Any]
    spec: Spec
    mine: Path
    theirs: Path
    apply: Run
    bucket_before: bool

    @property
    def key(self) -> str:
        state_key = self.spec.state_key
        assert state_key is not None
        return state_key

    def args(self, directory: Path) -> list[str]:
        return ["--env", "dev", "--endpoint", self.url, "--workdir", str(directory)]

    def set_cpu_threshold(self, value: int) -> None:
        data = copy.deepcopy(self.data)
        data["environments"]["dev"] = {"alarms": {"cpu_threshold": value}}
        write_spec(self.spec_path, data)

    def cpu_threshold(self) -> float:
        cloudwatch = aws(self.url, self.spec.region, "cloudwatch")
        (alarm,) = cloudwatch.describe_alarms(AlarmNames=[f"{self.spec.name}-cpu"])["MetricAlarms"]
        return float(alarm["Threshold"])


@pytest.fixture(scope="module")
def team(plugin_mirror: Path, endpoint: str, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Team:
    """A spec with a dev environment and an S3 backend, applied on the emulator (about 45 s)."""
    base = tmp_path_factory.mktemp("team")
    data = cluster_data(
        "tfgen-team",
        backend={"type": "s3", "bucket": STATE_BUCKET},
        environments={"dev": {}},
    )
    spec_path = write_spec(base / "specs" / "team.yaml", data)
    bucket_before = s3(endpoint).list_buckets()["Buckets"] != []
    with pytest.MonkeyPatch.context() as mp:  # conftest's isolation is per test: redo it for the module
        mp.setenv("HOME", str(shared_dir / "home"))
        mp.setenv("XDG_CACHE_HOME", str(shared_dir / "home" / ".cache"))
        mp.setenv("TFGEN_PLUGIN_MIRROR", str(plugin_mirror))
        _deploy_env(mp, shared_dir)
        mine = base / "mine"
        applied = ok(
            tfgen("apply", spec_path, "--auto-approve", "--env", "dev", "--endpoint", endpoint, "--workdir", mine)
        )
    return Team(
        url=endpoint,
        spec_path=spec_path,
        data=data,
        spec=load_spec(spec_path, "dev").spec,
        mine=mine,
        theirs=base / "theirs",
        apply=applied,
        bucket_before=bucket_before,
    )


@pytest.mark.terraform
def test_apply_keeps_the_state_in_the_emulators_s3(team: Team) -> None:
    assert not team.bucket_before  # tfgen created the bucket on the emulator
    added = int(team.apply.out.split("apply complete: ")[1].split(" ")[0])
    assert added > 10
    assert team.key == "tfgen/tfgen-team-dev.tfstate"
    state = remote_state(team.url, team.key)
    assert len(state.resources) == added
    assert "module.cluster.aws_rds_cluster.this" in state.resources
    assert object_bytes(team.url, f"{team.key}.tflock") is None  # the lock is released
    head = s3(team.url).head_object(Bucket=STATE_BUCKET, Key=team.key)
    assert head["ServerSideEncryption"] == "AES256"  # encrypt = true
    # nothing of the state in the working directory; the backend recorded
    assert not (team.mine / "terraform.tfstate").exists()
    record = json.loads((team.mine / workdir.TARGET_FILE).read_text(encoding="utf-8"))
    assert record["backend"] == f"s3://{STATE_BUCKET}/{team.key}"
    main_tf = (team.mine / "main.tf").read_text(encoding="utf-8")
    assert 'backend "s3" {' in main_tf and f'      s3  = "{team.url}"' in main_tf
    assert "test" not in main_tf  # the emulator's credentials reach terraform through its environment only

    again = ok(tfgen("apply", team.spec_path, "--auto-approve", *team.args(team.mine)))
    assert f"{team.mine}: no changes; the infrastructure matches the spec" in again.out
    assert remote_state(team.url, team.key).serial == state.serial

    values = json.loads(ok(tfgen("output", team.spec_path, "--json", *team.args(team.mine))).out)
    assert values["cluster_identifier"] == "tfgen-team-dev"
    # a teammate's fresh working directory finds the same state
    theirs = ok(tfgen("plan", team.spec_path, *team.args(team.theirs)))
    assert f"{team.theirs}: no changes; the infrastructure matches the spec" in theirs.out


def _apply_together(team: Team, *extra: str) -> list[tuple[int, str]]:
    jobs = [
        Background(
            ["apply", str(team.spec_path), "--auto-approve", *team.args(directory), *extra], cwd=directory.parent
        )
        for directory in (team.mine, team.theirs)
    ]
    try:
        return [(job.finish(timeout=300), job.text) for job in jobs]
    finally:
        for job in jobs:
            job.cleanup()


@pytest.mark.terraform
def test_two_applies_at_once_exactly_one_takes_the_lock(team: Team) -> None:
    ok(tfgen("plan", team.spec_path, *team.args(team.theirs)))  # both working directories initialised
    for threshold in (71, 72, 73):
        before = remote_state(team.url, team.key)
        team.set_cpu_threshold(threshold)
        results = _apply_together(team)
        codes = sorted(code for code, _ in results)
        assert codes == [0, 1], "\n\n".join(text for _, text in results)
        (winner,) = [text for code, text in results if code == 0]
        (loser,) = [text for code, text in results if code == 1]
        assert "apply complete: 0 added, 1 changed, 0 destroyed." in winner
        assert "Error acquiring the state lock" in loser and "PreconditionFailed" in loser
        assert "hint: another run holds the state lock" in loser and "--lock-timeout" in loser
        assert "Traceback" not in winner + loser
        after = remote_state(team.url, team.key)
        assert after.serial == before.serial + 1  # one write: the winner's
        assert (after.lineage, after.resources) == (before.lineage, before.resources)
        assert team.cpu_threshold() == threshold
        assert object_bytes(team.url, f"{team.key}.tflock") is None


@pytest.mark.terraform
def test_with_a_lock_timeout_the_second_apply_waits(team: Team) -> None:
    ok(tfgen("plan", team.spec_path, *team.args(team.theirs)))
    before = remote_state(team.url, team.key)
    team.set_cpu_threshold(74)
    results = _apply_together(team, "--lock-timeout", "3m")
    assert [code for code, _ in results] == [0, 0], "\n\n".join(text for _, text in results)
    texts = [text for _, text in results]
    # one applied the change; the other waited, then found nothing left to do
    assert sum("apply complete: 0 added, 1 changed, 0 destroyed." in text for text in texts) == 1
    assert sum("no changes; the infrastructure matches the spec" in text for text in texts) == 1
    after = remote_state(team.url, team.key)
    assert after.serial == before.serial + 1
    assert after.resources == before.resources
    assert team.cpu_threshold() == 74


@pytest.mark.terraform
def test_apply_plans_again_when_another_run_changed_the_state(team: Team, plugin_mirror: Path) -> None:
    """Between our plan and our apply a teammate applies: terraform refuses the stale plan; tfgen plans again."""
    ok(tfgen("plan", team.spec_path, *team.args(team.theirs)))
    before = remote_state(team.url, team.key)
    team.set_cpu_threshold(75)
    asked: list[int] = []
    teammate: list[Run] = []

    def confirm(planned: Any) -> bool:
        asked.append(planned.change)
        if len(asked) == 1:
            teammate.append(tfgen("apply", team.spec_path, "--auto-approve", *team.args(team.theirs)))
        return True

    options = deploy.DeployOptions(
        terraform=TerraformSettings(
            env=dict(os.environ),
            plugin_mirror=plugin_mirror,
            plugin_cache_dir=Path(os.environ["TFGEN_PLUGIN_CACHE_DIR"]),
        ),
        workdir=team.mine,
        endpoint=team.url,
        environment="dev",
    )
    outcome = deploy.apply(team.spec_path, options, lambda phase: PlainReporter(io.StringIO()), confirm)
    assert "apply complete: 0 added, 1 changed, 0 destroyed." in ok(teammate[0]).out
    assert asked == [1]  # asked once; the second plan has nothing left to do
    assert outcome.result is None and not outcome.plan.changes_present
    assert remote_state(team.url, team.key).serial == before.serial + 1
    assert not (team.mine / workdir.PLAN_FILE).exists()


@pytest.mark.terraform
def test_migration_from_local_to_s3_keeps_every_resource(
    tmp_path: Path, endpoint: str, plugin_mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))  # no terminal: only --yes migrates
    data = cluster_data("tfgen-migrate")
    spec_path = write_spec(tmp_path / "specs" / "migrate.yaml", data)
    directory = tmp_path / "work"
    args = ["--endpoint", endpoint, "--workdir", str(directory)]
    ok(tfgen("apply", spec_path, "--auto-approve", *args))
    state_file = directory / "terraform.tfstate"
    local_text = state_file.read_bytes()
    local = StateSummary.from_json(local_text.decode())
    assert local is not None and len(local.resources) > 10
    key = "tfgen/tfgen-migrate.tfstate"

    write_spec(spec_path, {**data, "backend": {"type": "s3", "bucket": STATE_BUCKET}})
    destination = f"s3://{STATE_BUCKET}/{key}"

    # 1. not without confirmation
    refused = tfgen("plan", spec_path, *args)
    assert refused.code == ExitCode.USAGE, str(refused)
    assert (
        f"error: the backend of {directory} changed from local to {destination}: moving its state "
        f"({local.describe()}) needs confirmation" in refused.err
    )
    assert "hint: pass --yes to migrate, or restore the spec's backend" in refused.err
    assert state_file.read_bytes() == local_text and object_bytes(endpoint, key) is None
    assert workdir.recorded_backend(directory) == "local"

    # 2. never over another deployment's state
    foreign = json.dumps(
        {
            "version": 4,
            "terraform_version": "1.11.4",
            "serial": 3,
            "lineage": "someone-elses-lineage",
            "outputs": {},
            "resources": [
                {
                    "mode": "managed",
                    "type": "terraform_data",
                    "name": "x",
                    "provider": 'provider["terraform.io/builtin/terraform"]',
                    "instances": [{"schema_version": 0, "attributes": {"id": "x"}}],
                }
            ],
            "check_results": None,
        }
    ).encode()
    s3(endpoint).put_object(Bucket=STATE_BUCKET, Key=key, Body=foreign)
    clash = tfgen("plan", spec_path, "--yes", *args)
    assert clash.code == ExitCode.USAGE, str(clash)
    assert (
        f"error: {destination} already holds a state (1 resource, serial 3, lineage someone-elses-lineage) that is "
        f"not the one of {directory}" in clash.err
    )
    assert object_bytes(endpoint, key) == foreign and state_file.read_bytes() == local_text
    s3(endpoint).delete_object(Bucket=STATE_BUCKET, Key=key)

    # 3. with --yes: moved, checked, a copy kept
    moved = ok(tfgen("plan", spec_path, "--yes", *args))
    assert f"{directory}: no changes; the infrastructure matches the spec" in moved.out
    note = next(line for line in moved.err.splitlines() if line.startswith("state migrated"))
    assert note.startswith(f"state migrated from local to {destination} ({len(local.resources)} resources, ")
    backup = Path(note.split("the state as it was is kept in ")[1])
    assert backup.parent == directory / workdir.BACKUP_DIR
    assert backup.read_bytes() == local_text
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    arrived = remote_state(endpoint, key)
    assert arrived.resources == local.resources
    assert arrived.content == local.content  # every attribute of every resource
    assert state_file.read_bytes() == b""  # terraform empties the local state it moved (and keeps a .backup)
    assert workdir.recorded_backend(directory) == destination
    assert not (directory / ".tfgen-probe").exists()
    again = ok(tfgen("apply", spec_path, "--auto-approve", *args))
    assert f"{directory}: no changes; the infrastructure matches the spec" in again.out
    assert "state migrated" not in again.err


@pytest.mark.terraform
def test_plan_a_directory_of_specs_in_parallel(
    tmp_path: Path, endpoint: str, plugin_mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # working directories under ./.tfgen/
    specs = tmp_path / "specs"
    write_spec(
        specs / "a.yaml",
        cluster_data("fleet-a", backend={"type": "s3", "bucket": STATE_BUCKET}, environments={"dev": {}, "prod": {}}),
    )
    write_spec(specs / "b.yaml", cluster_data("fleet-b"))
    write_spec(specs / "c.yaml", cluster_data("fleet-c"))
    (specs / "d.yaml").write_text("name: fleet-d\nregion: nowhere\n", encoding="utf-8")
    write_spec(specs / "e.yml", cluster_data("fleet-b"))  # the same cluster as b.yaml
    (specs / "notes.txt").write_text("not a spec\n", encoding="utf-8")
    # c.yaml fails in terraform: its working directory holds a file that breaks every plan
    broken = tmp_path / ".tfgen" / "fleet-c"
    broken.mkdir(parents=True)
    (broken / "broken.tf").write_text('locals {\n  x = file("missing.txt")\n}\n', encoding="utf-8")

    run = tfgen("plan", "specs", "--endpoint", endpoint, "--jobs", "3")
    assert run.code == ExitCode.USAGE, str(run)  # the worst: d.yaml is not a valid spec
    added = int(next(line for line in run.err.splitlines() if line.startswith("specs/b.yaml: ")).split()[1])
    table = run.out.splitlines()
    assert table == [
        "SPEC          ENV   ADD  CHANGE  DESTROY  RESULT",
        f"specs/a.yaml  dev   {added:>3}       0        0  changes",
        f"specs/a.yaml  prod  {added:>3}       0        0  changes",
        f"specs/b.yaml  -     {added:>3}       0        0  changes",
        "specs/c.yaml  -       -       -        -  failed (exit 1)",
        "specs/d.yaml  -       -       -        -  failed (exit 2)",
        "specs/e.yml   -       -       -        -  failed (exit 2)",
        "6 plan(s), 3 failed",
    ], str(run)
    assert f"error: specs/c.yaml: terraform plan failed in {broken} (exit 1)" in run.err
    assert "error: specs/d.yaml:2: region: 'nowhere' is not an AWS region such as eu-west-1" in run.err
    assert "error: specs/e.yml: cluster fleet-b is also specs/b.yaml's" in run.err
    # each environment its own working directory and state key
    for env in ("dev", "prod"):
        main_tf = (tmp_path / ".tfgen" / f"fleet-a-{env}" / "main.tf").read_text(encoding="utf-8")
        assert f'key          = "tfgen/fleet-a-{env}.tfstate"' in main_tf
    assert 'backend "' not in (tmp_path / ".tfgen" / "fleet-b" / "main.tf").read_text(encoding="utf-8")

    # --env: that environment of every spec that has it; the others are skipped
    prod = tfgen("plan", "specs", "--endpoint", endpoint, "--env", "prod")
    assert prod.out.splitlines()[1:-1] == [
        f"specs/a.yaml  prod  {added:>3}       0        0  changes",
        "specs/b.yaml  prod    -       -        -  skipped",
        "specs/c.yaml  prod    -       -        -  skipped",
        "specs/d.yaml  prod    -       -        -  failed (exit 2)",
        "specs/e.yml   prod    -       -        -  skipped",
    ], str(prod)
    assert prod.code == ExitCode.USAGE


def _processes_in(directory: Path) -> list[int]:
    """Processes (other than this one) whose working directory is under ``directory``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cwd = (proc / "cwd").resolve()
        except OSError:
            continue
        if cwd.is_relative_to(directory.resolve()):
            found.append(int(proc.name))
    return found


@pytest.mark.terraform
def test_ctrl_c_stops_a_directory_plan_cleanly(tmp_path: Path, endpoint: str, plugin_mirror: Path) -> None:
    names = ("tfgen-stop-a", "tfgen-stop-b", "tfgen-stop-c")
    for name in names:
        write_spec(
            tmp_path / "specs" / f"{name}.yaml", cluster_data(name, backend={"type": "s3", "bucket": STATE_BUCKET})
        )
    first = tmp_path / ".tfgen" / names[0] / "main.tf"
    job = Background(["plan", "specs", "--endpoint", endpoint, "--jobs", "1"], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not first.exists():  # the first plan has begun (init and plan take several seconds)
            assert job.proc.poll() is None and time.monotonic() < deadline, job.text
            time.sleep(0.05)
        time.sleep(1)
        job.ctrl_c()
        code = job.finish(timeout=120)
    finally:
        job.cleanup()
    assert code == ExitCode.INTERRUPTED, job.text
    assert "Traceback" not in job.text
    rows = {line.split()[0]: line.split()[-1] for line in job.lines if line.startswith("specs/")}
    assert rows == {f"specs/{name}.yaml": "interrupted" for name in names}, job.text
    assert "3 plan(s), 3 failed, interrupted" in job.text
    assert not (tmp_path / ".tfgen" / names[1]).exists()  # queued plans never started
    keys = [o["Key"] for o in s3(endpoint).list_objects_v2(Bucket=STATE_BUCKET).get("Contents", [])]
    assert not [key for key in keys if key.endswith(".tflock")]  # terraform stopped cleanly, lock released
    assert _processes_in(tmp_path) == []  # no terraform left running
