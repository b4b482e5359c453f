"""doctor, backup, insights: the runbook, run against a deployed cluster.

Where to connect comes from the working directory's outputs, then libpq's ``PG*``
variables of the options' environment, then :class:`ConnectionOverrides` (which win).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tfgen.deploy.basics import DeployOptions
from tfgen.ops import runbook
from tfgen.ops.backup import BackupResult
from tfgen.ops.runbook import ConnectionOverrides, DoctorReport

_NO_OVERRIDES = ConnectionOverrides()


def doctor(
    spec_path: Path,
    options: DeployOptions,
    *,
    connection: ConnectionOverrides = _NO_OVERRIDES,
    slow_seconds: float = 300,
) -> DoctorReport:
    """``tfgen doctor``: the runbook's checks (cluster, connection, slow queries, CPU and capacity, backups).

    A check that finds a problem is a FAIL or WARN in the report, not an exception.

    Args:
        spec_path: The spec file.
        options: From :func:`tfgen.api.deploy_options`.
        connection: Explicit host, port, user and database.
        slow_seconds: Report queries running longer than this.

    Raises:
        SpecError: If the spec is invalid.
        UsageError: If no database host can be determined.
        EmulatorError: With ``local``, if the emulator cannot be reached.
    """
    from tfgen.emulator.endpoint import no_database_reason

    env = options.terraform.env
    return runbook.doctor(
        spec_path, options, connection, env, slow_seconds=slow_seconds, no_database_reason=no_database_reason
    )


def backup(
    spec_path: Path,
    options: DeployOptions,
    out: Path,
    *,
    table: str | None = None,
    schema: str | None = None,
    query: str | None = None,
    connection: ConnectionOverrides = _NO_OVERRIDES,
    on_progress: Callable[[int, int], None] | None = None,
) -> BackupResult:
    """``tfgen backup``: copy a table (or a query's rows) to a CSV file that appears only when complete.

    Args:
        spec_path: The spec file.
        options: From :func:`tfgen.api.deploy_options`.
        out: The CSV file to write.
        table: The table to copy (quoted as an identifier).
        schema: The table's schema.
        query: A SELECT whose rows to copy instead of ``table``.
        connection: Explicit host, port, user and database.
        on_progress: Called with the rows and bytes copied so far.

    Raises:
        SpecError: If the spec is invalid.
        UsageError: If neither ``table`` nor ``query`` is given, or no database host can be determined.
        DatabaseError: If the database cannot be reached or the copy fails.
    """
    env = options.terraform.env
    return runbook.backup(
        spec_path, options, connection, env, table=table, schema=schema, query=query, out=out, on_progress=on_progress
    )


def insights(spec_path: Path, options: DeployOptions, *, enable: bool) -> str:
    """``tfgen insights``: turn Performance Insights on or off for the cluster (ModifyDBCluster).

    Returns:
        What AWS answered, as one line.

    Raises:
        SpecError: If the spec is invalid.
        UsageError: For Aurora Serverless v1, which cannot have Performance Insights.
        AwsError: If AWS refuses the request.
        EmulatorError: With ``local``, if the emulator cannot be reached.
    """
    return runbook.insights(spec_path, options, enable=enable)
