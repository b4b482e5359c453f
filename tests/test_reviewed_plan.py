"""An honest plan, and the reviewed plan applied: real terraform against a real moto server.

One v1 cluster (the cheapest: no instance) is applied once for the module and changed by the
tests in order: a plan that lists attribute changes; ``plan --out`` then ``apply --plan``, with
each refusal (another spec, working directory or backend, a plain terraform plan, a stale plan)
changing nothing; last, a change that replaces the cluster, which a terminal must confirm by
typing the cluster's name (``python -m tfgen`` on a pseudo-terminal).
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.test_deploy import STATE_FILE, _deploy_env, aws, ok, tfgen, v1_spec
from tfgen.deploy import plans, workdir
from tfgen.errors import ExitCode
from tfgen.spec import loading
from tfgen.spec.loading import load_spec
from tfgen.terraform.commands import Terraform

NAME = "tfgen-review"
SCALED = {
    "version": "v1",
    "min_capacity": 2,
    "max_capacity": 16,
    "auto_pause": True,
    "seconds_until_auto_pause": 1800,
    "timeout_action": "ForceApplyCapacityChange",
}
"""examples/v1-legacy.yaml's serverless block, with max_capacity 16 instead of 8."""
CLUSTER = "module.cluster.aws_rds_cluster.this"


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Module-wide directory: plugin cache, HOME of the module fixture, emulator record."""
    base = tmp_path_factory.mktemp("review")
    for name in ("plugin-cache", "home", "emulator"):
        (base / name).mkdir()
    return base


@pytest.fixture(autouse=True)
def deploy_env(isolated_env: None, monkeypatch: pytest.MonkeyPatch, shared_dir: Path) -> None:
    _deploy_env(monkeypatch, shared_dir)


@dataclass
class Deployed:
    base: Path
    url: str
    directory: Path

    def spec(self, **changes: Any) -> Path:
        """The deployed spec with ``changes``, in a folder of its own (same file name, same cluster)."""
        folder = self.base / f"spec-{time.monotonic_ns()}"
        return v1_spec(folder, name=NAME, **changes)

    def args(self, directory: Path | None = None) -> list[str]:
        return ["--endpoint", self.url, "--workdir", str(directory or self.directory)]

    def cluster(self) -> dict[str, Any]:
        (found,) = aws(self.url, "us-west-2", "rds").describe_db_clusters(DBClusterIdentifier=NAME)["DBClusters"]
        return dict(found)

    def state(self) -> bytes:
        return (self.directory / STATE_FILE).read_bytes()


@pytest.fixture(scope="module")
def deployed(
    plugin_mirror: Path, endpoint: str, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Deployed:
    base = tmp_path_factory.mktemp("deployed")
    found = Deployed(base, endpoint, base / "work")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(shared_dir / "home"))
        mp.setenv("XDG_CACHE_HOME", str(shared_dir / "home" / ".cache"))
        mp.setenv("TFGEN_PLUGIN_MIRROR", str(plugin_mirror))
        _deploy_env(mp, shared_dir)
        ok(tfgen("apply", found.spec(), "--auto-approve", *found.args()))
    return found


def test_plan_lists_each_attribute_that_changes(deployed: Deployed) -> None:
    spec = deployed.spec(serverless=SCALED, tags={"team": "x"})
    state = deployed.state()
    run = ok(tfgen("plan", spec, *deployed.args()))
    lines = run.out.splitlines()
    assert f"  ~ {CLUSTER} (update)" in lines
    assert "      scaling_configuration[0].max_capacity: 8 -> 16" in lines
    assert '      tags.team: "analytics" -> "x"' in lines
    assert "      threshold: 8 -> 16" in lines  # the capacity alarm follows max_capacity
    assert "LOSES DATA" not in run.text
    # --json: terraform's events, and one resource_diff event per update or replacement
    events = [json.loads(line) for line in ok(tfgen("plan", spec, "--json", *deployed.args())).out.splitlines()]
    (diff,) = [e for e in events if e.get("type") == "resource_diff" and e["address"] == CLUSTER]
    assert diff["action"] == "update" and diff["replaced_by"] == []
    assert {
        "path": "scaling_configuration[0].max_capacity",
        "before": 8,
        "after": 16,
        "forces_replacement": False,
    } in diff["changes"]
    assert [e for e in events if e.get("type") == "planned_change"]  # the live events stay
    assert deployed.state() == state


def commands_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The terraform subcommands run from now on (in this process)."""
    seen: list[str] = []
    execute = Terraform._execute

    def spy(self: Terraform, argv: list[str], *args: Any, **kwargs: Any) -> int:
        seen.append(argv[1])
        return execute(self, argv, *args, **kwargs)

    monkeypatch.setattr(Terraform, "_execute", spy)
    return seen


def refused(run: Any, message: str) -> None:
    assert run.code == ExitCode.FAILED, str(run)
    assert "Traceback" not in run.text
    assert f"error: {message}" in run.err, str(run)
    assert "apply complete" not in run.text


def test_a_saved_plan_is_applied_exactly_where_it_belongs(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = deployed.spec(serverless=SCALED)
    saved = tmp_path / "reviewed.tfplan"
    run = ok(tfgen("plan", spec, "--out", saved, *deployed.args()))
    assert f"plan saved to {saved}" in run.err
    assert "      scaling_configuration[0].max_capacity: 8 -> 16" in run.out
    assert saved.stat().st_mode & 0o777 == 0o600
    state = deployed.state()

    # another spec (the module it renders differs), another working directory, another backend
    refused(
        tfgen("apply", deployed.spec(), "--plan", saved, "--auto-approve", *deployed.args()),
        f"{saved} was planned from another spec",
    )
    other = tmp_path / "other-work"
    refused(
        tfgen("apply", spec, "--plan", saved, "--auto-approve", *deployed.args(other)),
        f"{saved} was planned in the working directory {deployed.directory}, not {other}",
    )
    s3 = deployed.spec(serverless=SCALED, backend={"type": "s3", "bucket": "tfgen-review-state"})
    refused(
        tfgen("apply", s3, "--plan", saved, "--auto-approve", *deployed.args()),
        f"{saved} was planned with the state in local; the spec now keeps it in s3://tfgen-review-state/",
    )
    # terraform's own plan file (of another change), without tfgen's record of where it belongs
    ok(tfgen("plan", deployed.spec(serverless=SCALED, tags={"team": "plain"}), *deployed.args()))
    plain = deployed.directory / workdir.PLAN_FILE
    assert plain.is_file()
    refused(
        tfgen("apply", spec, "--plan", plain, "--auto-approve", *deployed.args()),
        f"{plain} is a terraform plan, but not one saved by tfgen plan --out",
    )
    # a record of origin moved into another plan
    forged = tmp_path / "forged.tfplan"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(forged, "w") as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
        with zipfile.ZipFile(saved) as reviewed:
            target.writestr(plans.ORIGIN_ENTRY, reviewed.read(plans.ORIGIN_ENTRY))
    refused(
        tfgen("apply", spec, "--plan", forged, "--auto-approve", *deployed.args()),
        f"{forged}: its record of origin does not belong to the plan it holds",
    )
    assert deployed.state() == state
    assert deployed.cluster()["ScalingConfigurationInfo"]["MaxCapacity"] == 8

    # renamed, it still belongs here: shown, asked on a terminal, applied exactly, without planning again
    renamed = saved.rename(tmp_path / "renamed.tfplan")
    workdir_plan = plain.stat().st_mtime_ns, plain.read_bytes()
    terminal = Terminal(["apply", spec, "--plan", renamed, *deployed.args()], cwd=tmp_path)
    try:
        terminal.answer("Apply these changes? [y/N]:", "y")
        code, out = terminal.finish()
    finally:
        terminal.cleanup()
    assert code == 0, f"{out}\n{terminal.screen}"
    assert "      scaling_configuration[0].max_capacity: 8 -> 16" in out  # shown before asking
    assert "LOSES DATA" not in terminal.screen
    assert "apply complete: 0 added, " in out
    assert (plain.stat().st_mtime_ns, plain.read_bytes()) == workdir_plan  # no new plan was made
    assert deployed.cluster()["ScalingConfigurationInfo"]["MaxCapacity"] == 16
    assert renamed.is_file()


def test_an_approved_plan_is_applied_at_once_and_a_stale_one_refused(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = deployed.spec(serverless=SCALED, tags={"team": "stale"})
    first, saved = tmp_path / "first.tfplan", tmp_path / "stale.tfplan"
    ok(tfgen("plan", spec, "--out", first, *deployed.args()))
    ok(tfgen("plan", spec, "--out", saved, *deployed.args()))
    # --auto-approve: terraform apply of that file, nothing else (the plan was reviewed when saved);
    # the spec file holds the very text planned, so it is not even parsed again
    seen = commands_run(monkeypatch)
    parsed: list[Path] = []
    parse = loading.parse_spec

    def counted(text: str, path: Path, environment: str | None = None) -> loading.LoadedSpec:
        parsed.append(path)
        return parse(text, path, environment)

    monkeypatch.setattr(loading, "parse_spec", counted)
    applied = ok(tfgen("apply", spec, "--plan", first, "--auto-approve", *deployed.args()))
    assert seen == ["apply"]
    assert parsed == []
    assert "apply complete: 0 added, " in applied.out
    # the second plan was made from the state before that apply
    state = deployed.state()
    run = tfgen("apply", spec, "--plan", saved, "--auto-approve", *deployed.args())
    assert seen == ["apply", "apply"]
    refused(run, f"{saved} is stale: the state changed since it was planned")
    assert "hint: plan again with tfgen plan SPEC --out FILE" in run.err
    assert deployed.state() == state


class Terminal:
    """``python -m tfgen ARGV`` with stdin and stderr on a pseudo-terminal (prompts are asked), stdout piped."""

    def __init__(self, argv: list[object], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tfgen", *map(str, argv)],
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
            stdin=slave,
            stderr=slave,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        os.close(slave)
        self.screen = ""

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.screen += os.read(self.master, 65536).decode(errors="replace")
            except OSError:  # the child closed the terminal
                time.sleep(timeout)

    def answer(self, prompt: str, text: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while prompt not in self.screen:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self._read(0.5)
                pytest.fail(f"no prompt {prompt!r} (exit {self.proc.poll()}):\n{self.screen}")
            self._read(0.5)
        os.write(self.master, text.encode() + b"\n")

    def finish(self, timeout: float = 600) -> tuple[int, str]:
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout=timeout)
        self._read(0.2)
        os.close(self.master)
        return code, out

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_a_plan_that_replaces_the_cluster_needs_its_name_typed(deployed: Deployed, tmp_path: Path) -> None:
    """database_name forces a new cluster (ForceNew): warned, then applied only with the cluster's name typed."""
    spec = deployed.spec(serverless=SCALED, database_name="ledger")
    assert load_spec(spec).spec.database_name == "ledger"
    state = deployed.state()
    prompt = f"Type the cluster's name ({NAME}) to apply:"

    wrong = Terminal(["apply", spec, *deployed.args()], cwd=tmp_path)
    try:
        wrong.answer(prompt, "tfgen-other")
        code, out = wrong.finish()
    finally:
        wrong.cleanup()
    assert code == ExitCode.FAILED, wrong.screen
    assert f"  -/+ {CLUSTER} (replace: forced by database_name)" in out
    assert '      database_name: "reports" -> "ledger"  # forces replacement' in out
    assert "WARNING: THIS PLAN LOSES DATA of cluster tfgen-review:" in wrong.screen
    assert f"  {CLUSTER}: the cluster is replaced: the cluster and its data are deleted" in wrong.screen
    assert "'tfgen-other' is not the cluster's name 'tfgen-review'" in wrong.screen
    assert "apply cancelled; nothing was changed" in wrong.screen
    assert "Traceback" not in out + wrong.screen
    assert deployed.state() == state
    assert deployed.cluster()["DatabaseName"] == "reports"

    right = Terminal(["apply", spec, *deployed.args()], cwd=tmp_path)
    try:
        right.answer(prompt, NAME)
        code, out = right.finish()
    finally:
        right.cleanup()
    assert code == 0, f"{out}\n{right.screen}"
    assert "apply complete: " in out
    assert deployed.cluster()["DatabaseName"] == "ledger"
