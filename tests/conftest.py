"""Shared fixtures: an isolated environment for every test, terraform set-up, and the two test tiers.

The slow tier is every test that starts a real process of one of four kinds; each kind is a
marker (``terraform``, ``emulator``, ``postgres``, ``checkov``). A test gets the marker of
every fixture in :data:`PROCESS_FIXTURES` it uses, directly or through other fixtures; a test
that starts the process itself carries the marker explicitly. The guard (``pytest_runtest_protocol``)
fails a test that starts one of these processes without its marker, so ``make test-fast``
(``-m "not terraform and not emulator and not postgres and not checkov"``) cannot start one
silently. Hypothesis has two profiles: ``thorough`` (the default, ``make test``) and
``quick`` (``make test-fast``: ``--hypothesis-profile=quick``).
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.pg import (
    postgres_server,  # noqa: F401  (session fixture: a real PostgreSQL 15 on 127.0.0.1)
    ssl_only_postgres_server,  # noqa: F401  (session fixture: a PostgreSQL that requires TLS)
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

PROCESS_MARKERS = ("terraform", "emulator", "postgres", "checkov")
"""The real processes a slow test may start; each is a marker (pyproject.toml)."""

PROCESS_FIXTURES: dict[str, str] = {
    "plugin_mirror": "terraform",
    "terraform_cli_env": "terraform",
    "endpoint": "emulator",  # a background moto server (conftest)
    "emulator_url": "emulator",  # an in-process moto server (test_aws_checks, test_module_tests)
    "local_url": "emulator",  # test_emulator
    "raw_moto_url": "emulator",  # test_emulator
    "moto_url": "emulator",  # test_runbook
    "cluster_url": "emulator",  # test_lifecycle
    "sql_url": "emulator",  # test_local_sql: an in-process moto server with real databases
    "sql_endpoint": "emulator",  # test_local_sql: a background moto server with real databases
    "ssl_only_postgres_server": "postgres",  # test_database
    "postgres_server": "postgres",
    "checkov": "checkov",  # test_security
}
"""Fixtures that start a real process (or need one), and the marker a test using them gets."""

_POSTGRES_PROGRAMS = {"initdb", "pg_ctl", "postgres", "pg_dump", "psql"}

settings.register_profile(
    "thorough",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("quick", settings.get_profile("thorough"), max_examples=10)


def pytest_configure(config: pytest.Config) -> None:
    """Load the hypothesis profile (``--hypothesis-profile``, else ``thorough``); let SIGINT through.

    A shell without job control starts background commands (``make test &``) with SIGINT
    ignored, and every child inherits that: the Ctrl-C tests would then send SIGINT to a
    terraform or tfgen that cannot receive it. The tests need Python's own handler.
    """
    settings.load_profile(config.getoption("hypothesis_profile", None) or "thorough")
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(optionalhook=True)  # xdist's: absent with -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject.toml): two workers per core the process may run on.

    The slow tests mostly wait: the aws provider polls a new cluster or instance only after a
    fixed delay of about 30 s, and the emulator's PostgreSQL servers idle. One of those tests alone
    keeps half a core busy (``/usr/bin/time`` of a test_recovery test: 100 CPU-s in 200 s), so
    one worker per core leaves the machine half idle through most of the suite.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return 2 * cores


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with the process markers of the fixtures it uses (directly or not); slow files first.

    xdist (``--dist loadfile``) hands whole files to its workers in collection order. In file
    name order the emulator scenarios (minutes each) came last, and the suite ended with one
    worker busy for a quarter of an hour while the others idled. The longest files now go
    first (:data:`FILE_SECONDS`; then the files with the most tests that run terraform on the
    emulator), and the short ones fill the gaps; the order inside a file is kept. xdist 3.6+
    would re-sort the files by their number of tests (``--loadscope-reorder``, its default), which
    puts a file of a few minute-long scenarios last: ``pyproject.toml`` turns that off.
    """
    for item in items:
        for name in getattr(item, "fixturenames", ()):
            marker = PROCESS_FIXTURES.get(name)
            if marker is not None and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
    deployments: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        slow = item.get_closest_marker("emulator") is not None and item.get_closest_marker("terraform") is not None
        deployments[path] = deployments.get(path, 0) + slow
    first = {path: index for index, path in enumerate(deployments)}

    def slowest_first(item: pytest.Item) -> tuple[int, int, int]:
        path = item.nodeid.split("::")[0]
        return (-FILE_SECONDS.get(path.rpartition("/")[2], 0), -deployments[path], first[path])

    items.sort(key=slowest_first)


FILE_SECONDS = {
    "test_restore.py": 1072,
    "test_recovery.py": 899,
    "test_recovery_resources.py": 876,
    "test_recovery_network.py": 623,
    "test_local_sql.py": 465,
    "test_upgrade.py": 422,
    "test_deploy.py": 419,
    "test_shared_network.py": 385,
    "test_packaging.py": 285,
    "test_inputs.py": 279,
    "test_global_database.py": 270,
    "test_import.py": 236,
    "test_lifecycle.py": 177,
}
"""The files that take minutes: the sum of their tests' ``--durations`` (setup and teardown
included) in a CI run of 2026-11-27 (2 cores, 4 workers). Only their order matters: a file
missing here goes after them, before the files that deploy nothing."""


# ----------------------------------------------------------------------------- the guard


def _real_programs() -> dict[str, str]:
    """Resolved path of each real program the tiers are about, by marker."""
    found: dict[str, str] = {}
    for name in ("terraform", "tofu"):
        path = shutil.which(name)
        if path:
            found[os.path.realpath(path)] = "terraform"
    checkov = os.environ.get("TFGEN_CHECKOV") or shutil.which("checkov")
    if checkov and Path(checkov).exists():
        found[os.path.realpath(checkov)] = "checkov"
    return found


_REAL_PROGRAMS = _real_programs()


def _kind_of(argv: Sequence[str], env: dict[str, str] | None) -> str | None:
    """Which of the four processes ``argv`` starts, if any (fake terraform scripts are none)."""
    if not argv:
        return None
    programs = argv[3:4] if os.path.basename(argv[0]) == "runuser" else argv[:1]  # runuser -u postgres -- PROGRAM
    if any(os.path.basename(program) in _POSTGRES_PROGRAMS for program in programs):
        return "postgres"
    python = os.path.basename(argv[0]).startswith("python")
    if python and any(
        flag == "-m" and module.startswith("tfgen.emulator") for flag, module in itertools.pairwise(argv)
    ):
        return "emulator"
    path = os.environ.get("PATH", os.defpath) if env is None else env.get("PATH", os.defpath)
    program = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=path)
    if program is None:
        return None
    return _REAL_PROGRAMS.get(os.path.realpath(program))


_SHIM = """#!/bin/sh
echo "$0 $*" >> {log}
echo "tfgen tests: this test started $(basename "$0") but is not marked {marker} (see tests/conftest.py)" >&2
exit 97
"""


class _Guard:
    """What the test running now may start (None between tests), and the stand-ins for child processes."""

    allowed: frozenset[str] | None = None
    shims: Path | None = None

    @staticmethod
    def refuse(kind: str, what: str) -> None:
        pytest.fail(
            f"this test starts {kind} ({what}) but is not marked {kind}: use a fixture of "
            f"PROCESS_FIXTURES in tests/conftest.py or add @pytest.mark.{kind}",
            pytrace=False,
        )

    @classmethod
    def check(cls, kind: str | None, what: str) -> None:
        if kind is not None and cls.allowed is not None and kind not in cls.allowed:
            cls.refuse(kind, what)


def _install_guard() -> None:
    """Classify every ``subprocess.Popen`` and in-process emulator start of this process."""
    original: Callable[..., Any] = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def guarded(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> Any:
        argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
        argv = [os.fsdecode(arg) for arg in argv]
        env = rest[5] if len(rest) > 5 and isinstance(rest[5], dict) else None  # (executable, ..., cwd, env, ...)
        _Guard.check(_kind_of(argv, env), shlex.join(argv))
        return original(self, args, *rest, **kwargs)

    subprocess.Popen._execute_child = guarded  # type: ignore[attr-defined]

    from tfgen.emulator.server import Emulator

    start = Emulator.start

    def emulator_start(self: Emulator) -> str:
        _Guard.check("emulator", "an in-process moto server")
        return start(self)

    Emulator.start = emulator_start  # type: ignore[method-assign]


def _make_shims() -> Path:
    """Stand-ins for terraform and checkov that record their use: ``<dir>/{terraform,checkov}/``."""
    base = Path(tempfile.mkdtemp(prefix="tfgen-test-shims-"))
    log = base / "started.log"
    log.touch()
    for marker, names in (("terraform", ("terraform", "tofu")), ("checkov", ("checkov",))):
        (base / marker).mkdir()
        for name in names:
            shim = base / marker / name
            shim.write_text(_SHIM.format(log=shlex.quote(str(log)), marker=marker))
            shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return base


_started_before = pytest.StashKey[int]()
"""Size of the stand-ins' log when the test began."""


def pytest_sessionstart(session: pytest.Session) -> None:
    _install_guard()
    _Guard.shims = _make_shims()
    # every emulator a test starts logs its requests (action, status, time) next to its record:
    # after a failure, <shared_dir>/emulator/.tfgen/emulator.log says what AWS was asked and when
    os.environ.setdefault("TFGEN_EMULATOR_TRACE", "1")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _Guard.shims is not None:
        shutil.rmtree(_Guard.shims, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Guard a test's setup (module and session fixtures included), call and teardown.

    A test may start terraform, an emulator, PostgreSQL or Checkov only with its marker.
    In this process every ``subprocess.Popen`` is classified before it starts and an
    in-process emulator refuses to start; for child processes (``tfgen`` run as a program)
    terraform and checkov on PATH (and ``TFGEN_CHECKOV``) are stand-ins that record that
    they ran, and the test's teardown fails.
    """
    allowed = frozenset(marker for marker in PROCESS_MARKERS if item.get_closest_marker(marker) is not None)
    assert _Guard.shims is not None
    log = _Guard.shims / "started.log"
    saved = {name: os.environ.get(name) for name in ("PATH", "TFGEN_CHECKOV")}
    for marker in ("terraform", "checkov"):
        if marker not in allowed:
            os.environ["PATH"] = f"{_Guard.shims / marker}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    if "checkov" not in allowed and os.environ.get("TFGEN_CHECKOV"):
        os.environ["TFGEN_CHECKOV"] = str(_Guard.shims / "checkov" / "checkov")
    _Guard.allowed = allowed
    item.stash[_started_before] = log.stat().st_size
    try:
        return (yield)
    finally:
        _Guard.allowed = None
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Fail the test if a stand-in ran: a child process started terraform or checkov unmarked."""
    result = yield
    assert _Guard.shims is not None
    with (_Guard.shims / "started.log").open() as started:
        started.seek(item.stash[_started_before])
        ran = started.read().strip()
    if ran:
        kind = "checkov" if os.path.basename(ran.split()[0]) == "checkov" else "terraform"
        _Guard.refuse(kind, f"in a child process: {ran.splitlines()[0]}")
    return result


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
    # API records only: a test that connects to a cluster's database starts its own emulator (test_local_sql).
    info = background.start_background(base, databases=False)
    try:
        yield info.url
    finally:
        background.stop_background(base)
