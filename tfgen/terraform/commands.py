"""The terraform commands tfgen runs: init, plan, show, apply, destroy, output, state pull, validate, fmt.

:class:`Terraform` is the one entry point. Each command builds its argv
(:mod:`~tfgen.terraform.argv`), checks the version first (:mod:`~tfgen.terraform.version`),
runs in the environment :mod:`~tfgen.terraform.config` prepares, is started and supervised
by :mod:`~tfgen.terraform.process`, has its ``-json`` output read as events
(:mod:`~tfgen.terraform.events`), and ends in a result (:mod:`~tfgen.terraform.results`) or
an error (:mod:`~tfgen.terraform.errors`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfgen.terraform import config, errors, process
from tfgen.terraform.argv import CommandLines
from tfgen.terraform.config import TerraformSettings
from tfgen.terraform.events import Event, EventHandler, EventStream, change_counts, resource_change
from tfgen.terraform.version import VersionCache, check_minimum, read_version

if TYPE_CHECKING:  # imported while terraform runs (_execute): not before it starts, not after it exits
    from tfgen.terraform.results import ApplyResult, Diagnostic, OutputValue, PlanResult, ResourceChange


class Terraform(CommandLines):
    """Runs terraform in one working directory.

    Every command checks the version first (once per instance; see :meth:`version`) and
    runs with ``TF_IN_AUTOMATION=1`` and ``TF_INPUT=0``. The argv of each command come
    from :class:`~tfgen.terraform.argv.CommandLines` (``plan_argv``, ``apply_argv``...).

    Args:
        workdir: The root module directory (terraform's working directory).
        settings: Binary, provider mirror and cache, and base environment.
    """

    def __init__(self, workdir: Path, settings: TerraformSettings) -> None:
        super().__init__(workdir.absolute(), settings.binary)
        self.settings = settings
        self._version: str | None = None
        self._versions = VersionCache(settings, self.workdir)

    @property
    def name(self) -> str:
        """The binary's name for messages (``terraform``, ``tofu``)."""
        return Path(self.settings.binary).name

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
        stamp = self._versions.stamp()
        if stamp is not None:
            remembered = self._versions.recall(stamp)
            if remembered is not None:
                check_minimum(self.name, remembered)
                self._version = remembered
                return remembered
        out: list[str] = []
        err: list[str] = []
        code = self._execute(self.version_argv(), out.append, err.append)
        found = read_version(self.settings.binary, code, out, err)
        check_minimum(self.name, found)
        self._version = found
        if stamp is not None:
            self._versions.remember(stamp, found)
        return found

    def _reported_version(self, event: Event) -> None:
        """The ``version`` event a ``-json`` command starts with: correct what :meth:`version` assumed.

        Raises:
            TerraformError: The terraform actually running is too old (it is then stopped).
        """
        reported = event.get("terraform") or event.get("tofu")
        if not isinstance(reported, str) or reported == self._version:
            return
        self._version = reported
        stamp = self._versions.stamp()
        if stamp is not None:
            self._versions.remember(stamp, reported)
        check_minimum(self.name, reported)

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
        with config.plugin_cache_lock(self.settings.plugin_cache_dir):
            diagnostics, code, raw = self._stream(argv, on_event)
        if code != 0:
            raise errors.init_error(
                argv,
                code,
                diagnostics,
                raw,
                name=self.name,
                workdir=self.workdir,
                plugin_mirror=self.settings.plugin_mirror,
            )

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
                summary.update(change_counts(event))
            elif kind in ("planned_change", "resource_drift"):
                found = resource_change(event)
                if found is not None:
                    (changes if kind == "planned_change" else drift).append(found)
            if on_event is not None:
                on_event(event)

        argv = self.plan_argv(plan_file, destroy=destroy, lock_timeout=lock_timeout)
        diagnostics, code, raw = self._stream(argv, collect)
        if code not in (0, 2):  # -detailed-exitcode: 2 means "changes present"
            raise self._failure(argv, code, diagnostics, raw)
        from tfgen.terraform.results import PlanResult

        return PlanResult(
            plan_file=plan_file.absolute(),
            changes_present=code == 2,
            add=summary.get("add", 0),
            change=summary.get("change", 0),
            remove=summary.get("remove", 0),
            imported=summary.get("import", 0),
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
                summary.update(change_counts(event))
            if on_event is not None:
                on_event(event)

        argv = self.apply_argv(plan_file, lock_timeout=lock_timeout)
        diagnostics, code, raw = self._stream(argv, collect)
        if code != 0:
            raise self._failure(argv, code, diagnostics, raw)
        from tfgen.terraform.results import ApplyResult

        return ApplyResult(
            add=summary.get("add", 0),
            change=summary.get("change", 0),
            remove=summary.get("remove", 0),
            imported=summary.get("import", 0),
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
            from tfgen.terraform.results import ApplyResult

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
        from tfgen.terraform.results import OutputValue

        try:
            data = json.loads("\n".join(out) or "{}")
            return {
                name: OutputValue(value=item.get("value"), sensitive=bool(item.get("sensitive")), type=item.get("type"))
                for name, item in data.items()
            }
        except (ValueError, AttributeError):
            raise self._failure(argv, code, [], err + out) from None

    def show_plan(self, plan_file: Path) -> dict[str, Any]:
        """A saved plan as terraform's JSON plan representation (``terraform show -json FILE``).

        Raises:
            TerraformRunError: The command failed or did not print a JSON object.
        """
        argv = self.show_argv(plan_file)
        out: list[str] = []
        err: list[str] = []
        code = self._run_checked(argv, out.append, err.append)
        try:
            data = json.loads("\n".join(out))
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._failure(argv, code, [], err + out[-20:])
        return data

    def import_resource(self, address: str, resource_id: str, *, lock_timeout: str | None = None) -> None:
        """Import an existing resource into the state at ``address`` (``terraform import``).

        A destroy plan ignores ``import`` blocks (terraform >= 1.9, hashicorp/terraform#35262):
        what must be destroyed but the state lacks is imported this way first.

        Raises:
            TerraformRunError: The import failed.
        """
        self._run_checked(self.import_argv(address, resource_id, lock_timeout=lock_timeout), _ignore, _ignore)

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
        from tfgen.terraform.results import Diagnostic

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

        See :func:`tfgen.terraform.config.child_env`.

        Returns:
            The environment.
        """
        return config.child_env(self.settings)

    # -- running ----------------------------------------------------------------------

    def _stream(self, argv: list[str], on_event: EventHandler | None) -> tuple[list[Diagnostic], int, list[str]]:
        """Run a ``-json`` command, handing each event to ``on_event`` as it arrives.

        Returns:
            The diagnostics, the exit code, and the lines that were not JSON.

        Raises:
            OSError: From ``on_event`` (tfgen's output is gone), once terraform has exited,
                unless terraform failed: then its diagnostics are returned, so that the caller's
                error (on stderr) says why.
        """
        self.version()
        stream = EventStream(on_event, on_version=self._reported_version)
        code = self._execute(argv, stream.stdout_line, stream.stderr_line)
        if stream.lost is not None and not (code != 0 and stream.failed()):
            raise stream.lost
        return stream.diagnostics, code, stream.raw[-20:]

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
        """Start terraform, pump its output line by line, forward signals; every command goes through here.

        Returns:
            The exit code.

        Raises:
            TerraformError: The binary is missing or not executable, or the working directory is not writable.
            CommandInterrupted: After terraform exited, if Ctrl-C, SIGTERM or SIGHUP came.
            OSError: From ``on_stdout`` or ``on_stderr`` (after terraform finished: see
                :func:`tfgen.terraform.process.supervise`).
        """
        with config.command_env(self.settings, self.workdir) as command:
            try:
                running = process.start(argv, cwd=self.workdir, env=command.env, pass_fds=command.pass_fds)
            except FileNotFoundError:
                raise errors.binary_not_found(self.settings.binary) from None
            except PermissionError as exc:
                raise errors.binary_not_executable(self.settings.binary, exc) from None
            # what reading terraform's answer takes is imported now, while terraform starts (its
            # providers take seconds): before the start or after the exit it would add to tfgen's time
            from tfgen.terraform import results  # noqa: F401

            finished = process.supervise(running, on_stdout, on_stderr, cancel=self.settings.cancel)
        if finished.interrupted:
            raise errors.interrupted(
                argv, name=self.name, workdir=self.workdir, killed=finished.killed, signum=finished.signum
            )
        return finished.returncode

    def _failure(
        self, argv: list[str], code: int, diagnostics: list[Diagnostic], raw: list[str]
    ) -> errors.TerraformRunError:
        return errors.run_error(argv, code, diagnostics, raw, name=self.name, workdir=self.workdir)


def _ignore(line: str) -> None:
    """Drop a line of output (the caller reads the result, not the text)."""
