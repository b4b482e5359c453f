"""The command line: exit codes, messages, and the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.goldens import GOLDENS, spec_path
from tfgen import __version__
from tfgen.cli import main as entry
from tfgen.render.templates import MODULE_FILES


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The console script's ``main``: the fast path where it applies, Typer otherwise."""
    code = entry.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "tfgen", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    for command in ("validate", "render", "schema", "new"):
        assert command in result.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"tfgen {__version__}\n", "")


def test_validate_valid_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", str(spec_path("aurora")))
    assert code == 0
    assert out == f"{spec_path('aurora')}: valid (orders-db, Serverless v2)\n"
    assert err == ""


def test_validate_invalid_spec_exits_2_with_one_line_per_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: orders-db\nregion: eu-west-1\nvpc_id: vpc-0a1b2c3d\nsubnet_ids: [subnet-0a1b2c3d]\nport: 80\nextra: 1\n"
    )
    code, out, err = run(capsys, "validate", str(bad))
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"error: {bad}:4: subnet_ids: must have at least 2 items, got 1",
        f"error: {bad}:5: port: must be greater than or equal to 1150",
        f"error: {bad}:6: extra: unknown field; expected one of: "
        "activity_stream, alarms, apply_immediately, backup_retention_period, ca_cert_identifier, copy_tags_to_snapshot, "
        "create_kms_key, database_insights_mode, database_name, delete_automated_backups, deletion_protection, "
        "enable_http_endpoint, endpoints, engine_lifecycle_support, engine_version, global, iam_database_authentication, iam_roles, instance_parameters, kms_key_id, logs, "
        "master_password, "
        "master_username, monitoring_interval, name, network, network_type, parameters, performance_insights, "
        "performance_insights_retention_days, port, preferred_backup_window, preferred_maintenance_window, "
        "preload_libraries, region, restore, serverless, skip_final_snapshot, slow_query_ms, storage_encrypted, storage_type, "
        "subnet_ids, tags, vpc_id",
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name: [unclosed\n", "2: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        ("- a\n- b\n", "1: the spec must be a mapping of fields (name, region, ...), not a list"),
        ("", "1: the spec must be a mapping of fields (name, region, ...), not empty"),
    ],
)
def test_malformed_input_is_one_line_never_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, expected: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    code, _, err = run(capsys, "render", str(bad), "-o", str(tmp_path / "out"))
    assert code == 2
    assert err == f"error: {bad}:{expected}\n"
    assert not (tmp_path / "out").exists()


def test_missing_spec_and_directory_spec(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "validate", str(tmp_path / "nope.yaml")) == (
        2,
        "",
        f"error: {tmp_path}/nope.yaml: no such file\n",
    )
    assert run(capsys, "validate", str(tmp_path)) == (2, "", f"error: {tmp_path}: is a directory, not a spec file\n")


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", "--no-such-option")
    assert code == 2
    assert "No such option" in err


def test_render_then_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "module"
    code, stdout, _ = run(capsys, "render", str(spec_path("local")), "-o", str(out))
    assert (code, stdout) == (0, f"{out}: wrote {len(MODULE_FILES)} file(s), 0 unchanged\n")
    assert run(capsys, "render", str(spec_path("local")), "-o", str(out), "--check") == (
        0,
        f"{out}: up to date with {spec_path('local')}\n",
        "",
    )
    (out / "alarms.tf").unlink()
    code, stdout, err = run(capsys, "render", str(spec_path("local")), "-o", str(out), "--check")
    assert code == 1
    assert stdout.startswith("--- /dev/null\n+++ rendered/alarms.tf\n")
    assert err.splitlines() == [
        f"error: {out} differs from a fresh render of the spec",
        f"error: {out}/alarms.tf: missing",
        "hint: run `tfgen render` to bring it up to date",
    ]


def test_v1_prints_end_of_life_warning(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "render", str(spec_path("v1-legacy")), "-o", str(tmp_path / "m"))
    assert code == 0
    assert "warning: " in err
    assert "Aurora Serverless v1 reached end of life on 2025-03-31" in err


def test_schema_describes_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    # vpc_id and subnet_ids depend on the network section (existing pieces): `validate` holds those rules
    assert set(schema["required"]) == {"name", "region"}
    for name in GOLDENS:
        jsonschema.validate(yaml.safe_load(spec_path(name).read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "region": "eu-west-1", "vpc_id": "v", "subnet_ids": [], "nope": 1}, schema)


def test_new_writes_a_valid_starter_and_never_overwrites(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "aurora.yaml"
    code, out, _ = run(capsys, "new", str(target))
    assert code == 0
    assert out == (
        f"wrote {target}; edit it, then: tfgen render {target}\n"
        "a cluster that exists already: tfgen import CLUSTER_ID --region REGION writes its spec\n"
    )
    assert run(capsys, "validate", str(target))[0] == 0
    original = target.read_text()
    assert run(capsys, "new", str(tmp_path)) == (2, "", f"error: {target}: already exists; not overwriting it\n")
    assert target.read_text() == original


def test_several_specs_with_a_name_pattern_like_the_pre_commit_hook(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pattern = str(tmp_path / "modules" / "{name}")
    specs = [str(spec_path("local")), str(spec_path("rds-managed"))]
    assert run(capsys, "render", *specs, "-o", pattern)[0] == 0
    assert (tmp_path / "modules" / "tfgen-demo" / "main.tf").is_file()
    assert (tmp_path / "modules" / "staging-api" / "main.tf").is_file()
    assert run(capsys, "render", "--check", *specs, "-o", pattern)[0] == 0
    (tmp_path / "modules" / "staging-api" / "outputs.tf").write_text("# edited\n")
    code, out, err = run(capsys, "render", "--check", *specs, "-o", pattern)
    assert code == 1
    assert "rendered/outputs.tf" in out
    assert err.splitlines() == [  # the pre-commit hook explains an edited file
        f"error: {tmp_path}/modules/staging-api differs from a fresh render of the spec",
        f"error: {tmp_path}/modules/staging-api/outputs.tf: edited by hand since tfgen wrote it",
        "hint: keep hand edits with `tfgen update SPEC -o DIR` (a three-way merge), "
        "or drop them with `tfgen render --force`",
    ]


def test_several_specs_need_a_pattern(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "render", str(spec_path("local")), str(spec_path("aurora")), "-o", str(tmp_path))
    assert code == 2
    assert err == "error: several specs need an --out with {name} or {stem}, e.g. -o 'modules/{name}'\n"


def test_pre_commit_hook_runs_render_check() -> None:
    hooks = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "tfgen-check"
    assert hook["entry"] == "tfgen render --check"
    assert hook["args"] == ["-o", "modules/{name}"]


def test_new_with_a_trailing_slash_creates_the_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "new", f"{tmp_path}/sub/")
    target = tmp_path / "sub" / "aurora.yaml"
    assert code == 0
    assert out == (
        f"wrote {target}; edit it, then: tfgen render {target}\n"
        "a cluster that exists already: tfgen import CLUSTER_ID --region REGION writes its spec\n"
    )
    assert target.is_file()
    assert run(capsys, "validate", str(target))[0] == 0


def _tfgen(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The console script's code path (``python -m tfgen``) in a subprocess."""
    return subprocess.run([sys.executable, "-m", "tfgen", *args], capture_output=True, text=True, check=False, env=env)


def test_show_completion_prints_the_bash_script() -> None:
    result = _tfgen("--show-completion", "bash", env={**os.environ, "SHELL": "/bin/bash"})
    assert result.returncode == 0, result.stderr
    assert "_TFGEN_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _tfgen_completion tfgen" in result.stdout


def test_install_completion_writes_the_script_under_home() -> None:
    """HOME is the test's own (conftest's isolated_env)."""
    result = _tfgen("--install-completion", "bash", env={**os.environ, "SHELL": "/bin/bash"})
    assert result.returncode == 0, result.stderr
    home = Path(os.environ["HOME"])
    assert "_TFGEN_COMPLETE=complete_bash" in (home / ".bash_completions" / "tfgen.sh").read_text()
    assert ".bash_completions/tfgen.sh" in (home / ".bashrc").read_text()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("tfgen ", {"validate", "render", "schema", "new", "plan", "apply", "emulator"}),
        ("tfgen emulator ", {"start", "status", "stop"}),
        ("tfgen render --o", {"--out"}),
        ("tfgen validate a.yaml --e", {"--env"}),
    ],
)
def test_the_shells_completion_requests_reach_typer(words: str, expected: set[str]) -> None:
    """What bash's completion function asks for (render and validate included: not the fast path's)."""
    env = {
        **os.environ,
        "_TFGEN_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    result = _tfgen(env=env)
    assert result.returncode == 0, result.stderr
    assert expected <= set(result.stdout.split())


def test_plan_detailed_exitcode_makes_every_error_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """With --detailed-exitcode, 2 means "changes" (as terraform's): a bad spec or command line is 1, not 2."""
    bad = Path(__file__).parent / "fixtures" / "specs" / "invalid-name-double-hyphen.yaml"
    workdir = str(tmp_path / "work")
    code, _, err = run(capsys, "plan", str(bad), "--workdir", workdir)
    assert code == 2, err  # without the flag: bad input, as documented
    code, _, err = run(capsys, "plan", str(bad), "--detailed-exitcode", "--workdir", workdir)
    assert code == 1, err
    assert "error: " in err and "name" in err
    code, _, err = run(capsys, "plan", str(bad), "--detailed-exitcode", "--no-such-option")
    assert code == 1, err
    assert "No such option" in err
    assert not (tmp_path / "work").exists()
