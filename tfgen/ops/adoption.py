"""An existing cluster (:class:`~tfgen.ops.discovery.Found`) as a spec, import blocks and the changes adopting it makes.

The spec reproduces what is deployed, field by field; where tfgen's default differs, a comment
says what adopting the default would change. Every piece whose configuration tfgen can write
without a replacement is imported into the module's address for it; a piece whose name tfgen
cannot give (a security group or DB subnet group named otherwise, a parameter group without the
module's name prefix and description) is either used as an existing piece
(``network.security_group_ids``, ``network.db_subnet_group_name``: the module never changes
them) or left alone while the module makes its own (the cluster then switches to it: a change
listed, nothing replaced or destroyed). Names, descriptions, identifiers and VPCs force a new
resource in aws provider 5.100.0 (``[provider.force_new]`` in ``tfgen/facts/aws.toml``).

The master password cannot be read: a cluster whose password RDS manages keeps ``rds_managed``
(nothing changes); any other gets ``write_only``: the first apply writes a generated password
to the cluster and to the module's secret, never to the state (clients must read it from the
secret). Not ``random``: its password would live in the state, and hashicorp/random is one more
provider. Not ``rds_managed``: Serverless v1 cannot have it, and aws provider 5.100.0 does not
mark ``master_user_secret`` unknown when ``manage_master_user_password`` turns on, so the first
apply's outputs lack the new secret until the next refresh (a second plan that is not clean).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tfgen import facts
from tfgen.deploy.imports import ImportBlock
from tfgen.ops.discovery import Found, ImportRefusedError, ParameterGroup

_M = "module.cluster."
_TERRAFORM_SUFFIX = re.compile(r"\d{26}")
"""What terraform appends to a ``name_prefix`` (a timestamp and a counter, 26 digits)."""
BUILTIN_ALARMS = ("cpu", "connections", "capacity", "acu_utilization")
Comments = dict[tuple[str, ...], str]


@dataclass
class Adoption:
    """What ``tfgen import`` writes: the spec (as data, with comments), the import blocks, the changes."""

    spec: dict[str, Any] = field(default_factory=dict)
    comments: Comments = field(default_factory=dict)
    """A comment above a key, by its path (``("serverless", "min_capacity")``); ``()`` heads the file."""
    imports: list[ImportBlock] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    """What the first apply changes, one line each (the spec's deliberate changes)."""
    left_alone: list[str] = field(default_factory=list)
    """What names the cluster but stays outside tfgen's management, one line each."""

    def adopt(self, resource: str, id_: str, reason: str) -> None:
        """Import ``resource`` (an address inside the module) with ``id_``."""
        self.imports.append(ImportBlock(_M + resource, id_, reason))

    def note(self, path: tuple[str, ...], text: str) -> None:
        """A comment above ``path`` (appended to one already there)."""
        self.comments[path] = f"{self.comments[path]}; {text}" if path in self.comments else text


def adopt(found: Found) -> Adoption:
    """The spec, import blocks and changes that take ``found`` over.

    Raises:
        ImportRefusedError: If the cluster has something a spec cannot express without replacing it.
    """
    result = Adoption()
    _cluster(found, result)
    _network(found, result)
    if found.is_v2:
        _instances(found, result)
    _password(found, result)
    _parameters(found, result)
    _logs(found, result)
    _alarms(found, result)
    return result


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or [] if not str(t["Key"]).startswith("aws:")}


def _cluster(found: Found, out: Adoption) -> None:
    c, name, spec = found.cluster, found.name, out.spec
    if not c.get("StorageEncrypted"):
        raise ImportRefusedError(
            f"cluster {name} is not encrypted: tfgen requires storage encryption, and storage_encrypted forces a new "
            "cluster",
            hint="restore an encrypted copy from a snapshot (copy the snapshot with a KMS key), then import that",
        )
    if not c.get("DatabaseName"):
        raise ImportRefusedError(
            f"cluster {name} has no database name: a spec names one, and database_name forces a new cluster"
        )
    spec.update(name=name, region=found.region, engine_version=c["EngineVersion"])
    spec.update(database_name=c["DatabaseName"], master_username=c["MasterUsername"], port=c.get("Port", 5432))
    if found.is_v2:
        scaling = c["ServerlessV2ScalingConfiguration"]
        server: dict[str, Any] = {"version": "v2", "min_capacity": scaling["MinCapacity"]}
        server["max_capacity"] = scaling["MaxCapacity"]
        if scaling.get("SecondsUntilAutoPause") is not None and scaling["MinCapacity"] == 0:
            server["seconds_until_auto_pause"] = scaling["SecondsUntilAutoPause"]
        server["instances"] = len(found.instances)
        if not found.instances:
            raise ImportRefusedError(f"cluster {name} has no instances: a Serverless v2 spec has at least one")
    else:
        v1 = c.get("ScalingConfigurationInfo") or {}
        server = {"version": "v1", "min_capacity": v1.get("MinCapacity", 2), "max_capacity": v1.get("MaxCapacity", 16)}
        server.update(
            auto_pause=v1.get("AutoPause", True), seconds_until_auto_pause=v1.get("SecondsUntilAutoPause", 300)
        )
        server.update(
            seconds_before_timeout=v1.get("SecondsBeforeTimeout", 300),
            timeout_action=v1.get("TimeoutAction", "RollbackCapacityChange"),
        )
    spec["serverless"] = server
    if "." in c["EngineVersion"]:
        out.note(
            ("engine_version",),
            "the deployed minor, pinned (a major would plan a change to its LTS minor): automatic minor upgrades "
            f'are off while it is pinned; write "{c["EngineVersion"].split(".")[0]}" after the first apply to let AWS '
            "upgrade minors",
        )
    key = c.get("KmsKeyId")
    if key and _customer_key(found, key):
        spec["kms_key_id"] = key
    spec["copy_tags_to_snapshot"] = bool(c.get("CopyTagsToSnapshot"))
    spec["deletion_protection"] = bool(c.get("DeletionProtection"))
    spec["backup_retention_period"] = c.get("BackupRetentionPeriod", 1)
    spec["preferred_backup_window"] = c["PreferredBackupWindow"]
    spec["preferred_maintenance_window"] = c["PreferredMaintenanceWindow"]
    _differs(out, "copy_tags_to_snapshot", spec["copy_tags_to_snapshot"], True, "snapshots would carry the tags")
    _differs(out, "deletion_protection", spec["deletion_protection"], True, "the cluster could not be deleted")
    _differs(out, "backup_retention_period", spec["backup_retention_period"], 7, "AWS would keep 7 days of backups")
    if found.is_v2:
        if c.get("StorageType") == "aurora-iopt1":
            spec["storage_type"] = "aurora-iopt1"
        if c.get("NetworkType") == "DUAL":
            spec["network_type"] = "DUAL"
        pi = bool(c.get("PerformanceInsightsEnabled"))
        spec["performance_insights"] = pi
        _differs(out, "performance_insights", pi, True, "Performance Insights would be turned on (7 days free)")
        if pi and c.get("PerformanceInsightsRetentionPeriod"):
            spec["performance_insights_retention_days"] = c["PerformanceInsightsRetentionPeriod"]
        if c.get("DatabaseInsightsMode") == "advanced":
            spec["database_insights_mode"] = "advanced"
        iam = bool(c.get("IAMDatabaseAuthenticationEnabled"))
        spec["iam_database_authentication"] = iam
        _differs(out, "iam_database_authentication", iam, True, "IAM database authentication would be turned on")
    out.note(
        ("skip_final_snapshot",),
        "not readable from AWS: tfgen's default (false) takes a final snapshot when the cluster is destroyed",
    )
    spec["skip_final_snapshot"] = False
    spec["tags"] = _tags(c.get("TagList"))
    out.changes.append(
        "the state records Terraform-only settings (skip_final_snapshot false, apply_immediately false, a final "
        "snapshot name): no change in AWS"
    )
    if spec["tags"]:
        out.changes.append("tags: the cluster's tags go on every resource the module manages (log group, alarms...)")
    out.adopt("aws_rds_cluster.this", found.name, f"the cluster {name}")


def _customer_key(found: Found, key: str) -> bool:
    """True for a customer-managed KMS key ARN (not AWS's ``aws/rds`` key, which the spec leaves out)."""
    return key.startswith("arn:") and found.key_manager == "CUSTOMER"


def _differs(out: Adoption, key: str, deployed: Any, default: Any, what: str) -> None:
    if deployed != default:
        out.note((key,), f"deployed as is; tfgen's default is {_yaml(default)}: adopting it, {what}")


def _set_given(section: dict[str, Any], **values: list[Any]) -> None:
    """Set the lists that are not empty (an empty one is the default: the spec leaves it out)."""
    section.update({key: value for key, value in values.items() if value})


def _yaml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _network(found: Found, out: Adoption) -> None:
    name, spec, port = found.name, found.cluster, found.cluster.get("Port", 5432)
    own_description = f"Aurora PostgreSQL cluster {name}: port {port} from allowed sources only"
    network: dict[str, Any] = {}
    shared: list[str] = []
    for group in found.security_groups:
        if group.get("GroupName") == name and group.get("Description") == own_description and "create" not in network:
            network["create"] = group
        else:
            shared.append(group["GroupId"])
    own = network.pop("create", None)
    if own is None:
        network["create_security_group"] = False
        out.note(
            ("network", "create_security_group"),
            "the cluster's security groups were not made by tfgen (their names force a new group): they stay as they "
            "are, attached, and decide who connects",
        )
    else:
        out.spec["vpc_id"] = own["VpcId"]
        _own_group(found, own, network, out)
    if shared:
        network["security_group_ids"] = shared
    subnet_group = found.subnet_group or {}
    subnets = sorted(s["SubnetIdentifier"] for s in subnet_group.get("Subnets") or [])
    if subnet_group.get("DBSubnetGroupName") == name and subnet_group.get("DBSubnetGroupDescription") == (
        f"Subnets of Aurora PostgreSQL cluster {name}"
    ):
        out.spec["subnet_ids"] = subnets
        out.adopt("aws_db_subnet_group.this", name, f"the DB subnet group {name}")
    elif subnet_group:
        network["db_subnet_group_name"] = subnet_group["DBSubnetGroupName"]
        out.note(
            ("network", "db_subnet_group_name"),
            "an existing DB subnet group, used as it is (tfgen would name its own after the cluster, and the "
            "cluster's subnet group forces a new cluster)",
        )
    del spec
    out.spec["network"] = network


def _own_group(found: Found, group: dict[str, Any], network: dict[str, Any], out: Adoption) -> None:
    """The module's own security group (made by tfgen): imported with the rules it can express."""
    port = found.cluster.get("Port", 5432)
    out.adopt("aws_security_group.this", group["GroupId"], f"the security group {group['GroupName']}")
    cidrs: list[str] = []
    sources: list[str] = []
    egress: list[dict[str, Any]] = []
    for rule in group.get("Rules") or []:
        cidr = rule.get("CidrIpv4") or rule.get("CidrIpv6")
        source = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
        single = rule.get("IpProtocol") == "tcp" and rule.get("FromPort") == rule.get("ToPort")
        rid = rule["SecurityGroupRuleId"]
        if not rule.get("IsEgress") and single and rule.get("FromPort") == port and cidr:
            out.adopt(f'aws_vpc_security_group_ingress_rule.cidr["{cidr}"]', rid, f"ingress from {cidr}")
            cidrs.append(cidr)
        elif not rule.get("IsEgress") and single and rule.get("FromPort") == port and source:
            key = str(len(sources))
            out.adopt(f'aws_vpc_security_group_ingress_rule.security_group["{key}"]', rid, f"ingress from {source}")
            sources.append(source)
        elif rule.get("IsEgress") and single and cidr:
            out.adopt(f'aws_vpc_security_group_egress_rule.this["{cidr} {rule["FromPort"]}"]', rid, f"egress to {cidr}")
            entry: dict[str, Any] = {"cidr": cidr, "port": rule["FromPort"]}
            if rule.get("Description"):
                entry["description"] = rule["Description"]
            egress.append(entry)
        else:
            out.left_alone.append(f"security group rule {rid} of {group['GroupId']} (a spec cannot express it)")
    _set_given(network, allowed_cidr_blocks=cidrs, allowed_security_group_ids=sources, egress=egress)


def _instances(found: Found, out: Adoption) -> None:
    name, spec = found.name, out.spec
    overrides: list[dict[str, Any]] = []
    monitoring = {i.get("MonitoringInterval", 0) for i in found.instances}
    pi_retention = None
    for number, instance in enumerate(_numbered(name, found.instances), start=1):
        identifier = instance["DBInstanceIdentifier"]
        override: dict[str, Any] = {"instance": number}
        if identifier != f"{name}-{number}":
            override["identifier"] = identifier
        tier = instance.get("PromotionTier")
        if tier is not None and tier != number - 1:
            override["promotion_tier"] = tier
        if len(override) > 1:
            overrides.append(override)
        out.adopt(f"aws_rds_cluster_instance.this[{number - 1}]", identifier, f"instance {identifier}")
        if instance.get("PubliclyAccessible"):
            out.changes.append(f"instance {identifier}: publicly_accessible true → false (tfgen never exposes one)")
        pi_retention = pi_retention or instance.get("PerformanceInsightsRetentionPeriod")
    if overrides:
        spec["serverless"]["instance_overrides"] = overrides
        out.note(
            ("serverless", "instance_overrides"),
            "the instances' identifiers and failover tiers as deployed (an identifier forces a new instance)",
        )
    interval = max(monitoring) if monitoring else 0
    spec["monitoring_interval"] = interval
    _differs(
        out, "monitoring_interval", interval, 60, "enhanced monitoring every 60 s, through a role the module makes"
    )
    if len(monitoring) > 1:
        out.changes.append(f"enhanced monitoring: every instance at {interval} s (they differ now)")
    prefix = f"{name[:24].rstrip('-')}-monitoring-"
    role = found.monitoring_role
    if interval and role and role.startswith(prefix):
        out.adopt("aws_iam_role.monitoring[0]", role, f"the enhanced-monitoring role {role}")
        policy = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
        out.adopt("aws_iam_role_policy_attachment.monitoring[0]", f"{role}/{policy}", "the role's policy")
    elif interval:
        out.changes.append(
            f"enhanced monitoring: the instances move to a role the module makes ({prefix}…); {role or 'theirs'} "
            "stays as it is"
        )
    automatic = {bool(i.get("AutoMinorVersionUpgrade")) for i in found.instances}
    if "." in str(spec["engine_version"]) and True in automatic:
        out.changes.append(
            "instances: auto_minor_version_upgrade true → false (engine_version pins the deployed minor)"
        )


def _numbered(name: str, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The instances in the module's order: ``<name>-N`` as instance N, the others (writer first) in the gaps."""
    count = len(instances)
    by_number: dict[int, dict[str, Any]] = {}
    rest = []
    for instance in instances:
        match = re.fullmatch(rf"{re.escape(name)}-(\d+)", instance["DBInstanceIdentifier"])
        number = int(match[1]) if match else 0
        if 1 <= number <= count and number not in by_number:
            by_number[number] = instance
        else:
            rest.append(instance)
    by_number.update(zip((n for n in range(1, count + 1) if n not in by_number), rest, strict=False))
    return [by_number[n] for n in range(1, count + 1)]


def _password(found: Found, out: Adoption) -> None:
    if found.cluster.get("MasterUserSecret"):
        out.spec["master_password"] = {"source": "rds_managed"}
        out.note(("master_password",), "RDS manages the password already (its secret stays as it is)")
        return
    out.spec["master_password"] = {"source": "write_only"}
    out.note(
        ("master_password",),
        "the current password cannot be read: the first apply writes a generated one to the cluster and to the "
        "module's secret (output master_user_secret_arn), never to the state; clients must read it from there",
    )
    mine = [s for s in found.secrets if s.get("Name", "").startswith(f"{found.name}-master-")]
    if len(mine) == 1:
        out.adopt("aws_secretsmanager_secret.master", mine[0]["ARN"], f"the secret {mine[0]['Name']}")
    out.changes.append("master password: replaced by a generated one, written to the cluster and the module's secret")


def _module_group(group: ParameterGroup | None, name: str, description: str) -> bool:
    """True when ``group`` has the name and description tfgen's module gives its own (importable as is)."""
    if group is None or group.is_default or group.description != description:
        return False
    prefix = f"{name}-"
    return group.name.startswith(prefix) and bool(_TERRAFORM_SUFFIX.fullmatch(group.name[len(prefix) :]))


def _parameters(found: Found, out: Adoption) -> None:
    name, spec = found.name, out.spec
    group = found.cluster_parameter_group
    parameters: list[dict[str, Any]] = []
    libraries: list[str] = []
    always = facts.raw()["preload_libraries"]["always"]
    for p in group.parameters if group else []:
        key, value = p["ParameterName"], p["ParameterValue"]
        if key == "log_min_duration_statement":
            spec["slow_query_ms"] = int(value)
        elif key == "shared_preload_libraries" and found.is_v2:
            libraries = [lib.strip() for lib in value.split(",") if lib.strip() and lib.strip() != always]
        elif key == "log_statement":
            if value != "ddl":
                out.changes.append(f"cluster parameter log_statement: {value} → ddl (the module's)")
        else:
            parameters.append({"name": key, "value": value, "apply_method": p.get("ApplyMethod") or "pending-reboot"})
    if "slow_query_ms" not in spec:
        spec["slow_query_ms"] = -1
        out.note(("slow_query_ms",), "deployed: no slow-query log; tfgen's default logs statements over 1000 ms")
    if libraries:
        spec["preload_libraries"] = libraries
    if parameters:
        spec["parameters"] = parameters
    description = f"Aurora PostgreSQL cluster {name}: query logging and statistics"
    if group is not None and _module_group(group, name, description):
        out.adopt("aws_rds_cluster_parameter_group.this", group.name, f"the cluster parameter group {group.name}")
    else:
        where = f"{group.name} (which stays as it is, unused)" if group and not group.is_default else "AWS's default"
        out.changes.append(
            f"cluster parameter group: the cluster moves to one the module makes ({name}-…: the parameters "
            f"below, log_statement ddl, pg_stat_statements loaded) from {where}"
        )
    instance_group = found.instance_parameter_group
    if found.is_v2 and instance_group is not None and not instance_group.is_default:
        spec["instance_parameters"] = [
            {
                "name": p["ParameterName"],
                "value": p["ParameterValue"],
                "apply_method": p.get("ApplyMethod") or "pending-reboot",
            }
            for p in instance_group.parameters
        ]
        described = f"Aurora PostgreSQL cluster {name}: instance parameters"
        if spec["instance_parameters"] and _module_group(instance_group, name, described):
            out.adopt(
                "aws_db_parameter_group.this[0]", instance_group.name, f"the DB parameter group {instance_group.name}"
            )
        elif spec["instance_parameters"]:
            out.changes.append(f"instance parameter group: a new one the module makes replaces {instance_group.name}")
        else:
            del spec["instance_parameters"]
            out.changes.append(
                f"instance parameter group: AWS's default replaces {instance_group.name} (it sets nothing)"
            )


def _logs(found: Found, out: Adoption) -> None:
    exports = "postgresql" in (found.cluster.get("EnabledCloudwatchLogsExports") or [])
    logs: dict[str, Any] = {}
    if found.is_v2:
        logs["export"] = exports
        if not exports:
            out.note(("logs", "export"), "deployed: not exported; tfgen's default exports them (a log group is made)")
    group = found.log_group
    if group is not None:
        days = group.get("retentionInDays")
        if days:
            logs["retention_days"] = days
        else:
            out.changes.append("log group: kept forever now; the module sets 365 days of retention")
        if (found.is_v2 and exports) or not found.is_v2:
            out.adopt("aws_cloudwatch_log_group.postgresql", group["logGroupName"], "the PostgreSQL log group")
            if group.get("kmsKeyId") and "kms_key_id" not in out.spec:
                out.changes.append("log group: no longer encrypted with its KMS key (the spec names none)")
    out.spec["logs"] = logs


def _alarms(found: Found, out: Adoption) -> None:
    name = found.name
    by_name = {a["AlarmName"]: a for a in found.alarms}
    wanted = BUILTIN_ALARMS if found.is_v2 else BUILTIN_ALARMS[:3]
    builtin = {
        key: by_name.pop(f"{name}-{key.replace('_', '-')}")
        for key in wanted
        if f"{name}-{key.replace('_', '-')}" in by_name
    }
    alarms: dict[str, Any] = {"enabled": bool(builtin)}
    if builtin:
        first = next(iter(builtin.values()))
        alarms.update(period=first["Period"], evaluation_periods=first["EvaluationPeriods"])
        if "cpu" in builtin:
            alarms["cpu_threshold"] = builtin["cpu"]["Threshold"]
        if "connections" in builtin:
            alarms["connections_threshold"] = int(builtin["connections"]["Threshold"])
        if "capacity" in builtin:
            alarms["capacity_threshold"] = builtin["capacity"]["Threshold"]
        if "acu_utilization" in builtin:
            alarms["acu_utilization_threshold"] = builtin["acu_utilization"]["Threshold"]
        for key, alarm in builtin.items():
            out.adopt(
                f'aws_cloudwatch_metric_alarm.builtin["{key}"]', alarm["AlarmName"], f"alarm {alarm['AlarmName']}"
            )
        missing = [key for key in wanted if key not in builtin]
        if missing:
            out.changes.append(f"alarms: the module adds {', '.join(missing)}")
    else:
        out.note(
            ("alarms", "enabled"),
            f"deployed: none of tfgen's alarms; its default (true) would create {len(wanted)} "
            "(CPU, connections, capacity" + (", ACU utilisation)" if found.is_v2 else ")"),
        )
    custom: list[dict[str, Any]] = []
    actions: list[str] = []
    ok_actions: list[str] = []
    for alarm in [*builtin.values(), *by_name.values()]:
        actions += [a for a in alarm.get("AlarmActions") or [] if a not in actions]
        ok_actions += [a for a in alarm.get("OKActions") or [] if a not in ok_actions]
    for alarm_name, alarm in by_name.items():
        key = alarm_name[len(name) + 1 :] if alarm_name.startswith(f"{name}-") else ""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", key) or "MetricName" not in alarm:
            out.left_alone.append(
                f"alarm {alarm_name} (its name does not start with {name}-, and alarm_name forces a new alarm)"
            )
            continue
        entry: dict[str, Any] = {"name": key, "metric": alarm["MetricName"], "namespace": alarm["Namespace"]}
        entry.update(statistic=alarm.get("Statistic", "Average"), comparison=alarm["ComparisonOperator"])
        entry.update(
            threshold=alarm["Threshold"], period=alarm["Period"], evaluation_periods=alarm["EvaluationPeriods"]
        )
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}
        if dims != {"DBClusterIdentifier": name}:
            entry["dimensions"] = dims
        entry["treat_missing_data"] = alarm.get("TreatMissingData", "missing")
        if alarm.get("AlarmDescription"):
            entry["description"] = alarm["AlarmDescription"]
        custom.append(entry)
        out.adopt(f'aws_cloudwatch_metric_alarm.custom["{key}"]', alarm_name, f"alarm {alarm_name}")
    _set_given(alarms, custom=custom, alarm_actions=actions, ok_actions=ok_actions)
    every = [*builtin.values(), *[by_name[f"{name}-{c['name']}"] for c in custom]]
    if any(sorted(a.get("AlarmActions") or []) != sorted(actions) for a in every):
        out.changes.append("alarms: every adopted alarm notifies the same actions (alarm_actions is one list)")
    out.spec["alarms"] = alarms
