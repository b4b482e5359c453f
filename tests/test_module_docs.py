"""The rendered README and RUNBOOK tell the truth about the module they ship with.

The README's tables are held to ``variables.tf`` and ``outputs.tf`` as python-hcl2 parses
them, and its "What it creates" list and diagram to the resources of the ``*.tf`` files;
the RUNBOOK's shell snippets are valid bash and need no Terraform state to find the cluster.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.goldens import GOLDENS, spec_path
from tfgen.spec.loading import load_spec

ADDRESS = re.compile(r"\b((?:aws|random|terraform)_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)\b")


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of strings (and of block labels): strip them, recursively."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    if isinstance(value, dict):
        return {_unquote(key): _unquote(item) for key, item in value.items() if not key.startswith("__")}
    return value


def _blocks(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Every block of ``kind`` (``variable``, ``output``) in the module's ``*.tf`` files, by name, in order."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            for block in hcl2.load(handle).get(kind, []):
                for name, body in block.items():
                    found[_unquote(name)] = body
    return found


def _addresses(directory: Path, kind: str) -> set[str]:
    """``type.name`` of every ``resource`` (or ``data``, ``ephemeral``) block of the module."""
    found = set()
    for path in directory.glob("*.tf"):
        with path.open() as handle:
            for block in hcl2.load(handle).get(kind, []):
                for rtype, named in block.items():
                    found.update(f"{_unquote(rtype)}.{_unquote(name)}" for name in named if not name.startswith("__"))
    return found


def _hcl_type(text: str) -> str:
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _table(readme: str, heading: str) -> list[list[str]]:
    section = readme.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def _code(cell: str) -> str:
    assert cell.startswith("`") and cell.endswith("`"), cell
    return cell[1:-1]


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_readme_inputs_are_the_variables_with_their_real_types_and_defaults(name: str) -> None:
    module = GOLDENS[name]
    variables = _blocks(module, "variable")
    rows = _table((module / "README.md").read_text(), "Inputs")

    assert [_code(row[0]) for row in rows] == list(variables)
    for cell_name, cell_type, cell_default, _ in rows:
        variable = variables[_code(cell_name)]
        assert _code(cell_type) == _hcl_type(variable["type"]), cell_name
        shown = _code(cell_default)
        if shown != "(see variables.tf)":
            assert _unquote(hcl2.loads(f"x = {shown}\n")["x"]) == _unquote(variable["default"]), cell_name


def test_list_of_objects_is_shown_as_a_list() -> None:
    rows = _table((GOLDENS["aurora"] / "README.md").read_text(), "Inputs")
    types = {_code(row[0]): _code(row[1]) for row in rows}
    assert types["cluster_parameters"].startswith("list(object({name = string")
    assert types["custom_alarms"].startswith("map(object({metric = string")


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_readme_outputs_are_the_outputs(name: str) -> None:
    module = GOLDENS[name]
    outputs = _blocks(module, "output")
    rows = _table((module / "README.md").read_text(), "Outputs")

    assert [_code(row[0]) for row in rows] == list(outputs)
    for cell_name, sensitive, _ in rows:
        assert (sensitive == "yes") == (outputs[_code(cell_name)].get("sensitive") is True), cell_name


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_what_it_creates_and_the_diagram_name_every_resource(name: str) -> None:
    module = GOLDENS[name]
    resources = _addresses(module, "resource")
    known = resources | _addresses(module, "data") | _addresses(module, "ephemeral")
    section = (module / "README.md").read_text().split("## What it creates\n", 1)[1].split("\n## ", 1)[0]
    listed, diagram = section.split("```mermaid", 1)

    for part, what in ((listed, "the list"), (diagram, "the diagram")):
        named = {f"{rtype}.{rname}" for rtype, rname in ADDRESS.findall(part)}
        assert resources - named == set(), f"{what} misses resources of the module"
        assert named - known == set(), f"{what} names resources the module does not have"


# ------------------------------------------------------------------------------ RUNBOOK


def _snippets(runbook: str, language: str) -> list[str]:
    return re.findall(rf"^\s*```{language}\n(.*?)^\s*```$", runbook, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_runbook_shell_snippets_are_valid_bash(name: str) -> None:
    snippets = _snippets((GOLDENS[name] / "RUNBOOK.md").read_text(), "sh")
    assert len(snippets) >= 6
    for snippet in snippets:
        done = subprocess.run(["bash", "-n"], input=snippet, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{done.stderr}\n{snippet}"


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_runbook_works_without_the_state_and_finds_the_writer(name: str) -> None:
    spec = load_spec(spec_path(name)).spec
    runbook = (GOLDENS[name] / "RUNBOOK.md").read_text()
    setup = _snippets(runbook, "sh")[0]

    # AWS CLI v1 reads only AWS_DEFAULT_REGION; v2 reads AWS_REGION
    assert f"export AWS_REGION={spec.region} AWS_DEFAULT_REGION={spec.region}\n" in setup
    # nothing outside the state directory may take terraform's "No outputs found" warning for a value
    assert "terraform output -raw" not in runbook
    assert ': "${ENDPOINT:?' in setup
    if spec.credential_source == "random":
        assert "terraform output -json | jq -r '.master_password.value // empty'" in setup
    elif spec.credential_source == "primary":  # a global database's secondary: the primary's password
        assert "terraform" not in setup and "the primary's RUNBOOK.md" in setup
    else:
        assert "terraform" not in setup
        assert ': "${SECRET_ARN:?' in setup
    if spec.credential_source == "rds_managed":
        assert "--query 'DBClusters[0].MasterUserSecret.SecretArn'" in setup
    assert ': "${PGPASSWORD:?' in setup
    if spec.is_v2:
        assert "--query 'DBClusters[0].DBClusterMembers[?IsClusterWriter].DBInstanceIdentifier'" in runbook
        assert '--source-identifier "$WRITER"' in runbook
    assert "(the writer)" not in runbook


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_runbook_creates_pg_stat_statements_before_reading_it(name: str) -> None:
    runbook = (GOLDENS[name] / "RUNBOOK.md").read_text()
    [query] = [sql for sql in _snippets(runbook, "sql") if "pg_stat_statements" in sql]
    assert query.startswith("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;\n")


def test_write_only_secret_lookup_matches_how_the_module_names_and_describes_it() -> None:
    module = GOLDENS["local"]
    with (module / "main.tf").open() as handle:
        resources = hcl2.load(handle)["resource"]
    [secret] = [
        _unquote(block)["aws_secretsmanager_secret"]["master"]
        for block in resources
        if any(_unquote(key) == "aws_secretsmanager_secret" for key in block)
    ]
    setup = _snippets((module / "RUNBOOK.md").read_text(), "sh")[0]
    spec = load_spec(spec_path("local")).spec
    assert secret["name_prefix"] == f"{spec.name}-master-"
    assert 'Key=name,Values="$CLUSTER-master-"' in setup
    prefix = re.search(r"starts_with\(Description \|\| '', '([^']*)'\)", setup)
    assert prefix
    assert secret["description"].startswith(prefix.group(1).replace("$CLUSTER", spec.name))
