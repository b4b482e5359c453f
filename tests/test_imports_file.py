"""deploy/imports: the import blocks tfgen writes into a working directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tfgen.deploy import imports
from tfgen.deploy.imports import ImportBlock


def test_blocks_round_trip_sorted(tmp_path: Path) -> None:
    blocks = [
        ImportBlock('module.cluster.aws_rds_cluster_instance.this["1"]', "demo-1", reason="created before\nthe kill"),
        ImportBlock("module.cluster.aws_rds_cluster.this", 'odd"id\\x'),
    ]
    path = imports.write(tmp_path, blocks)
    assert path == tmp_path / imports.IMPORTS_FILE
    text = path.read_text()
    assert text.index("aws_rds_cluster.this") < text.index("aws_rds_cluster_instance")
    assert "# created before the kill\n" in text
    assert [(b.address, b.id) for b in imports.read(tmp_path)] == sorted((b.address, b.id) for b in blocks)


def test_no_blocks_removes_the_file(tmp_path: Path) -> None:
    imports.write(tmp_path, [ImportBlock("module.cluster.aws_security_group.this[0]", "sg-1")])
    assert imports.write(tmp_path, []) is None
    assert not (tmp_path / imports.IMPORTS_FILE).exists()
    assert imports.read(tmp_path) == []
    assert imports.clear(tmp_path) is False


@pytest.mark.parametrize("address", ["", "aws_rds_cluster", "module.cluster.", "x.y z"])
def test_bad_address_refused(address: str) -> None:
    with pytest.raises(ValueError):
        ImportBlock(address, "id")


def test_duplicate_address_refused() -> None:
    block = ImportBlock("module.cluster.aws_rds_cluster.this", "a")
    with pytest.raises(ValueError, match="two imports"):
        imports.render([block, ImportBlock(block.address, "b")])


@pytest.mark.terraform
def test_the_file_is_in_terraform_fmt_style(tmp_path: Path) -> None:
    imports.write(
        tmp_path,
        [
            ImportBlock("module.cluster.aws_rds_cluster.this", "demo", reason="adopted"),
            ImportBlock('module.cluster.aws_rds_cluster_instance.this["2"]', "demo-2"),
        ],
    )
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", str(tmp_path / imports.IMPORTS_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_key_with_a_space_reads_back(tmp_path: Path) -> None:
    """An egress rule's key is "<cidr> <port>": the reader takes the whole address."""
    blocks = [
        ImportBlock('module.cluster.aws_vpc_security_group_egress_rule.this["10.54.0.0/16 443"]', "sgr-0123"),
        ImportBlock("module.cluster.aws_rds_cluster.this", "demo"),
    ]
    imports.write(tmp_path, blocks)
    assert imports.read(tmp_path) == sorted(ImportBlock(b.address, b.id) for b in blocks)
