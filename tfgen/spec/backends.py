"""Where a spec's Terraform state lives: the ``backend`` section.

``local`` (the working directory), ``s3`` (a bucket, locked by a lock object) or
``cloud`` (HCP Terraform). How a backend becomes the root configuration's block lives
in :mod:`tfgen.deploy.backend`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from tfgen.spec.fields import BucketName, HcpName, Hostname, KmsKeyArn, Region, StateKey
from tfgen.spec.record import Field, Record


class LocalBackend(Record):
    """State in the working directory (``terraform.tfstate``): one person, one machine."""

    type: Literal["local"]


class S3Backend(Record):
    """State in an S3 bucket, encrypted, locked by a lock object next to it (Terraform >= 1.10, no DynamoDB)."""

    type: Literal["s3"]
    bucket: BucketName
    key: StateKey | None = None
    """Default: ``tfgen/<name>.tfstate``, the cluster name differing per environment."""
    region: Region | None = None
    """Default: the spec's region."""
    encrypt: Literal[True] = True
    use_lockfile: bool = True
    kms_key_id: KmsKeyArn | None = None


class CloudBackend(Record):
    """HCP Terraform (or Terraform Enterprise): the ``cloud {}`` block; credentials come from ``terraform login``."""

    type: Literal["cloud"]
    organization: HcpName
    hostname: Hostname | None = None
    project: HcpName | None = None
    workspace: HcpName | None = None
    """Default: the cluster name (unless ``tags`` selects workspaces)."""
    tags: list[HcpName] = []


Backend = Annotated[LocalBackend | S3Backend | CloudBackend, Field(discriminator="type")]
BACKEND_TYPES = ("local", "s3", "cloud")
