"""The one module that starts terraform.

python-terraform 0.10.1 builds the command lines (its option handling, working
directory and binary path); our own runner in this module starts the process,
streams terraform's ``-json`` UI line by line, forwards Ctrl-C and turns the
finished process into a result or a :class:`~tfgen.errors.TerraformError`.

The library dates from 2019 and has traps with Terraform >= 0.15, each handled
here (the tests in ``tests/test_terraform_wrapper.py`` cover every one):

* ``destroy()`` always adds ``-force``, which Terraform >= 0.15 rejects ("flag
  provided but not defined: -force"). We never call it: :meth:`Terraform.destroy`
  runs ``plan -destroy -out=FILE`` and applies exactly that saved plan.
* ``apply()`` adds ``-auto-approve=false`` unless ``skip_plan=True``. We always
  apply a saved plan and pass ``skip_plan=True`` (``-auto-approve=true``, which
  terraform accepts and ignores for a saved plan): never a prompt.
* Every method adds ``var=self.variables`` (``{}`` by default), which becomes a
  temporary ``-var-file``; terraform refuses that when applying a saved plan ("Can't
  set variables when applying a saved plan"). Every call passes ``var=None``, and
  the argv builder refuses any dict ``var`` so a forgotten ``var=None`` fails loudly
  instead of leaking a temp file and breaking apply.
* ``cmd(synchronous=False)`` leaks a ``-synchronous=false`` flag into the argv, and
  ``cmd()`` either captures output or lets it through, never both. We never call the
  library's ``cmd()`` runner: the builder only returns the argv (and rejects the
  runner-only options ``capture_output``, ``raise_on_error`` and ``synchronous``).
* With ``raise_on_error``, plan's ``-detailed-exitcode`` 2 ("changes present")
  raises. Our runner reads the exit code itself: 0 no changes, 2 changes, else error.

Nothing here reads the process environment: the caller passes it in
:class:`TerraformSettings`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, NamedTuple

import python_terraform

from tfgen.errors import CommandInterrupted, TerraformError

MINIMUM_VERSION: tuple[int, int] = (1, 11)
"""Write-only attributes (``master_password_wo``) need Terraform 1.11."""

Event = dict[str, Any]
"""One message of terraform's machine-readable UI (``-json``), e.g. ``{"type": "planned_change", ...}``."""

EventHandler = Callable[[Event], None]

_STOP_GRACE_SECONDS = 60.0
"""How long a terraform we stop on our own (an exception in an event handler) may take."""

_EXIT_DRAIN_SECONDS = 2.0
"""After terraform exits, how long to wait for output still held by a straggler."""

_PROVIDER_FAILURES = (
    "Failed to query available provider packages",
    "Failed to install provider",
    "Failed to install provider from shared cache",
    "Incompatible provider version",
    "Provider not available",
)
_PROVIDER_IN_DETAIL = re.compile(r"\bprovider\s+((?:[\w.\-]+/)?[\w.\-]+/[\w.\-]+)")
_PROVIDER_INSTALLATION_BLOCK = re.compile(r"^\s*provider_installation\b", re.MULTILINE)


@dataclass(frozen=True, kw_only=True)
class TerraformSettings:
    """How to start terraform; built by the CLI, nothing here reads ``os.environ``.

    Attributes:
        env: The base environment of the child, usually ``dict(os.environ)``; its
            ``PATH`` is where ``binary`` is looked up. Required: an empty environment
            would silently lose PATH, HOME and the AWS credentials.
        binary: The executable, a name looked up on ``env["PATH"]`` or a path
            (``tofu`` works too).
        plugin_mirror: A provider mirror directory (``filesystem_mirror`` layout). When
            set, each command gets a temporary CLI config installing providers from
            it only; see :meth:`Terraform.child_env` for how it combines with a
            ``TF_CLI_CONFIG_FILE`` already in ``env``.
        plugin_cache_dir: Shared provider cache (``TF_PLUGIN_CACHE_DIR``), created if
            missing, so the large aws provider is not unpacked once per cluster.
        cancel: When set, a running command is stopped as by one Ctrl-C (terraform stops
            cleanly and releases its lock) and raises ``CommandInterrupted``: how commands
            in worker threads, which get no signals, are interrupted.
        version_cache: A JSON file remembering the version of each binary checked, by its
            resolved path, device, inode, size, mtime and ctime: ``terraform version -json``
            then runs once per binary, not before every command (see :meth:`Terraform.version`).
            None: check every time.
    """

    env: Mapping[str, str]
    binary: str = "terraform"
    plugin_mirror: Path | None = None
    plugin_cache_dir: Path | None = None
    cancel: threading.Event | None = None
    version_cache: Path | None = None


@dataclass(frozen=True)
class Diagnostic:
    """One terraform diagnostic (error or warning).

    Attributes:
        severity: ``"error"`` or ``"warning"``.
        summary: One line.
        detail: Longer explanation, may be empty or span lines.
        filename: Configuration file, relative to the working directory, if known.
        line: 1-based line in ``filename``, if known.
        address: Resource address the diagnostic is about, if any.
    """

    severity: str
    summary: str
    detail: str = ""
    filename: str | None = None
    line: int | None = None
    address: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Diagnostic:
        """Build from the ``diagnostic`` object of a ``-json`` event or of ``validate -json``.

        Args:
            data: The diagnostic object (``severity``, ``summary``, ``detail``, ``range``...).

        Returns:
            The diagnostic.
        """
        where = data.get("range") or {}
        start = where.get("start") or {}
        line = start.get("line")
        address = data.get("address")
        return cls(
            severity=str(data.get("severity", "error")),
            summary=str(data.get("summary", "")),
            detail=str(data.get("detail") or ""),
            filename=where.get("filename"),
            line=line if isinstance(line, int) else None,
            address=address if isinstance(address, str) else None,
        )

    @property
    def location(self) -> str | None:
        """``FILE:LINE`` (or ``FILE``) when terraform said where, else ``None``."""
        if self.filename is None:
            return None
        return f"{self.filename}:{self.line}" if self.line is not None else self.filename

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        about = f" ({self.address})" if self.address else ""
        return f"{where}{self.severity}: {self.summary}{about}"


class ResourceChange(NamedTuple):
    """One planned (or drifted) resource change, e.g. ``("aws_rds_cluster.this", "create")``."""

    address: str
    action: str


@dataclass(frozen=True)
class PlanResult:
    """What ``terraform plan -detailed-exitcode -json`` reported.

    Attributes:
        plan_file: The saved plan (apply it with :meth:`Terraform.apply`).
        changes_present: Exit code 2: the plan changes resources or outputs.
        add: Resources to create (from ``change_summary``).
        change: Resources to update in place.
        remove: Resources to destroy.
        resource_changes: ``planned_change`` events, in terraform's order.
        drift: ``resource_drift`` events: changes made outside terraform.
        warnings: Warning diagnostics.
    """

    plan_file: Path
    changes_present: bool
    add: int = 0
    change: int = 0
    remove: int = 0
    resource_changes: tuple[ResourceChange, ...] = ()
    drift: tuple[ResourceChange, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class ApplyResult:
    """What ``terraform apply -json PLAN`` reported (from its ``change_summary``).

    Attributes:
        add: Resources created.
        change: Resources updated.
        remove: Resources destroyed.
        warnings: Warning diagnostics.
    """

    add: int = 0
    change: int = 0
    remove: int = 0
    warnings: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class OutputValue:
    """One root module output (``terraform output -json``).

    Attributes:
        value: The value, also for sensitive outputs: the caller decides whether to show it.
        sensitive: Declared ``sensitive = true``.
        type: Terraform's type description, e.g. ``"string"`` or ``["list", "string"]``.
    """

    value: Any
    sensitive: bool
    type: Any = None


class TerraformRunError(TerraformError):
    """A terraform command finished with a failure exit code.

    Attributes:
        command: The argv that ran.
        returncode: Its exit code.
        diagnostics: Every diagnostic terraform reported (errors and warnings).
        output: The last lines terraform printed that were not JSON (usually stderr).
    """

    def __init__(
        self,
        message: str,
        *,
        command: list[str],
        returncode: int,
        diagnostics: list[Diagnostic],
        output: list[str],
        hint: str | None = None,
        headline: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.headline = headline or message
        self.command = command
        self.returncode = returncode
        self.diagnostics = diagnostics
        self.output = output

    @property
    def errors(self) -> list[Diagnostic]:
        """The error diagnostics."""
        return [d for d in self.diagnostics if d.severity == "error"]

    def lines(self) -> list[str]:
        """The headline, then each error (``FILE:LINE: error: summary`` plus detail), or the raw output."""
        result = [self.headline if self.errors else self.message]
        errors = self.errors
        for diagnostic in errors:
            result.append(f"  {diagnostic}")
            result.extend(f"    {line}" for line in diagnostic.detail.splitlines() if line.strip())
        if not errors:
            result.extend(f"  {line}" for line in self.output)
        return result


class ProviderInstallError(TerraformRunError):
    """``terraform init`` could not install a provider (not in the mirror, or offline).

    Attributes:
        providers: The providers that failed, e.g. ``["hashicorp/random"]``.
    """

    def __init__(self, message: str, *, providers: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.providers = providers


class _ArgvBuilder(python_terraform.Terraform):  # type: ignore[misc]
    """python-terraform with its runner cut off: its methods return the argv.

    The library's ``apply()``, ``plan()``, ``init()``... end in ``self.cmd(...)``; here
    ``cmd`` only calls the library's ``generate_cmd_string`` and hands back the list.
    """

    def read_state_file(self, file_path: str | None = None) -> None:
        """Do nothing: the library parses terraform.tfstate on every call; state is terraform's."""

    def cmd(self, cmd: str, *args: str, **kwargs: Any) -> list[str]:
        """Build (never run) a command line.

        Args:
            cmd: The subcommand, e.g. ``"plan"``.
            *args: Positional arguments, after the options.
            **kwargs: Options as python-terraform takes them.

        Returns:
            The argv.

        Raises:
            ValueError: On a runner option of the library's (we run commands ourselves)
                or a ``var`` dict (it would become a temp ``-var-file``).
        """
        runner_only = {"capture_output", "raise_on_error", "synchronous"} & kwargs.keys()
        if runner_only:
            raise ValueError(f"runner options are not argv options: {sorted(runner_only)}")
        if isinstance(kwargs.get("var"), dict):
            raise ValueError("pass var=None: a var dict becomes a temporary -var-file")
        argv: list[str] = self.generate_cmd_string(cmd, *args, **kwargs)
        return argv


class Terraform:
    """Runs terraform in one working directory.

    Every command checks the version first (once per instance; see :meth:`version`) and
    runs with ``TF_IN_AUTOMATION=1`` and ``TF_INPUT=0``.

    Args:
        workdir: The root module directory (terraform's working directory).
        settings: Binary, provider mirror and cache, and base environment.
    """

    def __init__(self, workdir: Path, settings: TerraformSettings) -> None:
        self.workdir = workdir.absolute()
        self.settings = settings
        self._argv = _ArgvBuilder(working_dir=str(self.workdir), terraform_bin_path=self.settings.binary)
        self._version: str | None = None

    @property
    def name(self) -> str:
        """The binary's name for messages (``terraform``, ``tofu``)."""
        return Path(self.settings.binary).name

    # -- argv (python-terraform builds every command line) -------------------------

    def version_argv(self) -> list[str]:
        """``terraform version -json``."""
        return self._argv.cmd("version", json=python_terraform.IsFlagged)

    def init_argv(self, *, reconfigure: bool = False, migrate_state: bool = False) -> list[str]:
        """``terraform init -input=false -no-color -json`` (no temp var file; no ``-json`` when migrating).

        Args:
            reconfigure: Add ``-reconfigure``: use the backend configuration as it is now,
                ignoring the saved one (the same state at a new address, e.g. a new emulator URL).
            migrate_state: Add ``-migrate-state -force-copy``: copy the state from the saved
                backend to the configured one, answering terraform's questions with yes
                (the caller asked the user and checked the destination first). Terraform
                refuses ``-json`` with it, so its output comes as plain lines.
        """
        flag = python_terraform.IsFlagged
        off = python_terraform.IsNotFlagged
        argv: list[str] = self._argv.init(
            reconfigure=flag if reconfigure else off,
            migrate_state=flag if migrate_state else None,
            force_copy=flag if migrate_state else None,
            backend=None,
            json=None if migrate_state else flag,
            var=None,
        )
        return argv

    def plan_argv(self, plan_file: Path, *, destroy: bool = False, lock_timeout: str | None = None) -> list[str]:
        """``terraform plan -detailed-exitcode -json -out=FILE [-destroy] [-lock-timeout=D]``."""
        flag = python_terraform.IsFlagged
        argv: list[str] = self._argv.plan(
            out=str(plan_file.absolute()),
            destroy=flag if destroy else None,
            lock_timeout=lock_timeout,
            json=flag,
            var=None,
        )
        return argv

    def apply_argv(self, plan_file: Path, *, lock_timeout: str | None = None) -> list[str]:
        """``terraform apply -json -auto-approve=true [-lock-timeout=D] FILE``: exactly the saved plan, no prompt."""
        flag = python_terraform.IsFlagged
        argv: list[str] = self._argv.apply(
            str(plan_file.absolute()), skip_plan=True, lock_timeout=lock_timeout, json=flag, var=None
        )
        return argv

    def state_pull_argv(self) -> list[str]:
        """``terraform state pull``."""
        return self._argv.cmd("state pull")

    def output_argv(self) -> list[str]:
        """``terraform output -json``."""
        return self._argv.cmd("output", json=python_terraform.IsFlagged, no_color=python_terraform.IsFlagged)

    def validate_argv(self) -> list[str]:
        """``terraform validate -json``."""
        return self._argv.cmd("validate", json=python_terraform.IsFlagged, no_color=python_terraform.IsFlagged)

    def fmt_argv(self, path: Path | None = None) -> list[str]:
        """``terraform fmt -check -recursive -list=true [PATH]``."""
        flag = python_terraform.IsFlagged
        args = [str(path)] if path is not None else []
        return self._argv.cmd("fmt", *args, check=flag, recursive=flag, list=True, no_color=flag)

    # -- commands ---------------------------------------------------------------------

    def version(self) -> str:
        """Check that terraform runs and is recent enough.

        With ``settings.version_cache``, a binary whose version was checked before is not
        run again while it is the same file (resolved path, device, inode, size, mtime,
        ctime). Shell-script shims (tfenv, asdf) and binaries that resolve to a file of
        another name (mise, snap) pick the real terraform at run time, so they are checked
        every time. Each ``-json`` command also reports its version first: a remembered
        version that turns out wrong is corrected there, and a too old terraform is
        stopped before it does anything (:meth:`_stream`).

        Returns:
            The version, e.g. ``"1.11.4"``.

        Raises:
            TerraformError: Binary missing, version unreadable, or older than 1.11.
        """
        if self._version is not None:
            return self._version
        stamp = self._binary_stamp()
        if stamp is not None:
            remembered = self._remembered_version(stamp)
            if remembered is not None:
                self._check_minimum(remembered)
                self._version = remembered
                return remembered
        argv = self.version_argv()
        out: list[str] = []
        err: list[str] = []
        code = self._execute(argv, out.append, err.append)
        try:
            data = json.loads("\n".join(out))
            found = str(data["terraform_version"])
        except (ValueError, KeyError, TypeError):
            raise TerraformError(
                f"could not read the version of {self.settings.binary} (exit {code}): "
                + (" ".join(err + out).strip()[:200] or "no output"),
                hint=f"tfgen needs Terraform >= {_dotted(MINIMUM_VERSION)}, which has `version -json`",
            ) from None
        self._check_minimum(found)
        self._version = found
        if stamp is not None:
            self._remember_version(stamp, found)
        return found

    def _check_minimum(self, found: str) -> None:
        match = re.match(r"(\d+)\.(\d+)", found)
        if match is None or (int(match[1]), int(match[2])) < MINIMUM_VERSION:
            raise TerraformError(
                f"{self.name} {found} is too old: tfgen needs >= {_dotted(MINIMUM_VERSION)} (write-only attributes)",
                hint=f"install Terraform {_dotted(MINIMUM_VERSION)} or newer, or point tfgen at it",
            )

    def _binary_stamp(self) -> tuple[str, str] | None:
        """``(resolved path, identity of the file)`` of the binary, or None when its version must not be remembered."""
        if self.settings.version_cache is None:
            return None
        binary = self.settings.binary
        if os.sep in binary:
            found: str | None = str(self.workdir / binary)  # terraform starts in the working directory
        else:
            found = shutil.which(binary, path=self.settings.env.get("PATH", os.defpath))
        if found is None or not os.path.isabs(found):
            return None  # not found (running it gives the error), or found through a relative PATH entry
        real = os.path.realpath(found)
        try:
            if _is_shim(found, real):
                return None
            info = os.stat(real)
        except OSError:
            return None
        return real, f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"

    def _read_version_cache(self) -> dict[str, Any]:
        path = self.settings.version_cache
        if path is None:
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _remembered_version(self, stamp: tuple[str, str]) -> str | None:
        entry = self._read_version_cache().get(stamp[0])
        if not isinstance(entry, dict) or entry.get("stamp") != stamp[1]:
            return None
        version = entry.get("version")
        return version if isinstance(version, str) else None

    def _remember_version(self, stamp: tuple[str, str], version: str) -> None:
        """Record the version of a binary (atomically; a cache, so failures are ignored)."""
        path = self.settings.version_cache
        if path is None:
            return
        data = self._read_version_cache()
        data[stamp[0]] = {"stamp": stamp[1], "version": version}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)

    def _reported_version(self, event: Event) -> None:
        """The ``version`` event a ``-json`` command starts with: correct what :meth:`version` assumed.

        Raises:
            TerraformError: The terraform actually running is too old (it is then stopped).
        """
        reported = event.get("terraform") or event.get("tofu")
        if not isinstance(reported, str) or reported == self._version:
            return
        self._version = reported
        stamp = self._binary_stamp()
        if stamp is not None:
            self._remember_version(stamp, reported)
        self._check_minimum(reported)

    def init(
        self, on_event: EventHandler | None = None, *, reconfigure: bool = False, migrate_state: bool = False
    ) -> None:
        """Run ``terraform init``, streaming its events.

        Args:
            on_event: Called with each event as it arrives.
            reconfigure: See :meth:`init_argv`.
            migrate_state: See :meth:`init_argv`.

        Raises:
            ProviderInstallError: A provider could not be installed; names it and says why.
            TerraformRunError: Init failed otherwise.
            CommandInterrupted: Ctrl-C.
        """
        argv = self.init_argv(reconfigure=reconfigure, migrate_state=migrate_state)
        with self._plugin_cache_lock():
            diagnostics, code, raw = self._stream(argv, on_event)
        if code != 0:
            raise self._init_failure(argv, code, diagnostics, raw)

    @contextlib.contextmanager
    def _plugin_cache_lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the shared plugin cache while terraform installs into it.

        Terraform's plugin cache is not safe for concurrent installs (two inits of a new
        provider race on its directories), and tfgen runs several at once (``--jobs``).
        """
        cache = self.settings.plugin_cache_dir
        if cache is None:
            yield
            return
        cache = cache.absolute()
        cache.mkdir(parents=True, exist_ok=True)
        with (cache / ".tfgen-init.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def plan(
        self,
        plan_file: Path,
        *,
        destroy: bool = False,
        on_event: EventHandler | None = None,
        lock_timeout: str | None = None,
    ) -> PlanResult:
        """Run ``terraform plan`` and save the plan.

        Args:
            plan_file: Where to save the plan; a relative path is relative to the
                current directory, not the working directory.
            destroy: Plan destroying everything instead.
            on_event: Called with each event as it arrives.
            lock_timeout: How long to wait for the state lock (e.g. ``"5m"``); default: fail at once.

        Returns:
            The plan; ``changes_present`` is True on exit code 2 (not a failure).

        Raises:
            TerraformRunError: Plan failed (exit 1), with terraform's diagnostics.
            CommandInterrupted: Ctrl-C.
        """
        summary: dict[str, int] = {}
        changes: list[ResourceChange] = []
        drift: list[ResourceChange] = []

        def collect(event: Event) -> None:
            kind = event.get("type")
            if kind == "change_summary":
                summary.update({k: v for k, v in (event.get("changes") or {}).items() if isinstance(v, int)})
            elif kind in ("planned_change", "resource_drift"):
                found = _resource_change(event)
                if found is not None:
                    (changes if kind == "planned_change" else drift).append(found)
            if on_event is not None:
                on_event(event)

        argv = self.plan_argv(plan_file, destroy=destroy, lock_timeout=lock_timeout)
        diagnostics, code, raw = self._stream(argv, collect)
        if code not in (0, 2):  # -detailed-exitcode: 2 means "changes present"
            raise self._failure(argv, code, diagnostics, raw)
        return PlanResult(
            plan_file=plan_file.absolute(),
            changes_present=code == 2,
            add=summary.get("add", 0),
            change=summary.get("change", 0),
            remove=summary.get("remove", 0),
            resource_changes=tuple(changes),
            drift=tuple(drift),
            warnings=tuple(d for d in diagnostics if d.severity != "error"),
        )

    def apply(
        self, plan_file: Path, on_event: EventHandler | None = None, *, lock_timeout: str | None = None
    ) -> ApplyResult:
        """Apply exactly a saved plan: no prompt, no variables, no new plan.

        Args:
            plan_file: A plan saved by :meth:`plan`.
            on_event: Called with each event as it arrives.
            lock_timeout: How long to wait for the state lock; default: fail at once.

        Returns:
            The counts of terraform's ``change_summary``.

        Raises:
            TerraformRunError: Apply failed, with terraform's diagnostics.
            CommandInterrupted: Ctrl-C (terraform was asked to stop and did).
        """
        summary: dict[str, int] = {}

        def collect(event: Event) -> None:
            if event.get("type") == "change_summary":
                summary.update({k: v for k, v in (event.get("changes") or {}).items() if isinstance(v, int)})
            if on_event is not None:
                on_event(event)

        argv = self.apply_argv(plan_file, lock_timeout=lock_timeout)
        diagnostics, code, raw = self._stream(argv, collect)
        if code != 0:
            raise self._failure(argv, code, diagnostics, raw)
        return ApplyResult(
            add=summary.get("add", 0),
            change=summary.get("change", 0),
            remove=summary.get("remove", 0),
            warnings=tuple(d for d in diagnostics if d.severity != "error"),
        )

    def destroy(self, plan_file: Path, on_event: EventHandler | None = None) -> ApplyResult:
        """Destroy everything: ``plan -destroy -out=FILE``, then apply exactly that plan.

        python-terraform's ``destroy()`` is not used: it passes ``-force``, which
        Terraform >= 0.15 rejects. A caller that wants to confirm in between calls
        ``plan(destroy=True)`` and ``apply()`` itself.

        Args:
            plan_file: Where to save the destroy plan.
            on_event: Called with each event of both commands.

        Returns:
            The apply's counts (all zero when there was nothing to destroy).

        Raises:
            TerraformRunError: Plan or apply failed.
            CommandInterrupted: Ctrl-C.
        """
        planned = self.plan(plan_file, destroy=True, on_event=on_event)
        if not planned.changes_present:
            return ApplyResult(warnings=planned.warnings)
        return self.apply(plan_file, on_event=on_event)

    def output(self) -> dict[str, OutputValue]:
        """Read the root module outputs (``terraform output -json``).

        Returns:
            Output name to value; sensitive outputs keep ``sensitive=True``.

        Raises:
            TerraformRunError: The command failed or did not print JSON.
        """
        argv = self.output_argv()
        out: list[str] = []
        err: list[str] = []
        code = self._run_checked(argv, out.append, err.append)
        try:
            data = json.loads("\n".join(out) or "{}")
            return {
                name: OutputValue(value=item.get("value"), sensitive=bool(item.get("sensitive")), type=item.get("type"))
                for name, item in data.items()
            }
        except (ValueError, AttributeError):
            raise self._failure(argv, code, [], err + out) from None

    def state_pull(self) -> str:
        """The current state as JSON text (``terraform state pull``); empty when there is none.

        Raises:
            TerraformRunError: The backend could not be read.
        """
        out: list[str] = []
        err: list[str] = []
        self._run_checked(self.state_pull_argv(), out.append, err.append)
        return "\n".join(out)

    def validate(self) -> list[Diagnostic]:
        """Run ``terraform validate -json`` (needs :meth:`init` first).

        Returns:
            Every diagnostic; the configuration is valid when none has severity ``error``.

        Raises:
            TerraformRunError: Terraform did not print its JSON report.
        """
        argv = self.validate_argv()
        out: list[str] = []
        err: list[str] = []
        code = self._run_checked(argv, out.append, err.append, ok=(0, 1))
        try:
            report = json.loads("\n".join(out))
            return [Diagnostic.from_json(d) for d in report.get("diagnostics") or []]
        except (ValueError, AttributeError):
            raise self._failure(argv, code, [], err + out) from None

    def fmt_check(self, path: Path | None = None) -> list[Path]:
        """List the files ``terraform fmt`` would change (``-check -recursive``).

        Args:
            path: File or directory, relative to the working directory; default the
                working directory.

        Returns:
            The files needing formatting (absolute); empty when all are formatted.

        Raises:
            TerraformRunError: A file could not be parsed, or ``path`` does not exist.
        """
        argv = self.fmt_argv(path)
        out: list[str] = []
        err: list[str] = []
        self._run_checked(argv, out.append, err.append, ok=(0, 3))  # 3: files need formatting
        return [self.workdir / line.strip() for line in out if line.strip()]

    def child_env(self) -> dict[str, str]:
        """The environment every terraform command gets (without the temp CLI config).

        ``settings.env`` plus ``TF_IN_AUTOMATION=1``, ``TF_INPUT=0``,
        ``CHECKPOINT_DISABLE=1`` (unless set: no version check over the network) and
        ``TF_PLUGIN_CACHE_DIR`` (created, with
        ``TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE`` so the cache is used for new
        working directories too) when ``plugin_cache_dir`` is set.

        With ``plugin_mirror``, each command additionally gets ``TF_CLI_CONFIG_FILE``
        pointing at a temporary file, deleted when the command ends. That file is the
        caller's ``TF_CLI_CONFIG_FILE`` (when it exists: credentials, host blocks...
        keep working) followed by a ``provider_installation`` block with only a
        ``filesystem_mirror``. Terraform allows one such block, so if the caller's file
        already has one tfgen raises instead of silently ignoring either. Without
        ``plugin_mirror`` the caller's ``TF_CLI_CONFIG_FILE`` passes through untouched.

        Returns:
            The environment.
        """
        env = dict(self.settings.env)
        env["TF_IN_AUTOMATION"] = "1"
        env["TF_INPUT"] = "0"
        env.setdefault("CHECKPOINT_DISABLE", "1")
        cache = self.settings.plugin_cache_dir
        if cache is not None:
            cache = cache.absolute()
            try:
                cache.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TerraformError(f"cannot create the plugin cache {cache}: {exc.strerror}") from exc
            env["TF_PLUGIN_CACHE_DIR"] = str(cache)
            # without it terraform >= 1.4 unpacks the provider again into every new working
            # directory (no lock file yet); it still writes the lock file with the checksums
            env.setdefault("TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE", "true")
        return env

    # -- running ----------------------------------------------------------------------

    def _stream(self, argv: list[str], on_event: EventHandler | None) -> tuple[list[Diagnostic], int, list[str]]:
        """Run a ``-json`` command, handing each event to ``on_event`` as it arrives.

        Returns:
            The diagnostics, the exit code, and the lines that were not JSON.
        """
        self.version()
        diagnostics: list[Diagnostic] = []
        raw: list[str] = []

        def handle(event: Event) -> None:
            kind = event.get("type")
            if kind == "diagnostic" and isinstance(event.get("diagnostic"), dict):
                diagnostics.append(Diagnostic.from_json(event["diagnostic"]))
            elif kind == "version":
                self._reported_version(event)
            if on_event is not None:
                on_event(event)

        def stdout_line(line: str) -> None:
            event = _parse_event(line)
            if event is None:
                raw.append(line)
                event = _log_event(line, "info", "terraform.stdout")
            handle(event)

        def stderr_line(line: str) -> None:
            raw.append(line)
            handle(_log_event(line, "warn", "terraform.stderr"))

        code = self._execute(argv, _skip_blank(stdout_line), _skip_blank(stderr_line))
        return diagnostics, code, raw[-20:]

    def _run_checked(
        self,
        argv: list[str],
        on_stdout: Callable[[str], None],
        on_stderr: Callable[[str], None],
        ok: tuple[int, ...] = (0,),
    ) -> int:
        """Run a command capturing its output; raise unless its exit code is in ``ok``."""
        self.version()
        err: list[str] = []

        def stderr_line(line: str) -> None:
            err.append(line)
            on_stderr(line)

        code = self._execute(argv, on_stdout, stderr_line)
        if code not in ok:
            raise self._failure(argv, code, [], [line for line in err if line.strip()][-20:])
        return code

    def _execute(self, argv: list[str], on_stdout: Callable[[str], None], on_stderr: Callable[[str], None]) -> int:
        """Start terraform, pump its output line by line, forward Ctrl-C; the one Popen.

        Terraform runs in its own process group, so a Ctrl-C in the terminal reaches
        only us and we forward it exactly once (terraform then stops cleanly and
        releases its state lock); a second Ctrl-C kills terraform's whole group.

        Returns:
            The exit code.

        Raises:
            TerraformError: The binary is missing or not executable.
            CommandInterrupted: After terraform exited, if Ctrl-C was pressed.
        """
        env = self.child_env()
        config_dir: str | None = None
        try:
            if self.settings.plugin_mirror is not None:
                config_dir = tempfile.mkdtemp(prefix="tfgen-cli-config-")
                env["TF_CLI_CONFIG_FILE"] = str(self._write_cli_config(Path(config_dir), env))
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=self.workdir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    process_group=0,
                )
            except FileNotFoundError:
                raise self._not_found() from None
            except PermissionError as exc:
                raise TerraformError(
                    f"{self.settings.binary} is not executable: {exc.strerror}",
                    hint="check the terraform binary setting",
                ) from None
            with _InterruptForwarder(proc) as interrupts:
                pipes = _Pipes(proc)
                cancel = self.settings.cancel
                try:
                    while pipes.open:
                        if cancel is not None and cancel.is_set() and not interrupts.presses:
                            interrupts.presses = 1  # as one Ctrl-C: terraform stops cleanly
                            interrupts.stop()
                        for fd, line in pipes.read(timeout=0.5):
                            (on_stdout if fd == pipes.stdout_fd else on_stderr)(line)
                        if proc.poll() is not None:  # exited; output a straggler still holds comes soon or never
                            for fd, line in pipes.drain(_EXIT_DRAIN_SECONDS):
                                (on_stdout if fd == pipes.stdout_fd else on_stderr)(line)
                            break
                    proc.wait()
                except KeyboardInterrupt:  # Ctrl-C just before our handler was installed
                    interrupts.presses += 1
                finally:
                    _stop(proc, pipes, interrupts)
            if interrupts.presses:
                raise self._interrupted(argv, killed=interrupts.killed)
            return proc.returncode
        finally:
            if config_dir is not None:
                shutil.rmtree(config_dir, ignore_errors=True)

    def _write_cli_config(self, directory: Path, env: Mapping[str, str]) -> Path:
        """Write the temporary CLI config installing providers from the plugin mirror only."""
        mirror = self.settings.plugin_mirror
        assert mirror is not None
        mirror = mirror.absolute()
        if not mirror.is_dir():
            raise TerraformError(
                f"plugin mirror {mirror} is not a directory",
                hint="point the plugin mirror at a directory in terraform's filesystem_mirror layout",
            )
        base_text = ""
        base_name = env.get("TF_CLI_CONFIG_FILE")
        if base_name and Path(base_name).is_file():
            try:
                base_text = Path(base_name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise TerraformError(f"cannot read TF_CLI_CONFIG_FILE {base_name}: {exc}") from exc
        conflict = TerraformError(
            f"TF_CLI_CONFIG_FILE ({base_name}) already has a provider_installation block, "
            f"and the plugin mirror {mirror} needs its own; terraform allows only one",
            hint=f'add `filesystem_mirror {{ path = "{mirror}" }}` to that block and drop the plugin mirror '
            "setting, or unset TF_CLI_CONFIG_FILE",
        )
        if base_text.lstrip().startswith("{"):  # a JSON CLI config
            try:
                data = json.loads(base_text)
            except ValueError as exc:
                raise TerraformError(f"TF_CLI_CONFIG_FILE {base_name} is not valid JSON: {exc}") from exc
            if "provider_installation" in data:
                raise conflict
            data["provider_installation"] = [{"filesystem_mirror": [{"path": str(mirror)}]}]
            path = directory / "tfgen.tfrc.json"
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            return path
        if _PROVIDER_INSTALLATION_BLOCK.search(base_text):
            raise conflict
        block = f"provider_installation {{\n  filesystem_mirror {{\n    path = {_hcl_string(str(mirror))}\n  }}\n}}\n"
        path = directory / "tfgen.tfrc"
        path.write_text((base_text.rstrip() + "\n\n" if base_text.strip() else "") + block, encoding="utf-8")
        return path

    # -- errors -----------------------------------------------------------------------

    def _not_found(self) -> TerraformError:
        binary = self.settings.binary
        if os.sep in binary:
            return TerraformError(
                f"{binary} not found", hint=f"install Terraform >= {_dotted(MINIMUM_VERSION)} or fix the binary path"
            )
        return TerraformError(
            f"{binary} not found on PATH",
            hint=f"install Terraform >= {_dotted(MINIMUM_VERSION)} and put it on PATH, or give tfgen its path",
        )

    def _failure(self, argv: list[str], code: int, diagnostics: list[Diagnostic], raw: list[str]) -> TerraformRunError:
        sub = _subcommand(argv)
        errors = [d for d in diagnostics if d.severity == "error"]
        message = headline = f"{self.name} {sub} failed in {self.workdir} (exit {code})"
        if errors:
            first = errors[0]
            message += f": {first.location + ': ' if first.location else ''}{first.summary}"
            if len(errors) > 1:
                message += f" (and {len(errors) - 1} more)"
        elif raw:
            message += f": {raw[-1].strip()}"
        return TerraformRunError(
            message, command=argv, returncode=code, diagnostics=diagnostics, output=raw, headline=headline
        )

    def _init_failure(
        self, argv: list[str], code: int, diagnostics: list[Diagnostic], raw: list[str]
    ) -> TerraformRunError:
        providers: list[str] = []
        reasons: list[str] = []
        for diagnostic in diagnostics:
            if diagnostic.severity != "error" or diagnostic.summary not in _PROVIDER_FAILURES:
                continue
            match = _PROVIDER_IN_DETAIL.search(diagnostic.detail)
            if match is None:
                continue
            provider = match[1].removeprefix("registry.terraform.io/")
            if provider not in providers:
                providers.append(provider)
                reasons.append(self._why_unavailable(diagnostic.detail))
        if not providers:
            return self._failure(argv, code, diagnostics, raw)
        shown = ", ".join(providers)
        message = f"{self.name} init could not install provider {shown}: {reasons[0]}"
        hint = "provide a plugin mirror that holds it" + (
            " (or a TF_CLI_CONFIG_FILE that can reach it)" if self.settings.plugin_mirror is None else ""
        )
        if "hashicorp/random" in providers:
            hint += (
                ", or use `master_password.source: rds_managed` or `write_only`, "
                "which need only the hashicorp/aws provider"
            )
        return ProviderInstallError(
            message,
            providers=providers,
            command=argv,
            returncode=code,
            diagnostics=diagnostics,
            output=raw,
            hint=hint,
        )

    def _why_unavailable(self, detail: str) -> str:
        mirror = self.settings.plugin_mirror
        if "not found in any of the search locations" in detail:
            if mirror is not None:
                return f"it is not in the plugin mirror {mirror.absolute()}"
            return "it is not in any configured provider source"
        if any(s in detail for s in ("could not connect", "no such host", "dial tcp", "i/o timeout")):
            return "the provider registry is unreachable (offline?)"
        first = detail.strip().splitlines()[0] if detail.strip() else "unknown reason"
        return first

    def _interrupted(self, argv: list[str], *, killed: bool) -> CommandInterrupted:
        sub = _subcommand(argv)
        if not killed:
            return CommandInterrupted(
                f"{self.name} {sub} interrupted; terraform stopped cleanly and released its state lock",
                hint="resources being changed may be half done: run plan again to see what is left",
            )
        return CommandInterrupted(
            f"{self.name} {sub} killed after a second Ctrl-C; the state may miss recent changes",
            hint=f"if a later command says the state is locked, run `{self.name} force-unlock LOCK_ID` "
            f"in {self.workdir}",
        )


# -- process plumbing -------------------------------------------------------------------


class _InterruptForwarder:
    """While terraform runs, the first Ctrl-C (SIGINT) is forwarded to it, the second kills its group.

    Attributes:
        presses: How many times Ctrl-C was pressed.
        killed: Whether terraform's process group got SIGKILL.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.presses = 0
        self.killed = False
        self._stop_sent = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> _InterruptForwarder:
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            previous = self._previous if self._previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, previous)
            self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.presses += 1
        if self.presses == 1:
            self.stop()
        else:
            self.kill()

    def stop(self) -> None:
        """Send terraform one SIGINT (it stops gracefully and releases its lock); later calls do nothing."""
        if self._stop_sent or self.proc.poll() is not None:
            return
        self._stop_sent = True
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGINT)

    def kill(self) -> None:
        """SIGKILL terraform's process group: terraform, its providers and provisioner commands."""
        if self.proc.poll() is not None:
            return
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


class _Pipes:
    """Line reader over a child's stdout and stderr together, without threads."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        self._streams: dict[int, IO[bytes]] = {proc.stdout.fileno(): proc.stdout, proc.stderr.fileno(): proc.stderr}
        self.stdout_fd = proc.stdout.fileno()
        self._buffers: dict[int, bytes] = dict.fromkeys(self._streams, b"")
        self._selector = selectors.DefaultSelector()
        for fd in self._streams:
            self._selector.register(fd, selectors.EVENT_READ)

    @property
    def open(self) -> bool:
        """Whether either stream may still produce output."""
        return bool(self._selector.get_map())

    def read(self, timeout: float | None) -> Iterator[tuple[int, str]]:
        """Wait up to ``timeout`` for output; yield ``(fd, line)`` for each complete line."""
        if not self.open:
            return
        for key, _ in self._selector.select(timeout):
            fd = int(key.fd)
            chunk = os.read(fd, 65536)
            if not chunk:
                self._selector.unregister(fd)
                rest, self._buffers[fd] = self._buffers[fd], b""
                if rest:
                    yield fd, rest.decode("utf-8", "replace")
                continue
            *lines, self._buffers[fd] = (self._buffers[fd] + chunk).split(b"\n")
            for line in lines:
                yield fd, line.decode("utf-8", "replace").rstrip("\r")

    def drain(self, seconds: float) -> Iterator[tuple[int, str]]:
        """Read until both streams end or ``seconds`` pass without output."""
        deadline = time.monotonic() + seconds
        while self.open and time.monotonic() < deadline:
            yield from self.read(timeout=max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Stop reading and close both pipes."""
        self._selector.close()
        for stream in self._streams.values():
            stream.close()


def _stop(proc: subprocess.Popen[bytes], pipes: _Pipes, interrupts: _InterruptForwarder) -> None:
    """Make sure terraform has exited: ask it to stop, kill its group after a grace period."""
    try:
        if proc.poll() is None:  # we are leaving early: an exception (an event handler's) or Ctrl-C
            interrupts.stop()
            deadline = time.monotonic() + _STOP_GRACE_SECONDS
            while proc.poll() is None and time.monotonic() < deadline:
                for _ in pipes.read(timeout=0.2):  # keep draining: terraform must not block on a full pipe
                    pass
            interrupts.kill()
        proc.wait()
    finally:
        pipes.close()


# -- helpers ----------------------------------------------------------------------------


def _is_shim(invoked: str, real: str) -> bool:
    """Whether a binary picks the terraform to run each time it starts, so its version cannot be remembered.

    A script (tfenv's and asdf's shims), or a link to a program of another name (mise, snap).

    Raises:
        OSError: If ``real`` cannot be read.
    """
    if not Path(real).name.startswith(Path(invoked).name):
        return True
    with open(real, "rb") as handle:
        return handle.read(2) == b"#!"


def _parse_event(line: str) -> Event | None:
    """A JSON object line as an event, else ``None``."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _log_event(line: str, level: str, module: str) -> Event:
    """Wrap a non-JSON line as a ``log`` event, the shape terraform's own log events have."""
    return {"type": "log", "@level": level, "@message": line, "@module": module}


def _skip_blank(handler: Callable[[str], None]) -> Callable[[str], None]:
    def wrapped(line: str) -> None:
        if line.strip():
            handler(line)

    return wrapped


def _resource_change(event: Event) -> ResourceChange | None:
    change = event.get("change") or {}
    resource = change.get("resource") or {}
    address = resource.get("addr")
    action = change.get("action")
    if isinstance(address, str) and isinstance(action, str):
        return ResourceChange(address, action)
    return None


def _subcommand(argv: list[str]) -> str:
    return argv[1] if len(argv) > 1 else "?"


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _hcl_string(text: str) -> str:
    """Quote a string for the CLI config (HCL 1: no templates, JSON-style escapes)."""
    return json.dumps(text, ensure_ascii=False)
