"""The module's variables for storage, network, TLS, backups, Performance Insights retention and the
instances' parameter group.

Each default comes from the spec; ``null`` leaves the setting to AWS (the provider then sends
nothing). Each validation repeats the spec's rule from ``tfgen/facts/aws.toml``, so a repository
that vendors the module and overrides a variable is held to the same values.
"""

from __future__ import annotations

from tfgen import facts
from tfgen.render.interface import PARAMETER_TYPE, Validation, Variable
from tfgen.spec.model import ServerlessV2, Spec

INSTANCE_OVERRIDE_TYPE = """map(object({
    availability_zone = optional(string)
    promotion_tier    = optional(number)
    identifier        = optional(string)
  }))"""


def _one_of(name: str, values: list[str]) -> Validation:
    listed = ", ".join(f'"{value}"' for value in values)
    return Validation(
        # terraform evaluates both sides of ||: contains() must not see a null
        f"var.{name} == null ? true : contains([{listed}], var.{name})",
        f"{name} must be null or one of {', '.join(values)}.",
    )


def _data_api_minimums() -> str:
    return ", ".join(f"{minor}+" for minor in facts.raw()["data_api"]["minimum"].values())


def cluster_variables(spec: Spec) -> list[Variable]:
    """The variables of these settings, defaults taken from ``spec``."""
    rules = facts.raw()
    found = [
        Variable(
            "delete_automated_backups",
            "bool",
            "Delete the automated backups with the cluster (false keeps them for their retention period).",
            spec.delete_automated_backups,
            nullable=False,
        ),
        Variable(
            "enable_http_endpoint",
            "bool",
            "The RDS Data API (SQL over HTTPS, authorized by IAM and the master secret); Serverless v2 needs "
            f"aurora-postgresql {_data_api_minimums()}.",
            spec.enable_http_endpoint,
            nullable=False,
        ),
    ]
    server = spec.serverless
    if not isinstance(server, ServerlessV2):
        return found
    found.append(
        Variable(
            "instance_overrides",
            INSTANCE_OVERRIDE_TYPE,
            'Per-instance settings by instance number ("1" is <name>-1): availability_zone (changing it replaces '
            "the instance), promotion_tier (0-15; default: the instance number - 1) and identifier (default: "
            "<name>-<number>; changing it replaces the instance).",
            {
                str(override.instance): override.model_dump(exclude={"instance"}, exclude_none=True)
                for override in server.instance_overrides
            },
            (
                Validation(
                    'alltrue([for n, o in var.instance_overrides : can(regex("^([1-9]|1[0-5])$", n)) && '
                    "try(tonumber(n) <= var.instance_count, false) && "
                    "(o.promotion_tier == null ? true : o.promotion_tier >= 0 && o.promotion_tier <= 15)])",
                    "instance_overrides keys must be instance numbers up to instance_count, promotion_tier 0-15.",
                ),
            ),
            nullable=False,
        )
    )
    found.append(
        Variable(
            "instance_parameters",
            PARAMETER_TYPE,
            "Parameters of the instances' DB parameter group (none: no group, the instances keep AWS's default).",
            [parameter.model_dump() | {"value": str(parameter.value)} for parameter in spec.instance_parameters],
            nullable=False,
        )
    )
    retention = rules["performance_insights_retention"]
    insights_minimum = rules["database_insights"]["advanced_min_retention_days"]
    months = f"{retention['month_days']} * 1-{retention['months'][1]} months"
    found.extend(
        [
            Variable(
                "storage_type",
                "string",
                "aurora (Standard, null: AWS's default) or aurora-iopt1 (I/O-Optimized: no I/O charges, higher storage and ACU prices).",
                spec.storage_type,
                (_one_of("storage_type", rules["storage_type"]["values"]),),
            ),
            Variable(
                "network_type",
                "string",
                "IPV4 (null: AWS's default) or DUAL (dual-stack: every subnet needs an IPv6 CIDR).",
                spec.network_type,
                (_one_of("network_type", rules["network_type"]["values"]),),
            ),
            Variable(
                "ca_cert_identifier",
                "string",
                "Certificate authority of the instances' server certificates (null: AWS's default).",
                spec.ca_cert_identifier,
                (_one_of("ca_cert_identifier", rules["ca_certificates"]["identifiers"]),),
            ),
            Variable(
                "performance_insights_retention_period",
                "number",
                f"Days of Performance Insights data: {retention['free_days']} (free, null: AWS's default), "
                f"{months} or {retention['max_days']}.",
                spec.performance_insights_retention_days,
                (
                    Validation(
                        f"var.performance_insights_retention_period == null || contains([{retention['free_days']}, "
                        f"{retention['max_days']}], coalesce(var.performance_insights_retention_period, 0)) || "
                        f"(coalesce(var.performance_insights_retention_period, 0) % {retention['month_days']} == 0 && "
                        f"coalesce(var.performance_insights_retention_period, 0) >= {retention['month_days']} && "
                        f"coalesce(var.performance_insights_retention_period, 0) <= "
                        f"{retention['month_days'] * retention['months'][1]})",
                        f"performance_insights_retention_period must be {retention['free_days']}, {months}, "
                        f"or {retention['max_days']}.",
                    ),
                ),
            ),
            Variable(
                "database_insights_mode",
                "string",
                f"CloudWatch Database Insights: standard or advanced (needs Performance Insights with at least "
                f"{insights_minimum} days of retention); null: AWS's default.",
                spec.database_insights_mode,
                (
                    _one_of("database_insights_mode", rules["database_insights"]["modes"]),
                    Validation(
                        f'var.database_insights_mode != "advanced" || (var.performance_insights_enabled && '
                        f"coalesce(var.performance_insights_retention_period, 0) >= {insights_minimum})",
                        f"database_insights_mode advanced needs performance_insights_enabled and at least "
                        f"{insights_minimum} days of performance_insights_retention_period.",
                    ),
                ),
            ),
        ]
    )
    return found
