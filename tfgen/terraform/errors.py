"""A terraform command that did not succeed, as a typed error: what failed, where, and what to do.

Built from the finished process (exit code, diagnostics, the lines that were not JSON);
:func:`init_error` recognises providers that could not be installed.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfgen.errors import CommandInterrupted, TerraformError
from tfgen.terraform.version import MINIMUM_VERSION, dotted

if TYPE_CHECKING:
    from tfgen.terraform.results import Diagnostic

_PROVIDER_FAILURES = (
    "Failed to query available provider packages",
    "Failed to install provider",
    "Failed to install provider from shared cache",
    "Incompatible provider version",
    "Provider not available",
)
_PROVIDER_IN_DETAIL = re.compile(r"\bprovider\s+((?:[\w.\-]+/)?[\w.\-]+/[\w.\-]+)")


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


def run_error(
    argv: list[str], code: int, diagnostics: list[Diagnostic], raw: list[str], *, name: str, workdir: Path
) -> TerraformRunError:
    """The error of a command that failed: its first error diagnostic, else its last line of output.

    Args:
        argv: The command that ran.
        code: Its exit code.
        diagnostics: Its diagnostics.
        raw: Its last lines that were not JSON.
        name: The binary's name for messages (``terraform``, ``tofu``).
        workdir: Where it ran.

    Returns:
        The error to raise.
    """
    errors = [d for d in diagnostics if d.severity == "error"]
    message = headline = f"{name} {_subcommand(argv)} failed in {workdir} (exit {code})"
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


def init_error(
    argv: list[str],
    code: int,
    diagnostics: list[Diagnostic],
    raw: list[str],
    *,
    name: str,
    workdir: Path,
    plugin_mirror: Path | None,
) -> TerraformRunError:
    """The error of a failed ``terraform init``: a :class:`ProviderInstallError` naming the providers and why.

    Args:
        argv: See :func:`run_error`.
        code: See :func:`run_error`.
        diagnostics: See :func:`run_error`.
        raw: See :func:`run_error`.
        name: See :func:`run_error`.
        workdir: See :func:`run_error`.
        plugin_mirror: The plugin mirror providers were to come from, if any.

    Returns:
        A :class:`ProviderInstallError` when providers could not be installed, else :func:`run_error`'s error.
    """
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
            reasons.append(_why_unavailable(diagnostic.detail, plugin_mirror))
    if not providers:
        return run_error(argv, code, diagnostics, raw, name=name, workdir=workdir)
    shown = ", ".join(providers)
    message = f"{name} init could not install provider {shown}: {reasons[0]}"
    hint = "provide a plugin mirror that holds it" + (
        " (or a TF_CLI_CONFIG_FILE that can reach it)" if plugin_mirror is None else ""
    )
    if "hashicorp/random" in providers:
        hint += (
            ", or use `master_password.source: rds_managed` or `write_only`, which need only the hashicorp/aws provider"
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


def binary_not_found(binary: str) -> TerraformError:
    """The error when the binary (a name on PATH, or a path) does not exist."""
    if os.sep in binary:
        return TerraformError(
            f"{binary} not found", hint=f"install Terraform >= {dotted(MINIMUM_VERSION)} or fix the binary path"
        )
    return TerraformError(
        f"{binary} not found on PATH",
        hint=f"install Terraform >= {dotted(MINIMUM_VERSION)} and put it on PATH, or give tfgen its path",
    )


def binary_not_executable(binary: str, exc: PermissionError) -> TerraformError:
    """The error when the binary exists but may not be run."""
    return TerraformError(f"{binary} is not executable: {exc.strerror}", hint="check the terraform binary setting")


def interrupted(
    argv: list[str], *, name: str, workdir: Path, killed: bool, signum: int = signal.SIGINT
) -> CommandInterrupted:
    """The error after Ctrl-C, SIGTERM or SIGHUP: terraform stopped cleanly, or was killed by a second signal.

    Args:
        argv: The command that was interrupted.
        name: The binary's name for messages.
        workdir: Where it ran (where ``force-unlock`` must run).
        killed: Its process group got SIGKILL.
        signum: The first signal received; the error exits with 128 + its number.

    Returns:
        The error to raise.
    """
    sub = _subcommand(argv)
    how = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
    if not killed:
        return CommandInterrupted(
            f"{name} {sub} interrupted{how}; terraform stopped cleanly and released its state lock",
            hint="resources being changed may be half done: run plan again to see what is left",
            signum=signum,
        )
    second = "Ctrl-C" if signum == signal.SIGINT else "signal"
    return CommandInterrupted(
        f"{name} {sub} killed after a second {second}; the state may miss recent changes",
        hint=f"if a later command says the state is locked, run `{name} force-unlock LOCK_ID` in {workdir}",
        signum=signum,
    )


def _why_unavailable(detail: str, plugin_mirror: Path | None) -> str:
    if "not found in any of the search locations" in detail:
        if plugin_mirror is not None:
            return f"it is not in the plugin mirror {plugin_mirror.absolute()}"
        return "it is not in any configured provider source"
    if any(s in detail for s in ("could not connect", "no such host", "dial tcp", "i/o timeout")):
        return "the provider registry is unreachable (offline?)"
    first = detail.strip().splitlines()[0] if detail.strip() else "unknown reason"
    return first


def _subcommand(argv: list[str]) -> str:
    return argv[1] if len(argv) > 1 else "?"
