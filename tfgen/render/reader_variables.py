"""The module's variables for readers beyond its instances: Aurora Auto Scaling's bounds, target
and cooldowns (``serverless.readers.autoscaling``), and the custom endpoints (``endpoints``).

Defaults come from the spec; the validations repeat its rules from ``tfgen/facts/aws.toml``
(``[reader_autoscaling]``), so a repository that vendors the module and overrides a variable is
held to the same values. The metric is structural (the spec fixes it in ``readers.tf``).
"""

from __future__ import annotations

from tfgen import facts
from tfgen.render.interface import Validation, Variable
from tfgen.spec.model import ServerlessV2, Spec

ENDPOINT_TYPE = """map(object({
    type     = string
    members  = optional(list(number), [])
    excluded = optional(list(number), [])
  }))"""


def reader_variables(spec: Spec) -> list[Variable]:
    """The autoscaling and custom endpoint variables, when the spec asks for them."""
    server = spec.serverless
    if not isinstance(server, ServerlessV2):
        return []
    return _autoscaling_variables(server) + _endpoint_variables(spec)


def _endpoint_variables(spec: Spec) -> list[Variable]:
    if not spec.endpoints:
        return []
    types = facts.raw()["custom_endpoints"]["types"]
    listed = ", ".join(f'"{kind}"' for kind in types)
    return [
        Variable(
            "custom_endpoints",
            ENDPOINT_TYPE,
            f"Custom endpoints by name (<cluster>-<name>): type {' or '.join(types)}, and members (its only "
            "instances) or excluded (the instances it leaves out), as instance numbers (1 is <cluster>-1).",
            {key: endpoint.model_dump() for key, endpoint in spec.endpoints.items()},
            (
                Validation(
                    f"alltrue([for e in var.custom_endpoints : contains([{listed}], e.type) && "
                    "(length(e.members) == 0 || length(e.excluded) == 0) && "
                    "alltrue([for n in concat(e.members, e.excluded) : n >= 1 && n <= var.instance_count])])",
                    f"custom_endpoints: type {' or '.join(types)}, members or excluded (not both), "
                    "instance numbers 1 to instance_count.",
                ),
            ),
            nullable=False,
        )
    ]


def _autoscaling_variables(server: ServerlessV2) -> list[Variable]:
    if server.readers.autoscaling is None:
        return []
    scaling = server.readers.autoscaling
    limit = facts.raw()["reader_autoscaling"]["max_replicas"]
    target_rule = (
        Validation(
            "var.reader_autoscaling_target > 0 && var.reader_autoscaling_target <= 100",
            "reader_autoscaling_target is a CPU utilization: more than 0, at most 100.",
        )
        if scaling.metric == "cpu"
        else Validation("var.reader_autoscaling_target > 0", "reader_autoscaling_target must be greater than 0.")
    )
    cooldown = ("reader_autoscaling_scale_in_cooldown", "reader_autoscaling_scale_out_cooldown")
    return [
        Variable(
            "reader_autoscaling_min_capacity",
            "number",
            "Aurora Replicas Aurora Auto Scaling keeps at least.",
            scaling.min_readers,
            (
                Validation(
                    "var.reader_autoscaling_min_capacity >= 0 && "
                    "var.reader_autoscaling_min_capacity <= var.reader_autoscaling_max_capacity",
                    "reader_autoscaling_min_capacity must be 0 to reader_autoscaling_max_capacity.",
                ),
            ),
            nullable=False,
        ),
        Variable(
            "reader_autoscaling_max_capacity",
            "number",
            f"Aurora Replicas Aurora Auto Scaling may add at most; with the module's readers at most {limit}.",
            scaling.max_readers,
            (
                Validation(
                    f"var.reader_autoscaling_max_capacity >= 1 && "
                    f"var.reader_autoscaling_max_capacity + var.instance_count - 1 <= {limit}",
                    f"reader_autoscaling_max_capacity must be at least 1, and with instance_count - 1 readers "
                    f"at most {limit} Aurora Replicas.",
                ),
            ),
            nullable=False,
        ),
        Variable(
            "reader_autoscaling_target",
            "number",
            f"Target of the readers' {scaling.predefined_metric} that Aurora Auto Scaling tracks.",
            scaling.effective_target,
            (target_rule,),
            nullable=False,
        ),
        *(
            Variable(
                name,
                "number",
                f"Seconds after a scale-{name.split('_')[-2]} before the next one.",
                getattr(scaling, name.removeprefix("reader_autoscaling_")),
                (Validation(f"var.{name} >= 0 && var.{name} <= 86400", f"{name} must be 0-86400 seconds."),),
                nullable=False,
            )
            for name in cooldown
        ),
    ]
