"""Where terraform keeps a deployment's state: the backend block of the root configuration.

The spec's ``backend`` section becomes a ``backend "s3" {}`` or ``cloud {}`` block in
the ``terraform {}`` block of the working directory's ``main.tf`` (``local``, the
default, needs none). Credentials never go into these files: terraform reads them
from the environment (AWS credentials, ``TF_TOKEN_<host>`` or ``terraform login``).

With ``--local`` the S3 backend talks to the emulator's S3 (path-style addressing, no
credential, account or region checks), and :func:`ensure_bucket` creates the bucket
there; the emulator's dummy credentials reach terraform through its environment only
(:func:`emulator_env`). HCP Terraform cannot be emulated: with ``--local`` a ``cloud``
spec keeps its state in the working directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tfgen.errors import EmulatorError
from tfgen.render import hcl

if TYPE_CHECKING:
    from tfgen.spec.model import Spec

EMULATOR_SERVICES = ("s3", "sts", "iam")
"""The ``endpoints`` the S3 backend may call (sts and iam only for assumed roles)."""

EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
"""The emulator accepts any credentials; these dummies keep real ones away from it."""

_REAL_CREDENTIALS = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def kind(spec: Spec, *, local: bool) -> str:
    """The backend terraform uses: ``local``, ``s3`` or ``cloud`` (``local`` for a cloud spec with ``--local``)."""
    if spec.backend.type == "cloud" and local:
        return "local"
    return spec.backend.type


def identity(spec: Spec, *, local: bool) -> str:
    """Where the state lives, e.g. ``s3://bucket/key``: a change of identity is a migration.

    The emulator's URL is not part of it: a new emulator at another port holds the same
    bucket and key, not another state.
    """
    return "local" if kind(spec, local=local) == "local" else spec.state_location


def block(spec: Spec, *, endpoint: str | None) -> str | None:
    """The backend block for the root ``terraform {}`` block, indented by two spaces.

    Args:
        spec: The validated spec.
        endpoint: The emulator URL with ``--local``, else None.

    Returns:
        The block (``terraform fmt`` style, no trailing newline), or None for the local backend.
    """
    from tfgen.spec.backends import CloudBackend, S3Backend  # with the spec: not for emulator_env

    backend = spec.backend
    if isinstance(backend, S3Backend):
        entries: list[tuple[str, Any]] = [
            ("bucket", backend.bucket),
            ("key", spec.state_key),
            ("region", spec.state_region),
            ("encrypt", backend.encrypt),
            ("use_lockfile", backend.use_lockfile),
        ]
        if backend.kms_key_id:
            entries.append(("kms_key_id", backend.kms_key_id))
        lines = _attributes(entries, 4)
        if endpoint is not None:
            lines += [
                "",
                "    # --local: the emulator's S3; its dummy credentials come from the environment",
                *_attributes(
                    [
                        ("endpoints", dict.fromkeys(EMULATOR_SERVICES, endpoint.rstrip("/"))),
                        ("use_path_style", True),
                        ("skip_credentials_validation", True),
                        ("skip_requesting_account_id", True),
                        ("skip_metadata_api_check", True),
                        ("skip_region_validation", True),
                    ],
                    4,
                ),
            ]
        return "\n".join(['  backend "s3" {', *lines, "  }"])
    if isinstance(backend, CloudBackend) and endpoint is None:
        workspaces: list[tuple[str, Any]] = []
        if spec.cloud_workspace:
            workspaces.append(("name", spec.cloud_workspace))
        else:
            workspaces.append(("tags", list(backend.tags)))
        if backend.project:
            workspaces.append(("project", backend.project))
        top: list[tuple[str, Any]] = [("organization", backend.organization)]
        if backend.hostname:
            top.append(("hostname", backend.hostname))
        return "\n".join(
            ["  cloud {", *_attributes(top, 4), "", "    workspaces {", *_attributes(workspaces, 6), "    }", "  }"]
        )
    return None


def _attributes(entries: list[tuple[str, Any]], indent: int) -> list[str]:
    pad = " " * indent
    return [pad + line for line in hcl.align([(name, hcl.value(value, indent)) for name, value in entries])]


def emulator_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a terraform talking to the emulator: its dummy credentials, none of the real ones."""
    child = {name: value for name, value in env.items() if name not in _REAL_CREDENTIALS}
    child.update(EMULATOR_CREDENTIALS)
    return child


def ensure_bucket(endpoint: str, spec: Spec) -> bool:
    """Create the spec's state bucket on the emulator if it is missing.

    Args:
        endpoint: The emulator URL.
        spec: A spec with an S3 backend.

    Returns:
        True if the bucket was created.

    Raises:
        EmulatorError: If the emulator refuses.
    """
    import boto3  # heavy: only --local with an S3 backend needs it
    from botocore.exceptions import BotoCoreError, ClientError

    from tfgen.spec.backends import S3Backend

    assert isinstance(spec.backend, S3Backend)
    bucket, region = spec.backend.bucket, spec.state_region
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region, **boto_credentials())
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise EmulatorError(f"the emulator's S3 refused bucket {bucket}: {exc}") from exc
    except BotoCoreError as exc:
        raise EmulatorError(f"cannot reach the emulator's S3 at {endpoint}: {exc}") from exc
    try:
        options: dict[str, Any] = {}
        if region != "us-east-1":  # S3 refuses a location constraint naming its default region
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(Bucket=bucket, **options)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
            return False  # another plan of the same run created it meanwhile
        raise EmulatorError(f"cannot create bucket {bucket} on the emulator: {exc}") from exc
    except BotoCoreError as exc:
        raise EmulatorError(f"cannot create bucket {bucket} on the emulator: {exc}") from exc
    return True


def boto_credentials() -> dict[str, str]:
    """The emulator's dummy credentials as boto3 client arguments (never the user's real ones)."""
    return {
        "aws_access_key_id": EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }
