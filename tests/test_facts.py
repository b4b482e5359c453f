"""The facts' parsed form, cached beside the bytecode: the TOML's data, refreshed when the file changes."""

from __future__ import annotations

import marshal
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfgen import facts


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data file of the test's own in place of aws.toml, its cache under tmp_path; raw() forgotten before and after."""
    path = tmp_path / "facts" / "aws.toml"
    path.parent.mkdir()
    monkeypatch.setattr(facts, "_SOURCE", path)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    facts.raw.cache_clear()
    yield path
    facts.raw.cache_clear()


def test_raw_is_the_data_file_parsed() -> None:
    assert facts.raw() == tomllib.loads(facts._SOURCE.read_text(encoding="utf-8"))


def test_the_parsed_form_is_cached_and_refreshed_when_the_file_changes(source: Path) -> None:
    source.write_text("[limits]\nmax = 1\n", encoding="utf-8")
    assert facts.raw() == {"limits": {"max": 1}}
    cache = source.parent / "__pycache__" / f"aws.toml.{sys.implementation.cache_tag}.marshal"
    key, data = marshal.loads(cache.read_bytes())
    assert data == {"limits": {"max": 1}}
    assert cache.stat().st_mode & 0o777 == source.stat().st_mode & 0o666

    source.write_text("[limits]\nmax = 22\n", encoding="utf-8")  # another size: another key
    facts.raw.cache_clear()
    assert facts.raw() == {"limits": {"max": 22}}
    assert marshal.loads(cache.read_bytes())[0] != key


def test_a_damaged_cache_is_parsed_again(source: Path) -> None:
    source.write_text("a = 1\n", encoding="utf-8")
    cache = source.parent / "__pycache__" / f"aws.toml.{sys.implementation.cache_tag}.marshal"
    cache.parent.mkdir()
    cache.write_bytes(b"\x00not marshal")
    assert facts.raw() == {"a": 1}
    assert marshal.loads(cache.read_bytes())[1] == {"a": 1}


def test_nothing_is_written_when_bytecode_is_not(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    source.write_text("a = 1\n", encoding="utf-8")
    assert facts.raw() == {"a": 1}
    assert not (source.parent / "__pycache__").exists()
