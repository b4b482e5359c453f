"""Property-based tests: generated specs, valid and invalid, through ``tfgen render``.

Valid specs always render; every .tf file parses with python-hcl2 and keeps the module's
security and alarm invariants; all rendered modules are checked with one
``terraform fmt -check -recursive`` run at the end. Invalid inputs (wrong types, values
out of range, bad names, unknown keys, broken YAML, binary garbage, huge files, alias
bombs, unsafe YAML tags) always exit 2 with ``error: FILE[:LINE]: ...`` lines, never a
traceback, and never touch the output directory. ``test_zz_report_case_counts`` prints
how many generated cases ran.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import io
import math
import os
import re
import shutil
import subprocess
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

from tests import strategies
from tfgen.cli import app as cli
from tfgen.spec import source
from tfgen.spec.loading import load_spec
from tfgen.spec.model import ServerlessV1, ServerlessV2, Spec

CASES: Counter[str] = Counter()
"""Generated cases run, by kind ("valid", "invalid"); printed by the last test."""
RENDERED: list[Path] = []
"""Module directories rendered from valid specs, for the one terraform fmt run."""

PROFILE = settings()
"""The hypothesis profile loaded (tests/conftest.py): thorough (make test, 100 examples) or quick."""
VALID_EXAMPLES = PROFILE.max_examples
INVALID_EXAMPLES = max(2, PROFILE.max_examples * 3 // 5)
"""Per invalid-input test (there are several)."""

COMMON = settings(PROFILE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SNAPSHOT_SUFFIX = "20261125013706"
"""A sample of the 14-digit suffix the module appends (formatdate YYYYMMDDhhmmss)."""
WRITER_METRICS = frozenset({"CPUUtilization", "DatabaseConnections", "ACUUtilization", "ServerlessDatabaseCapacity"})
"""Read on the writer (Role = WRITER) for v2 (at the cluster level AWS averages the instances, so a
busy writer beside idle readers would hide); v1 only has cluster metrics."""
ROOT_TF_FILES = {"versions.tf", "variables.tf", "main.tf", "network.tf", "alarms.tf", "outputs.tf"}
FIELD_PATH = r"\(top level\)|[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*"


# --------------------------------------------------------------------------- helpers


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``cli.main(argv)`` with stdout and stderr captured; an escaping exception fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except BaseException:
            escaped = traceback.format_exc()
        else:
            escaped = ""
    if escaped:
        pytest.fail(f"an exception escaped cli.main({argv}):\n{escaped}\nstderr:\n{err.getvalue()}")
    return code, out.getvalue(), err.getvalue()


def tree(directory: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and directory (None) under ``directory``, by relative path."""
    return {
        path.relative_to(directory).as_posix(): (path.read_bytes() if path.is_file() else None)
        for path in sorted(directory.rglob("*"))
    }


def unquote(value: Any) -> Any:
    """python-hcl2 8 keeps the quotes of string literals and block labels; 7 does not."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def blocks(parsed: dict[str, Any], kind: str, labels: int) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(labels, body) of each ``kind`` block of a parsed file (resource: 2 labels, variable: 1)."""
    for entry in parsed.get(kind, []):
        yield from _descend(entry, labels, ())


def _descend(entry: Any, depth: int, labels: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    if depth == 0:
        yield labels, entry
        return
    for label, body in entry.items():
        if not label.startswith("__"):
            yield from _descend(body, depth - 1, (*labels, unquote(label)))


def resources(parsed: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of every resource block."""
    return [(labels[0], labels[1], body) for labels, body in blocks(parsed, "resource", 2)]


def variables_declared(parsed_files: list[dict[str, Any]]) -> set[str]:
    return {labels[0] for parsed in parsed_files for labels, _ in blocks(parsed, "variable", 1)}


def variables_used(parsed_files: list[dict[str, Any]]) -> set[str]:
    """Names of the ``var.*`` references in expressions (comments are not expressions)."""
    return {
        name for parsed in parsed_files for text in strings_in(parsed) for name in re.findall(r"\bvar\.(\w+)", text)
    }


def nested(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Nested blocks called ``name`` (python-hcl2 gives a list of bodies)."""
    value = body.get(name, [])
    return [item for item in (value if isinstance(value, list) else [value]) if isinstance(item, dict)]


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a parsed value, comments left out."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "__comments__":
                yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def aws_snapshot_id_problems(identifier: str) -> list[str]:
    """AWS's rules for a DB cluster snapshot identifier, written out independently of tfgen."""
    problems = []
    if not 1 <= len(identifier) <= 255:
        problems.append(f"length {len(identifier)} is not 1-255")
    if not re.fullmatch(r"[A-Za-z0-9-]*", identifier, re.ASCII):
        problems.append("contains characters other than letters, digits and hyphens")
    if not identifier[:1].isascii() or not identifier[:1].isalpha():
        problems.append("does not start with a letter")
    if "--" in identifier:
        problems.append("contains two consecutive hyphens")
    if identifier.endswith("-"):
        problems.append("ends with a hyphen")
    return problems


def yaml_round_trips(data: Any, text: str) -> bool:
    """True when PyYAML reads ``text`` back as ``data`` (NaN equal to NaN)."""
    try:
        return _comparable(yaml.safe_load(text)) == _comparable(data)
    except yaml.YAMLError:
        return False


def _comparable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fmt_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where valid specs are rendered: one directory per case (spec.yaml + module/)."""
    return tmp_path_factory.mktemp("rendered")


@dataclass(frozen=True)
class PreviousRender:
    """An output directory holding an earlier render, and the contents of its parent."""

    directory: Path
    contents: dict[str, bytes | None] = dataclasses.field(repr=False)


@pytest.fixture(scope="module")
def previous_render(tmp_path_factory: pytest.TempPathFactory) -> PreviousRender:
    base = tmp_path_factory.mktemp("previous")
    spec = base / "spec.yaml"
    spec.write_text(yaml.safe_dump(VALID_SPEC))
    out = base / "out" / "module"
    code, _, err = run_cli(["render", str(spec), "-o", str(out)])
    assert code == 0, err
    return PreviousRender(out, tree(out.parent))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("invalid")


VALID_SPEC: dict[str, Any] = {
    "name": "orders-db",
    "region": "eu-west-1",
    "vpc_id": "vpc-0a1b2c3d4e5f67890",
    "subnet_ids": ["subnet-0a1b2c3d4e5f67891", "subnet-0a1b2c3d4e5f67892"],
    "network": {"allowed_cidr_blocks": ["10.0.0.0/16"]},
}


# --------------------------------------------------------------------------- valid specs


@settings(COMMON, max_examples=VALID_EXAMPLES)
@given(data=strategies.valid_specs(), style=st.data())
def test_valid_specs_render_parse_and_keep_invariants(
    data: dict[str, Any], style: st.DataObject, fmt_tree: Path
) -> None:
    text = style.draw(strategies.yaml_dumps(data), label="yaml")
    assume(yaml_round_trips(data, text))  # PyYAML's own limits are not tfgen's
    CASES["valid"] += 1
    case = fmt_tree / f"case{len(RENDERED):04d}"
    case.mkdir()
    spec_path = case / "spec.yaml"
    spec_path.write_text(text, encoding="utf-8")
    out = case / "module"

    code, stdout, stderr = run_cli(["render", str(spec_path), "-o", str(out)])

    assert code == 0, stderr
    assert "Traceback" not in stdout + stderr
    assert all(line.startswith(("warning: ", "note: ")) for line in stderr.splitlines()), stderr
    RENDERED.append(out)
    spec = load_spec(spec_path).spec
    assert_module_invariants(out, spec, data)


def parse_hcl(text: str) -> Any:
    """python-hcl2's reading of ``text``.

    python-hcl2 8.1 cannot lex an escape that ends a string (``"%%{"``, ``"$${"``), which terraform
    reads (the ``fmt_tree`` fixture runs ``terraform fmt`` on these files): the escapes become
    ``%%(`` / ``$$(`` for it; the structure the checks read is the same.
    """
    return hcl2.loads(re.sub(r"(\$\$|%%)\{", r"\1(", text))


def assert_module_invariants(out: Path, spec: Spec, data: dict[str, Any]) -> None:
    tf_files = sorted(out.rglob("*.tf"))
    root = {path.name: path for path in tf_files if path.parent == out}
    assert set(root) >= ROOT_TF_FILES, sorted(root)
    assert (out / "examples" / "complete" / "main.tf") in tf_files
    parsed = {path: parse_hcl(path.read_text(encoding="utf-8")) for path in tf_files}
    root_parsed = [parsed[path] for path in root.values()]
    all_resources = [item for tree_ in root_parsed for item in resources(tree_)]
    port = data.get("port", 5432)
    is_v2 = data.get("serverless", {}).get("version", "v2") == "v2"
    assert spec.is_v2 == is_v2
    assert spec.port == port

    # storage encryption is always on
    clusters = [body for kind, _, body in all_resources if kind == "aws_rds_cluster"]
    assert len(clusters) == 1, f"{len(clusters)} aws_rds_cluster resources"
    assert clusters[0].get("storage_encrypted") is True, "aws_rds_cluster without storage_encrypted = true"

    # the security group and every rule are described; ingress only on the spec's port, over TCP
    groups = [body for kind, _, body in all_resources if kind == "aws_security_group"]
    network = spec.network
    assert bool(groups) == network.create_security_group, "aws_security_group without create_security_group"
    own = ["${aws_security_group.this.id}"] if network.create_security_group else []
    shared = "${var.security_group_ids}" if network.security_group_ids else None
    attached = clusters[0]["vpc_security_group_ids"]
    if shared and own:
        assert attached == "${concat([aws_security_group.this.id], var.security_group_ids)}", attached
    else:
        assert attached in (shared, own), attached
    subnet_groups = [body for kind, _, body in all_resources if kind == "aws_db_subnet_group"]
    assert len(subnet_groups) == (network.db_subnet_group_name is None), "aws_db_subnet_group beside an existing one"
    for group in groups:
        assert str(unquote(group.get("description", ""))).strip(), f"security group without description: {group}"
        for rule in nested(group, "ingress"):
            assert_ingress(rule, port)
        for rule in nested(group, "egress"):
            assert_egress(rule)
    ingress = [body for kind, _, body in all_resources if kind == "aws_vpc_security_group_ingress_rule"]
    assert bool(ingress) == network.create_security_group, "ingress rules without the module's security group"
    for rule in ingress:
        assert_ingress(rule, port)
    for kind, name, body in all_resources:
        if kind == "aws_vpc_security_group_egress_rule":
            assert_egress(body)
        elif kind == "aws_security_group_rule":
            (assert_ingress if unquote(body.get("type")) == "ingress" else assert_egress)(body, port)
        if "security_group_rule" in kind or kind.endswith(("_ingress_rule", "_egress_rule")):
            assert str(unquote(body.get("description", ""))).strip(), f"{kind}.{name} has no description"

    # the final snapshot identifier: the model's prefix + "-" + 14 digits, valid for AWS
    prefix = spec.final_snapshot_prefix
    assert not aws_snapshot_id_problems(f"{prefix}-{SNAPSHOT_SUFFIX}"), aws_snapshot_id_problems(
        f"{prefix}-{SNAPSHOT_SUFFIX}"
    )
    final = clusters[0]["final_snapshot_identifier"]
    assert f'"{prefix}-${{terraform_data.final_snapshot_suffix.output}}"' in final, final
    suffix = [body for kind, name, body in all_resources if (kind, name) == ("terraform_data", "final_snapshot_suffix")]
    assert len(suffix) == 1
    assert 'formatdate("YYYYMMDDhhmmss", ' in suffix[0]["input"]

    assert_alarm_dimensions(parsed[root["alarms.tf"]], spec)

    # every var.* the module uses is declared
    undeclared = variables_used(root_parsed) - variables_declared(root_parsed)
    assert not undeclared, f"undeclared variables: {sorted(undeclared)}"


def assert_ingress(rule: dict[str, Any], port: int = 0) -> None:
    assert rule.get("from_port") == port and rule.get("to_port") == port, f"ingress not only on {port}: {rule}"
    assert unquote(rule.get("ip_protocol", rule.get("protocol"))) == "tcp", f"ingress not TCP: {rule}"
    assert str(unquote(rule.get("description", ""))).strip(), f"ingress rule without description: {rule}"


def assert_egress(rule: dict[str, Any], port: int = 0) -> None:
    del port
    cidrs = [unquote(rule.get("cidr_ipv4")), unquote(rule.get("cidr_ipv6"))]
    for key in ("cidr_blocks", "ipv6_cidr_blocks"):
        value = rule.get(key) or []
        cidrs.extend(unquote(item) for item in (value if isinstance(value, list) else [value]))
    assert not {"0.0.0.0/0", "::/0"} & set(cidrs), f"egress to the whole internet: {rule}"
    assert str(unquote(rule.get("description", ""))).strip(), f"egress rule without description: {rule}"


def assert_alarm_dimensions(parsed: dict[str, Any], spec: Spec) -> None:
    local_values: dict[str, Any] = {}
    for block in parsed.get("locals", []):
        local_values.update({key: value for key, value in block.items() if not key.startswith("__")})
    identifier = "${aws_rds_cluster.this.cluster_identifier}"
    cluster = {key: unquote(value) for key, value in local_values["alarm_cluster_dimensions"].items()}
    assert cluster == {"DBClusterIdentifier": identifier}, f"cluster dimensions: {cluster}"
    builtin = [
        body for kind, name, body in resources(parsed) if (kind, name) == ("aws_cloudwatch_metric_alarm", "builtin")
    ]
    if not spec.alarms.enabled:
        # custom alarms stay (they use the cluster dimensions); the automated ones are gone
        leftover = {"alarm_writer_dimensions", "builtin_alarms"} & set(local_values)
        assert not leftover, f"alarms disabled, but alarms.tf defines {sorted(leftover)}"
        assert not builtin, "alarms disabled, but alarms.tf has aws_cloudwatch_metric_alarm.builtin"
        assert not spec.builtin_alarms
        return
    writer = {key: unquote(value) for key, value in local_values["alarm_writer_dimensions"].items()}
    assert writer == {"DBClusterIdentifier": identifier, "Role": "WRITER"}, f"writer dimensions: {writer}"

    rendered = {
        key: (unquote(alarm["metric"]), alarm["dimensions"]) for key, alarm in local_values["builtin_alarms"].items()
    }
    expected_metrics = {"CPUUtilization", "DatabaseConnections", "ServerlessDatabaseCapacity"}
    if spec.is_v2:  # ACUUtilization exists for Serverless v2 only
        expected_metrics.add("ACUUtilization")
    assert {metric for metric, _ in rendered.values()} == expected_metrics
    model = {alarm.key: alarm for alarm in spec.builtin_alarms}
    assert set(model) == set(rendered)
    for key, (metric, dimensions) in rendered.items():
        writer_level = metric in WRITER_METRICS and spec.is_v2
        want = "${local.alarm_writer_dimensions}" if writer_level else "${local.alarm_cluster_dimensions}"
        assert dimensions == want, f"{key} ({metric}) uses {dimensions}, expected {want}"
        assert model[key].metric == metric
        assert model[key].role == ("WRITER" if writer_level else None), model[key]
    assert len(builtin) == 1
    assert builtin[0]["dimensions"] == "${each.value.dimensions}"
    assert unquote(builtin[0]["namespace"]) == "AWS/RDS"


def test_valid_1mb_spec_renders(tmp_path: Path) -> None:
    """The size limit's boundary: a spec of exactly MAX_BYTES renders."""
    text = yaml.safe_dump(VALID_SPEC).encode()
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(text + b"#" + b"x" * (source.MAX_BYTES - len(text) - 2) + b"\n")
    assert spec.stat().st_size == source.MAX_BYTES
    code, _, stderr = run_cli(["render", str(spec), "-o", str(tmp_path / "out")])
    assert code == 0, stderr


def test_disabled_alarms_declare_every_variable_they_use(tmp_path: Path) -> None:
    """Regression: with ``alarms.enabled: false`` every ``var.*`` in the module is declared.

    alarms.tf once kept using var.alarm_period, var.alarm_evaluation_periods,
    var.alarm_actions, var.ok_actions and var.custom_alarms after the alarm variables were
    dropped, and terraform validate failed with "Reference to undeclared input variable".
    The valid-spec property checks the same for every generated spec.
    """
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**VALID_SPEC, "alarms": {"enabled": False}}))
    out = tmp_path / "module"
    code, _, stderr = run_cli(["render", str(spec), "-o", str(out)])
    assert code == 0, stderr
    root = [parse_hcl(path.read_text()) for path in sorted(out.glob("*.tf"))]
    undeclared = variables_used(root) - variables_declared(root)
    assert not undeclared, f"undeclared variables: {sorted(undeclared)}"


IMPOSSIBLE_VALUES = [
    "name: 2025-13-01\n",
    "tags:\n  expires: 2025-02-30\n",
    "tags:\n  ? 0000-01-01\n  : x\n",
    "port: !!int 0x\n",
    "name: !!float abc\n",
    "name: !!timestamp 2025-99-99\n",
]


@pytest.mark.parametrize("line", IMPOSSIBLE_VALUES)
def test_impossible_yaml_values_exit_2(line: str, tmp_path: Path) -> None:
    """Regression: a scalar PyYAML resolves to a date/int/float it cannot build exits 2.

    PyYAML's constructors raise ValueError (not ConstructorError) for these, which once
    escaped cli.main as a traceback; now it is ``error: FILE:LINE: invalid YAML: ...``.
    test_broken_yaml_exits_2 inserts such lines too.
    """
    key = line.split(":", 1)[0]
    base = {field: value for field, value in VALID_SPEC.items() if field != key}
    assert_cli_rejects_as_invalid_yaml(tmp_path, (yaml.safe_dump(base) + line).encode())


def assert_cli_rejects_as_invalid_yaml(tmp_path: Path, content: bytes) -> str:
    """``cli.main`` called directly, so that an escaping exception keeps its own type; returns stderr."""
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(content)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["render", str(spec), "-o", str(tmp_path / "out")])
    assert code == 2
    assert re.fullmatch(rf"error: {re.escape(str(spec))}:\d+: invalid YAML: .+\n", err.getvalue()), err.getvalue()
    assert not (tmp_path / "out").exists()
    return err.getvalue()


CONTROL_CHARACTERS = [
    (b"\x1f", 1),
    (b"name: orders-db\x7f\n", 1),
    (b"tags:\n  owner: \x1b[31mred\n", 2),
    (b"\x0c\n", 1),
    (codecs.BOM_UTF8 + b"name: orders-db\nregion: eu-west-1\n\x08\n", 3),
]


@pytest.mark.parametrize(("content", "line"), CONTROL_CHARACTERS)
def test_control_characters_exit_2_with_their_line(content: bytes, line: int, tmp_path: Path) -> None:
    """Regression: a control character (not NUL) in readable text exits 2 naming its line.

    PyYAML's reader refuses it when the loader is created ("unacceptable character #x001f:
    special characters are not allowed"); that ``yaml.reader.ReaderError`` once escaped
    yamlsrc.parse as a traceback. The broken-YAML and garbage properties generate such
    characters too.
    """
    err = assert_cli_rejects_as_invalid_yaml(tmp_path, content)
    assert err.startswith(f"error: {tmp_path / 'spec.yaml'}:{line}: "), err


GRAPHEME_KEYS = {
    "combining accent": "cafe\u0301",
    "flag": "\U0001f1eb\U0001f1f7",
    "emoji ZWJ sequence": "\U0001f468\u200d\U0001f469",
    "variation selector": "\u2764\ufe0f",
}


@pytest.mark.terraform
@pytest.mark.parametrize("key", list(GRAPHEME_KEYS.values()), ids=list(GRAPHEME_KEYS))
def test_map_keys_align_by_grapheme_clusters_like_terraform_fmt(key: str, tmp_path: Path) -> None:
    """Regression: ``=`` after map keys lines up as ``terraform fmt`` lines it up, by grapheme clusters.

    A tag key with a combining accent ("cafe" + U+0301) is 5 code points but 4 graphemes;
    tfgen.render.hcl.align once counted code points, padded the other keys one space more than
    ``terraform fmt`` does, and variables.tf was not fmt-clean. Flags and emoji ZWJ
    sequences did the same. The valid-spec property generates such keys as well.
    """
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**VALID_SPEC, "tags": {key: "x", "abcdefgh": "y"}}), encoding="utf-8")
    out = tmp_path / "module"
    code, _, stderr = run_cli(["render", str(spec), "-o", str(out)])
    assert code == 0, stderr
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", "-no-color", str(out / "variables.tf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.terraform
def test_rendered_modules_are_terraform_fmt_clean(fmt_tree: Path) -> None:
    """One ``terraform fmt -check -recursive`` over every module the valid-spec property rendered."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    if not RENDERED:
        pytest.skip("no modules rendered (run together with test_valid_specs_render_parse_and_keep_invariants)")
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-list=true", "-no-color", str(fmt_tree)],
        capture_output=True,
        text=True,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
        check=False,
        timeout=300,
    )
    if result.returncode == 0:
        return
    changed = [Path(line) for line in result.stdout.splitlines() if line.strip()]
    assert changed, f"terraform fmt failed (exit {result.returncode}):\n{result.stderr}"
    by_file = Counter(path.name for path in changed)
    report = [f"terraform fmt would change {len(changed)} files in {len(RENDERED)} modules: {dict(by_file)}"]
    for path in changed[:3]:
        case = next(parent for parent in path.parents if parent.name.startswith("case"))
        diff = subprocess.run(
            ["terraform", "fmt", "-diff", "-check", "-no-color", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        report.append(f"--- spec {case / 'spec.yaml'}:\n{(case / 'spec.yaml').read_text()}\n{diff.stdout}")
    pytest.fail("\n".join(report))


# --------------------------------------------------------------------------- invalid input


def assert_rejected(
    scratch: Path,
    previous: PreviousRender,
    content: bytes | str,
    kind: str,
    field: str | None = None,
) -> list[str]:
    """Render ``content`` twice (output absent, output holding a previous render): exit 2 both times,
    ``error: FILE[:LINE]: ...`` lines only, nothing written. Returns the error lines."""
    CASES["invalid"] += 1
    CASES[f"invalid: {kind}"] += 1
    spec = scratch / f"spec{CASES['invalid']}.yaml"
    if isinstance(content, str):
        spec.write_text(content, encoding="utf-8")
    else:
        spec.write_bytes(content)
    fresh = scratch / f"out{CASES['invalid']}" / "module"
    existing, before = previous.directory, previous.contents
    outputs = []
    for out in (fresh, existing):
        code, stdout, stderr = run_cli(["render", str(spec), "-o", str(out)])
        assert code == 2, f"exit {code} for {content[:300]!r}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        assert not stdout, f"output on stdout for an invalid spec:\n{stdout}"
        assert "Traceback" not in stderr
        lines = stderr.splitlines()
        assert lines, "no error message"
        shape = re.compile(rf"error: {re.escape(str(spec))}(:\d+)?: \S")
        bad = [line for line in lines if not shape.match(line)]
        assert not bad, f"lines not shaped 'error: FILE[:LINE]: ...':\n{stderr}"
        outputs.append(lines)
    assert not fresh.parent.exists(), f"{fresh.parent} was created for an invalid spec"
    assert tree(existing.parent) == before, "the previous render changed"
    assert outputs[0] == outputs[1], "the messages depend on the output directory"
    lines = outputs[0]
    numbers = [
        int(match[1])
        for line in lines
        for match in [re.match(rf"error: {re.escape(str(spec))}:(\d+): ", line)]
        if match
    ]
    total_lines = max(1, (content if isinstance(content, bytes) else content.encode()).count(b"\n") + 1)
    assert all(1 <= number <= total_lines for number in numbers), f"line numbers outside the file: {lines}"
    if field is not None:
        assert_field_error(spec, content if isinstance(content, str) else content.decode(), lines, field)
    return lines


def assert_field_error(spec: Path, text: str, lines: list[str], field: str) -> None:
    """Every line is ``error: FILE:LINE: field.path: message``; one names ``field`` (or a parent)."""
    shape = re.compile(rf"error: {re.escape(str(spec))}:(\d+): ({FIELD_PATH}): (.+)$")
    matches = [shape.match(line) for line in lines]
    assert all(matches), "not 'error: FILE:LINE: field: message':\n" + "\n".join(lines)
    named = [match for match in matches if match and (match[2] == field or field.startswith(f"{match[2]}."))]
    assert named, f"no error names {field}:\n" + "\n".join(lines)
    key = field.rsplit(".", 1)[-1]
    file_lines = text.splitlines()
    for match in named:
        if match[2] == field and "required field is missing" not in match[3]:
            shown = file_lines[int(match[1]) - 1]
            assert key in shown or f"{key}:" not in text, f"line {match[1]} ({shown!r}) does not hold {key}"


def known_fields() -> dict[tuple[str, ...], set[str]]:
    """Field names of each section, read from the model now (fields added later are known)."""
    sections: dict[tuple[str, ...], set[str]] = {
        (): set(Spec.model_fields),
        ("serverless",): set(ServerlessV2.model_fields) | set(ServerlessV1.model_fields),
    }
    for name in ("network", "master_password", "alarms"):
        sections[(name,)] = set(Spec.model_fields[name].annotation.model_fields)  # type: ignore[union-attr]
    return sections


MISTAKES = {
    "type": "wrong type",
    "range": "out of range",
    "name": "bad name",
    "unknown": "unknown key",
    "missing": "missing field",
}


@pytest.mark.parametrize("kind", sorted(MISTAKES))
@settings(COMMON, max_examples=INVALID_EXAMPLES // 2)
@given(data=st.data())
def test_specs_with_one_mistake_exit_2_naming_the_field(
    kind: str, data: st.DataObject, scratch: Path, previous_render: PreviousRender
) -> None:
    broken = data.draw(strategies.broken_specs(kind, known_fields()), label="broken")
    text = data.draw(strategies.yaml_dumps(broken.data), label="yaml")
    assume(yaml_round_trips(broken.data, text))
    assert_rejected(scratch, previous_render, text, MISTAKES[broken.kind], field=broken.field)


@settings(COMMON, max_examples=INVALID_EXAMPLES)
@given(text=strategies.broken_yaml())
def test_broken_yaml_exits_2(text: str, scratch: Path, previous_render: PreviousRender) -> None:
    # broken for both of PyYAML's parsers: tfgen composes with libyaml's when it is built, and libyaml
    # reads a few texts the pure-Python parser refuses (a tab before a key inside a flow collection)
    loaders = [yaml.SafeLoader] + ([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])
    for loader in loaders:
        try:
            yaml.load(text, Loader=loader)  # safe loaders only
        except (yaml.YAMLError, ValueError):  # ValueError: a date or number PyYAML cannot build
            continue
        reject()  # still YAML: not this test's case
    lines = assert_rejected(scratch, previous_render, text, "broken YAML")
    assert len(lines) == 1, lines
    if "\x00" in text:  # a random snippet with NUL: refused before YAML is read
        assert ":1: file is binary, not YAML text" in lines[0], lines
    else:
        assert re.search(r":\d+: (invalid YAML: |keys must be strings)", lines[0]), lines


@settings(COMMON, max_examples=INVALID_EXAMPLES // 2)
@given(text=strategies.duplicate_keys())
def test_duplicate_keys_exit_2(text: str, scratch: Path, previous_render: PreviousRender) -> None:
    lines = assert_rejected(scratch, previous_render, text, "duplicate key")
    assert any(re.search(r":\d+: duplicate key '", line) for line in lines), lines


@settings(COMMON, max_examples=INVALID_EXAMPLES)
@given(content=strategies.garbage())
def test_binary_garbage_and_random_text_exit_2(content: bytes, scratch: Path, previous_render: PreviousRender) -> None:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        text, bad_line = None, content[: exc.start].count(b"\n") + 1
    if text is not None and "\x00" not in text:
        assume("subnet" not in text)  # random text is never a valid spec; make that certain
    lines = assert_rejected(scratch, previous_render, content, "garbage")
    if b"\x00" in content:
        assert len(lines) == 1 and ":1: file is binary, not YAML text" in lines[0], lines
    elif text is None:
        assert len(lines) == 1 and f":{bad_line}: file is not valid UTF-8 text" in lines[0], (bad_line, lines)


def test_invalid_utf8_after_a_bom_is_reported_on_its_own_line(tmp_path: Path) -> None:
    """Regression: with a UTF-8 BOM, the line of an invalid byte is still the line it is on.

    source.read_text decodes with "utf-8-sig", whose ``exc.start`` counts from after the
    3-byte BOM; counting newlines in the raw bytes up to that offset once reported the line
    one too low. The garbage property puts a BOM in front of one file in five.
    """
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(codecs.BOM_UTF8 + b"name: orders-db\nregion: eu-west-1\n\xff\n")
    code, _, stderr = run_cli(["render", str(spec), "-o", str(tmp_path / "out")])
    assert code == 2
    assert stderr == f"error: {spec}:3: file is not valid UTF-8 text\n"


@settings(COMMON, max_examples=min(10, INVALID_EXAMPLES))
@given(content=strategies.huge_files(source.MAX_BYTES))
def test_files_over_1mb_exit_2(content: bytes, scratch: Path, previous_render: PreviousRender) -> None:
    lines = assert_rejected(scratch, previous_render, content, "over 1 MB")
    assert len(lines) == 1 and re.search(r":1: file is larger than 1 MB", lines[0]), lines


@settings(COMMON, max_examples=INVALID_EXAMPLES)
@given(text=strategies.alias_bombs())
def test_alias_bombs_and_deep_nesting_exit_2_quickly(text: str, scratch: Path, previous_render: PreviousRender) -> None:
    started = time.perf_counter()
    assert_rejected(scratch, previous_render, text, "alias bomb")
    assert time.perf_counter() - started < 10, "alias expansion is not bounded"


UNSAFE_TAGS = [
    '!!python/object/apply:os.system ["touch {marker}"]',
    "!!python/object/apply:os.system {{args: ['touch {marker}']}}",
    '!!python/object/new:os.system ["touch {marker}"]',
    "!!python/object/apply:subprocess.check_call [[touch, '{marker}']]",
    "!!python/object/apply:builtins.exec [\"open('{marker}', 'w').close()\"]",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:os.system {{}}",
    "!!python/tuple [a, b]",
]


@settings(COMMON, max_examples=INVALID_EXAMPLES)
@given(
    tag=st.sampled_from(UNSAFE_TAGS),
    where=st.sampled_from(["name", "tag value", "list item", "document", "key", "nested", "merged", "shadowed merge"]),
    base=strategies.valid_specs().filter(lambda spec: "subnet_ids" in spec),  # the payload goes into its list
)
def test_unsafe_yaml_tags_never_run_and_exit_2(
    tag: str,
    where: str,
    base: dict[str, Any],
    scratch: Path,
    previous_render: PreviousRender,
) -> None:
    marker = scratch / "PWNED"
    value = tag.format(marker=marker)
    rest = {key: item for key, item in base.items() if key not in ("name", "subnet_ids", "tags", "alarms")}
    spec = yaml.safe_dump(rest, default_flow_style=False)
    name, subnets = base["name"], "".join(f"  - {subnet}\n" for subnet in base["subnet_ids"])
    head = f"name: {name}\nsubnet_ids:\n{subnets}"
    text = {
        "name": f"name: {value}\nsubnet_ids:\n{subnets}{spec}",
        "tag value": f"{head}{spec}tags:\n  owner: {value}\n",
        "list item": f"{head}  - {value}\n{spec}",
        "document": f"{value}\n",
        "key": f"{head}{spec}tags:\n  ? {value}\n  : value\n",
        "nested": f"{head}{spec}alarms:\n  custom:\n    - name: {value}\n      metric: M\n      threshold: 1\n",
        "merged": f"<<: {{name: {value}}}\n{head}{spec}",
        "shadowed merge": f"<<: [{{name: {name}}}, {{name: {value}}}]\nsubnet_ids:\n{subnets}{spec}",
    }[where]
    try:
        assert_rejected(scratch, previous_render, text, "unsafe tag")
    finally:
        created = marker.exists()
        marker.unlink(missing_ok=True)
    assert not created, f"the YAML loader ran {value}"


def test_unsafe_tag_in_a_shadowed_merge_value_exits_2(tmp_path: Path) -> None:
    """Regression: an unsafe tag on a merged value that an earlier merge source shadows exits 2.

    The shadowed value is never built (and the safe loader could not build it anyway), but
    the spec once rendered with exit 0 although it holds ``!!python/object/apply``:
    yamlsrc._Builder skipped the shadowed pair without looking at its tag. The unsafe-tag
    property covers shadowed merge values too.
    """
    marker = tmp_path / "PWNED"
    rest = yaml.safe_dump({key: value for key, value in VALID_SPEC.items() if key != "name"})
    spec = tmp_path / "spec.yaml"
    spec.write_text(f'<<: [{{name: orders-db}}, {{name: !!python/object/apply:os.system ["touch {marker}"]}}]\n{rest}')
    code, _, stderr = run_cli(["render", str(spec), "-o", str(tmp_path / "out")])
    assert not marker.exists()
    assert code == 2, f"exit {code}: {stderr}"


def test_unsafe_payload_is_live_under_an_unsafe_loader(tmp_path: Path) -> None:
    """The payload of the unsafe-tag test really runs when a spec is loaded unsafely."""
    marker = tmp_path / "PWNED"
    yaml.unsafe_load(UNSAFE_TAGS[0].format(marker=marker))
    assert marker.exists()


def test_zz_report_case_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Print how many generated cases ran (shown in normal pytest output)."""
    with capsys.disabled():
        kinds = ", ".join(f"{key[9:]} {count}" for key, count in sorted(CASES.items()) if key.startswith("invalid: "))
        print(f"\nproperty cases run: {CASES['valid']} valid, {CASES['invalid']} invalid ({kinds})")
