"""``tfgen import``: an existing cluster as a spec, and import blocks for its first plan.

Registered on the Typer app by :func:`register` (one line in :mod:`tfgen.cli.app`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfgen.cli import commands
from tfgen.cli.options import EndpointOpt, LocalOpt, WorkdirOpt


def import_command(
    cluster_id: Annotated[str, typer.Argument(help="The DB cluster identifier.", show_default=False)],
    region: Annotated[str, typer.Option("--region", help="The cluster's AWS region.", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Spec file to write. Default: <CLUSTER_ID>.yaml.", show_default=False),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the spec file if it exists.")] = False,
    workdir: WorkdirOpt = None,
    local: LocalOpt = False,
    endpoint: EndpointOpt = None,
) -> None:
    """Write a spec for an existing Aurora PostgreSQL cluster; the next plan imports it (replaces nothing)."""
    from tfgen.api.adoption import import_cluster

    outcome = import_cluster(
        cluster_id, region, out=out, force=force, local=local, endpoint=endpoint, workdir_path=workdir
    )
    commands.echo(f"wrote {outcome.spec_path}")
    commands.echo(f"{outcome.directory}: {len(outcome.imports)} resources to import on the next plan")
    for block in outcome.imports:
        commands.echo(f"  import {block.address} ({block.id})")
    if outcome.changes:
        commands.echo("the first apply changes:")
        for change in outcome.changes:
            commands.echo(f"  - {change}")
    for item in outcome.left_alone:
        commands.echo(f"left alone: {item}")
    where = " --local" if (local or endpoint) else ""
    commands.echo(f"next: tfgen plan {outcome.spec_path}{where}")


def register(app: typer.Typer) -> None:
    """Add ``tfgen import`` to ``app``."""
    app.command(name="import")(import_command)
