"""The rendered module's outputs: one list feeds ``outputs.tf`` and the README's outputs table."""

from __future__ import annotations

from tfgen.render import hcl, view
from tfgen.render.integrations import integration_outputs
from tfgen.render.interface import Output
from tfgen.spec.model import Spec


def outputs(spec: Spec) -> list[Output]:
    """The module's outputs."""
    found = [
        Output("cluster_identifier", "Identifier of the Aurora cluster.", "aws_rds_cluster.this.cluster_identifier"),
        Output("cluster_arn", "ARN of the Aurora cluster.", "aws_rds_cluster.this.arn"),
        Output(
            "cluster_resource_id",
            "Resource id of the cluster (for IAM database authentication policies).",
            "aws_rds_cluster.this.cluster_resource_id",
        ),
        Output("endpoint", "Writer endpoint.", "aws_rds_cluster.this.endpoint"),
        Output(
            "reader_endpoint",
            "Reader endpoint (load-balanced over the readers).",
            "aws_rds_cluster.this.reader_endpoint",
        ),
        Output("port", "PostgreSQL port.", "aws_rds_cluster.this.port"),
        Output("database_name", "Name of the initial database.", "aws_rds_cluster.this.database_name"),
        Output("master_username", "Master user name.", "aws_rds_cluster.this.master_username"),
        *_network_outputs(spec),
        Output(
            "final_snapshot_identifier",
            "Snapshot taken when the cluster is deleted (null when skip_final_snapshot is true).",
            "aws_rds_cluster.this.final_snapshot_identifier",
        ),
        Output("parameter_group_name", "Cluster parameter group.", "aws_rds_cluster_parameter_group.this.name"),
    ]
    if spec.create_kms_key:
        found.append(Output("kms_key_arn", "The KMS key the module created.", "aws_kms_key.this.arn"))
    if spec.log_group_managed:
        found.append(
            Output(
                "log_group_name",
                "CloudWatch log group of the PostgreSQL logs.",
                "aws_cloudwatch_log_group.postgresql.name",
            )
        )
    if spec.is_v2:
        found.append(
            Output(
                "monitoring_role_arn",
                "IAM role of enhanced monitoring (null when monitoring_interval is 0).",
                "try(aws_iam_role.monitoring[0].arn, null)",
            )
        )
        found.append(
            Output(
                "instance_identifiers",
                "Identifiers of the db.serverless instances (any of them may be the writer).",
                "aws_rds_cluster_instance.this[*].identifier",
            )
        )
        if spec.endpoints:
            found.append(
                Output(
                    "custom_endpoints",
                    "Address of each custom endpoint, by name.",
                    "{ for name, endpoint in aws_rds_cluster_endpoint.this : name => endpoint.endpoint }",
                )
            )
        found.append(
            Output(
                "writer_instance_identifier",
                "The instance that is the writer now, as the provider read it (a failover moves it).",
                "try(one([for instance in aws_rds_cluster_instance.this : instance.identifier if instance.writer]), null)",
            )
        )
    found.extend(integration_outputs(spec))
    builtin_arns = "{ for k, a in aws_cloudwatch_metric_alarm.builtin : k => a.arn }" if spec.alarms.enabled else "{}"
    found.append(
        Output(
            "alarm_arns",
            "ARNs of the CloudWatch alarms, by name.",
            f"merge({builtin_arns}, {{ for k, a in aws_cloudwatch_metric_alarm.custom : k => a.arn }})",
        )
    )
    source = spec.credential_source
    if source == "random":
        found.append(
            Output(
                "master_password",
                "Master password (also in the Terraform state: protect the state).",
                "random_password.master.result",
                sensitive=True,
            )
        )
    elif source == "rds_managed":
        found.append(
            Output(
                "master_user_secret_arn",
                "Secrets Manager secret, managed by RDS, holding the master password.",
                "try(aws_rds_cluster.this.master_user_secret[0].secret_arn, null)",
            )
        )
    elif source == "write_only":
        found.append(
            Output(
                "master_user_secret_arn",
                "Secrets Manager secret holding the master credentials (never in the state).",
                "aws_secretsmanager_secret.master.arn",
            )
        )
    found.append(Output("password_location", "Where the master password lives.", hcl.string(spec.password_location)))
    return found


def _network_outputs(spec: Spec) -> list[Output]:
    """The security groups and the DB subnet group of the cluster, whether the module made them or not."""
    network = spec.network
    found = []
    if network.create_security_group:
        found.append(Output("security_group_id", "Security group of the cluster.", "aws_security_group.this.id"))
    if network.security_group_ids:
        found.append(
            Output(
                "security_group_ids",
                "Every security group of the cluster (the module's own, if any, first).",
                view.security_group_ids(spec),
            )
        )
    found.append(Output("db_subnet_group_name", "DB subnet group of the cluster.", view.db_subnet_group(spec)))
    return found
