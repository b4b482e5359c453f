"""The options and arguments the commands of :mod:`tfgen.cli.app` share (their deploy options: :mod:`tfgen.cli.reviewed`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SpecArg = Annotated[Path, typer.Argument(help="Spec file (YAML).", show_default=False)]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        help="The spec's environment (required by plan/apply/destroy/output when the spec has environments).",
        show_default=False,
    ),
]

WorkdirOpt = Annotated[
    Path | None, typer.Option("--workdir", help="Working directory (state lives here). Default: .tfgen/<name>/.")
]
LocalOpt = Annotated[bool, typer.Option("--local", help="Use the local AWS emulator (moto) instead of real AWS.")]
EndpointOpt = Annotated[
    str | None,
    typer.Option("--endpoint", help="URL of a running emulator to use (implies --local).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print terraform's events as JSON lines.")]
MirrorOpt = Annotated[
    Path | None,
    typer.Option(
        "--plugin-mirror", envvar="TFGEN_PLUGIN_MIRROR", help="Install providers from this filesystem mirror."
    ),
]
CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--plugin-cache",
        envvar="TFGEN_PLUGIN_CACHE_DIR",
        help="Shared provider cache. Default: <user cache dir>/tfgen/plugin-cache.",
        show_default=False,
    ),
]
TerraformOpt = Annotated[
    str, typer.Option("--terraform", envvar="TFGEN_TERRAFORM", help="terraform (or tofu) executable.")
]
AutoApproveOpt = Annotated[bool, typer.Option("--auto-approve", help="Apply the plan without asking.")]
LockTimeoutOpt = Annotated[
    str | None,
    typer.Option(
        "--lock-timeout", help="Wait this long for the state lock (e.g. 5m) instead of failing.", show_default=False
    ),
]
PlanFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--plan",
        help="apply: apply exactly this plan, saved by plan --out (for this spec, workdir and backend); no new plan.",
        show_default=False,
    ),
]
YesOpt = Annotated[
    bool, typer.Option("--yes", help="Migrate the state without asking when the spec's backend changed.")
]


HostOpt = Annotated[str | None, typer.Option("--host", help="Database host (default: the endpoint output, PGHOST).")]
PortOpt = Annotated[int | None, typer.Option("--port", help="Database port (default: the port output, PGPORT).")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Database user (default: the master user, PGUSER).")]
DbnameOpt = Annotated[str | None, typer.Option("--dbname", help="Database (default: the spec's database, PGDATABASE).")]
