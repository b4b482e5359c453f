"""The fast path of the console script: held to Typer's parsing, and free of Typer at run time."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from tests.goldens import spec_path
from tests.test_plans import terraform_plan
from tfgen.cli import app as cli
from tfgen.cli import backup as copy
from tfgen.cli import commands, fast, planning, reviewed
from tfgen.cli import main as entry
from tfgen.deploy import backend, plans
from tfgen.deploy.plans import PlanOrigin
from tfgen.render.templates import MODULE_FILES
from tfgen.spec.loading import load_spec

# Every spelling, order and repetition the fast path accepts for the hot commands.
ACCEPTED = [
    ["--version"],
    ["validate", "a.yaml"],
    ["validate", "a.yaml", "--env", "prod"],
    ["validate", "--env=prod", "a.yaml"],
    ["validate", "-e", "prod", "a.yaml"],
    ["validate", "a.yaml", "-eprod"],
    ["validate", "a.yaml", "-e=prod"],
    ["validate", "a.yaml", "--env", "dev", "-e", "prod"],
    ["validate", "--", "a.yaml"],
    ["validate", "-e", "prod", "--", "-a.yaml"],
    ["validate", "a.yaml", "--workdir", "w"],
    ["validate", "--workdir=w", "-e", "prod", "a.yaml"],
    ["render", "a.yaml"],
    ["render", "a.yaml", "-o", "out"],
    ["render", "a.yaml", "-oout"],
    ["render", "a.yaml", "-o=out"],
    ["render", "a.yaml", "-oe"],
    ["render", "a.yaml", "--out", "out/"],
    ["render", "a.yaml", "--out=out"],
    ["render", "--out", "modules/{name}", "a.yaml", "b.yaml"],
    ["render", "a.yaml", "-o", "m/{stem}", "b.yaml", "--check"],
    ["render", "--check", "a.yaml", "--env", "prod", "-o", "x", "b.yaml"],
    ["render", "a.yaml", "-e", "prod"],
    ["render", "a.yaml", "-eprod", "--check"],
    ["render", "a.yaml", "--env=prod"],
    ["render", "a.yaml", "-o", "x", "-o", "y", "--out=z"],
    ["render", "--check", "--check", "a.yaml"],
    ["render", "a.yaml", "--out=a=b", "-e", "x=y"],
    ["render", "./dir//a.yaml", "-o", "/tmp/out dir/ü", "dir/../b.yaml"],
    ["render", "a.yaml", "--", "b.yaml", "--check", "-o"],
    ["render", "-o", "x", "--", "-a.yaml"],
    ["render", "--", "--", "-"],
    ["render", "a.yaml", "--force"],
    ["render", "--force", "-o", "x", "a.yaml", "--force"],
    ["apply", "a.yaml", "--plan", "p.tfplan", "--auto-approve"],
    ["apply", "--auto-approve", "--plan=p.tfplan", "a.yaml"],
    ["apply", "a.yaml", "--plan", "p", "--auto-approve", "--local", "--workdir", "W", "--terraform", "/bin/tf"],
    ["apply", "a.yaml", "--plan", "p", "--auto-approve", "--endpoint", "http://127.0.0.1:5000", "--json"],
    ["apply", "a.yaml", "--plan", "p", "--auto-approve", "-eprod", "--lock-timeout", "5m", "--yes"],
    ["apply", "a.yaml", "--plan", "p", "--auto-approve", "--plugin-mirror", "m", "--plugin-cache=c", "--local"],
    ["apply", "--plan", "p", "--plan", "q", "--auto-approve", "--auto-approve", "--", "-a.yaml"],
    ["plan", "a.yaml"],
    ["plan", "a.yaml", "--local", "--workdir", "W", "--terraform", "/bin/tf", "--detailed-exitcode"],
    ["plan", "--out=p.tfplan", "-eprod", "a.yaml", "--lock-timeout", "5m", "--yes"],
    ["plan", "a.yaml", "--endpoint", "http://127.0.0.1:5000", "--json", "--plugin-mirror", "m", "--plugin-cache=c"],
    ["backup", "a.yaml", "--out", "t.csv", "--table", "t"],
    ["backup", "a.yaml", "--out=t.csv", "--query", "SELECT 1", "--host", "h", "--port", "5432", "--user", "u"],
    ["backup", "--dbname", "d", "--schema", "s", "--table", "t", "a.yaml", "--out", "x", "--local", "-e", "prod"],
    ["backup", "a.yaml", "--out", "x", "--workdir", "W", "--endpoint", "http://e", "--terraform", "tofu"],
]

# What the fast path leaves to Typer: help, errors, other commands, anything unusual.
DECLINED = [
    [],
    ["--help"],
    ["--version", "render", "a.yaml"],
    ["--version=1"],
    ["render"],
    ["render", "--help"],
    ["render", "a.yaml", "--help"],
    ["render", "a.yaml", "-h"],
    ["render", "--check"],
    ["render", "a.yaml", "--check=yes"],
    ["render", "a.yaml", "--no-such-option"],
    ["render", "a.yaml", "--ou", "x"],
    ["render", "a.yaml", "-x"],
    ["render", "a.yaml", "-o"],
    ["render", "a.yaml", "--out"],
    ["render", "a.yaml", "--out="],
    ["render", "a.yaml", "-o", ""],
    ["render", "a.yaml", "-o", "--check"],
    ["render", "a.yaml", "--env", "-o"],
    ["render", "-", "-o", "x"],
    ["render", ""],
    ["render", "--", ""],
    ["validate"],
    ["validate", "a.yaml", "b.yaml"],
    ["validate", "a.yaml", "--check"],
    ["validate", "a.yaml", "-o", "x"],
    ["validate", "--help"],
    ["validate", "a.yaml", "--env"],
    ["Render", "a.yaml"],
    ["schema"],
    ["new", "a.yaml"],
    ["emulator", "start"],
    ["apply", "a.yaml"],
    ["apply", "a.yaml", "--plan", "p"],  # shows the plan and asks: Typer's prompts
    ["apply", "a.yaml", "--auto-approve"],  # plans first
    ["apply", "--plan", "p", "--auto-approve"],
    ["apply", "a.yaml", "b.yaml", "--plan", "p", "--auto-approve"],
    ["apply", "a.yaml", "--plan", "p", "--auto-approve", "--help"],
    ["apply", "a.yaml", "--plan", "p", "--auto-approve", "--no-local"],
    ["apply", "a.yaml", "--plan", "p", "--auto-approve", "-o", "x"],
    ["apply", "a.yaml", "--plan=", "--auto-approve"],
    ["apply", "a.yaml", "--plan", "p", "--auto-approve=yes"],
    ["destroy", "a.yaml", "--plan", "p", "--auto-approve"],
    ["plan"],
    ["plan", "a.yaml", "b.yaml"],
    ["plan", "a.yaml", "--jobs", "2"],  # the option of a directory
    ["plan", "tests", "--local"],  # a directory of specs
    ["plan", "a.yaml", "--auto-approve"],
    ["plan", "a.yaml", "--plan", "p"],
    ["plan", "a.yaml", "--help"],
    ["backup", "a.yaml", "--table", "t"],
    ["backup", "a.yaml", "--out", "-", "--table", "t"],  # stdout: written through by Typer's path
    ["backup", "a.yaml", "--out", "x", "--port", "5o"],
    ["backup", "a.yaml", "--out", "x", "--port", "+5"],
    ["backup", "a.yaml", "--out", "x", "--json"],
    ["backup", "a.yaml", "b.yaml", "--out", "x"],
]


@pytest.mark.parametrize("argv", ACCEPTED, ids=" ".join)
def test_fast_path_passes_what_typer_passes(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in fast._APPLY_ENVVARS.values():
        monkeypatch.delenv(variable, raising=False)
    _same_call(argv, monkeypatch)


@pytest.mark.parametrize("value", ["", "set"])
def test_the_fast_path_reads_the_environment_as_typer_does(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in fast._APPLY_ENVVARS.values():
        monkeypatch.setenv(variable, value and f"{variable.lower()}-{value}")  # empty: as if not set
    _same_call(["apply", "a.yaml", "--plan", "p", "--auto-approve"], monkeypatch)
    _same_call(
        ["apply", "a.yaml", "--plan", "p", "--auto-approve", "--terraform", "tofu", "--plugin-cache", "c"], monkeypatch
    )


def _same_call(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path calls the command body that Typer calls, with the same arguments."""
    with monkeypatch.context() as patch:
        parsed = fast.parse_fast(argv)
        assert parsed is not None
        name = parsed.func.__name__
        module = {"apply_approved": reviewed, "backup": copy, "plan_spec": planning}.get(name, commands)
        assert parsed.func is getattr(module, name)
        assert parsed.args == ()

        calls: list[dict[str, Any]] = []

        def record(**arguments: Any) -> int:
            calls.append(arguments)
            return 0

        patch.setattr(module, name, record)
        assert cli.main(argv) == 0
        assert calls == [parsed.keywords]
        # Path("x") == "x" is false, but True == 1 is not: compare the types too
        assert {key: type(value) for key, value in parsed.keywords.items()} == {
            key: type(value) for key, value in calls[0].items()
        }


def test_fast_path_knows_every_option_typer_declares() -> None:
    import typer

    group = typer.main.get_command(cli.app)
    assert isinstance(group, typer.core.TyperGroup)
    declared = {
        name: {opt for param in group.commands[name].params for opt in param.opts if opt.startswith("-")}
        for name in ("render", "validate", "plan", "apply", "backup")
    }
    assert declared == {
        "render": set(fast._RENDER) | set(fast._RENDER_FLAGS),
        "validate": set(fast._VALIDATE),
        "plan": set(fast._PLAN) | set(fast._PLAN_FLAGS) | {"--jobs", "-j"},  # --jobs: Typer's (a directory)
        "apply": set(fast._APPLY) | set(fast._APPLY_FLAGS),
        "backup": set(fast._BACKUP) | set(fast._BACKUP_FLAGS),
    }


@pytest.mark.parametrize("argv", DECLINED, ids=lambda argv: " ".join(argv) or "(nothing)")
def test_fast_path_leaves_the_rest_to_typer(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert fast.parse_fast(argv) is None
    handed: list[list[str] | None] = []
    monkeypatch.setattr(cli, "main", lambda argv=None: handed.append(argv) or 7)
    assert entry.main(argv) == 7
    assert handed == [argv]


def test_completion_requests_go_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_TFGEN_COMPLETE", "bash_complete")
    handed: list[list[str] | None] = []
    monkeypatch.setattr(cli, "main", lambda argv=None: handed.append(argv) or 0)
    assert entry.main(["render", "a.yaml"]) == 0
    assert handed == [["render", "a.yaml"]]


def _both(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    """Run ``argv`` on the fast path, then on Typer's; both must print and exit alike."""
    assert fast.parse_fast(argv) is not None
    results = []
    for main in (entry.main, cli.main):
        code = main(argv)
        captured = capsys.readouterr()
        results.append((code, captured.out, captured.err))
    assert results[0] == results[1]
    return results[0]


def test_both_paths_print_and_exit_alike(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = str(tmp_path / "module")
    local, v1 = str(spec_path("local")), str(spec_path("v1-legacy"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    pattern = str(tmp_path / "m" / "{stem}")

    assert _both(capsys, ["--version"])[0] == 0
    assert _both(capsys, ["validate", local])[0] == 0
    assert _both(capsys, ["validate", str(bad)])[0] == 2
    assert _both(capsys, ["validate", str(tmp_path / "missing.yaml")])[0] == 2
    assert entry.main(["render", v1, "-o", out]) == 0  # so that both paths find it up to date
    capsys.readouterr()
    code, stdout, err = _both(capsys, ["render", v1, "-o", out])
    assert (code, stdout) == (0, f"{out}: up to date ({len(MODULE_FILES)} files)\n")
    assert err.startswith("warning: ")
    (tmp_path / "module" / "main.tf").write_text("# edited\n")
    code, diff, err = _both(capsys, ["render", "--check", v1, "-o", out])
    assert (code, diff.startswith("--- ")) == (1, True)
    assert f"error: {out}/main.tf: edited by hand since tfgen wrote it\n" in err
    code, _, err = _both(capsys, ["render", v1, "-o", out])
    assert code == 1
    assert f"error: {out}: 1 file(s) would be overwritten; nothing written\nerror: {out}/main.tf: edited" in err
    assert (tmp_path / "module" / "main.tf").read_text() == "# edited\n"
    assert _both(capsys, ["render", local, v1, "-o", out])[0] == 2  # several specs need a pattern
    code, _, err = _both(capsys, ["render", local, str(bad), "--check", "-o", pattern])
    assert code == 2  # each spec's error, then the worst code
    lines = err.splitlines()
    assert lines[0] == f"error: {tmp_path / 'm' / 'local'} differs from a fresh render of the spec"
    assert lines[1] == f"error: {tmp_path / 'm' / 'local' / 'versions.tf'}: missing"
    assert lines[-1] == f"error: {bad}:2: invalid YAML: expected ',' or ']', but got '<stream end>'"


def test_both_paths_refuse_a_reviewed_plan_alike(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    local = str(spec_path("local"))
    not_a_plan = tmp_path / "p.tfplan"
    not_a_plan.write_text("not a zip\n")
    workdir = ["--workdir", str(tmp_path / "W")]
    apply = ["apply", local, "--plan", str(not_a_plan), "--auto-approve", *workdir]
    code, stdout, err = _both(capsys, apply)
    assert (code, stdout) == (1, "")
    assert err.startswith("error: ")
    code, _, err = _both(capsys, [*apply, "--lock-timeout", "soon"])
    assert (code, err.splitlines()[0]) == (2, "error: --lock-timeout 'soon' is not a duration such as 30s, 5m or 1h")
    code, _, err = _both(capsys, ["apply", str(tmp_path / "missing.yaml"), "--plan", str(not_a_plan), "--auto-approve"])
    assert code == 2
    assert "missing.yaml" in err


def test_both_paths_refuse_a_backup_alike(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    backup = ["backup", str(spec_path("local")), "--out", str(tmp_path / "t.csv"), "--host", "127.0.0.1"]
    assert _both(capsys, backup) == (2, "", "error: give --table or --query\n")
    code, _, err = _both(capsys, [*backup, "--table", "t", "--query", "SELECT 1"])
    assert (code, err.splitlines()[0]) == (2, "error: --table and --query exclude each other")
    code, _, err = _both(capsys, [*backup, "--table", "t", "--out", str(tmp_path)])
    assert (code, err.splitlines()[0]) == (2, f"error: {tmp_path} is a directory")
    assert not [path for path in tmp_path.iterdir() if "t.csv" in path.name]  # nothing half-written


def test_ctrl_c_exits_130_quietly_on_both_paths(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tfgen import api

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "validate", interrupted)
    assert _both(capsys, ["validate", "a.yaml"]) == (130, "", "")


def test_console_script_runs_the_fast_path() -> None:
    (script,) = entry_points(group="console_scripts", name="tfgen")
    assert script.load() is entry.run


@pytest.mark.parametrize(
    "argv",
    [
        ["render", str(spec_path("local")), "-o", "{tmp}/module"],
        ["validate", str(spec_path("local"))],
        ["--version"],
    ],
    ids=lambda argv: argv[0],
)
def test_hot_commands_never_import_typer_click_or_rich(argv: list[str], tmp_path: Path) -> None:
    argv = [word.replace("{tmp}", str(tmp_path)) for word in argv]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tfgen", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    imported = {
        line.rpartition("|")[2].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    assert "tfgen.cli.main" in imported
    assert not {name for name in imported if name.partition(".")[0] in ("typer", "click", "rich")}


def test_an_approved_plan_imports_neither_typer_nor_the_planning_code(tmp_path: Path) -> None:
    plan = tmp_path / "p.tfplan"
    plan.write_text("not a zip\n")  # refused after the spec is loaded: only the import of the path matters
    argv = ["apply", str(spec_path("local")), "--plan", str(plan), "--auto-approve", "--workdir", str(tmp_path / "W")]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tfgen", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    imported = {
        line.rpartition("|")[2].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    assert "tfgen.deploy.saved" in imported
    heavy = {"tfgen.deploy.operations", "tfgen.deploy.review", "tfgen.deploy.advice", "tfgen.deploy.migration"}
    assert not imported & heavy
    assert not {name for name in imported if name.partition(".")[0] in ("typer", "click", "rich", "pydantic")}


STAND_IN_TERRAFORM = """\
#!/bin/sh
case "$1" in
version) echo '{"terraform_version": "1.11.4", "platform": "linux_amd64"}' ;;
apply) echo '{"type": "change_summary", "@message": "Apply complete!", "changes": {"add": 0, "change": 1, "remove": 0, "import": 0, "operation": "apply"}}' ;;
*) exit 1 ;;
esac
"""
"""Answers ``version -json`` and applies a plan in one event: what is left to time or trace is tfgen's."""


def _imported(stderr: str) -> set[str]:
    return {line.rpartition("|")[2].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_an_approved_plan_of_the_very_text_planned_loads_no_spec(tmp_path: Path) -> None:
    spec = tmp_path / "local.yaml"
    spec.write_text(spec_path("local").read_text(encoding="utf-8"), encoding="utf-8")
    loaded = load_spec(spec)
    work = tmp_path / "W"
    work.mkdir()
    origin = PlanOrigin(
        spec=str(spec),
        spec_digest=loaded.spec.digest(),
        environment=None,
        workdir=str(work.resolve()),
        backend=backend.identity(loaded.spec, local=False),
        target="aws",
        endpoint=None,
        source=loaded.source_digest,
        name=loaded.spec.name,
        warnings=("recorded with the plan",),
    )
    plan = plans.save_plan(terraform_plan(tmp_path / "tfplan.zip"), tmp_path / "p.tfplan", origin)
    terraform = tmp_path / "terraform"
    terraform.write_text(STAND_IN_TERRAFORM, encoding="utf-8")
    terraform.chmod(0o755)
    argv = [*map(str, ["apply", spec, "--plan", plan, "--auto-approve", "--workdir", work, "--terraform", terraform])]

    def run() -> subprocess.CompletedProcess[str]:
        found = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "tfgen", *argv], capture_output=True, text=True, check=False
        )
        assert found.returncode == 0, found.stderr
        assert "apply complete: 0 added, 1 changed, 0 destroyed." in found.stdout
        return found

    applied = run()
    assert "warning: recorded with the plan" in applied.stderr  # the spec's warnings, as the plan recorded them
    imported = _imported(applied.stderr)
    assert "tfgen.deploy.saved" in imported
    assert not {name for name in imported if name.partition(".")[0] == "yaml" or name.startswith("tfgen.spec.")} - {
        "tfgen.spec.source"
    }
    # a comment added since: another text, so the spec is loaded, and it is still the spec planned
    spec.write_text(spec.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    applied = run()
    assert "tfgen.spec.loading" in _imported(applied.stderr)
    assert "recorded with the plan" not in applied.stderr  # the loaded spec's own warnings instead


TYPER_MAIN = "import sys; from tfgen.cli.app import main; sys.exit(main())"


@pytest.mark.parametrize("path", ["fast", "typer"])
@pytest.mark.parametrize("command", ["validate", "render --check"])
def test_a_closed_pipe_exits_1_without_a_traceback(path: str, command: str, tmp_path: Path) -> None:
    start = ["-m", "tfgen"] if path == "fast" else ["-c", TYPER_MAIN]
    argv = [*command.split(), str(spec_path("local")), *(["-o", str(tmp_path)] if "render" in command else [])]
    read, write = os.pipe()
    os.close(read)  # the reader has gone before tfgen writes anything
    try:
        result = subprocess.run(
            [sys.executable, *start, *argv], stdout=write, stderr=subprocess.PIPE, text=True, check=False
        )
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (1, "")
