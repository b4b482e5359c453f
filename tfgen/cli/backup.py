"""``tfgen backup``: the body both paths of the console script run (:mod:`tfgen.cli.fast` and Typer).

A backup of a big table is dominated by the copy, a small one by tfgen's start-up, so a
plain invocation runs without Typer; :mod:`tfgen.cli.app` calls the same function.
"""

from __future__ import annotations

from pathlib import Path

from tfgen import api
from tfgen.cli import output
from tfgen.cli.reviewed import deploy_options
from tfgen.errors import ExitCode


def backup(
    *,
    spec: Path,
    out: Path,
    table: str | None,
    schema: str | None,
    query: str | None,
    host: str | None,
    port: int | None,
    user: str | None,
    dbname: str | None,
    workdir: Path | None,
    local: bool,
    endpoint: str | None,
    binary: str,
    env: str | None,
) -> int:
    """Copy a table (or a query's rows) to CSV and print the rows, bytes and SHA-256."""
    with output.backup_progress() as on_progress:
        result = api.backup(
            spec,
            deploy_options(workdir, local, endpoint, env, binary=binary),
            out,
            table=table,
            schema=schema,
            query=query,
            connection=api.ConnectionOverrides(host=host, port=port, user=user, dbname=dbname),
            on_progress=on_progress,
        )
    output.print_backup(result)
    return int(ExitCode.OK)
