"""tfgen.terraform: the python-terraform traps, the runner, and real terraform runs.

Unit tests drive a fake ``terraform`` (a Python script that records its argv,
environment and CLI config, and plays canned output); ``@pytest.mark.terraform``
tests run the real binary on configs made of ``terraform_data`` resources only
(built in: no provider download). HOME, the working directories and the plugin
cache all live in ``tmp_path``; the caller's TF_* variables never leak in.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import python_terraform

from tfgen.errors import CommandInterrupted, ExitCode, TerraformError
from tfgen.terraform import config
from tfgen.terraform.argv import _ArgvBuilder
from tfgen.terraform.commands import Terraform
from tfgen.terraform.config import TerraformSettings
from tfgen.terraform.errors import ProviderInstallError, TerraformRunError
from tfgen.terraform.results import Diagnostic, ResourceChange

# -- helpers ------------------------------------------------------------------------------


def require_terraform() -> str:
    """The real terraform, or skip (fail when TFGEN_REQUIRE_TERRAFORM is set, as in CI)."""
    found = shutil.which("terraform")
    if found is None:
        if os.environ.get("TFGEN_REQUIRE_TERRAFORM") == "1":
            pytest.fail("terraform is not on PATH (TFGEN_REQUIRE_TERRAFORM=1)")
        pytest.skip("terraform is not on PATH")
    return found


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean child environment: PATH, and a HOME of our own (so no ~/.terraformrc)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), **extra}


def write_module(directory: Path, main_tf: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.tf").write_text(textwrap.dedent(main_tf).lstrip(), encoding="utf-8")
    return directory


def real_terraform(tmp_path: Path, workdir: Path, **settings: Any) -> Terraform:
    require_terraform()
    env = settings.pop("env", None) or base_env(tmp_path)
    return Terraform(workdir, TerraformSettings(env=env, **settings))


FAKE_TERRAFORM = """\
#!{python}
import json, os, signal, sys, time

argv = sys.argv[1:]
config = os.environ.get("TF_CLI_CONFIG_FILE")
record = {{
    "argv": argv,
    "pid": os.getpid(),
    "env": {{k: os.environ.get(k) for k in (
        "TF_IN_AUTOMATION", "TF_INPUT", "TF_PLUGIN_CACHE_DIR", "TF_CLI_CONFIG_FILE", "CHECKPOINT_DISABLE")}},
    "cli_config": open(config).read() if config and os.path.exists(config) else None,
    "cli_config_mode": os.stat(config).st_mode & 0o777 if config and os.path.exists(config) else None,
}}
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
sub = argv[0] if argv else ""
if sub == "version":
    print(json.dumps({{"terraform_version": os.environ.get("FAKE_VERSION", "1.11.4"), "platform": "linux_amd64"}}))
    sys.exit(0)
script = {{}}
if os.environ.get("FAKE_SCRIPT"):
    with open(os.environ["FAKE_SCRIPT"]) as f:
        script = json.load(f).get(sub, {{}})
if script.get("ignore_sigint"):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
if script.get("exit_on_sigint"):
    def stop(signum, frame):
        os.write(1, b'{{"type": "log", "@message": "fake: stopping on SIGINT"}}\\n')  # print() may be mid-call
        os._exit(1)
    signal.signal(signal.SIGINT, stop)
for item in script.get("lines", []):
    if isinstance(item, dict) and "wait_for" in item:
        deadline = time.time() + 10
        while not os.path.exists(item["wait_for"]) and time.time() < deadline:
            time.sleep(0.02)
        if not os.path.exists(item["wait_for"]):
            print("fake terraform: timed out waiting", file=sys.stderr)
            sys.exit(9)
    elif isinstance(item, dict) and "sleep" in item:
        time.sleep(item["sleep"])
    elif isinstance(item, dict) and "stderr" in item:
        print(item["stderr"], file=sys.stderr, flush=True)
    else:
        print(item if isinstance(item, str) else json.dumps(item), flush=True)
sys.exit(script.get("exit", 0))
"""


class Fake:
    """A fake terraform binary: scripted output per subcommand, records every call."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "fake"
        self.root.mkdir()
        self.binary = self.root / "terraform"
        self.binary.write_text(FAKE_TERRAFORM.format(python=sys.executable), encoding="utf-8")
        self.binary.chmod(0o755)
        self.log = self.root / "calls.jsonl"
        self.script = self.root / "script.json"
        self.script.write_text("{}", encoding="utf-8")
        self.workdir = tmp_path / "work"
        self.workdir.mkdir()
        self.tmp_path = tmp_path

    def program(self, **subcommands: dict[str, Any]) -> None:
        self.script.write_text(json.dumps(subcommands), encoding="utf-8")

    def terraform(self, *, version: str = "1.11.4", **settings: Any) -> Terraform:
        env = base_env(self.tmp_path, FAKE_LOG=str(self.log), FAKE_SCRIPT=str(self.script), FAKE_VERSION=version)
        env.update(settings.pop("env", {}))
        return Terraform(self.workdir, TerraformSettings(binary=str(self.binary), env=env, **settings))

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def argvs(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls() if call["argv"][:1] != ["version"]]


@pytest.fixture
def fake(tmp_path: Path) -> Fake:
    return Fake(tmp_path)


def resource(address: str) -> dict[str, Any]:
    kind, name = address.split(".")
    return {"addr": address, "module": "", "resource": address, "resource_type": kind, "resource_name": name}


def planned(address: str, action: str) -> dict[str, Any]:
    return {
        "type": "planned_change",
        "@message": f"{address}: Plan to {action}",
        "change": {"resource": resource(address), "action": action},
    }


def summary(operation: str, add: int = 0, change: int = 0, remove: int = 0) -> dict[str, Any]:
    changes = {"add": add, "change": change, "import": 0, "remove": remove, "operation": operation}
    return {"type": "change_summary", "@message": "summary", "changes": changes}


DIAGNOSTIC = {
    "type": "diagnostic",
    "@level": "error",
    "diagnostic": {
        "severity": "error",
        "summary": "Invalid function argument",
        "detail": 'no file exists at "missing.txt"',
        "range": {"filename": "main.tf", "start": {"line": 2, "column": 17}, "end": {"line": 2, "column": 28}},
    },
}


# -- the python-terraform traps: argv --------------------------------------------------------


def test_library_traps_are_real() -> None:
    """Documents what the 2019 library does by default; each of these is handled below."""
    lib = _ArgvBuilder(working_dir="/nowhere", terraform_bin_path="terraform")
    assert "-force" in lib.destroy(var=None)
    assert "-auto-approve=false" in lib.apply("plan.tfplan", var=None)
    assert "-synchronous=false" in lib.generate_cmd_string("plan", synchronous=False)
    raw = python_terraform.Terraform(working_dir="/nowhere")
    try:
        assert any(arg.startswith("-var-file=") for arg in raw.generate_cmd_string("apply", var=raw.variables))
    finally:
        raw.temp_var_files.clean_up()


def test_argv_builder_refuses_var_dicts_and_runner_options() -> None:
    lib = _ArgvBuilder(working_dir="/nowhere", terraform_bin_path="terraform")
    with pytest.raises(ValueError, match="var=None"):
        lib.plan()  # the library's default var={} would become a temporary -var-file
    for option in ("synchronous", "capture_output", "raise_on_error"):
        with pytest.raises(ValueError, match="runner options"):
            lib.cmd("plan", **{option: False})


def test_apply_of_saved_plan_has_no_var_file_and_no_prompt_flag(tmp_path: Path) -> None:
    tf = Terraform(tmp_path, TerraformSettings(env={}, binary="terraform"))
    plan = tmp_path / "cluster.tfplan"
    argv = tf.apply_argv(plan)
    assert argv[:2] == ["terraform", "apply"]
    assert argv[-1] == str(plan)  # exactly the saved plan, last
    assert not any(arg.startswith("-var-file") or arg.startswith("-var=") for arg in argv)
    assert "-auto-approve=false" not in argv
    assert {"-json", "-input=false", "-no-color"} <= set(argv)


def test_plan_argv_detailed_exitcode_and_out(tmp_path: Path) -> None:
    tf = Terraform(tmp_path, TerraformSettings(env={}, binary="/opt/tofu/bin/tofu"))
    argv = tf.plan_argv(Path("rel.tfplan"), destroy=True)
    assert argv[:2] == ["/opt/tofu/bin/tofu", "plan"]  # the binary is configurable
    assert "-detailed-exitcode" in argv and "-destroy" in argv and "-json" in argv
    assert f"-out={Path('rel.tfplan').absolute()}" in argv
    assert "-destroy" not in tf.plan_argv(Path("p"))
    assert not any(arg.startswith("-var-file") for arg in argv)


def test_show_argv_reads_a_saved_plan_as_json(tmp_path: Path) -> None:
    tf = Terraform(tmp_path, TerraformSettings(env={}))
    assert tf.show_argv(Path("rel.tfplan")) == [
        "terraform",
        "show",
        "-json",
        "-no-color",
        str(Path("rel.tfplan").absolute()),
    ]


def test_no_argv_ever_has_force_synchronous_or_var_file(tmp_path: Path) -> None:
    tf = Terraform(tmp_path, TerraformSettings(env={}))
    plan = tmp_path / "p.tfplan"
    argvs = [
        tf.version_argv(),
        tf.init_argv(),
        tf.plan_argv(plan),
        tf.plan_argv(plan, destroy=True),
        tf.apply_argv(plan),
        tf.output_argv(),
        tf.show_argv(plan),
        tf.validate_argv(),
        tf.fmt_argv(),
    ]
    for argv in argvs:
        assert all(isinstance(arg, str) for arg in argv)
        assert "-force" not in argv
        assert not any(arg.startswith(("-synchronous", "-var-file", "-auto-approve=false")) for arg in argv), argv
    assert "-reconfigure" not in tf.init_argv()


def test_show_plan_returns_the_json_plan_or_fails_with_what_terraform_said(fake: Fake) -> None:
    shown = {"format_version": "1.2", "resource_changes": [{"address": "terraform_data.a"}]}
    fake.program(show={"lines": [shown]})
    assert fake.terraform().show_plan(fake.workdir / "p.tfplan") == shown
    fake.program(
        show={"lines": ["not json", {"stderr": "Error: Failed to read the given file as a state or plan file"}]}
    )
    with pytest.raises(TerraformRunError) as caught:
        fake.terraform().show_plan(fake.workdir / "p.tfplan")
    assert "Failed to read the given file" in str(caught.value) + "".join(caught.value.output)


def test_destroy_plans_then_applies_that_plan_without_force(fake: Fake) -> None:
    fake.program(
        plan={"lines": [planned("terraform_data.a", "delete"), summary("plan", remove=1)], "exit": 2},
        apply={"lines": [summary("destroy", remove=1)]},
    )
    plan = fake.workdir / "destroy.tfplan"
    result = fake.terraform().destroy(plan)
    assert result.remove == 1
    first, second = fake.argvs()
    assert first[0] == "plan" and "-destroy" in first and f"-out={plan}" in first
    assert second[0] == "apply" and second[-1] == str(plan)
    assert "-force" not in first + second


def test_destroy_with_nothing_to_destroy_skips_apply(fake: Fake) -> None:
    fake.program(plan={"lines": [summary("plan")], "exit": 0})
    assert fake.terraform().destroy(fake.workdir / "d.tfplan").remove == 0
    assert [argv[0] for argv in fake.argvs()] == ["plan"]


# -- exit codes and events -------------------------------------------------------------------


def test_plan_exit_2_means_changes_not_failure(fake: Fake) -> None:
    fake.program(
        plan={
            "lines": [
                {"type": "version", "terraform": "1.11.4"},
                planned("terraform_data.a", "create"),
                planned("terraform_data.b", "replace"),
                summary("plan", add=2, remove=1),
            ],
            "exit": 2,
        }
    )
    result = fake.terraform().plan(fake.workdir / "p.tfplan")
    assert result.changes_present is True
    assert (result.add, result.change, result.remove) == (2, 0, 1)
    assert result.resource_changes == (
        ResourceChange("terraform_data.a", "create"),
        ResourceChange("terraform_data.b", "replace"),
    )


def test_plan_exit_0_means_no_changes(fake: Fake) -> None:
    fake.program(plan={"lines": [summary("plan")], "exit": 0})
    result = fake.terraform().plan(fake.workdir / "p.tfplan")
    assert result.changes_present is False and result.resource_changes == ()


def test_plan_exit_1_raises_with_diagnostics(fake: Fake) -> None:
    fake.program(plan={"lines": [DIAGNOSTIC], "exit": 1})
    with pytest.raises(TerraformRunError) as caught:
        fake.terraform().plan(fake.workdir / "p.tfplan")
    error = caught.value
    assert isinstance(error, TerraformError) and error.returncode == 1
    assert error.diagnostics == [
        Diagnostic("error", "Invalid function argument", 'no file exists at "missing.txt"', "main.tf", 2)
    ]
    assert "main.tf:2: Invalid function argument" in error.message
    assert "  main.tf:2: error: Invalid function argument" in error.lines()


def test_failure_without_diagnostics_shows_raw_output(fake: Fake) -> None:
    fake.program(apply={"lines": [{"stderr": "flag provided but not defined: -force"}], "exit": 1})
    with pytest.raises(TerraformRunError) as caught:
        fake.terraform().apply(fake.workdir / "p.tfplan")
    assert caught.value.message.endswith("flag provided but not defined: -force")
    assert "  flag provided but not defined: -force" in caught.value.lines()


def test_events_are_streamed_as_they_arrive(fake: Fake) -> None:
    """The fake waits for a file that only our event handler creates: no streaming, no file, exit 9."""
    go = fake.root / "go"
    fake.program(
        apply={
            "lines": [
                {"type": "apply_start", "@message": "first"},
                {"wait_for": str(go)},
                "not json at all",
                {"stderr": "a stderr line"},
                summary("apply", add=1),
            ]
        }
    )
    seen: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> None:
        seen.append(event)
        if event.get("@message") == "first":
            go.touch()

    result = fake.terraform().apply(fake.workdir / "p.tfplan", on_event=on_event)
    assert result.add == 1
    assert seen[0]["type"] == "apply_start"
    logs = [e for e in seen if e["type"] == "log"]
    assert {"type": "log", "@level": "info", "@message": "not json at all", "@module": "terraform.stdout"} in logs
    assert {"type": "log", "@level": "warn", "@message": "a stderr line", "@module": "terraform.stderr"} in logs


def test_an_event_handler_error_stops_terraform(fake: Fake) -> None:
    fake.program(apply={"lines": [{"type": "apply_start", "@message": "x"}, {"sleep": 30}]})
    started = time.monotonic()

    def explode(event: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError, match="handler bug"):
        fake.terraform().apply(fake.workdir / "p.tfplan", on_event=explode)
    assert time.monotonic() - started < 15
    pid = fake.calls()[-1]["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_lost_output_lets_terraform_finish_and_is_raised_after(fake: Fake) -> None:
    """``tfgen apply | head``: terraform completes; the closed pipe is raised once it has (exit 1, quietly)."""
    fake.program(apply={"lines": [{"type": "apply_start", "@message": "x"}, summary("apply", add=1)]})
    seen: list[dict[str, Any]] = []

    def closed(event: dict[str, Any]) -> None:
        seen.append(event)
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        fake.terraform().apply(fake.workdir / "p.tfplan", on_event=closed)
    assert len(seen) == 1  # nothing more is written to a closed pipe


def test_lost_output_still_tells_why_terraform_failed(fake: Fake) -> None:
    """With stdout gone, a failed apply is still an error naming terraform's diagnostics (reported on stderr)."""
    fake.program(apply={"lines": [{"type": "apply_start", "@message": "x"}, DIAGNOSTIC], "exit": 1})

    def closed(event: dict[str, Any]) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(TerraformRunError) as caught:
        fake.terraform().apply(fake.workdir / "p.tfplan", on_event=closed)
    assert "main.tf:2: Invalid function argument" in caught.value.message


# -- version and binary ------------------------------------------------------------------------


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    tf = Terraform(tmp_path, TerraformSettings(env={"PATH": str(empty)}))
    with pytest.raises(TerraformError) as caught:
        tf.version()
    assert caught.value.message == "terraform not found on PATH"
    assert caught.value.hint is not None and "1.11" in caught.value.hint
    with pytest.raises(TerraformError, match="not found"):
        Terraform(tmp_path, TerraformSettings(env={}, binary=str(empty / "tofu"))).init()


def test_old_terraform_is_refused(fake: Fake) -> None:
    with pytest.raises(TerraformError, match=r"1\.5\.7 is too old.*1\.11.*write-only"):
        fake.terraform(version="1.5.7").plan(fake.workdir / "p")
    assert fake.argvs() == []  # nothing but `version` ran
    assert fake.terraform(version="1.12.0-alpha20250319").version() == "1.12.0-alpha20250319"


def test_version_is_checked_once(fake: Fake) -> None:
    fake.program(plan={"exit": 0})
    tf = fake.terraform()
    tf.plan(fake.workdir / "p")
    tf.plan(fake.workdir / "p")
    assert [call["argv"] for call in fake.calls()].count(["version", "-json"]) == 1


def versions_run(fake: Fake) -> int:
    return [call["argv"] for call in fake.calls()].count(["version", "-json"])


def test_version_is_remembered_per_binary_file(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tfgen.terraform.version._is_shim", lambda invoked, real: False)  # the fake is a script
    cache = fake.tmp_path / "versions.json"
    assert fake.terraform(version_cache=cache).version() == "1.11.4"
    assert fake.terraform(version_cache=cache).version() == "1.11.4"
    assert versions_run(fake) == 1
    entry = json.loads(cache.read_text(encoding="utf-8"))[str(fake.binary.resolve())]
    assert entry["version"] == "1.11.4"
    # another file at the same path (an upgrade): checked again
    fake.binary.write_text(fake.binary.read_text(encoding="utf-8") + "# upgraded\n", encoding="utf-8")
    assert fake.terraform(version_cache=cache, version="1.12.1").version() == "1.12.1"
    assert versions_run(fake) == 2
    assert fake.terraform(version_cache=cache, version="1.12.1").version() == "1.12.1"
    assert versions_run(fake) == 2
    # a too old binary is never remembered as fine
    fake.binary.write_text(fake.binary.read_text(encoding="utf-8") + "# downgraded\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(TerraformError, match="too old"):
            fake.terraform(version_cache=cache, version="1.5.7").version()
    assert versions_run(fake) == 4
    fake.terraform().version()  # without a cache: every instance checks
    assert versions_run(fake) == 5


def test_version_of_a_shim_is_checked_every_time(fake: Fake) -> None:
    cache = fake.tmp_path / "versions.json"
    fake.terraform(version_cache=cache).version()
    fake.terraform(version_cache=cache).version()
    assert versions_run(fake) == 2  # the fake is a script, as tfenv's and asdf's shims are
    assert not cache.exists()


def test_what_counts_as_a_shim(tmp_path: Path) -> None:
    from tfgen.terraform.version import _is_shim

    binary = tmp_path / "terraform_1.11.4"
    binary.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(64))
    script = tmp_path / "tfenv-shim"
    script.write_text("#!/usr/bin/env bash\nexec real-terraform\n", encoding="utf-8")
    multiplexer = tmp_path / "mise"
    multiplexer.write_bytes(binary.read_bytes())
    assert not _is_shim(str(binary), str(binary))
    assert not _is_shim(str(tmp_path / "terraform"), str(binary))  # a link to a versioned file (tfswitch)
    assert _is_shim(str(tmp_path / "terraform"), str(script))
    assert _is_shim(str(tmp_path / "terraform"), str(multiplexer))


def test_a_command_corrects_a_wrong_remembered_version(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same file, another terraform (a proxy that picks one at run time): the version event tells."""
    monkeypatch.setattr("tfgen.terraform.version._is_shim", lambda invoked, real: False)
    cache = fake.tmp_path / "versions.json"
    fake.terraform(version_cache=cache).version()
    fake.program(plan={"lines": [{"type": "version", "terraform": "1.12.0"}, summary("plan")], "exit": 0})
    tf = fake.terraform(version_cache=cache)
    tf.plan(fake.workdir / "p")
    assert tf.version() == "1.12.0"
    assert json.loads(cache.read_text(encoding="utf-8"))[str(fake.binary.resolve())]["version"] == "1.12.0"
    # too old: stopped at its first event, before it plans anything
    fake.program(plan={"lines": [{"type": "version", "terraform": "1.5.7"}, {"sleep": 30}, summary("plan")], "exit": 0})
    started = time.monotonic()
    with pytest.raises(TerraformError, match=r"1\.5\.7 is too old"):
        fake.terraform(version_cache=cache).plan(fake.workdir / "p")
    assert time.monotonic() - started < 20
    with pytest.raises(TerraformError, match=r"1\.5\.7 is too old"):
        fake.terraform(version_cache=cache).version()
    assert versions_run(fake) == 1


@pytest.mark.terraform
def test_real_terraform_version_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "versions.json"
    found = real_terraform(tmp_path, tmp_path, version_cache=cache).version()
    monkeypatch.setattr(Terraform, "version_argv", lambda self: pytest.fail("terraform version ran again"))
    assert real_terraform(tmp_path, tmp_path, version_cache=cache).version() == found


# -- environment and CLI config ------------------------------------------------------------------


def test_child_env(fake: Fake, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "plugins"
    fake.program(plan={"exit": 0})
    fake.terraform(plugin_cache_dir=cache, env={"TF_CLI_CONFIG_FILE": "/caller/terraformrc"}).plan(fake.workdir / "p")
    env = fake.calls()[-1]["env"]
    assert env["TF_IN_AUTOMATION"] == "1" and env["TF_INPUT"] == "0" and env["CHECKPOINT_DISABLE"] == "1"
    assert env["TF_PLUGIN_CACHE_DIR"] == str(cache) and cache.is_dir()
    assert env["TF_CLI_CONFIG_FILE"] == "/caller/terraformrc"  # no mirror: the caller's config passes through


def test_mirror_gets_a_temporary_cli_config_removed_afterwards(fake: Fake, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    fake.program(plan={"lines": [DIAGNOSTIC], "exit": 1})
    with pytest.raises(TerraformRunError):
        fake.terraform(plugin_mirror=mirror).plan(fake.workdir / "p")
    call = fake.calls()[-1]
    assert f"path = {json.dumps(str(mirror))}" in call["cli_config"]
    assert "filesystem_mirror" in call["cli_config"]
    # an anonymous in-memory file the child inherits: nothing on disk to clean up, whatever ends tfgen
    assert call["env"]["TF_CLI_CONFIG_FILE"].startswith("/proc/self/fd/")
    assert not list(fake.workdir.iterdir())


def test_without_anonymous_files_the_cli_config_is_a_private_file_of_the_workdir(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where there is no memfd (macOS): 0600, in the working directory, removed after; a killed run's by the next."""
    monkeypatch.setattr(config, "_anonymous_files", lambda: False)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    left = fake.workdir / f".tfgen-cli-config-{dead.pid}-0123.tfrc"  # from a tfgen killed with -9
    left.write_text("token", encoding="utf-8")
    fake.program(plan={"lines": [{"stderr": "x"}], "exit": 0})
    fake.terraform(plugin_mirror=mirror).plan(fake.workdir / "p")
    call = fake.calls()[-1]
    used = Path(call["env"]["TF_CLI_CONFIG_FILE"])
    assert used.parent == fake.workdir and "filesystem_mirror" in call["cli_config"]
    assert call["cli_config_mode"] == 0o600
    assert not used.exists() and not left.exists()


def test_mirror_keeps_the_callers_cli_config(fake: Fake, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    caller = tmp_path / "caller.tfrc"
    caller.write_text('credentials "app.terraform.io" {\n  token = "x"\n}\n', encoding="utf-8")
    fake.program(plan={"exit": 0})
    fake.terraform(plugin_mirror=mirror, env={"TF_CLI_CONFIG_FILE": str(caller)}).plan(fake.workdir / "p")
    text = fake.calls()[-1]["cli_config"]
    assert text.startswith('credentials "app.terraform.io"') and "filesystem_mirror" in text

    caller_json = tmp_path / "caller.tfrc.json"
    caller_json.write_text('{"disable_checkpoint": true}', encoding="utf-8")
    fake.terraform(plugin_mirror=mirror, env={"TF_CLI_CONFIG_FILE": str(caller_json)}).plan(fake.workdir / "p")
    data = json.loads(fake.calls()[-1]["cli_config"])
    assert data["disable_checkpoint"] is True
    assert data["provider_installation"] == [{"filesystem_mirror": [{"path": str(mirror)}]}]


def test_mirror_and_callers_provider_installation_conflict(fake: Fake, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    caller = tmp_path / "caller.tfrc"
    caller.write_text("provider_installation {\n  direct {}\n}\n", encoding="utf-8")
    with pytest.raises(TerraformError, match="already has a provider_installation block") as caught:
        fake.terraform(plugin_mirror=mirror, env={"TF_CLI_CONFIG_FILE": str(caller)}).version()
    assert caught.value.hint is not None and str(mirror) in caught.value.hint


def test_missing_mirror_directory(fake: Fake, tmp_path: Path) -> None:
    with pytest.raises(TerraformError, match=r"plugin mirror .* is not a directory"):
        fake.terraform(plugin_mirror=tmp_path / "nope").version()


# -- Ctrl-C --------------------------------------------------------------------------------------

APPLY_HELPER = """\
import json, sys
from pathlib import Path
from tfgen.errors import CommandInterrupted
from tfgen.terraform import config
from tfgen.terraform.commands import Terraform
from tfgen.terraform.config import TerraformSettings

workdir, plan, binary, env_file = sys.argv[1:5]
settings = TerraformSettings(binary=binary, env=json.loads(Path(env_file).read_text()))

def on_event(event):
    print(json.dumps({"type": event.get("type"), "message": event.get("@message")}), flush=True)

try:
    Terraform(Path(workdir), settings).apply(Path(plan), on_event=on_event)
except CommandInterrupted as exc:
    print("INTERRUPTED " + exc.message, flush=True)
    sys.exit(int(exc.exit_code))
print("DONE", flush=True)
"""


class Helper:
    """Runs Terraform.apply in a child Python in its own session, like tfgen in a terminal."""

    def __init__(self, tmp_path: Path, workdir: Path, plan: Path, binary: str, env: dict[str, str]) -> None:
        script = tmp_path / "apply_helper.py"
        script.write_text(APPLY_HELPER, encoding="utf-8")
        env_file = tmp_path / "helper_env.json"
        env_file.write_text(json.dumps(env), encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(workdir), str(plan), binary, str(env_file)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if predicate(line):
                return
        pytest.fail(f"helper never printed the expected line; got: {self.lines}")

    def ctrl_c(self) -> None:
        """What the terminal does: SIGINT to the foreground process group (ours, not terraform's)."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout=timeout)
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return code


def test_ctrl_c_is_forwarded_once_and_raises_command_interrupted(fake: Fake) -> None:
    """In-process: our SIGINT handler forwards to terraform and restores the previous handler."""
    fake.program(apply={"exit_on_sigint": True, "lines": [{"type": "apply_start", "@message": "go"}, {"sleep": 30}]})
    previous = signal.getsignal(signal.SIGINT)
    seen: list[str] = []

    def on_event(event: dict[str, Any]) -> None:
        seen.append(str(event.get("@message")))
        if event.get("@message") == "go":
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C reaching tfgen (terraform is in its own group)

    started = time.monotonic()
    with pytest.raises(CommandInterrupted, match="stopped cleanly") as caught:
        fake.terraform().apply(fake.workdir / "p.tfplan", on_event=on_event)
    assert caught.value.exit_code == ExitCode.INTERRUPTED == 130
    assert time.monotonic() - started < 15
    assert "fake: stopping on SIGINT" in seen  # terraform got it, and we kept reading its output
    assert signal.getsignal(signal.SIGINT) is previous
    call = fake.calls()[-1]
    assert os.getpgid(0) != call["pid"]  # terraform ran in a process group of its own


def test_second_ctrl_c_kills_terraform_hard(fake: Fake, tmp_path: Path) -> None:
    fake.program(
        apply={"ignore_sigint": True, "lines": [{"type": "apply_start", "@message": "started"}, {"sleep": 60}]}
    )
    env = base_env(tmp_path, FAKE_LOG=str(fake.log), FAKE_SCRIPT=str(fake.script))
    helper = Helper(tmp_path, fake.workdir, fake.workdir / "p.tfplan", str(fake.binary), env)
    try:
        helper.wait_for(lambda line: "started" in line)
        helper.ctrl_c()
        time.sleep(0.5)
        assert helper.proc.poll() is None  # the fake ignores the first (forwarded) SIGINT
        helper.ctrl_c()
        assert helper.finish(timeout=15) == ExitCode.INTERRUPTED
    finally:
        if helper.proc.poll() is None:
            helper.proc.kill()
    assert any(line.startswith("INTERRUPTED") and "killed after a second Ctrl-C" in line for line in helper.lines)
    with pytest.raises(ProcessLookupError):
        os.kill(fake.calls()[-1]["pid"], 0)


# -- real terraform ------------------------------------------------------------------------------

SIMPLE = """
resource "terraform_data" "a" {
  input = "hello"
}

output "greeting" {
  value = terraform_data.a.output
}

output "secret" {
  value     = "s3cr3t"
  sensitive = true
}
"""


@pytest.mark.terraform
def test_real_lifecycle(tmp_path: Path) -> None:
    workdir = write_module(tmp_path / "mod", SIMPLE)
    tf = real_terraform(tmp_path, workdir, plugin_cache_dir=tmp_path / "plugin-cache")
    assert tf.version().startswith("1.")
    events: list[dict[str, Any]] = []
    tf.init(on_event=events.append)
    assert events[0]["type"] == "version"

    plan_file = tmp_path / "first.tfplan"
    events.clear()
    plan = tf.plan(plan_file, on_event=events.append)  # exit 2 from -detailed-exitcode: no exception
    assert plan.changes_present and (plan.add, plan.change, plan.remove) == (1, 0, 0)
    assert plan.resource_changes == (ResourceChange("terraform_data.a", "create"),)
    assert {"version", "planned_change", "change_summary", "outputs"} <= {e["type"] for e in events}

    events.clear()
    applied = tf.apply(plan_file, on_event=events.append)  # the saved plan: no -var-file, no prompt
    assert (applied.add, applied.change, applied.remove) == (1, 0, 0)
    assert {"apply_start", "apply_complete", "change_summary", "outputs"} <= {e["type"] for e in events}

    outputs = tf.output()
    assert outputs["greeting"].value == "hello" and not outputs["greeting"].sensitive
    assert outputs["secret"].sensitive and outputs["secret"].value == "s3cr3t"

    again = tf.plan(tmp_path / "second.tfplan")
    assert not again.changes_present and again.resource_changes == ()

    destroyed = tf.destroy(tmp_path / "destroy.tfplan")  # would fail with -force on terraform >= 0.15
    assert destroyed.remove == 1
    assert tf.output() == {}
    assert tf.plan(tmp_path / "third.tfplan").changes_present


LIBRARY_TRAPS = {
    # trap: (python-terraform's argv builder call, what terraform 1.11 says)
    "destroy passes -force": (
        lambda lib, plan: lib.generate_cmd_string("destroy", force=python_terraform.IsFlagged, input=False),
        "flag provided but not defined: -force",
    ),
    "synchronous=False becomes a flag": (
        lambda lib, plan: lib.generate_cmd_string("plan", synchronous=False, input=False),
        "flag provided but not defined: -synchronous",
    ),
    "apply without skip_plan passes -auto-approve=false": (
        lambda lib, plan: lib.generate_cmd_string("apply", input=False, **{"auto-approve": False}),
        "error asking for approval",
    ),
}


@pytest.mark.terraform
@pytest.mark.parametrize("trap", sorted(LIBRARY_TRAPS))
def test_real_terraform_rejects_what_the_library_builds(tmp_path: Path, trap: str) -> None:
    """Without our handling, these are the commands python-terraform would run, and they fail."""
    workdir = write_module(tmp_path / "mod", SIMPLE)
    tf = real_terraform(tmp_path, workdir)
    tf.init()
    plan_file = tmp_path / "p.tfplan"
    tf.plan(plan_file)
    build, expected = LIBRARY_TRAPS[trap]
    argv = build(python_terraform.Terraform(working_dir=str(workdir)), plan_file)
    done = subprocess.run(
        argv, cwd=workdir, env=tf.child_env(), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    assert done.returncode != 0
    assert expected in " ".join((done.stdout + done.stderr).split())


@pytest.mark.terraform
@pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning")
def test_real_library_raise_on_error_raises_on_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """python-terraform's own runner treats plan's -detailed-exitcode 2 as an error; ours does not."""
    require_terraform()
    workdir = write_module(tmp_path / "mod", SIMPLE)
    env = base_env(tmp_path)
    for name in [name for name in os.environ if name.startswith("TF_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", env["HOME"])  # the library always copies os.environ
    lib = python_terraform.Terraform(working_dir=str(workdir))
    assert lib.init(var=None)[0] == 0
    with pytest.raises(python_terraform.TerraformCommandError) as caught:
        lib.plan(var=None, raise_on_error=True)
    assert caught.value.returncode == 2
    assert Terraform(workdir, TerraformSettings(env=env)).plan(tmp_path / "p.tfplan").changes_present


@pytest.mark.terraform
def test_real_failure_carries_the_diagnostic(tmp_path: Path) -> None:
    workdir = write_module(
        tmp_path / "bad",
        """
        resource "terraform_data" "b" {
          input = file("missing.txt")
        }
        """,
    )
    tf = real_terraform(tmp_path, workdir)
    tf.init()
    with pytest.raises(TerraformRunError) as caught:
        tf.plan(tmp_path / "p.tfplan")
    error = caught.value
    assert error.returncode == 1
    assert [(d.severity, d.summary, d.location) for d in error.errors] == [
        ("error", "Invalid function argument", "main.tf:2")
    ]
    assert "main.tf:2: Invalid function argument" in error.message
    assert "  main.tf:2: error: Invalid function argument" in error.lines()
    assert any("missing.txt" in line for line in error.lines())

    assert [d.location for d in tf.validate()] == ["main.tf:2"]


@pytest.mark.terraform
def test_real_failing_check_during_apply(tmp_path: Path) -> None:
    workdir = write_module(
        tmp_path / "pre",
        """
        resource "terraform_data" "c" {
          input = 1

          lifecycle {
            postcondition {
              condition     = self.output == 2
              error_message = "output must be 2"
            }
          }
        }
        """,
    )
    tf = real_terraform(tmp_path, workdir)
    tf.init()
    plan_file = tmp_path / "p.tfplan"
    tf.plan(plan_file)
    with pytest.raises(TerraformRunError) as caught:
        tf.apply(plan_file)
    (error,) = caught.value.errors
    assert error.summary == "Resource postcondition failed" and error.location == "main.tf:6"
    assert "output must be 2" in error.detail
    assert not (workdir / ".terraform.tfstate.lock.info").exists()


@pytest.mark.terraform
def test_real_validate_and_fmt(tmp_path: Path) -> None:
    workdir = write_module(tmp_path / "mod", SIMPLE)
    (workdir / "sub").mkdir()
    (workdir / "sub" / "ugly.tf").write_text('locals {\na="b"\n}\n', encoding="utf-8")
    tf = real_terraform(tmp_path, workdir)
    tf.init()
    assert tf.validate() == []
    assert tf.fmt_check() == [workdir / "sub" / "ugly.tf"]
    assert tf.fmt_check(Path("main.tf")) == []
    (workdir / "broken.tf").write_text('resource "x" {\n', encoding="utf-8")
    with pytest.raises(TerraformRunError, match="fmt failed"):
        tf.fmt_check()


RANDOM = """
terraform {
  required_providers {
    random = { source = "hashicorp/random" }
  }
}

resource "random_password" "master" {
  length = 16
}
"""


@pytest.mark.terraform
def test_real_provider_missing_from_empty_mirror(tmp_path: Path) -> None:
    mirror = tmp_path / "empty-mirror"
    mirror.mkdir()
    tf = real_terraform(tmp_path, write_module(tmp_path / "rnd", RANDOM), plugin_mirror=mirror)
    with pytest.raises(ProviderInstallError) as caught:
        tf.init()
    error = caught.value
    assert error.providers == ["hashicorp/random"]
    assert "hashicorp/random" in error.message and f"not in the plugin mirror {mirror}" in error.message
    assert error.hint is not None and "rds_managed" in error.hint and "write_only" in error.hint


@pytest.mark.terraform
def test_real_provider_missing_from_offline_mirror(tmp_path: Path, plugin_mirror: Path) -> None:
    mirror = plugin_mirror  # conftest: TFGEN_PLUGIN_MIRROR, skipped without it (failed in CI)
    if (mirror / "registry.terraform.io" / "hashicorp" / "random").exists():
        pytest.skip(f"{mirror} holds hashicorp/random")
    tf = real_terraform(tmp_path, write_module(tmp_path / "rnd", RANDOM), plugin_mirror=mirror)
    with pytest.raises(ProviderInstallError, match="could not install provider hashicorp/random") as caught:
        tf.init()
    assert caught.value.hint is not None and "master_password.source: rds_managed" in caught.value.hint


@pytest.mark.terraform
def test_real_mirror_and_shared_plugin_cache(tmp_path: Path, plugin_mirror: Path) -> None:
    """The aws provider comes from the mirror, and the second module links the cached copy."""
    mirror = plugin_mirror
    cache = tmp_path / "plugin-cache"
    aws = 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    installed = []
    for name in ("one", "two"):
        workdir = write_module(tmp_path / name, aws)
        real_terraform(tmp_path, workdir, plugin_mirror=mirror, plugin_cache_dir=cache).init()
        (platform_dir,) = (workdir / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws").glob(
            "*/*"
        )
        installed.append(platform_dir)
    assert all(path.is_symlink() and str(path.readlink()).startswith(str(cache)) for path in installed)


SLOW = """
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "test -e fast || exec sleep 30"
  }
}
"""


@pytest.mark.terraform
def test_real_ctrl_c_stops_apply_cleanly(tmp_path: Path) -> None:
    workdir = write_module(tmp_path / "slow", SLOW)
    env = base_env(tmp_path)
    tf = real_terraform(tmp_path, workdir, env=env)
    tf.init()
    plan_file = tmp_path / "slow.tfplan"
    tf.plan(plan_file)

    helper = Helper(tmp_path, workdir, plan_file, "terraform", env)
    started = time.monotonic()
    try:
        helper.wait_for(lambda line: "(local-exec): Executing" in line)
        time.sleep(0.5)
        helper.ctrl_c()
        code = helper.finish(timeout=25)
    finally:
        if helper.proc.poll() is None:
            helper.proc.kill()
    assert code == ExitCode.INTERRUPTED, helper.lines
    assert time.monotonic() - started < 25  # did not sit out the 30 s sleep
    text = "\n".join(helper.lines)
    assert "Interrupt received" in text and "Two interrupts" not in text  # forwarded exactly once
    assert "stopped cleanly" in text
    assert not (workdir / ".terraform.tfstate.lock.info").exists()

    (workdir / "fast").touch()
    retry = tf.plan(tmp_path / "retry.tfplan")
    assert retry.changes_present
    assert tf.apply(retry.plan_file).add == 1
    assert not tf.plan(tmp_path / "done.tfplan").changes_present
