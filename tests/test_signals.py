"""Interruptions: SIGTERM and SIGHUP handled like Ctrl-C, kill -9 of tfgen, tfgen's own output going away.

Every test sends real signals to real processes. The fast ones run ``python -m tfgen output``
(the one deploy command that starts terraform without ``init``) with a fake terraform, a Python
script that stops on SIGINT the way terraform does: it takes a moment, writes down that it
stopped, and exits. The slow ones run ``tfgen apply`` with real terraform against the emulator and
interrupt it while the cluster is being created, then check that the next ``tfgen apply``
completes: terraform saved its state and released its lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tfgen.deploy import workdir
from tfgen.errors import ExitCode
from tfgen.terraform import process

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "local.yaml"

FAKE = """\
#!{python}
import json, os, signal, sys, time

argv = sys.argv[1:]
log = os.environ["FAKE_LOG"]
if argv[:1] == ["version"]:
    print(json.dumps({{"terraform_version": "1.11.4", "platform": "linux_amd64"}}))
    sys.exit(0)
behaviour = os.environ.get("FAKE_BEHAVIOUR", "")

def note(what):
    with open(log, "a") as handle:
        handle.write(json.dumps({{"event": what, "pid": os.getpid(), "pgid": os.getpgid(0)}}) + "\\n")

def stop(signum, frame):
    note("signal " + signal.Signals(signum).name)
    time.sleep(1)  # saving the state
    note("stopped")
    os._exit(1)

signal.signal(signal.SIGINT, stop)
config = os.environ.get("TF_CLI_CONFIG_FILE")
if config and os.path.exists(config):
    with open(config) as handle, open(log, "a") as out:
        out.write(json.dumps({{"event": "cli config", "path": config, "text": handle.read()}}) + "\\n")
if "state" in behaviour:  # what terraform writes in its working directory
    for name in ("terraform.tfstate", "terraform.tfstate.backup", "saved.tfplan"):
        with open(name, "w") as handle:
            handle.write("{{}}")
if "provider" in behaviour:  # a child in terraform's process group that outlives it unless killed
    import subprocess
    child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(120)"])
    with open(log, "a") as handle:
        handle.write(json.dumps({{"event": "provider", "pid": child.pid}}) + "\\n")
if "chatty" in behaviour:
    for n in range(200):
        print(json.dumps({{"n": n}}), flush=True)
        time.sleep(0.01)
note("started")
if "quick" in behaviour:
    print("{{}}")
    sys.exit(0)
time.sleep(60)
note("timed out")
sys.exit(3)
"""


class FakeTerraform:
    """The fake binary and the log of what it did."""

    def __init__(self, tmp_path: Path) -> None:
        self.binary = tmp_path / "bin" / "terraform"
        self.binary.parent.mkdir()
        self.binary.write_text(FAKE.format(python=sys.executable), encoding="utf-8")
        self.binary.chmod(0o755)
        self.log = tmp_path / "fake.jsonl"
        self.workdir = tmp_path / "work"
        self.workdir.mkdir()
        (self.workdir / "main.tf").write_text("# a deployed working directory\n", encoding="utf-8")

    def events(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def wait_for(self, event: str, timeout: float = 60) -> dict[str, Any]:
        """The first logged event named ``event``; waits for the event (the bound only ends a broken test)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for found in self.events():
                if found["event"] == event:
                    return found
            time.sleep(0.05)
        pytest.fail(f"the fake never logged {event!r}: {self.events()}")

    def tfgen_output(
        self, behaviour: str = "", env: dict[str, str] | None = None, **popen: Any
    ) -> subprocess.Popen[str]:
        """``python -m tfgen output`` with this fake, in a session of its own (like a terminal's job)."""
        env = {
            **os.environ,
            "FAKE_LOG": str(self.log),
            "FAKE_BEHAVIOUR": behaviour,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        argv = ["output", str(SPEC), "--workdir", str(self.workdir), "--terraform", str(self.binary)]
        popen.setdefault("stdout", subprocess.PIPE)
        return subprocess.Popen(
            [sys.executable, "-m", "tfgen", *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            **popen,
        )


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def session_members(sid: int) -> dict[int, str]:
    """The live processes of session ``sid``: pid → command line."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text(encoding="utf-8")
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session, ...
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition``; ``timeout`` bounds a broken run only, it is not a speed requirement."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:g}s")
        time.sleep(0.2)


@contextlib.contextmanager
def stopped_at_the_end(proc: subprocess.Popen[str], *pids: Callable[[], list[int]]) -> Iterator[None]:
    """Whatever the test did, nothing it started keeps running."""
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for more in pids:
            for pid in more():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------- fast: a fake terraform


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, ExitCode.TERMINATED), (signal.SIGHUP, ExitCode.HUNG_UP), (signal.SIGINT, ExitCode.INTERRUPTED)],
)
def test_a_signal_is_forwarded_once_and_tfgen_waits_for_terraform(
    tmp_path: Path, signum: signal.Signals, code: ExitCode
) -> None:
    fake = FakeTerraform(tmp_path)
    tfgen = fake.tfgen_output()
    with stopped_at_the_end(tfgen, lambda: [e["pid"] for e in fake.events() if "pid" in e]):
        started = fake.wait_for("started")
        os.kill(tfgen.pid, signum)  # as systemd, kubernetes or a closing terminal send it: to tfgen alone
        _, err = tfgen.communicate(timeout=60)
    assert tfgen.returncode == code == 128 + signum, err
    events = [e["event"] for e in fake.events()]
    assert events.count("signal SIGINT") == 1  # forwarded once, as SIGINT (terraform's graceful stop)
    assert events[-1] == "stopped"  # tfgen exited after terraform had stopped
    assert started["pgid"] != tfgen.pid  # terraform has a process group of its own
    how = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
    assert f"error: terraform output interrupted{how}; terraform stopped cleanly" in err
    assert "Traceback" not in err


def test_sighup_stays_ignored_under_nohup(tmp_path: Path) -> None:
    fake = FakeTerraform(tmp_path)
    tfgen = fake.tfgen_output(preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    with stopped_at_the_end(tfgen, lambda: [e["pid"] for e in fake.events() if "pid" in e]):
        fake.wait_for("started")
        os.kill(tfgen.pid, signal.SIGHUP)
        time.sleep(1)  # a handled SIGHUP would have reached terraform by now
        assert tfgen.poll() is None
        assert "signal SIGINT" not in [e["event"] for e in fake.events()]
        os.kill(tfgen.pid, signal.SIGTERM)
        tfgen.communicate(timeout=60)
    assert tfgen.returncode == ExitCode.TERMINATED


def test_kill_9_of_tfgen_stops_terraform_gracefully(tmp_path: Path) -> None:
    """terraform gets SIGINT when tfgen dies (PR_SET_PDEATHSIG): it saves its state and stops its providers."""
    fake = FakeTerraform(tmp_path)
    tfgen = fake.tfgen_output()
    with stopped_at_the_end(tfgen, lambda: [e["pid"] for e in fake.events() if "pid" in e]):
        started = fake.wait_for("started")
        os.kill(tfgen.pid, signal.SIGKILL)
        tfgen.wait()
        fake.wait_for("stopped")
        wait_until(lambda: not alive(started["pid"]), 30, "the fake terraform did not exit")
    assert [e["event"] for e in fake.events()].count("signal SIGINT") == 1


def test_what_terraform_leaves_in_its_group_is_killed(tmp_path: Path) -> None:
    fake = FakeTerraform(tmp_path)
    tfgen = fake.tfgen_output("provider quick")
    with stopped_at_the_end(tfgen, lambda: [e["pid"] for e in fake.events() if "pid" in e]):
        _, err = tfgen.communicate(timeout=60)
        provider = fake.wait_for("provider")["pid"]
        wait_until(lambda: not alive(provider), 30, "the provider outlived terraform")
    assert tfgen.returncode == 0, err


def test_terraform_output_never_goes_through_a_pipe(tmp_path: Path) -> None:
    """If terraform's output went through a pipe, kill -9 of tfgen would make its next write a SIGPIPE."""
    fake = FakeTerraform(tmp_path)
    tfgen = fake.tfgen_output()
    with stopped_at_the_end(tfgen, lambda: [e["pid"] for e in fake.events() if "pid" in e]):
        pid = fake.wait_for("started")["pid"]
        for fd in (1, 2):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            assert not target.startswith("pipe:"), target
            assert target.endswith("(deleted)") or target.startswith("/"), target
        names = sorted(p.name for p in fake.workdir.iterdir())
        tfgen.send_signal(signal.SIGTERM)
        tfgen.communicate(timeout=60)
    assert names == ["main.tf"] or all(not n.startswith(".tfgen-output") for n in names)  # nameless files


def test_the_copy_of_the_cli_config_outlives_no_kill(tmp_path: Path) -> None:
    """The caller's CLI config (registry tokens) plus the mirror block: terraform reads it, nothing keeps it."""
    token = "tfgen-test-token-" + os.urandom(8).hex()
    caller = tmp_path / "caller.tfrc"
    caller.write_text(f'credentials "app.terraform.io" {{\n  token = "{token}"\n}}\n', encoding="utf-8")
    (tmp_path / "mirror").mkdir()
    (tmp_path / "tmp").mkdir()
    fake = FakeTerraform(tmp_path)
    # `tfgen output` takes no plugin mirror: the library, as plan and apply run it, in a process of its own
    script = (
        "import os, sys; from pathlib import Path; from tfgen.terraform.commands import Terraform; "
        "from tfgen.terraform.config import TerraformSettings; "
        "Terraform(Path(sys.argv[1]), TerraformSettings(env=dict(os.environ), binary=sys.argv[2], "
        "plugin_mirror=Path(sys.argv[3]))).output()"
    )
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(caller), "TMPDIR": str(tmp_path / "tmp"), "FAKE_LOG": str(fake.log)}
    argv = [sys.executable, "-c", script, str(fake.workdir), str(fake.binary), str(tmp_path / "mirror")]
    tfgen = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True, text=True)
    with stopped_at_the_end(tfgen, lambda: [e["pid"] for e in fake.events() if "pid" in e]):
        fake.wait_for("started")
        os.kill(tfgen.pid, signal.SIGKILL)
        tfgen.wait()
        fake.wait_for("stopped")
    seen = [e for e in fake.events() if e["event"] == "cli config"]
    assert token in seen[-1]["text"] and "filesystem_mirror" in seen[-1]["text"]  # terraform could read it
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != caller:
            assert token.encode() not in path.read_bytes() or path == fake.log, path


def test_terraform_writes_for_the_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    fake = FakeTerraform(tmp_path)
    tfgen = fake.tfgen_output("state quick", umask=0)
    with stopped_at_the_end(tfgen, lambda: [e["pid"] for e in fake.events() if "pid" in e]):
        _, err = tfgen.communicate(timeout=60)
    assert tfgen.returncode == 0, err
    modes = {
        name: (fake.workdir / name).stat().st_mode & 0o777
        for name in ("terraform.tfstate", "terraform.tfstate.backup", "saved.tfplan")
    }
    assert modes == dict.fromkeys(modes, 0o600)


def test_a_working_directory_is_taken_back(tmp_path: Path) -> None:
    """Made by an older tfgen, or by hand under umask 000: 0700, its states and plans 0600."""
    directory = tmp_path / ".tfgen" / "orders"
    (directory / ".terraform").mkdir(parents=True)
    directory.chmod(0o777)
    secret = [
        "terraform.tfstate",
        "terraform.tfstate.backup",
        "errored.tfstate",
        "tfgen.tfplan",
        ".terraform/terraform.tfstate",
    ]
    for name in [*secret, "main.tf"]:
        (directory / name).write_text("{}", encoding="utf-8")
        (directory / name).chmod(0o666)
    workdir.create(directory)
    assert directory.stat().st_mode & 0o777 == 0o700
    assert {name: (directory / name).stat().st_mode & 0o777 for name in secret} == dict.fromkeys(secret, 0o600)
    workdir.create(tmp_path / "new" / "dir")
    assert (tmp_path / "new" / "dir").stat().st_mode & 0o777 == 0o700


def test_output_that_fails_does_not_stop_terraform(tmp_path: Path) -> None:
    """tfgen's stdout closed (``tfgen ... | head -1``): terraform finishes what it does; tfgen exits 1 quietly."""
    events: list[str] = []

    def on_stdout(line: str) -> None:
        events.append(line)
        if len(events) == 3:
            raise BrokenPipeError(32, "Broken pipe")

    fake = FakeTerraform(tmp_path)
    env = {**os.environ, "FAKE_LOG": str(fake.log), "FAKE_BEHAVIOUR": "chatty quick"}
    running = process.start([str(fake.binary), "output"], cwd=fake.workdir, env=env)
    with pytest.raises(BrokenPipeError):
        process.supervise(running, on_stdout, lambda line: None)
    assert len(events) == 3  # no more output after the failure
    assert running.proc.returncode == 0  # terraform was not stopped: it printed its 200 lines and exited
    assert "signal SIGINT" not in [e["event"] for e in fake.events()]


def test_a_closed_stdout_is_quiet(tmp_path: Path) -> None:
    """``tfgen schema | head -c0``: exit 1, no traceback, no "Exception ignored" at exit."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tfgen", "schema"], stdout=write, stderr=subprocess.PIPE, text=True, timeout=60
        )
    finally:
        os.close(write)
    assert done.returncode == ExitCode.FAILED
    assert done.stderr == ""


# ----------------------------------------------------------------------------- slow: real terraform, the emulator


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Module-wide directory: plugin cache, emulator record."""
    base = tmp_path_factory.mktemp("signals")
    for name in ("plugin-cache", "emulator"):
        (base / name).mkdir()
    return base


@pytest.fixture
def deploy_env(monkeypatch: pytest.MonkeyPatch, shared_dir: Path, plugin_mirror: Path) -> None:
    monkeypatch.setenv("TFGEN_PLUGIN_CACHE_DIR", str(shared_dir / "plugin-cache"))
    monkeypatch.setenv("TFGEN_PLUGIN_MIRROR", str(plugin_mirror))
    monkeypatch.delenv("TF_DATA_DIR", raising=False)  # .terraform/ in each working directory, as tfgen expects


def v1_spec(directory: Path, name: str) -> Path:
    """examples/v1-legacy.yaml deployable on the emulator (no instance: the cheapest cluster)."""
    import yaml

    data = yaml.safe_load((ROOT / "examples" / "v1-legacy.yaml").read_text(encoding="utf-8"))
    data.update(name=name, deletion_protection=False, network={"allowed_cidr_blocks": ["10.30.0.0/16", "10.31.0.0/16"]})
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class Apply:
    """``python -m tfgen apply --auto-approve`` in a session of its own; stdout read line by line."""

    CREATING = "aws_rds_cluster.this: still creating"
    """CreateDBCluster has returned and the provider waits for the cluster: the moment to interrupt.

    (An interrupt while an API call is in flight can leave a resource the state does not
    record; adopting those is another part of the recovery, not what these tests are about.)"""

    def __init__(self, spec: Path, endpoint: str, directory: Path, *, umask: int) -> None:
        self.local = ["--endpoint", endpoint, "--workdir", str(directory)]
        self.umask = umask
        argv = ["apply", "--auto-approve", str(spec), *self.local]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tfgen", *argv],
            umask=umask,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.err: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err.append), daemon=True).start()

    @staticmethod
    def _read(stream: IO[str], put: Callable[[Any], None]) -> None:
        with contextlib.suppress(ValueError, OSError):  # closed by the test
            for line in stream:
                put(line.rstrip("\n"))
        put(None)

    def wait_for(self, needle: str, timeout: float = 600) -> None:
        """Read stdout until a line holds ``needle`` (the bound only ends a broken run)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if needle in line:
                return
        self.proc.kill()
        err = [line for line in self.err if line is not None]  # None marks the end of stderr
        pytest.fail(f"no {needle!r} on tfgen's stdout:\n" + "\n".join(self.seen + err))

    def finish(self, timeout: float = 600) -> int:
        return self.proc.wait(timeout=timeout)

    @property
    def stderr(self) -> str:
        return "\n".join(line for line in self.err if line is not None)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def tfgen(*argv: str, umask: int = -1) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tfgen", *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        umask=umask,
    )


def apply_completes(spec: Path, job: Apply, directory: Path) -> None:
    """The interrupted apply saved its state and released its lock; the next ``tfgen apply`` completes.

    Under the job's umask, the working directory stays 0700 and what holds secrets 0600.
    """
    assert not (directory / ".terraform.tfstate.lock.info").exists()
    assert (directory / "terraform.tfstate").is_file()
    again = tfgen("apply", str(spec), "--auto-approve", *job.local, umask=job.umask)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "apply complete: " in again.stdout
    plan = tfgen("plan", str(spec), *job.local, umask=job.umask)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "no changes; the infrastructure matches the spec" in plan.stdout
    assert directory.stat().st_mode & 0o777 == 0o700
    for name in ("terraform.tfstate", "terraform.tfstate.backup", workdir.PLAN_FILE, ".terraform/terraform.tfstate"):
        if name != ".terraform/terraform.tfstate" or (directory / name).exists():
            assert (directory / name).stat().st_mode & 0o777 == 0o600, name


@pytest.mark.terraform
@pytest.mark.usefixtures("deploy_env")
def test_sigterm_during_apply_stops_terraform_cleanly_and_apply_recovers(tmp_path: Path, endpoint: str) -> None:
    spec = v1_spec(tmp_path / "specs", "tfgen-sigterm")
    directory = tmp_path / "work"
    job = Apply(spec, endpoint, directory, umask=0o000)
    try:
        job.wait_for(Apply.CREATING)
        job.proc.send_signal(signal.SIGTERM)
        code = job.finish()
    finally:
        job.cleanup()
    assert code == ExitCode.TERMINATED == 143, job.stderr
    assert "terraform apply interrupted by SIGTERM; terraform stopped cleanly" in job.stderr
    assert "Traceback" not in job.stderr
    apply_completes(spec, job, directory)


@pytest.mark.terraform
@pytest.mark.usefixtures("deploy_env")
def test_kill_9_of_tfgen_during_apply_leaves_no_process_and_apply_recovers(tmp_path: Path, endpoint: str) -> None:
    spec = v1_spec(tmp_path / "specs", "tfgen-sigkill")
    directory = tmp_path / "work"
    job = Apply(spec, endpoint, directory, umask=0o022)
    sid = job.proc.pid  # its own session: terraform and the providers are in it too
    try:
        job.wait_for(Apply.CREATING)
        members = session_members(sid)
        assert any("terraform-provider-aws" in line for line in members.values()), members
        os.kill(job.proc.pid, signal.SIGKILL)
        job.proc.wait()
        # terraform got SIGINT (PR_SET_PDEATHSIG): it waits for the calls in flight and the
        # provider's waiter to notice, saves the state and stops its providers; seconds on an idle
        # machine, the bound is for a loaded one
        wait_until(lambda: not session_members(sid), 600, "terraform or a provider outlived tfgen")
    finally:
        for pid in session_members(sid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        job.cleanup()
    apply_completes(spec, job, directory)


@pytest.mark.terraform
@pytest.mark.usefixtures("deploy_env")
def test_stdout_closed_during_apply_does_not_stop_terraform(tmp_path: Path, endpoint: str) -> None:
    """``tfgen apply | head``: terraform is not killed by SIGPIPE (nor stopped); the apply completes."""
    spec = v1_spec(tmp_path / "specs", "tfgen-sigpipe")
    directory = tmp_path / "work"
    job = Apply(spec, endpoint, directory, umask=0o022)
    try:
        job.wait_for(Apply.CREATING)
        assert job.proc.stdout is not None
        job.proc.stdout.close()  # the reader goes away: tfgen's next write fails with EPIPE
        code = job.finish()
    finally:
        job.cleanup()
    assert code == ExitCode.FAILED, job.stderr
    assert "Traceback" not in job.stderr and "Broken pipe" not in job.stderr and "Exception" not in job.stderr
    assert not (directory / ".terraform.tfstate.lock.info").exists()
    plan = tfgen("plan", str(spec), *job.local)  # the apply finished: nothing left to do
    assert plan.returncode == 0, plan.stdout + plan.stderr
    recorded = json.loads((directory / "terraform.tfstate").read_text(encoding="utf-8"))
    in_state = sorted(f"{r.get('module', '')}.{r['type']}.{r['name']}" for r in recorded.get("resources", []))
    assert "no changes; the infrastructure matches the spec" in plan.stdout, (plan.stdout, job.stderr, in_state)

    # `tfgen plan ... | head -c0`: the reader is gone before tfgen writes anything
    read, write = os.pipe()
    os.close(read)
    try:
        closed = subprocess.run(
            [sys.executable, "-m", "tfgen", "plan", str(spec), *job.local],
            stdin=subprocess.DEVNULL,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=900,
        )
    finally:
        os.close(write)
    assert closed.returncode == ExitCode.FAILED
    assert "Traceback" not in closed.stderr and "Broken pipe" not in closed.stderr
    assert "Exception" not in closed.stderr
