"""The terraform provider override that points the aws provider at an emulator.

:func:`provider_override` renders the ``provider "aws"`` override that sends every
service the module uses to the emulator's URL with dummy credentials. ``tfgen.deploy``
imports this module for every ``--local`` command: it uses the standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from tfgen.emulator.endpoint import check_endpoint
from tfgen.errors import EmulatorError

__all__ = ["AWS_SERVICES", "OVERRIDE_FILENAME", "provider_override", "write_provider_override"]

AWS_SERVICES: tuple[str, ...] = (
    "appautoscaling",
    "backup",
    "cloudwatch",
    "ec2",
    "iam",
    "kms",
    "logs",
    "rds",
    "s3",
    "secretsmanager",
    "sns",
    "sts",
)
"""Names of the aws provider's ``endpoints {}`` arguments the rendered module needs.

Every name is an argument of ``endpoints`` in hashicorp/aws 5.100 (checked against
``terraform providers schema -json``). A service missing here would silently go to
real AWS with the dummy credentials and fail there, so add to it with the templates.
"""

OVERRIDE_FILENAME = "tfgen_local_override.tf"
"""Name of the provider override file; terraform merges ``*_override.tf`` last."""

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def provider_override(endpoint: str, region: str) -> str:
    """Render a ``provider "aws"`` override that sends every service to ``endpoint``.

    The text is for :data:`OVERRIDE_FILENAME` in the module directory (terraform merges
    ``*_override.tf`` files into the base ``provider "aws"`` block, which must exist).
    It is ``terraform fmt`` clean.

    ``skip_requesting_account_id`` is deliberately not set: the provider then asks the
    emulator's STS for the account id (moto's ``123456789012``). Without it the
    provider does not know the account, takes moto's ``UserId`` on a security group
    reference for another account's, and every plan shows
    ``referenced_security_group_id`` changing from ``123456789012/sg-...`` to ``sg-...``.

    Args:
        endpoint: The emulator URL, e.g. ``http://127.0.0.1:41234``.
        region: AWS region name for the provider, e.g. ``eu-west-1``.

    Returns:
        The HCL text, ending with a newline.

    Raises:
        EmulatorError: If ``endpoint`` is not an http(s) URL or ``region`` is not a
            region name.
    """
    url = check_endpoint(endpoint)
    if not _REGION_RE.match(region):
        raise EmulatorError(f"not an AWS region name: {region!r}", hint="use e.g. us-east-1")
    settings: list[tuple[str, str]] = [
        ("region", f'"{region}"'),
        ("access_key", '"test"'),
        ("secret_key", '"test"'),
        ("skip_credentials_validation", "true"),
        ("skip_metadata_api_check", "true"),
        ("s3_use_path_style", "true"),
    ]
    lines = [
        "# Written by tfgen --local: sends the aws provider to a local AWS emulator.",
        "# Not part of the module; do not commit.",
        'provider "aws" {',
        *_aligned(settings, "  "),
        "",
        "  endpoints {",
        *_aligned([(name, f'"{url}"') for name in AWS_SERVICES], "    "),
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def write_provider_override(directory: Path, endpoint: str, region: str) -> Path:
    """Write :func:`provider_override` to ``directory / OVERRIDE_FILENAME``.

    Args:
        directory: The terraform working directory.
        endpoint: The emulator URL.
        region: AWS region name.

    Returns:
        The path written; the caller removes it when the command ends.

    Raises:
        EmulatorError: If the arguments are invalid or the file cannot be written.
    """
    path = directory / OVERRIDE_FILENAME
    text = provider_override(endpoint, region)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise EmulatorError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _aligned(pairs: Iterable[tuple[str, str]], indent: str) -> list[str]:
    items = list(pairs)
    width = max(len(key) for key, _ in items)
    return [f"{indent}{key.ljust(width)} = {value}" for key, value in items]
