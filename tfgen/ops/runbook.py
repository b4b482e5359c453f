"""The runbook made runnable: `tfgen doctor`, `tfgen backup` and `tfgen insights`.

Connection settings come from the working directory's terraform outputs, overridden
by explicit options and then by libpq's environment variables. The password comes
from ``PGPASSWORD``, else the sensitive output (``random``), else the Secrets
Manager secret (``rds_managed``, ``write_only``). It is never printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfgen.deploy import basics as deploy
from tfgen.errors import TfgenError, UsageError
from tfgen.ops import backup as backups
from tfgen.ops import cluster, database, metrics
from tfgen.ops.aws import AwsClients, clients, secret_string
from tfgen.ops.results import CheckResult, Status
from tfgen.spec.model import Spec


@dataclass(frozen=True)
class ConnectionOverrides:
    """``--host/--port/--user/--dbname``: win over the outputs and the environment."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    dbname: str | None = None


@dataclass(frozen=True)
class DoctorReport:
    """Every check's result, in the runbook's order."""

    cluster: str
    results: list[CheckResult]

    @property
    def failed(self) -> bool:
        """True when any check FAILed."""
        return any(result.status is Status.FAIL for result in self.results)

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON-ready document."""
        return {
            "cluster": self.cluster,
            "ok": not self.failed,
            "checks": [result.to_json() for result in self.results],
        }


def _outputs(spec_path: Path, options: deploy.DeployOptions) -> dict[str, Any]:
    try:
        from tfgen.deploy import operations  # terraform output: not when the connection is given in full

        return {name: item.value for name, item in operations.outputs(spec_path, options).items()}
    except UsageError:
        return {}  # nothing deployed through tfgen here: the options and environment must say where


def _needs_outputs(overrides: ConnectionOverrides, env: Mapping[str, str]) -> bool:
    """Whether the terraform outputs would add anything: not when every setting and the password are given.

    Reading them runs ``terraform output`` (with a remote state, ``init`` first): seconds a
    backup with ``--host``, ``--port``, ``--user``, ``--dbname`` and ``PGPASSWORD`` need not wait.
    """
    given = (
        overrides.host or env.get("PGHOST"),
        overrides.port or env.get("PGPORT"),
        overrides.user or env.get("PGUSER"),
        overrides.dbname or env.get("PGDATABASE"),
        env.get("PGPASSWORD"),
    )
    return not all(given)


def connection_settings(
    spec: Spec,
    outputs: Mapping[str, Any],
    overrides: ConnectionOverrides,
    env: Mapping[str, str],
    password: Callable[[], str | None],
) -> database.ConnectionSettings:
    """Where to connect: options, then libpq's environment, then the outputs, then the spec.

    Args:
        spec: The cluster's spec.
        outputs: Terraform outputs of the working directory (may be empty).
        overrides: Explicit command-line values.
        env: The environment (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``,
            ``PGDATABASE``, ``PGSSLMODE``).
        password: Looks the password up when ``PGPASSWORD`` is not set.

    Raises:
        UsageError: If no host is known or ``PGPORT`` is not a number.
    """
    host = overrides.host or env.get("PGHOST") or outputs.get("endpoint")
    if not host:
        raise UsageError(
            f"no host for {spec.name}: no deployment in the working directory and no --host or PGHOST",
            hint="pass --host (the cluster's endpoint), or run tfgen apply first",
        )
    try:
        port = overrides.port or int(env.get("PGPORT") or outputs.get("port") or spec.port)
    except ValueError:
        raise UsageError(f"PGPORT={env.get('PGPORT')!r} is not a port number") from None
    return database.ConnectionSettings(
        host=str(host),
        port=port,
        user=overrides.user or env.get("PGUSER") or str(outputs.get("master_username") or spec.master_username),
        dbname=overrides.dbname or env.get("PGDATABASE") or str(outputs.get("database_name") or spec.database_name),
        password=env.get("PGPASSWORD") or password(),
        sslmode=env.get("PGSSLMODE") or None,
    )


def _password_lookup(spec: Spec, outputs: Mapping[str, Any], aws: AwsClients) -> Callable[[], str | None]:
    def lookup() -> str | None:
        if spec.master_password.source == "random":
            value = outputs.get("master_password")
            return str(value) if value else None
        arn = outputs.get("master_user_secret_arn")
        if not arn:
            return None
        try:
            secret = json.loads(secret_string(aws, str(arn)))
        except (TfgenError, ValueError):
            return None  # the connection check then reports the authentication failure
        password = secret.get("password") if isinstance(secret, dict) else None
        return str(password) if password else None

    return lookup


def doctor(
    spec_path: Path,
    options: deploy.DeployOptions,
    overrides: ConnectionOverrides,
    env: Mapping[str, str],
    *,
    slow_seconds: float = 300,
    no_database_reason: Callable[[str], str | None] | None = None,
) -> DoctorReport:
    """Run the runbook's five checks (cluster, connection, slow queries, CPU and capacity, backups).

    ``no_database_reason(endpoint)`` says why an emulator's clusters have no database, if
    they have none: the cluster's endpoint is then not checked (a WARN naming the reason),
    since no advice about hosts, ports or passwords would help; a ``--host`` (or ``PGHOST``)
    still is.

    Raises:
        SpecError: If the spec is invalid.
        UsageError: If no database host can be determined.
        EmulatorError: With ``--local``, if the emulator cannot be reached.
    """
    spec = deploy.load(spec_path, options.environment).spec
    outputs = _outputs(spec_path, options)
    with deploy.emulator_endpoint(options) as endpoint:
        aws = clients(spec.region, endpoint)
        results = [cluster.cluster_status(aws, spec)]
        settings = connection_settings(spec, outputs, overrides, env, _password_lookup(spec, outputs, aws))
        # a host given by the user is checked, wherever it is; the cluster's own endpoint only if it is a database
        explicit = overrides.host or env.get("PGHOST")
        reason = None if explicit or endpoint is None or no_database_reason is None else no_database_reason(endpoint)
        connection = database.check_connection(settings) if reason is None else _not_checked(reason)
        results.append(connection)
        if connection.status is Status.PASS:
            results.append(database.slow_queries(settings, slow_seconds))
        else:
            results.append(
                CheckResult("slow_queries", Status.WARN, "not run: no database connection", "fix the connection first")
            )
        results.extend([metrics.cpu(aws, spec), metrics.capacity(aws, spec), cluster.backups(aws, spec)])
    return DoctorReport(spec.name, results)


def _not_checked(reason: str) -> CheckResult:
    """The connection check on an emulator whose clusters have no database."""
    return CheckResult(
        name="connection",
        status=Status.WARN,
        evidence=f"not checked: the emulator's {reason}",
        next_step=(
            "with the PostgreSQL server installed, restart the emulator (tfgen emulator stop, tfgen emulator start) "
            "and apply again: its clusters then get a real database"
        ),
        data={"kind": "no_database", "reason": reason},
    )


def backup(
    spec_path: Path,
    options: deploy.DeployOptions,
    overrides: ConnectionOverrides,
    env: Mapping[str, str],
    *,
    table: str | None,
    schema: str | None,
    query: str | None,
    out: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> backups.BackupResult:
    """Copy a table (or a query's rows) to a CSV file that appears only when complete.

    Raises:
        SpecError, UsageError: On bad input.
        DatabaseError: If the database cannot be reached or the copy fails.
    """
    if table is None and query is None:
        raise UsageError("give --table or --query")
    if table is not None and query is not None:
        raise UsageError("--table and --query exclude each other", hint="give one of them")
    spec = deploy.load(spec_path, options.environment).spec
    outputs = _outputs(spec_path, options) if _needs_outputs(overrides, env) else {}
    with deploy.emulator_endpoint(options) as endpoint:

        def password() -> str | None:  # boto3 costs a second to import: only when the password is not given
            return _password_lookup(spec, outputs, clients(spec.region, endpoint))()

        settings = connection_settings(spec, outputs, overrides, env, password)
    return backups.backup_table(settings, table=table, schema=schema, query=query, out=out, on_progress=on_progress)


def insights(spec_path: Path, options: deploy.DeployOptions, *, enable: bool) -> str:
    """Turn Performance Insights on or off for the cluster (ModifyDBCluster).

    Raises:
        UsageError: For Serverless v1, which cannot have Performance Insights.
        AwsError: If AWS refuses the request.
    """
    spec = deploy.load(spec_path, options.environment).spec
    if not spec.is_v2:
        raise UsageError(
            f"{spec.name} is Aurora Serverless v1: Performance Insights is not available for engine mode serverless",
            hint="use the slow-query check of tfgen doctor and the PostgreSQL log instead",
        )
    with deploy.emulator_endpoint(options) as endpoint:
        aws = clients(spec.region, endpoint)
        return cluster.set_performance_insights(aws, spec, enable)
