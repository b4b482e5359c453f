"""Every spec rule: a valid and an invalid case, each asserting the exact message and line.

Invalid cases are fixture files (tests/fixtures/specs/invalid-<reason>.yaml): a small valid
spec with exactly one mistake. Valid cases are the boundary values of each rule. Inputs that
are generated (alias bombs, huge, binary or mis-encoded files) are built in the test.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tfgen.errors import ExitCode, SpecError
from tfgen.spec import source
from tfgen.spec import yaml_source as yamlsrc
from tfgen.spec.fields import V1_CAPACITIES
from tfgen.spec.loading import LoadedSpec, load_spec, parse_spec
from tfgen.spec.model import Spec
from tfgen.spec.rules import V1_WARNING

FIXTURES = Path(__file__).parent / "fixtures" / "specs"
EXAMPLES = Path(__file__).parent.parent / "examples"
SPEC = Path("spec.yaml")

BASE = """\
name: orders-db
region: eu-west-1
vpc_id: vpc-0a1b2c3d4e5f67890
subnet_ids:
  - subnet-0a1b2c3d4e5f67891
  - subnet-0a1b2c3d4e5f67892
network:
  allowed_cidr_blocks:
    - 10.0.0.0/16
"""
"""A valid spec of 9 lines; tests append to it (line 10 onwards) or replace its lines."""

NO_INGRESS = "no allowed_cidr_blocks or allowed_security_group_ids: nothing can connect"


def parse(extra: str = "", base: str = BASE) -> LoadedSpec:
    """Validate ``base`` plus ``extra`` as spec.yaml."""
    return parse_spec(base + extra, SPEC)


def spec_of(extra: str = "", base: str = BASE) -> Spec:
    return parse(extra, base).spec


def with_name(name: str) -> str:
    """BASE with another name."""
    return BASE.replace("name: orders-db\n", f"name: {name}\n")


def with_network(section: str) -> str:
    """BASE with another network section (or none: "")."""
    return BASE[: BASE.index("network:")] + section


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, SPEC)
    return info.value.problems


# --------------------------------------------------------------------------- invalid: one fixture per mistake

INVALID = [
    # name
    ("invalid-name-missing.yaml", 2, "name: required field is missing"),
    ("invalid-name-empty.yaml", 2, "name: must be 1 to 63 characters"),
    ("invalid-name-too-long.yaml", 2, "name: must be 1 to 63 characters"),
    (
        "invalid-name-too-long-for-v2.yaml",
        2,
        "name: at most 60 characters with Serverless v2: instance identifiers append -1 to -15 (max 63), got 61",
    ),
    (
        "invalid-name-uppercase.yaml",
        2,
        "name: must start with a lowercase letter and contain only lowercase letters, digits and hyphens",
    ),
    (
        "invalid-name-leading-digit.yaml",
        2,
        "name: must start with a lowercase letter and contain only lowercase letters, digits and hyphens",
    ),
    (
        "invalid-name-underscore.yaml",
        2,
        "name: must start with a lowercase letter and contain only lowercase letters, digits and hyphens",
    ),
    (
        "invalid-name-trailing-newline.yaml",
        2,
        "name: must start with a lowercase letter and contain only lowercase letters, digits and hyphens",
    ),
    (
        "invalid-name-sg-prefix.yaml",
        2,
        "name: must not start with sg-: it names the cluster's security group, "
        "and AWS refuses security group names that look like ids",
    ),
    (
        "invalid-name-default.yaml",
        2,
        "name: must not be default: it names the cluster's DB subnet group, and AWS reserves that name",
    ),
    ("invalid-name-double-hyphen.yaml", 2, "name: must not contain two consecutive hyphens or end with a hyphen"),
    ("invalid-name-trailing-hyphen.yaml", 2, "name: must not contain two consecutive hyphens or end with a hyphen"),
    ("invalid-name-number.yaml", 2, "name: must be a valid string, got int 42; put it in quotes"),
    # region, vpc_id, subnet_ids
    ("invalid-region-missing.yaml", 2, "region: required field is missing"),
    ("invalid-region-invalid.yaml", 3, "region: 'Ireland' is not an AWS region such as eu-west-1"),
    ("invalid-region-non-ascii-digit.yaml", 3, "region: 'eu-west-\u0661' is not an AWS region such as eu-west-1"),
    (
        "invalid-vpc-id-missing.yaml",
        2,
        "vpc_id: required field is missing: the module makes its security group in it "
        "(or set network.create_security_group: false and give network.security_group_ids)",
    ),
    ("invalid-vpc-id-invalid.yaml", 4, "vpc_id: 'vpc-123' is not a VPC id such as vpc-0abc12345def67890"),
    (
        "invalid-subnet-ids-missing.yaml",
        2,
        "subnet_ids: required field is missing; or name an existing DB subnet group in network.db_subnet_group_name",
    ),
    ("invalid-subnet-ids-one.yaml", 5, "subnet_ids: must have at least 2 items, got 1"),
    ("invalid-subnet-ids-duplicate.yaml", 7, "subnet_ids[1]: duplicate subnet-0a1b2c3d4e5f67891"),
    ("invalid-network-cidr-duplicate.yaml", 11, "network.allowed_cidr_blocks[1]: duplicate 10.0.0.0/16"),
    (
        "invalid-performance-insights-v1.yaml",
        11,
        "performance_insights: Performance Insights is not available for Aurora Serverless v1",
    ),
    (
        "invalid-network-security-group-duplicate.yaml",
        11,
        "network.allowed_security_group_ids[1]: duplicate sg-0a1b2c3d4e5f67890",
    ),
    (
        "invalid-subnet-id-invalid.yaml",
        7,
        "subnet_ids[1]: 'subnet-xyz' is not a subnet id such as subnet-0abc12345def67890",
    ),
    ("invalid-subnet-ids-string.yaml", 5, "subnet_ids: must be a valid list, got str 'subnet-0a1b2c3d4e5f67891'"),
    # engine_version
    (
        "invalid-engine-version-unquoted.yaml",
        11,
        "engine_version: must be a valid string, got float 16.6; put it in quotes",
    ),
    (
        "invalid-engine-version-format.yaml",
        11,
        "engine_version: 'v16' is not an aurora-postgresql version: a major such as 17, or a minor such as 16.8",
    ),
    (
        "invalid-engine-version-patch.yaml",
        11,
        "engine_version: '16.6.1' is not an aurora-postgresql version: a major such as 17, or a minor such as 16.8",
    ),
    (
        "invalid-engine-version-retired.yaml",
        11,
        "engine_version: 13.6 is retired: AWS no longer creates clusters with it; use the long-term-support minor 13.9,"
        ' or the major "13" (AWS then picks the minor and upgrades it)',
    ),
    (
        "invalid-engine-version-v1-major-only.yaml",
        8,
        "engine_version: 13: Serverless v1 needs a minor, such as 13.12 (AWS does not upgrade v1 clusters)",
    ),
    (
        "invalid-engine-version-v2-too-old.yaml",
        11,
        "engine_version: 16.0 does not support Serverless v2 (needs 13.6+, 14.3+, 15.2+, 16.1+, 17.4+)",
    ),
    (
        "invalid-engine-version-v2-17.yaml",
        11,
        "engine_version: 17.3 does not support Serverless v2 (needs 13.6+, 14.3+, 15.2+, 16.1+, 17.4+)",
    ),
    (
        "invalid-engine-version-v2-major.yaml",
        11,
        "engine_version: 12.22 does not support Serverless v2 (needs 13.6+, 14.3+, 15.2+, 16.1+, 17.4+)",
    ),
    (
        "invalid-engine-version-v1-major.yaml",
        11,
        "engine_version: 16.6 is not available for Serverless v1 (11.x or 13.x)",
    ),
    # database_name, master_username, port
    (
        "invalid-database-name-reserved.yaml",
        11,
        "database_name: 'postgres' is reserved by Aurora PostgreSQL; choose another name",
    ),
    (
        "invalid-database-name-reserved-template.yaml",
        11,
        "database_name: 'Template1' is reserved by Aurora PostgreSQL; choose another name",
    ),
    (
        "invalid-database-name-hyphen.yaml",
        11,
        "database_name: must start with a letter and contain only letters, digits and underscores (at most 63)",
    ),
    (
        "invalid-database-name-too-long.yaml",
        11,
        "database_name: must start with a letter and contain only letters, digits and underscores (at most 63)",
    ),
    (
        "invalid-master-username-reserved.yaml",
        11,
        "master_username: 'rdsadmin' is reserved by Aurora PostgreSQL; choose another name",
    ),
    (
        "invalid-master-username-postgres.yaml",
        11,
        "master_username: 'Postgres' is reserved by Aurora PostgreSQL; choose another name",
    ),
    (
        "invalid-master-username-leading-digit.yaml",
        11,
        "master_username: must be 1 to 16 letters or digits, starting with a letter (Aurora's rule for the master user)",
    ),
    (
        "invalid-master-username-too-long.yaml",
        11,
        "master_username: must be 1 to 16 letters or digits, starting with a letter (Aurora's rule for the master user)",
    ),
    (
        "invalid-master-username-underscore.yaml",
        11,
        "master_username: must be 1 to 16 letters or digits, starting with a letter (Aurora's rule for the master user)",
    ),
    (
        "invalid-preload-library-unknown.yaml",
        11,
        "preload_libraries[1]: 'timescaledb' is not a library Aurora PostgreSQL preloads; "
        "one of auto_explain, pg_cron, pg_hint_plan, pg_tle, pgaudit, pglogical",
    ),
    (
        "invalid-preload-library-always.yaml",
        11,
        "preload_libraries[0]: pg_stat_statements is always loaded by the module; leave it out",
    ),
    ("invalid-preload-library-duplicate.yaml", 13, "preload_libraries[1]: duplicate pgaudit"),
    (
        "invalid-preload-library-v1.yaml",
        13,
        "preload_libraries: Aurora Serverless v1 does not let shared_preload_libraries be changed",
    ),
    ("invalid-port-string.yaml", 11, "port: must be a valid integer, got str '5432'; remove the quotes"),
    ("invalid-port-bool.yaml", 11, "port: must be a valid integer, got boolean true"),
    ("invalid-port-float.yaml", 11, "port: must be a valid integer, got float 5432.5"),
    ("invalid-port-too-low.yaml", 11, "port: must be greater than or equal to 1150"),
    ("invalid-port-too-high.yaml", 11, "port: must be less than or equal to 65535"),
    # serverless (both versions)
    ("invalid-serverless-version-unknown.yaml", 12, "serverless.version: must be 'v2' or 'v1'"),
    ("invalid-serverless-version-number.yaml", 12, "serverless.version: must be 'v2' or 'v1'"),
    ("invalid-serverless-not-mapping.yaml", 11, "serverless: must be a mapping, got str 'v2'"),
    ("invalid-serverless-unknown-key.yaml", 12, "serverless.max_capasity: unknown field; did you mean 'max_capacity'?"),
    # serverless v1
    (
        "invalid-v1-capacity-not-allowed.yaml",
        13,
        "serverless.min_capacity: must be one of 2, 4, 8, 16, 32, 64, 192, 384 (Aurora Serverless v1 PostgreSQL)",
    ),
    ("invalid-v1-capacity-fraction.yaml", 13, "serverless.max_capacity: must be a valid integer, got float 0.5"),
    ("invalid-v1-min-above-max.yaml", 13, "serverless.min_capacity: 32 is above max_capacity 16"),
    (
        "invalid-v1-auto-pause-too-short.yaml",
        13,
        "serverless.seconds_until_auto_pause: must be greater than or equal to 300",
    ),
    (
        "invalid-v1-auto-pause-too-long.yaml",
        13,
        "serverless.seconds_until_auto_pause: must be less than or equal to 86400",
    ),
    (
        "invalid-v1-timeout-action.yaml",
        13,
        "serverless.timeout_action: must be 'RollbackCapacityChange' or 'ForceApplyCapacityChange'",
    ),
    ("invalid-v1-instances.yaml", 13, "serverless.instances: unknown field (only valid with serverless.version: v2)"),
    (
        "invalid-v1-rds-managed-password.yaml",
        14,
        "master_password.source: rds_managed is not supported by Aurora Serverless v1; use write_only",
    ),
    # serverless v2
    ("invalid-v2-capacity-step.yaml", 12, "serverless.min_capacity: must be a multiple of 0.5"),
    ("invalid-v2-max-too-high.yaml", 12, "serverless.max_capacity: must be less than or equal to 256"),
    ("invalid-v2-max-too-low.yaml", 12, "serverless.max_capacity: must be greater than or equal to 1"),
    ("invalid-v2-min-negative.yaml", 12, "serverless.min_capacity: must be greater than or equal to 0"),
    ("invalid-v2-capacity-nan.yaml", 12, "serverless.max_capacity: must be a finite number"),
    (
        "invalid-v2-capacity-string.yaml",
        12,
        "serverless.max_capacity: must be a valid number, got str '8'; remove the quotes",
    ),
    ("invalid-v2-min-above-max.yaml", 12, "serverless.min_capacity: 4 is above max_capacity 2"),
    (
        "invalid-v2-pause-without-seconds.yaml",
        12,
        "serverless.min_capacity: 0 (auto-pause) needs serverless.seconds_until_auto_pause (300-86400)",
    ),
    (
        "invalid-v2-pause-old-engine.yaml",
        13,
        "serverless.min_capacity: 0 (auto-pause) needs aurora-postgresql 13.15+, 14.12+, 15.7+, 16.3+, 17.4+; engine_version is 16.2",
    ),
    (
        "invalid-v2-seconds-without-pause.yaml",
        13,
        "serverless.seconds_until_auto_pause: only applies when serverless.min_capacity is 0",
    ),
    (
        "invalid-v2-auto-pause-too-short.yaml",
        13,
        "serverless.seconds_until_auto_pause: must be greater than or equal to 300",
    ),
    (
        "invalid-v2-auto-pause-too-long.yaml",
        13,
        "serverless.seconds_until_auto_pause: must be less than or equal to 86400",
    ),
    ("invalid-v2-instances-too-many.yaml", 12, "serverless.instances: must be less than or equal to 15"),
    ("invalid-v2-instances-zero.yaml", 12, "serverless.instances: must be greater than or equal to 1"),
    (
        "invalid-v2-auto-pause-flag.yaml",
        12,
        "serverless.auto_pause: unknown field (only valid with serverless.version: v1)",
    ),
    # master_password
    (
        "invalid-master-password-source.yaml",
        12,
        "master_password.source: must be 'random', 'rds_managed' or 'write_only'",
    ),
    ("invalid-master-password-string.yaml", 11, "master_password: must be a mapping, got str 'random'"),
    ("invalid-master-password-short.yaml", 12, "master_password.length: must be greater than or equal to 16"),
    (
        "invalid-master-password-too-long.yaml",
        12,
        "master_password.length: must be at most 41: Aurora refuses longer master passwords",
    ),
    # network
    (
        "invalid-cidr-host-bits.yaml",
        10,
        "network.allowed_cidr_blocks[0]: '10.0.0.1/16' has host bits set; write 10.0.0.0/16",
    ),
    (
        "invalid-cidr-prefix-too-long.yaml",
        10,
        "network.allowed_cidr_blocks[0]: '10.0.0.0/33' is not a CIDR block such as 10.0.0.0/16",
    ),
    (
        "invalid-cidr-netmask.yaml",
        10,
        "network.allowed_cidr_blocks[0]: '10.0.0.0/255.255.0.0' is not a CIDR block such as 10.0.0.0/16",
    ),
    (
        "invalid-cidr-no-prefix.yaml",
        10,
        "network.allowed_cidr_blocks[0]: '10.0.0.5' has no prefix length; write 10.0.0.5/32 for one address",
    ),
    (
        "invalid-cidr-open-world.yaml",
        11,
        "network.allowed_cidr_blocks[1]: '0.0.0.0/0' opens the database port to the whole internet; name the networks that need it",
    ),
    (
        "invalid-cidr-open-world-ipv6.yaml",
        10,
        "network.allowed_cidr_blocks[0]: '::/0' opens the database port to the whole internet; name the networks that need it",
    ),
    (
        "invalid-security-group-id-invalid.yaml",
        10,
        "network.allowed_security_group_ids[0]: 'sg-123' is not a security group id such as sg-0abc12345def67890",
    ),
    ("invalid-network-null.yaml", 8, "network: must be a mapping, got nothing (null)"),
    (
        "invalid-network-unknown-key.yaml",
        9,
        "network.allowed_cidrs: unknown field; did you mean 'allowed_cidr_blocks'?",
    ),
    # kms_key_id, storage_encrypted, tags
    ("invalid-kms-key-alias.yaml", 11, "kms_key_id: 'alias/aws/rds' is not a KMS key ARN"),
    ("invalid-storage-encrypted-false.yaml", 11, "storage_encrypted: must be true"),
    ("invalid-tag-key-aws-prefix.yaml", 13, "tags: key 'aws:owner' must not start with 'aws:' (reserved by AWS)"),
    ("invalid-tag-key-empty.yaml", 12, "tags: key '' must have at least 1 character"),
    ("invalid-tag-key-too-long.yaml", 12, "tags: key '" + "k" * 129 + "' must have at most 128 characters"),
    ("invalid-tag-value-too-long.yaml", 12, "tags.team: must have at most 256 characters"),
    ("invalid-tag-value-number.yaml", 12, "tags.cost-center: must be a valid string, got int 4711; put it in quotes"),
    ("invalid-tags-list.yaml", 11, "tags: must be a mapping, got a list"),
    # backup retention and windows
    ("invalid-backup-retention-zero.yaml", 11, "backup_retention_period: must be greater than or equal to 1"),
    ("invalid-backup-retention-too-long.yaml", 11, "backup_retention_period: must be less than or equal to 35"),
    ("invalid-backup-retention-bool.yaml", 11, "backup_retention_period: must be a valid integer, got boolean true"),
    (
        "invalid-backup-window-format.yaml",
        11,
        "preferred_backup_window: must be hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00",
    ),
    (
        "invalid-backup-window-hour.yaml",
        11,
        "preferred_backup_window: must be hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00",
    ),
    ("invalid-backup-window-too-short.yaml", 11, "preferred_backup_window: must last at least 30 minutes"),
    (
        "invalid-maintenance-window-format.yaml",
        11,
        "preferred_maintenance_window: must be ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00",
    ),
    ("invalid-maintenance-window-too-short.yaml", 11, "preferred_maintenance_window: must last at least 30 minutes"),
    (
        "invalid-maintenance-window-overlap.yaml",
        12,
        "preferred_maintenance_window: must not overlap preferred_backup_window",
    ),
    (
        "invalid-maintenance-window-overlap-midnight.yaml",
        12,
        "preferred_maintenance_window: must not overlap preferred_backup_window",
    ),
    # alarms
    ("invalid-alarm-cpu-threshold-zero.yaml", 12, "alarms.cpu_threshold: must be greater than 0"),
    ("invalid-alarm-cpu-threshold-too-high.yaml", 12, "alarms.cpu_threshold: must be less than or equal to 100"),
    (
        "invalid-alarm-connections-threshold-zero.yaml",
        12,
        "alarms.connections_threshold: must be greater than or equal to 1",
    ),
    (
        "invalid-alarm-capacity-threshold-too-high.yaml",
        12,
        "alarms.capacity_threshold: must be less than or equal to 384",
    ),
    (
        "invalid-alarm-acu-threshold-too-high.yaml",
        12,
        "alarms.acu_utilization_threshold: must be less than or equal to 100",
    ),
    ("invalid-alarm-period-too-short.yaml", 12, "alarms.period: must be greater than or equal to 10"),
    ("invalid-alarm-evaluation-periods-zero.yaml", 12, "alarms.evaluation_periods: must be greater than or equal to 1"),
    (
        "invalid-alarm-evaluation-periods-too-many.yaml",
        12,
        "alarms.evaluation_periods: must be less than or equal to 100",
    ),
    (
        "invalid-alarm-action-not-sns.yaml",
        13,
        "alarms.alarm_actions[0]: 'arn:aws:sqs:eu-west-1:111122223333:oncall' is not an SNS topic ARN",
    ),
    (
        "invalid-alarm-ok-action-account.yaml",
        13,
        "alarms.ok_actions[0]: 'arn:aws:sns:eu-west-1:1111:oncall' is not an SNS topic ARN",
    ),
    (
        "invalid-alarm-unknown-key.yaml",
        12,
        "alarms.cpu: unknown field; expected one of: acu_utilization_threshold, alarm_actions, capacity_threshold, connections_threshold, cpu_threshold, custom, enabled, evaluation_periods, ok_actions, period",
    ),
    # custom alarms
    (
        "invalid-custom-alarm-name-invalid.yaml",
        13,
        "alarms.custom[0].name: 'low memory' is not an alarm name (letters, digits, _ and -)",
    ),
    ("invalid-custom-alarm-name-duplicate.yaml", 16, "alarms.custom[1].name: duplicate alarm name 'low-memory'"),
    ("invalid-custom-alarm-name-builtin.yaml", 13, "alarms.custom[0].name: 'cpu' is the name of an automated alarm"),
    (
        "invalid-custom-alarm-name-builtin-hyphen.yaml",
        13,
        "alarms.custom[0].name: 'acu-utilization' clashes with the automated alarm 'acu_utilization' (both named orders-db-acu-utilization)",
    ),
    (
        "invalid-custom-alarm-statistic.yaml",
        16,
        "alarms.custom[0].statistic: must be 'Average', 'Sum', 'Minimum', 'Maximum' or 'SampleCount'",
    ),
    (
        "invalid-custom-alarm-comparison.yaml",
        16,
        "alarms.custom[0].comparison: must be 'GreaterThanOrEqualToThreshold', 'GreaterThanThreshold', 'LessThanThreshold' or 'LessThanOrEqualToThreshold'",
    ),
    (
        "invalid-custom-alarm-treat-missing-data.yaml",
        16,
        "alarms.custom[0].treat_missing_data: must be 'missing', 'ignore', 'breaching' or 'notBreaching'",
    ),
    ("invalid-custom-alarm-period-too-short.yaml", 16, "alarms.custom[0].period: must be greater than or equal to 10"),
    (
        "invalid-custom-alarm-evaluation-periods-too-many.yaml",
        16,
        "alarms.custom[0].evaluation_periods: must be less than or equal to 100",
    ),
    ("invalid-custom-alarm-threshold-missing.yaml", 13, "alarms.custom[0].threshold: required field is missing"),
    ("invalid-custom-alarm-threshold-infinite.yaml", 15, "alarms.custom[0].threshold: must be a finite number"),
    (
        "invalid-custom-alarm-unknown-key.yaml",
        16,
        "alarms.custom[0].treshold: unknown field; did you mean 'threshold'?",
    ),
    (
        "invalid-custom-alarm-dimension-key-empty.yaml",
        17,
        "alarms.custom[0].dimensions: key '' must have at least 1 character",
    ),
    ("invalid-custom-alarms-mapping.yaml", 12, "alarms.custom: must be a valid list, got a mapping"),
    # unknown keys and wrong types
    ("invalid-unknown-key.yaml", 11, "databse_name: unknown field; did you mean 'database_name'?"),
    ("invalid-bool-string.yaml", 11, "deletion_protection: must be a valid boolean, got str 'false'"),
    ("invalid-bool-number.yaml", 11, "skip_final_snapshot: must be a valid boolean, got int 1"),
    # YAML and the file as a whole
    ("invalid-yaml-malformed.yaml", 4, "invalid YAML: expected ',' or ']', but got ':'"),
    ("invalid-yaml-tab.yaml", 4, "invalid YAML: found character '\\t' that cannot start any token"),
    ("invalid-yaml-duplicate-key.yaml", 11, "duplicate key 'region'"),
    ("invalid-yaml-duplicate-nested-key.yaml", 13, "duplicate key 'max_capacity'"),
    (
        "invalid-yaml-two-documents.yaml",
        11,
        "invalid YAML: expected a single document in the stream but found another document",
    ),
    (
        "invalid-yaml-python-tag.yaml",
        11,
        "invalid YAML: unsupported tag 'tag:yaml.org,2002:python/name:os.getpid'",
    ),
    (
        "invalid-yaml-python-tag-list.yaml",
        11,
        "invalid YAML: unsupported tag 'tag:yaml.org,2002:python/object/apply:os.getpid'",
    ),
    # storage, lifecycle, TLS, network, backups, Performance Insights retention, Database Insights
    ("invalid-storage-type-unknown.yaml", 8, "storage_type: must be 'aurora' or 'aurora-iopt1'"),
    (
        "invalid-storage-type-iopt1-old-engine.yaml",
        9,
        "storage_type: aurora-iopt1 (I/O-Optimized) needs aurora-postgresql 13.10+, 14.7+, 15.2+, 16.1+, 17.4+; engine_version is 14.6",
    ),
    (
        "invalid-storage-type-v1.yaml",
        11,
        "storage_type: Aurora Serverless v1 cannot have I/O-Optimized storage (aurora-iopt1)",
    ),
    (
        "invalid-engine-lifecycle-support-unknown.yaml",
        8,
        "engine_lifecycle_support: must be 'open-source-rds-extended-support' or 'open-source-rds-extended-support-disabled'",
    ),
    (
        "invalid-ca-cert-identifier-expired.yaml",
        8,
        "ca_cert_identifier: 'rds-ca-2019' is not a certificate authority RDS offers; one of rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1",
    ),
    (
        "invalid-ca-cert-identifier-v1.yaml",
        11,
        "ca_cert_identifier: Aurora Serverless v1 cannot have a CA for instances (it has none)",
    ),
    ("invalid-network-type-ipv6.yaml", 8, "network_type: must be 'IPV4' or 'DUAL'"),
    (
        "invalid-network-type-dual-v1.yaml",
        11,
        "network_type: Aurora Serverless v1 cannot have dual-stack networking (DUAL)",
    ),
    (
        "invalid-delete-automated-backups-string.yaml",
        8,
        "delete_automated_backups: must be a valid boolean, got str 'no'",
    ),
    (
        "invalid-pi-retention-not-months.yaml",
        8,
        "performance_insights_retention_days: must be 7 (free), a multiple of 31 from 31 to 713 (months), or 731",
    ),
    (
        "invalid-pi-retention-too-long.yaml",
        8,
        "performance_insights_retention_days: must be 7 (free), a multiple of 31 from 31 to 713 (months), or 731",
    ),
    ("invalid-pi-retention-pi-off.yaml", 9, "performance_insights_retention_days: needs performance_insights: true"),
    (
        "invalid-pi-retention-v1.yaml",
        11,
        "performance_insights_retention_days: Aurora Serverless v1 cannot have Performance Insights",
    ),
    ("invalid-database-insights-mode-unknown.yaml", 8, "database_insights_mode: must be 'standard' or 'advanced'"),
    (
        "invalid-database-insights-advanced-short-retention.yaml",
        9,
        "database_insights_mode: advanced needs at least 465 days of Performance Insights retention; set performance_insights_retention_days: 465",
    ),
    (
        "invalid-database-insights-advanced-pi-off.yaml",
        9,
        "database_insights_mode: advanced needs performance_insights: true",
    ),
    (
        "invalid-database-insights-v1.yaml",
        11,
        "database_insights_mode: Aurora Serverless v1 cannot have Database Insights",
    ),
    # the instances' parameter group
    (
        "invalid-instance-parameter-managed.yaml",
        9,
        "instance_parameters[0].name: shared_preload_libraries is set by preload_libraries (the module loads pg_stat_statements); it cannot be overridden here",
    ),
    ("invalid-instance-parameter-duplicate.yaml", 11, "instance_parameters[1].name: duplicate parameter work_mem"),
    (
        "invalid-instance-parameter-name.yaml",
        9,
        "instance_parameters[0].name: 'Work-Mem' is not a PostgreSQL parameter name",
    ),
    (
        "invalid-instance-parameters-v1.yaml",
        11,
        "instance_parameters: Aurora Serverless v1 cannot have an instance parameter group (it has no instances)",
    ),
    # per-instance settings
    (
        "invalid-instance-override-missing-instance.yaml",
        11,
        "serverless.instance_overrides[0].instance: instance 3 does not exist: serverless.instances is 2",
    ),
    (
        "invalid-instance-override-duplicate.yaml",
        13,
        "serverless.instance_overrides[1].instance: duplicate override of instance 1",
    ),
    (
        "invalid-instance-override-zone-region.yaml",
        11,
        "serverless.instance_overrides[0].availability_zone: us-east-1a is not a zone of region eu-west-1",
    ),
    (
        "invalid-instance-override-zone-format.yaml",
        11,
        "serverless.instance_overrides[0].availability_zone: 'eu-west-1' is not an availability zone such as eu-west-1a",
    ),
    (
        "invalid-instance-override-tier.yaml",
        11,
        "serverless.instance_overrides[0].promotion_tier: must be less than or equal to 15",
    ),
    (
        "invalid-instance-override-v1.yaml",
        11,
        "serverless.instance_overrides: unknown field (only valid with serverless.version: v2)",
    ),
    # IAM role associations
    ("invalid-iam-role-feature-unknown.yaml", 9, "iam_roles[0].feature: must be 's3Import', 's3Export' or 'Lambda'"),
    (
        "invalid-iam-role-feature-duplicate.yaml",
        11,
        "iam_roles[1].feature: duplicate feature s3Import: AWS associates one role per feature",
    ),
    (
        "invalid-iam-role-no-resources.yaml",
        9,
        "iam_roles[0]: s3Export needs buckets (the module makes a role that reaches only them) or role_arn (an existing role)",
    ),
    (
        "invalid-iam-role-arn-and-buckets.yaml",
        10,
        "iam_roles[0].role_arn: give role_arn (an existing role) or buckets (the module makes the role), not both",
    ),
    ("invalid-iam-role-lambda-buckets.yaml", 10, "iam_roles[0].buckets: Lambda takes functions, not buckets"),
    (
        "invalid-iam-role-bucket-wildcard.yaml",
        10,
        "iam_roles[0].buckets[0]: 'landing/*': the key prefix may hold letters, digits and !_.'()/=+- only (no wildcards)",
    ),
    (
        "invalid-iam-role-bucket-uppercase.yaml",
        10,
        "iam_roles[0].buckets[0]: 'Reports' is not a bucket name (3-63 lowercase letters, digits, dots, hyphens), optionally /prefix",
    ),
    (
        "invalid-iam-role-function-not-arn.yaml",
        10,
        "iam_roles[0].functions[0]: 'notify-orders' is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)",
    ),
    (
        "invalid-iam-role-arn-invalid.yaml",
        10,
        "iam_roles[0].role_arn: 'arn:aws:iam::111122223333:user/loader' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
    ),
    (
        "invalid-iam-roles-v1.yaml",
        11,
        "iam_roles: Aurora Serverless v1 cannot have IAM role associations (S3 import/export, Lambda)",
    ),
    # global databases
    (
        "invalid-global-identifier-invalid.yaml",
        10,
        "global.identifier: must start with a lowercase letter and contain only lowercase letters, digits and hyphens",
    ),
    (
        "invalid-global-major-only.yaml",
        8,
        'engine_version: 16: a global database needs a pinned minor (such as "16.8"), the same in every region\'s spec',
    ),
    (
        "invalid-global-primary-source-region.yaml",
        12,
        "global.source_region: only for a secondary (the primary's region)",
    ),
    (
        "invalid-global-rds-managed.yaml",
        10,
        "master_password.source: rds_managed is not available to clusters of a global database (RDS's Secrets Manager integration); use write_only",
    ),
    (
        "invalid-global-role-unknown.yaml",
        11,
        "global.role: must be 'primary' or 'secondary'",
    ),
    (
        "invalid-global-secondary-create.yaml",
        14,
        "global.create: only for a primary (a secondary joins the global cluster)",
    ),
    (
        "invalid-global-secondary-kms-other-region.yaml",
        9,
        "kms_key_id: a secondary needs a key of its own region, eu-west-1",
    ),
    (
        "invalid-global-secondary-no-kms.yaml",
        9,
        "global: a secondary's storage needs a KMS key of its own region: set create_kms_key: true or kms_key_id",
    ),
    (
        "invalid-global-secondary-no-source-region.yaml",
        10,
        "global.source_region: required for a secondary: the primary's region",
    ),
    (
        "invalid-global-secondary-password.yaml",
        10,
        "master_password: a secondary has the primary's master password: remove it (AWS refuses one for a cross-region replica; database_name and master_username name the primary's, for the runbook)",
    ),
    (
        "invalid-global-secondary-same-region.yaml",
        13,
        "global.source_region: is region (eu-west-1): a secondary is in another region",
    ),
    (
        "invalid-global-v1.yaml",
        11,
        "global: Aurora Serverless v1 cannot be part of a global database",
    ),
    # database activity streams
    (
        "invalid-activity-stream-kms-alias.yaml",
        9,
        "activity_stream.kms_key_id: 'alias/audit' is not a KMS key ARN",
    ),
    (
        "invalid-activity-stream-mode.yaml",
        9,
        "activity_stream.mode: must be 'async' or 'sync'",
    ),
    (
        "invalid-activity-stream-serverless-v2.yaml",
        8,
        "activity_stream: database activity streams are not supported for Aurora Serverless v2 (Aurora User Guide, 'Supported Regions and Aurora DB engines for database activity streams'; AWS runs them on provisioned instances only: db.r6g, db.r5, db.r4, db.x2g); every instance of this module is db.serverless",
    ),
    (
        "invalid-activity-stream-v1.yaml",
        11,
        "activity_stream: Aurora Serverless v1 cannot have database activity streams",
    ),
    # the Data API
    (
        "invalid-data-api-old-minor.yaml",
        9,
        "enable_http_endpoint: the Data API needs aurora-postgresql 13.11+, 14.8+, 15.3+, 16.1+, 17.4+ with "
        'Serverless v2; engine_version is 15.2 (or give the major "15": AWS picks a current minor)',
    ),
    ("invalid-data-api-string.yaml", 8, "enable_http_endpoint: must be a valid boolean, got str 'yes'"),
    # reader autoscaling
    (
        "invalid-reader-autoscaling-connections-no-target.yaml",
        10,
        "serverless.readers.autoscaling.target: metric connections needs a target (average connections per reader)",
    ),
    (
        "invalid-reader-autoscaling-cpu-target.yaml",
        10,
        "serverless.readers.autoscaling.target: 120 is above 100 (% CPU)",
    ),
    (
        "invalid-reader-autoscaling-metric.yaml",
        10,
        "serverless.readers.autoscaling.metric: must be 'cpu' or 'connections'",
    ),
    (
        "invalid-reader-autoscaling-min-above-max.yaml",
        10,
        "serverless.readers.autoscaling.min_readers: 3 is above max_readers 2",
    ),
    (
        "invalid-reader-autoscaling-too-many.yaml",
        12,
        "serverless.readers.autoscaling.max_readers: at most 12: a cluster has at most 15 Aurora Replicas and "
        "serverless.instances 4 makes 3 of them",
    ),
    (
        "invalid-reader-autoscaling-v1.yaml",
        11,
        "serverless.readers: unknown field (only valid with serverless.version: v2)",
    ),
    # custom endpoints
    ("invalid-endpoint-both.yaml", 14, "endpoints.reporting.excluded: give members or excluded, not both"),
    ("invalid-endpoint-duplicate.yaml", 13, "endpoints.reporting.excluded[1]: duplicate instance 2"),
    (
        "invalid-endpoint-member-missing.yaml",
        13,
        "endpoints.reporting.members[1]: instance 3 does not exist: serverless.instances is 2",
    ),
    (
        "invalid-endpoint-name.yaml",
        9,
        "endpoints: key 'Reporting_1' must be lowercase letters, digits and single hyphens, starting with a letter",
    ),
    (
        "invalid-endpoint-too-long.yaml",
        9,
        "endpoints.reporting-for-the-finance-department-quarterly-close-xx: the endpoint identifier "
        "orders-db-reporting-for-the-finance-department-quarterly-close-xx is longer than 63 characters",
    ),
    ("invalid-endpoint-type.yaml", 9, "endpoints.reporting.type: must be 'READER' or 'ANY'"),
    ("invalid-endpoint-too-many.yaml", 10, "endpoints: 6 endpoints: a cluster has at most 5"),
    ("invalid-endpoint-v1.yaml", 11, "endpoints: Aurora Serverless v1 has no instances for custom endpoints"),
    ("invalid-yaml-set-tag.yaml", 11, "invalid YAML: unsupported tag 'tag:yaml.org,2002:set'"),
    ("invalid-yaml-number-key.yaml", 12, "key 2024 must be a string; put it in quotes"),
    ("invalid-yaml-list-key.yaml", 11, "keys must be strings, not a list"),
    ("invalid-yaml-undefined-alias.yaml", 11, "invalid YAML: found undefined alias 'common'"),
    ("invalid-yaml-recursive-alias.yaml", 11, "recursive alias: a value contains itself"),
    ("invalid-yaml-merge-scalar.yaml", 12, "invalid YAML: << must merge a mapping or a list of mappings"),
    ("invalid-top-level-list.yaml", 2, "the spec must be a mapping of fields (name, region, ...), not a list"),
    ("invalid-top-level-scalar.yaml", 2, "the spec must be a mapping of fields (name, region, ...), not a string"),
    ("invalid-empty.yaml", 1, "the spec must be a mapping of fields (name, region, ...), not empty"),
    ("invalid-only-comments.yaml", 1, "the spec must be a mapping of fields (name, region, ...), not empty"),
    ("invalid-restore-both.yaml", 11, "restore: give snapshot_identifier or point_in_time, exactly one"),
    (
        "invalid-restore-global-secondary.yaml",
        30,
        "restore: a global database's secondary copies its primary: it cannot be restored from a backup",
    ),
    (
        "invalid-restore-copy-on-write-time.yaml",
        14,
        "restore.point_in_time.restore_to_time: a copy-on-write clone is of the latest time: AWS refuses RestoreToTime with it; use use_latest_restorable_time: true or restore_type: full-copy",
    ),
    ("invalid-restore-empty.yaml", 11, "restore: give snapshot_identifier or point_in_time, exactly one"),
    (
        "invalid-restore-snapshot-arn-no-kms.yaml",
        12,
        "restore.snapshot_identifier: a snapshot named by ARN (another account's, shared) needs kms_key_id or create_kms_key: true, so that the restored cluster is encrypted with a key of this account instead of the snapshot's (whose key must also be shared with this account)",
    ),
    (
        "invalid-restore-snapshot-arn-region.yaml",
        13,
        "restore.snapshot_identifier: the snapshot is in us-east-1, the cluster in eu-west-1: copy the snapshot to eu-west-1 first (aws rds copy-db-cluster-snapshot)",
    ),
    (
        "invalid-restore-snapshot-arn.yaml",
        13,
        "restore.snapshot_identifier: 'arn:aws:rds:eu-west-1:444455556666:cluster:orders-db' is not a DB cluster snapshot ARN such as arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:orders-db-2026-11-20",
    ),
    (
        "invalid-restore-snapshot-identifier.yaml",
        12,
        "restore.snapshot_identifier: must not contain two consecutive hyphens or end with a hyphen",
    ),
    (
        "invalid-restore-snapshot-leading-digit.yaml",
        12,
        "restore.snapshot_identifier: '2026-orders' is not a DB cluster snapshot identifier (1-255 letters, digits and hyphens, a letter first; rds:… for an automated snapshot) or ARN",
    ),
    (
        "invalid-restore-source-arn.yaml",
        13,
        "restore.point_in_time.source_cluster_identifier: 'arn:aws:rds:eu-west-1:111122223333:db:orders-db-1' is not a DB cluster ARN such as arn:aws:rds:eu-west-1:111122223333:cluster:orders-db",
    ),
    (
        "invalid-restore-source-cluster.yaml",
        13,
        "restore.point_in_time.source_cluster_identifier: 'Orders_DB' is not a DB cluster identifier (1-63 lowercase letters, digits and hyphens, a letter first) or ARN",
    ),
    (
        "invalid-restore-source-self.yaml",
        13,
        "restore.point_in_time.source_cluster_identifier: orders-db is this cluster's own name: the restored cluster needs a name of its own",
    ),
    (
        "invalid-restore-time-and-latest.yaml",
        12,
        "restore.point_in_time: give restore_to_time or use_latest_restorable_time: true, exactly one",
    ),
    (
        "invalid-restore-time-format.yaml",
        14,
        "restore.point_in_time.restore_to_time: '20 Nov 2026 03:15' is not an RFC 3339 time with a zone, such as 2026-11-20T03:15:00Z",
    ),
    (
        "invalid-restore-time-future.yaml",
        14,
        "restore.point_in_time.restore_to_time: 2999-01-01T00:00:00+01:00 is in the future",
    ),
    (
        "invalid-restore-time-missing.yaml",
        12,
        "restore.point_in_time: give restore_to_time or use_latest_restorable_time: true, exactly one",
    ),
    (
        "invalid-restore-time-no-zone.yaml",
        14,
        "restore.point_in_time.restore_to_time: '2026-11-20T03:15:00' is not an RFC 3339 time with a zone, such as 2026-11-20T03:15:00Z",
    ),
    ("invalid-restore-type.yaml", 15, "restore.point_in_time.restore_type: must be 'full-copy' or 'copy-on-write'"),
    (
        "invalid-restore-v1.yaml",
        14,
        "restore: Aurora Serverless v1 clusters can no longer be created, restored ones included; use v2",
    ),
    (
        "invalid-rotation-days-too-many.yaml",
        13,
        "master_password.rotation_days: must be 1 to 1000 days (Secrets Manager's rotation schedule)",
    ),
    (
        "invalid-rotation-days-write-only.yaml",
        13,
        "master_password.rotation_days: only applies to the secret RDS manages (source: rds_managed), not to source write_only",
    ),
    (
        "invalid-rotation-days-zero.yaml",
        13,
        "master_password.rotation_days: must be 1 to 1000 days (Secrets Manager's rotation schedule)",
    ),
    (
        "invalid-secret-kms-key-alias.yaml",
        13,
        "master_password.secret_kms_key_id: 'alias/orders-secrets' is not a KMS key ARN",
    ),
    (
        "invalid-secret-kms-key-random.yaml",
        13,
        "master_password.secret_kms_key_id: only applies to the secret RDS manages (source: rds_managed), not to source random",
    ),
]


@pytest.mark.parametrize(("fixture", "line", "message"), INVALID, ids=[case[0][8:-5] for case in INVALID])
def test_invalid_spec(fixture: str, line: int, message: str) -> None:
    path = FIXTURES / fixture
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [f"{path}:{line}: {message}"]
    assert info.value.message == f"{path}:{line}: {message}"
    assert info.value.exit_code == ExitCode.USAGE


def test_every_invalid_fixture_has_a_case() -> None:
    on_disk = {path.name for path in FIXTURES.glob("invalid-*.yaml")}
    listed = [case[0] for case in INVALID]
    assert len(listed) == len(set(listed))
    assert on_disk == set(listed)


# --------------------------------------------------------------------------- valid fixtures


@pytest.mark.parametrize("fixture", sorted(path.name for path in FIXTURES.glob("valid-*.yaml")))
def test_valid_fixture(fixture: str) -> None:
    loaded = load_spec(FIXTURES / fixture)
    assert loaded.path == FIXTURES / fixture
    assert isinstance(loaded.spec, Spec)


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.glob("*.yaml")))
def test_examples_are_valid(example: str) -> None:
    load_spec(EXAMPLES / example)


def test_valid_v2_boundaries_fixture() -> None:
    spec = load_spec(FIXTURES / "valid-v2-boundaries.yaml").spec
    assert len(spec.name) == 60
    assert spec.serverless.version == "v2"
    assert (spec.serverless.min_capacity, spec.serverless.max_capacity) == (0, 256)
    assert spec.serverless.seconds_until_auto_pause == 86_400
    assert spec.serverless.instances == 15
    assert spec.port == 1150
    assert spec.backup_retention_period == 35
    assert spec.master_password.length == 41
    assert spec.master_username == "Admin67890123456"
    assert spec.tags == {"k" * 128: "v" * 256, "empty": ""}
    assert spec.alarms.custom[0].period == 10
    assert spec.alarms.custom[0].dimensions == {"DBClusterIdentifier": "a" * 60, "Role": "WRITER"}


def test_valid_v1_boundaries_fixture() -> None:
    loaded = load_spec(FIXTURES / "valid-v1-boundaries.yaml")
    spec = loaded.spec
    assert len(spec.name) == 63
    assert spec.serverless.version == "v1"
    assert (spec.serverless.min_capacity, spec.serverless.max_capacity) == (384, 384)
    assert spec.port == 65535
    assert spec.backup_retention_period == 1
    assert spec.master_password.length == 16


def test_anchors_aliases_and_merge_keys() -> None:
    loaded = load_spec(FIXTURES / "valid-anchors.yaml")
    alarms = loaded.spec.alarms
    assert alarms.ok_actions == alarms.alarm_actions == ["arn:aws:sns:eu-west-1:111122223333:oncall"]
    first, second = alarms.custom
    assert (first.name, first.period, first.metric) == ("low-freeable-memory", 300, "FreeableMemory")
    assert (second.name, second.period, second.metric) == ("low-freeable-memory-long", 3600, "FreeableMemory")
    assert second.comparison == "LessThanThreshold"
    # merged values keep the line of the anchored mapping; own keys have their own line
    assert loaded.document.line_of(("alarms", "custom", 1, "metric")) == 19
    assert loaded.document.line_of(("alarms", "custom", 1)) == 22
    assert loaded.document.line_of(("alarms", "custom", 1, "name")) == 23


def test_merged_key_errors_point_at_the_override() -> None:
    extra = """\
alarms:
  custom:
    - &memory
      name: low-memory
      metric: FreeableMemory
      threshold: 1
    - <<: *memory
      name: low-memory-slow
      period: 5
"""
    assert problems_of(BASE + extra) == ["spec.yaml:18: alarms.custom[1].period: must be greater than or equal to 10"]


def test_a_merged_mapping_brings_its_own_overrides() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {<<: *a, x: 2}\nc: {<<: *b}\nd: {<<: [*a, *b]}\n"
    data = yamlsrc.parse(text).data
    assert data["c"] == {"x": 2, "y": 1}
    assert data["d"] == {"x": 1, "y": 1}


def test_earlier_merged_mapping_wins() -> None:
    extra = """\
x-fast: &fast {period: 60, evaluation_periods: 1}
x-slow: &slow {period: 3600}
"""
    text = BASE + extra + "alarms:\n  <<: [*fast, *slow]\n"
    # the x- keys are unknown, so check the merged data itself
    data = yamlsrc.parse(text).data
    assert data["alarms"] == {"period": 60, "evaluation_periods": 1}


# --------------------------------------------------------------------------- valid: the boundary of each rule

BOUNDARIES = [
    # name: 60 characters with v2, 63 with v1, a single letter, digits and single hyphens
    pytest.param("", with_name("a" * 60), lambda s: len(s.name), 60, id="name-60-v2"),
    pytest.param("serverless:\n  version: v1\n", with_name("b" * 63), lambda s: len(s.name), 63, id="name-63-v1"),
    pytest.param("", with_name("a"), lambda s: s.name, "a", id="name-one-letter"),
    pytest.param("", with_name("a1-b2-c3"), lambda s: s.name, "a1-b2-c3", id="name-digits-hyphens"),
    # engine versions: the first minor of each major that supports Serverless v2 and is not retired
    # (13.6 is both), and each major alone
    *(
        pytest.param(f'engine_version: "{v}"\n', BASE, lambda s: s.engine_version, v, id=f"v2-engine-{v}")
        for v in ("13.7", "14.3", "15.2", "16.1", "17.4", "13", "14", "15", "16", "17")
    ),
    *(
        pytest.param(
            f'engine_version: "{v}"\nserverless:\n  version: v1\n',
            BASE,
            lambda s: s.engine_version,
            v,
            id=f"v1-engine-{v}",
        )
        for v in ("11.9", "13.12")
    ),
    # the first minor of each major that can pause
    *(
        pytest.param(
            f'engine_version: "{v}"\nserverless:\n  min_capacity: 0\n  seconds_until_auto_pause: 300\n',
            BASE,
            lambda s: s.can_pause,
            True,
            id=f"v2-pause-engine-{v}",
        )
        for v in ("13.15", "14.12", "15.7", "16.3", "17.4")
    ),
    pytest.param("database_name: " + "d" * 63 + "\n", BASE, lambda s: len(s.database_name), 63, id="database-name-63"),
    pytest.param("database_name: Orders_2\n", BASE, lambda s: s.database_name, "Orders_2", id="database-name-mixed"),
    pytest.param("master_username: Admin1\n", BASE, lambda s: s.master_username, "Admin1", id="master-username"),
    pytest.param("port: 1150\n", BASE, lambda s: s.port, 1150, id="port-1150"),
    pytest.param("port: 65535\n", BASE, lambda s: s.port, 65535, id="port-65535"),
    # serverless v2
    pytest.param(
        "serverless:\n  min_capacity: 0\n  seconds_until_auto_pause: 300\n",
        BASE,
        lambda s: s.serverless.seconds_until_auto_pause,
        300,
        id="v2-auto-pause-300",
    ),
    pytest.param(
        "serverless:\n  min_capacity: 0\n  seconds_until_auto_pause: 86400\n",
        BASE,
        lambda s: s.serverless.seconds_until_auto_pause,
        86400,
        id="v2-auto-pause-86400",
    ),
    pytest.param("serverless:\n  max_capacity: 256\n", BASE, lambda s: s.serverless.max_capacity, 256, id="v2-max-256"),
    pytest.param(
        "serverless:\n  min_capacity: 1\n  max_capacity: 1\n",
        BASE,
        lambda s: s.serverless.max_capacity,
        1,
        id="v2-min-equals-max-1",
    ),
    pytest.param(
        "serverless:\n  min_capacity: 0.5\n  max_capacity: 1.5\n",
        BASE,
        lambda s: (s.serverless.min_capacity, s.serverless.max_capacity),
        (0.5, 1.5),
        id="v2-half-steps",
    ),
    pytest.param("serverless:\n  instances: 1\n", BASE, lambda s: s.serverless.instances, 1, id="v2-instances-1"),
    pytest.param("serverless:\n  instances: 15\n", BASE, lambda s: s.serverless.instances, 15, id="v2-instances-15"),
    pytest.param("serverless: {}\n", BASE, lambda s: s.serverless.version, "v2", id="v2-is-the-default"),
    # serverless v1
    *(
        pytest.param(
            f"serverless:\n  version: v1\n  min_capacity: {c}\n  max_capacity: {c}\n",
            BASE,
            lambda s: s.serverless.max_capacity,
            c,
            id=f"v1-capacity-{c}",
        )
        for c in V1_CAPACITIES
    ),
    pytest.param(
        "serverless:\n  version: v1\n  seconds_until_auto_pause: 86400\n",
        BASE,
        lambda s: s.serverless.seconds_until_auto_pause,
        86400,
        id="v1-auto-pause-86400",
    ),
    pytest.param(
        "serverless:\n  version: v1\n  seconds_before_timeout: 60\n",
        BASE,
        lambda s: s.serverless.seconds_before_timeout,
        60,
        id="v1-timeout-60",
    ),
    pytest.param(
        "serverless:\n  version: v1\nmaster_password:\n  source: write_only\n",
        BASE,
        lambda s: s.master_password.source,
        "write_only",
        id="v1-write-only-password",
    ),
    pytest.param(
        "master_password:\n  source: rds_managed\n",
        BASE,
        lambda s: s.master_password.source,
        "rds_managed",
        id="v2-rds-managed-password",
    ),
    # network
    *(
        pytest.param(
            "",
            with_network(f"network:\n  allowed_cidr_blocks:\n    - {c!r}\n"),
            lambda s: s.network.allowed_cidr_blocks,
            [c],
            id=f"cidr-{c}",
        )
        for c in ("10.0.0.7/32", "0.0.0.0/1", "2001:db8::1/128", "2001:db8::/32")
    ),
    *(
        pytest.param(
            "",
            with_network(f"network:\n  allowed_security_group_ids:\n    - {g}\n"),
            lambda s: s.network.allowed_security_group_ids,
            [g],
            id=f"security-group-{len(g) - 3}",
        )
        for g in ("sg-0a1b2c3d", "sg-0a1b2c3d4e5f67890")
    ),
    pytest.param(
        "kms_key_id: arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab\n",
        BASE,
        lambda s: s.kms_key_id,
        "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        id="kms-multi-region-key",
    ),
    pytest.param("storage_encrypted: true\n", BASE, lambda s: s.storage_encrypted, True, id="storage-encrypted"),
    # tags
    pytest.param(
        "tags:\n  " + "k" * 128 + ": " + "v" * 256 + "\n",
        BASE,
        lambda s: [(len(k), len(v)) for k, v in s.tags.items()],
        [(128, 256)],
        id="tag-lengths",
    ),
    pytest.param('tags:\n  empty: ""\n', BASE, lambda s: s.tags, {"empty": ""}, id="tag-value-empty"),
    pytest.param("tags:\n  team:aws: x\n", BASE, lambda s: s.tags, {"team:aws": "x"}, id="tag-aws-not-prefix"),
    # backups and windows
    pytest.param("backup_retention_period: 1\n", BASE, lambda s: s.backup_retention_period, 1, id="retention-1"),
    pytest.param("backup_retention_period: 35\n", BASE, lambda s: s.backup_retention_period, 35, id="retention-35"),
    pytest.param(
        'preferred_backup_window: "03:00-03:30"\n',
        BASE,
        lambda s: s.preferred_backup_window,
        "03:00-03:30",
        id="backup-window-30-minutes",
    ),
    pytest.param(
        'preferred_backup_window: "23:45-00:15"\n',
        BASE,
        lambda s: s.preferred_backup_window,
        "23:45-00:15",
        id="backup-window-across-midnight",
    ),
    pytest.param(
        'preferred_maintenance_window: "sun:05:00-sun:05:30"\n',
        BASE,
        lambda s: s.preferred_maintenance_window,
        "sun:05:00-sun:05:30",
        id="maintenance-window-30-minutes",
    ),
    pytest.param(
        'preferred_backup_window: "03:00-04:00"\npreferred_maintenance_window: "tue:02:00-tue:03:00"\n',
        BASE,
        lambda s: s.preferred_maintenance_window,
        "tue:02:00-tue:03:00",
        id="maintenance-ends-as-backup-starts",
    ),
    pytest.param(
        'preferred_backup_window: "03:00-04:00"\npreferred_maintenance_window: "tue:04:00-tue:05:00"\n',
        BASE,
        lambda s: s.preferred_maintenance_window,
        "tue:04:00-tue:05:00",
        id="maintenance-starts-as-backup-ends",
    ),
    pytest.param(
        'preferred_maintenance_window: "sun:23:45-mon:00:15"\n',
        BASE,
        lambda s: s.preferred_maintenance_window,
        "sun:23:45-mon:00:15",
        id="maintenance-across-week-end",
    ),
    # alarms
    pytest.param("alarms:\n  cpu_threshold: 100\n", BASE, lambda s: s.alarms.cpu_threshold, 100, id="cpu-100"),
    pytest.param("alarms:\n  cpu_threshold: 0.1\n", BASE, lambda s: s.alarms.cpu_threshold, 0.1, id="cpu-0.1"),
    pytest.param(
        "alarms:\n  connections_threshold: 1\n", BASE, lambda s: s.connections_threshold, 1, id="connections-1"
    ),
    pytest.param("alarms:\n  capacity_threshold: 384\n", BASE, lambda s: s.capacity_threshold, 384, id="capacity-384"),
    pytest.param(
        "alarms:\n  acu_utilization_threshold: 100\n",
        BASE,
        lambda s: s.alarms.acu_utilization_threshold,
        100,
        id="acu-100",
    ),
    pytest.param("alarms:\n  period: 10\n", BASE, lambda s: s.alarms.period, 10, id="alarm-period-10"),
    pytest.param(
        "alarms:\n  evaluation_periods: 1\n", BASE, lambda s: s.alarms.evaluation_periods, 1, id="evaluation-periods-1"
    ),
    pytest.param(
        "alarms:\n  evaluation_periods: 100\n",
        BASE,
        lambda s: s.alarms.evaluation_periods,
        100,
        id="evaluation-periods-100",
    ),
    pytest.param(
        "alarms:\n  alarm_actions:\n    - arn:aws-cn:sns:cn-north-1:111122223333:on_call-1\n",
        BASE,
        lambda s: s.alarms.alarm_actions,
        ["arn:aws-cn:sns:cn-north-1:111122223333:on_call-1"],
        id="sns-arn-china",
    ),
    pytest.param(
        "alarms:\n  custom:\n    - name: " + "A" * 64 + "\n      metric: X\n      threshold: -1\n"
        "      period: 10\n      evaluation_periods: 100\n",
        BASE,
        lambda s: (len(s.alarms.custom[0].name), s.alarms.custom[0].period, s.alarms.custom[0].evaluation_periods),
        (64, 10, 100),
        id="custom-alarm-limits",
    ),
    pytest.param(
        "alarms:\n  custom:\n    - name: cpu-high\n      metric: X\n      threshold: 1\n",
        BASE,
        lambda s: s.alarms.custom[0].name,
        "cpu-high",
        id="custom-alarm-name-starts-like-builtin",
    ),
]


@pytest.mark.parametrize(("extra", "base", "get", "expected"), BOUNDARIES)
def test_boundary_value_passes(extra: str, base: str, get: Callable[[Spec], Any], expected: Any) -> None:
    loaded = parse(extra, base)
    assert get(loaded.spec) == expected


# --------------------------------------------------------------------------- several problems at once


def test_all_problems_are_reported_in_line_order() -> None:
    text = with_name("Orders") + "port: 80\ntags:\n  aws:x: y\nnmae: x\n"
    with pytest.raises(SpecError) as info:
        parse_spec(text, SPEC)
    assert info.value.problems == [
        "spec.yaml:1: name: must start with a lowercase letter and contain only lowercase letters, digits and hyphens",
        "spec.yaml:10: port: must be greater than or equal to 1150",
        "spec.yaml:12: tags: key 'aws:x' must not start with 'aws:' (reserved by AWS)",
        "spec.yaml:13: nmae: unknown field; did you mean 'name'?",
    ]
    assert info.value.message == "4 problems in spec"
    assert info.value.lines() == info.value.problems


def test_all_cross_field_problems_are_reported() -> None:
    extra = """\
engine_version: "16.2"
serverless:
  min_capacity: 0
preferred_backup_window: "03:00-03:10"
"""
    assert problems_of(BASE + extra) == [
        "spec.yaml:12: serverless.min_capacity: 0 (auto-pause) needs serverless.seconds_until_auto_pause (300-86400)",
        "spec.yaml:12: serverless.min_capacity: 0 (auto-pause) needs aurora-postgresql 13.15+, 14.12+, 15.7+, 16.3+, 17.4+;"
        " engine_version is 16.2",
        "spec.yaml:13: preferred_backup_window: must last at least 30 minutes",
    ]


def test_instances_must_be_whole() -> None:
    problems = problems_of(BASE + "serverless:\n  instances: 2.5\n")
    assert problems == ["spec.yaml:11: serverless.instances: must be a valid integer, got float 2.5"]


def test_lines_follow_crlf_line_endings() -> None:
    text = (BASE + "port: 80\n").replace("\n", "\r\n")
    assert problems_of(text) == ["spec.yaml:10: port: must be greater than or equal to 1150"]


def test_a_missing_nested_field_points_at_its_parent() -> None:
    extra = "alarms:\n  custom:\n    - name: x\n      threshold: 1\n"
    assert problems_of(BASE + extra) == ["spec.yaml:12: alarms.custom[0].metric: required field is missing"]


def test_a_missing_top_level_field_points_at_the_first_line_of_the_mapping() -> None:
    text = "# header\n\n" + BASE.replace("region: eu-west-1\n", "")
    assert problems_of(text) == ["spec.yaml:3: region: required field is missing"]


# --------------------------------------------------------------------------- files and generated YAML


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [f"{path}: no such file"]


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.mkdir()
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [f"{path}: is a directory, not a spec file"]


def test_file_larger_than_1_mb(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "#" * (source.MAX_BYTES - len(BASE) + 1))
    assert path.stat().st_size == 1_000_001
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [f"{path}:1: file is larger than 1 MB; a spec describes one cluster"]


def test_file_of_exactly_1_mb_is_read(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "#" * (source.MAX_BYTES - len(BASE) - 1) + "\n")
    assert path.stat().st_size == 1_000_000
    assert load_spec(path).spec.name == "orders-db"


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [f"{path}:1: file is binary, not YAML text"]


def test_utf16_file_is_binary(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE, encoding="utf-16")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [f"{path}:1: file is binary, not YAML text"]


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes((BASE + "tags:\n  owner: Andr\xe9\n").encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [f"{path}:11: file is not valid UTF-8 text"]


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "tags:\n  owner: André\n", encoding="utf-8-sig")
    assert load_spec(path).spec.tags == {"owner": "André"}


def test_alias_bomb() -> None:
    # "billion laughs": nine levels of nine aliases each would be 9**9 strings
    text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for previous, anchor in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{anchor}: &{anchor} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
    assert problems_of(text) == ["spec.yaml:1: more than 20000 values (alias expansion?)"]


def test_alias_bomb_of_mappings() -> None:
    text = "a: &a {" + ", ".join(f"k{i}: [x, x, x, x, x, x, x, x, x, x]" for i in range(10)) + "}\n"
    for previous, anchor in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{anchor}: &{anchor} {{" + ", ".join(f"m{i}: *{previous}" for i in range(10)) + "}\n"
    assert problems_of(text) == ["spec.yaml:1: more than 20000 values (alias expansion?)"]


def test_deep_nesting() -> None:
    assert problems_of(BASE + "tags: " + "[" * 5000 + "]" * 5000 + "\n") == [
        "spec.yaml:10: values nested more than 50 levels deep"
    ]


def test_deep_block_nesting() -> None:
    text = BASE + "tags:\n" + "".join("  " * (depth + 1) + f"k{depth}:\n" for depth in range(60))
    # tags (line 10) holds k0 (line 11), ..., k48 (line 59) holds the 50th mapping (line 60)
    assert problems_of(text) == ["spec.yaml:60: values nested more than 50 levels deep"]


def test_mapping_that_merges_itself() -> None:
    assert problems_of(BASE + "tags: &t\n  <<: *t\n") == ["spec.yaml:10: recursive alias: a mapping merges itself"]


def test_a_non_mapping_in_a_merge_list() -> None:
    assert problems_of(BASE + "x: &x {a: b}\ntags:\n  <<: [*x, c]\n") == [
        "spec.yaml:12: invalid YAML: << must merge a mapping or a list of mappings"
    ]


def test_mangled_specs_never_raise_anything_but_spec_error() -> None:
    source = (FIXTURES / "valid-v2-boundaries.yaml").read_text()
    alphabet = "\n :-[]{}&*!|>'\"#%@`,?<=~\t0aZ\\"
    rng = random.Random(20240501)
    for _ in range(400):
        chars = list(source)
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(chars))
            action = rng.random()
            if action < 0.4:
                del chars[position]
            elif action < 0.8:
                chars.insert(position, rng.choice(alphabet))
            else:
                chars[position] = rng.choice(alphabet)
        try:
            parse_spec("".join(chars), SPEC)
        except SpecError as exc:
            assert all(problem.startswith("spec.yaml:") for problem in exc.problems)
            assert all("\n" not in problem for problem in exc.problems)


# --------------------------------------------------------------------------- derived values


def v1(extra: str = "") -> Spec:
    return spec_of("serverless:\n  version: v1\n" + extra)


def test_engine_mode() -> None:
    assert spec_of().engine_mode == "provisioned"
    assert v1().engine_mode == "serverless"
    assert spec_of().is_v2
    assert not v1().is_v2


def test_effective_engine_version_defaults() -> None:
    assert spec_of().engine_version is None
    assert spec_of().effective_engine_version == "17"  # a major: AWS picks and upgrades the minor
    assert not spec_of().engine_minor_pinned
    assert spec_of('engine_version: "16.8"\n').engine_minor_pinned
    assert v1().effective_engine_version == "13.12"
    assert spec_of('engine_version: "15.7"\n').effective_engine_version == "15.7"
    assert v1('engine_version: "11.9"\n').effective_engine_version == "11.9"


@pytest.mark.parametrize(
    ("extra", "family"),
    [
        ("", "aurora-postgresql17"),
        ('engine_version: "13.7"\n', "aurora-postgresql13"),
        ('engine_version: "16"\n', "aurora-postgresql16"),
        ('engine_version: "17.4"\n', "aurora-postgresql17"),
        ('engine_version: "11.9"\nserverless:\n  version: v1\n', "aurora-postgresql11"),
        ("serverless:\n  version: v1\n", "aurora-postgresql13"),
    ],
)
def test_parameter_group_family(extra: str, family: str) -> None:
    assert spec_of(extra).parameter_group_family == family


def test_final_snapshot_prefix() -> None:
    assert spec_of().final_snapshot_prefix == "orders-db-final"


@pytest.mark.parametrize(
    ("extra", "can_pause", "missing_data"),
    [
        ("", False, "missing"),
        ("serverless:\n  min_capacity: 0\n  seconds_until_auto_pause: 600\n", True, "notBreaching"),
        ("serverless:\n  version: v1\n", True, "notBreaching"),
        ("serverless:\n  version: v1\n  auto_pause: false\n", False, "missing"),
    ],
)
def test_can_pause_and_treat_missing_data(extra: str, can_pause: bool, missing_data: str) -> None:
    spec = spec_of(extra)
    assert spec.can_pause is can_pause
    assert spec.treat_missing_data == missing_data


@pytest.mark.parametrize(
    ("extra", "threshold"),
    [
        ("", 7.2),  # 90% of the default v2 maximum, 8
        ("serverless:\n  max_capacity: 1\n", 0.9),
        ("serverless:\n  max_capacity: 256\n", 230.4),
        ("serverless:\n  max_capacity: 2.5\n", 2.2),  # 2.25 rounded to one decimal (banker's rounding)
        ("serverless:\n  version: v1\n", 16.0),  # the v1 maximum itself
        ("serverless:\n  version: v1\n  max_capacity: 384\n", 384.0),
        ("alarms:\n  capacity_threshold: 5.5\n", 5.5),
    ],
)
def test_capacity_threshold(extra: str, threshold: float) -> None:
    assert spec_of(extra).capacity_threshold == threshold


@pytest.mark.parametrize(
    ("extra", "max_connections", "threshold"),
    [
        # AWS's table: 1 -> 189, 4 -> 823, 8 -> 1669, 16 -> 3360, 32+ -> 5000; at most 2000 with min 0 or 0.5
        ("", 1669, 1335),
        ("serverless:\n  max_capacity: 1\n", 189, 151),
        ("serverless:\n  min_capacity: 1\n  max_capacity: 16\n", 3360, 2688),  # AWS's own example
        ("serverless:\n  max_capacity: 16\n", 2000, 1600),  # min 0.5: capped, AWS's example too
        ("serverless:\n  min_capacity: 1\n  max_capacity: 12\n", 2514, 2011),  # between rows: linear
        ("serverless:\n  min_capacity: 1\n  max_capacity: 256\n", 5000, 4000),
        ("serverless:\n  max_capacity: 256\n", 2000, 1600),
        ("serverless:\n  version: v1\n  min_capacity: 2\n  max_capacity: 2\n", 90, 72),
        ("serverless:\n  version: v1\n", 440, 352),
        ("serverless:\n  version: v1\n  max_capacity: 384\n", 5000, 4000),
        ("alarms:\n  connections_threshold: 100\n", 1669, 100),
    ],
)
def test_max_connections_and_connections_threshold(extra: str, max_connections: int, threshold: int) -> None:
    spec = spec_of(extra)
    assert spec.max_connections == max_connections
    assert spec.connections_threshold == threshold


def test_builtin_alarms_v2_use_the_writer_for_instance_metrics() -> None:
    spec = spec_of("alarms:\n  cpu_threshold: 70\n  acu_utilization_threshold: 85\n")
    alarms = {alarm.key: alarm for alarm in spec.builtin_alarms}
    assert list(alarms) == ["cpu", "connections", "capacity", "acu_utilization"]
    assert {key: alarm.role for key, alarm in alarms.items()} == {
        "cpu": "WRITER",
        "connections": "WRITER",
        "capacity": "WRITER",  # the cluster-level value averages the instances: a busy writer hides
        "acu_utilization": "WRITER",
    }
    assert {key: alarm.metric for key, alarm in alarms.items()} == {
        "cpu": "CPUUtilization",
        "connections": "DatabaseConnections",
        "capacity": "ServerlessDatabaseCapacity",
        "acu_utilization": "ACUUtilization",
    }
    assert {key: alarm.threshold for key, alarm in alarms.items()} == {
        "cpu": 70,
        "connections": 1335,
        "capacity": 7.2,
        "acu_utilization": 85,
    }
    assert {key: alarm.variable for key, alarm in alarms.items()} == {
        "cpu": "alarm_cpu_threshold",
        "connections": "alarm_connections_threshold",
        "capacity": "alarm_capacity_threshold",
        "acu_utilization": "alarm_acu_utilization_threshold",
    }
    assert all(alarm.comparison == "GreaterThanOrEqualToThreshold" for alarm in alarms.values())


def test_builtin_alarms_v1_have_only_cluster_metrics() -> None:
    alarms = v1().builtin_alarms
    assert [alarm.key for alarm in alarms] == ["cpu", "connections", "capacity"]
    assert [alarm.role for alarm in alarms] == [None, None, None]
    assert [alarm.threshold for alarm in alarms] == [80, 352, 16.0]


def test_no_builtin_alarms_when_disabled() -> None:
    assert spec_of("alarms:\n  enabled: false\n").builtin_alarms == ()


def test_custom_alarm_may_reuse_a_builtin_name_when_alarms_are_disabled() -> None:
    spec = spec_of("alarms:\n  enabled: false\n  custom:\n    - name: cpu\n      metric: X\n      threshold: 1\n")
    assert spec.alarms.custom[0].name == "cpu"


def test_password_location() -> None:
    assert spec_of().needs_random_provider
    assert "Terraform state" in spec_of().password_location
    write_only = spec_of("master_password:\n  source: write_only\n")
    assert not write_only.needs_random_provider
    assert "never in the state" in write_only.password_location


# --------------------------------------------------------------------------- digest


def test_digest_is_stable() -> None:
    first = spec_of().digest()
    assert first == spec_of().digest()
    assert len(first) == 64
    assert int(first, 16) >= 0


def test_digest_ignores_layout_comments_and_explicit_defaults() -> None:
    reordered = (
        "# a comment\nregion: eu-west-1\nname: orders-db\nnetwork: {allowed_cidr_blocks: [10.0.0.0/16]}\n"
        "subnet_ids: [subnet-0a1b2c3d4e5f67891, subnet-0a1b2c3d4e5f67892]\nvpc_id: vpc-0a1b2c3d4e5f67890\n"
        "port: 5432\nserverless:\n  version: v2\n"
    )
    assert spec_of(base=reordered).digest() == spec_of().digest()


@pytest.mark.parametrize(
    "extra",
    [
        "port: 5433\n",
        "serverless:\n  max_capacity: 9\n",
        "tags:\n  team: payments\n",
        "alarms:\n  enabled: false\n",
        'engine_version: "16.6"\n',  # the default made explicit is still a different spec
    ],
)
def test_digest_changes_with_content(extra: str) -> None:
    assert spec_of(extra).digest() != spec_of().digest()


def test_canonical_json_has_every_default() -> None:
    data = json.loads(spec_of().canonical_json())
    assert data["port"] == 5432
    assert data["serverless"] == {
        "version": "v2",
        "min_capacity": 0.5,
        "max_capacity": 8,
        "seconds_until_auto_pause": None,
        "instances": 1,
        "instance_overrides": [],
        "readers": {"autoscaling": None},
    }
    assert data["storage_encrypted"] is True


# --------------------------------------------------------------------------- warnings


def test_no_warnings_for_a_v2_spec_with_ingress() -> None:
    assert load_spec(FIXTURES / "valid-minimal.yaml").warnings == []


PI_WARNING = (
    "serverless.min_capacity: {min} ACU with Performance Insights on: AWS recommends at least 2 ACU for it; "
    "set serverless.min_capacity: 2 or performance_insights: false"
)


def test_performance_insights_below_two_acu_warns() -> None:
    assert parse("performance_insights: true\n").warnings == [f"spec.yaml:1: {PI_WARNING.format(min=0.5)}"]
    warnings = parse("performance_insights: true\nserverless:\n  min_capacity: 1.5\n").warnings
    assert warnings == [f"spec.yaml:12: {PI_WARNING.format(min=1.5)}"]


@pytest.mark.parametrize(
    "extra",
    [
        "performance_insights: true\nserverless:\n  min_capacity: 2\n",
        "performance_insights: false\n",
        "serverless:\n  min_capacity: 0.5\n",  # on by default: not warned, or every default spec would be
    ],
)
def test_performance_insights_at_two_acu_or_off_does_not_warn(extra: str) -> None:
    assert parse(extra).warnings == []


KEY = "arn:aws-us-gov:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"


def test_user_kms_key_warns_with_the_statement_cloudwatch_logs_needs() -> None:
    (warning,) = parse(f"kms_key_id: {KEY}\n").warnings
    assert warning.startswith(
        "spec.yaml:10: kms_key_id: the key also encrypts the log group /aws/rds/cluster/orders-db/postgresql: "
        "unless its key policy lets CloudWatch Logs use it, apply fails; add this statement to the key policy: "
    )
    statement = json.loads(warning[warning.index("{") :])
    assert statement == {
        "Sid": "CloudWatchLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {
            "ArnEquals": {
                "kms:EncryptionContext:aws:logs:arn": (
                    "arn:aws-us-gov:logs:eu-west-1:111122223333:log-group:/aws/rds/cluster/orders-db/postgresql"
                )
            }
        },
    }


@pytest.mark.parametrize(
    "extra",
    [
        f"kms_key_id: {KEY}\nlogs:\n  export: false\n",  # no log group
        "create_kms_key: true\n",  # the module's key policy has the statement
    ],
)
def test_no_kms_warning_without_a_user_key_on_the_log_group(extra: str) -> None:
    assert parse(extra).warnings == []


def test_v1_end_of_life_warning() -> None:
    path = FIXTURES / "valid-v1-default.yaml"
    assert load_spec(path).warnings == [f"{path}:9: serverless.version: {V1_WARNING}"]
    assert V1_WARNING.startswith("Aurora Serverless v1 reached end of life on 2025-03-31")


def test_no_ingress_warning() -> None:
    path = FIXTURES / "valid-no-network.yaml"
    assert load_spec(path).warnings == [f"{path}:8: network: {NO_INGRESS}"]


def test_no_ingress_warning_without_a_network_section() -> None:
    base = with_network("")
    assert parse(base=base).warnings == [f"spec.yaml:1: network: {NO_INGRESS}"]


def test_security_groups_alone_are_ingress() -> None:
    base = with_network("network:\n  allowed_security_group_ids: [sg-0a1b2c3d]\n")
    assert parse(base=base).warnings == []


def test_v1_and_no_ingress_warnings_together() -> None:
    base = with_network("")
    assert parse("serverless:\n  version: v1\n", base).warnings == [
        f"spec.yaml:8: serverless.version: {V1_WARNING}",
        f"spec.yaml:1: network: {NO_INGRESS}",
    ]
