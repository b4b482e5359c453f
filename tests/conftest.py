"""Shared fixtures: an isolated environment for every test, and terraform set-up."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import (
    postgres_server,  # noqa: F401  (session fixture: a real PostgreSQL 15 on 127.0.0.1)
    ssl_only_postgres_server,  # noqa: F401  (session fixture: a PostgreSQL that requires TLS)
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep HOME, terraform's data dir and caches inside the test's tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("TF_DATA_DIR", str(tmp_path / "tf-data"))
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    monkeypatch.delenv("TF_CLI_ARGS", raising=False)
    yield


def _require_terraform() -> bool:
    return os.environ.get("TFGEN_REQUIRE_TERRAFORM") == "1"


@pytest.fixture(scope="session")
def plugin_mirror() -> Path:
    """The offline provider mirror (TFGEN_PLUGIN_MIRROR); skips without it, fails in CI."""
    if shutil.which("terraform") is None:
        if _require_terraform():
            pytest.fail("terraform is not on PATH (TFGEN_REQUIRE_TERRAFORM=1)")
        pytest.skip("terraform is not on PATH")
    mirror = os.environ.get("TFGEN_PLUGIN_MIRROR")
    if not mirror or not (Path(mirror) / "registry.terraform.io").is_dir():
        if _require_terraform():
            pytest.fail("TFGEN_PLUGIN_MIRROR does not name a provider mirror (TFGEN_REQUIRE_TERRAFORM=1)")
        pytest.skip("no offline provider mirror (set TFGEN_PLUGIN_MIRROR)")
    return Path(mirror)


@pytest.fixture(scope="session")
def terraform_cli_env(plugin_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for running terraform by hand in tests: mirror plus a session plugin cache."""
    base = tmp_path_factory.mktemp("terraform")
    config = base / "mirror.tfrc"
    config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{plugin_mirror}"\n  }}\n}}\n')
    cache = base / "plugin-cache"
    cache.mkdir()
    return {
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_PLUGIN_CACHE_DIR": str(cache),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }


@pytest.fixture(scope="module")
def endpoint(shared_dir: Path) -> Iterator[str]:
    """A background moto server (its own process) for a whole module; stopped at the end.

    The requesting module defines ``shared_dir`` (its plugin cache, HOME and this emulator's record).
    """
    from tfgen.emulator import background

    base = shared_dir / "emulator"
    info = background.start_background(base)
    try:
        yield info.url
    finally:
        background.stop_background(base)
