"""Terraform command lines, built by python-terraform and never run by it.

python-terraform 0.10.1 builds the command lines (its option handling, working directory
and binary path); :mod:`tfgen.terraform.process` runs them. The library dates from 2019
and has traps with Terraform >= 0.15, each handled here or in
:class:`~tfgen.terraform.commands.Terraform` (the tests in
``tests/test_terraform_wrapper.py`` cover every one):

* ``destroy()`` always adds ``-force``, which Terraform >= 0.15 rejects ("flag
  provided but not defined: -force"). We never call it: ``Terraform.destroy``
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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import python_terraform


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


class CommandLines:
    """The argv of each terraform command tfgen runs in one working directory.

    :class:`~tfgen.terraform.commands.Terraform` runs them; the argv are public so that
    tests and benchmarks can check what would run without running it.

    Args:
        workdir: The root module directory (terraform's working directory), absolute.
        binary: The executable, a name or a path.
    """

    def __init__(self, workdir: Path, binary: str) -> None:
        self.workdir = workdir
        self._argv = _ArgvBuilder(working_dir=str(workdir), terraform_bin_path=binary)

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

    def import_argv(self, address: str, resource_id: str, *, lock_timeout: str | None = None) -> list[str]:
        """``terraform import -input=false -no-color [-lock-timeout=D] ADDRESS ID``."""
        return self._argv.cmd(
            "import", address, resource_id, input=False, no_color=python_terraform.IsFlagged, lock_timeout=lock_timeout
        )

    def state_pull_argv(self) -> list[str]:
        """``terraform state pull``."""
        return self._argv.cmd("state pull")

    def show_argv(self, plan_file: Path) -> list[str]:
        """``terraform show -json -no-color FILE``: a saved plan as JSON."""
        flag = python_terraform.IsFlagged
        return self._argv.cmd("show", str(plan_file.absolute()), json=flag, no_color=flag)

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
