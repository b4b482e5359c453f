"""The AWS clients of ``tfgen doctor`` and ``tfgen insights``, and what their errors mean.

:func:`clients` builds the boto3 clients for a region (or the local emulator);
:func:`explain` turns what botocore raises into a one-line reason and a next step, and
:func:`guarded` makes that a FAIL :class:`~tfgen.ops.results.CheckResult`, so a check
never raises for what AWS says or for an unreachable endpoint. The checks themselves are
in :mod:`tfgen.ops.cluster` (status, backups, Performance Insights) and
:mod:`tfgen.ops.metrics` (CPU and capacity).

boto3 and botocore are imported inside functions only: ``tfgen render`` never loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tfgen.errors import TfgenError
from tfgen.ops.results import CheckResult, Status, shorten

__all__ = [
    "AwsClients",
    "AwsError",
    "aws_errors",
    "check_time",
    "clients",
    "explain",
    "guarded",
    "paginate",
    "secret_string",
]

_CONNECT_TIMEOUT = 10
_READ_TIMEOUT = 30

_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)


class AwsError(TfgenError):
    """Raised by :func:`~tfgen.ops.cluster.set_performance_insights` and :func:`clients` when AWS refuses a
    request, cannot be reached, has no credentials, or the cluster does not exist.
    """


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients the checks use, all for one region and endpoint.

    Attributes:
        rds: A boto3 RDS client.
        cloudwatch: A boto3 CloudWatch client.
        secretsmanager: A boto3 Secrets Manager client (for the master password's secret).
        region: The region both clients talk to.
        endpoint_url: The emulator URL, or None for real AWS.
    """

    rds: Any
    cloudwatch: Any
    secretsmanager: Any
    region: str
    endpoint_url: str | None = None
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    """How the clients were built (config, endpoint): :meth:`client` builds more the same way."""

    def client(self, service: str) -> Any:
        """Another boto3 client for the same region and endpoint (``ec2``, ``logs``, ``iam``...).

        Raises:
            AwsError: If the AWS configuration is unusable.
        """
        import boto3  # type: ignore[import-untyped, unused-ignore]
        from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped, unused-ignore]

        try:
            return boto3.session.Session().client(service, **self.options)
        except BotoCoreError as exc:
            raise AwsError(f"cannot set up the AWS clients: {shorten(str(exc), 160)}") from exc


def clients(region: str, endpoint_url: str | None) -> AwsClients:
    """Build the RDS and CloudWatch clients.

    With ``endpoint_url`` (the local emulator) the credentials are the dummy
    ``test``/``test`` and a request is not retried; otherwise boto3's default
    credential chain is used (environment, profile, SSO, instance role) with
    botocore's standard retries.

    Args:
        region: AWS region name, e.g. ``eu-west-1``.
        endpoint_url: URL of an emulator, or None for real AWS.

    Returns:
        The clients. No request is made yet.

    Raises:
        AwsError: If boto3 is not installed or the AWS configuration is unusable
            (e.g. ``AWS_PROFILE`` names a missing profile).
    """
    try:
        import boto3  # type: ignore[import-untyped, unused-ignore]
        from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
        from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise AwsError("boto3 is not installed", hint="pip install boto3") from exc
    config = Config(
        region_name=region,
        connect_timeout=_CONNECT_TIMEOUT,
        read_timeout=_READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": 1 if endpoint_url else 3},
    )
    options: dict[str, Any] = {"config": config}
    if endpoint_url is not None:
        # the emulator accepts any credentials; never send the user's real ones to it
        options.update(endpoint_url=endpoint_url, aws_access_key_id="test", aws_secret_access_key="test")  # noqa: S106
    try:
        session = boto3.session.Session()
        return AwsClients(
            rds=session.client("rds", **options),
            cloudwatch=session.client("cloudwatch", **options),
            secretsmanager=session.client("secretsmanager", **options),
            region=region,
            endpoint_url=endpoint_url,
            options=options,
        )
    except BotoCoreError as exc:
        raise AwsError(f"cannot set up the AWS clients: {shorten(str(exc), 160)}") from exc


def secret_string(aws: AwsClients, secret_id: str) -> str:
    """The ``SecretString`` of a Secrets Manager secret (never logged).

    Raises:
        AwsError: If the secret cannot be read.
    """
    try:
        answer = aws.secretsmanager.get_secret_value(SecretId=secret_id)
    except aws_errors() as exc:
        reason, _ = explain(exc, aws)
        raise AwsError(f"cannot read secret {secret_id}: {reason}") from None
    return str(answer.get("SecretString") or "")


def guarded(name: str, aws: AwsClients, body: Callable[[], CheckResult]) -> CheckResult:
    """Run a check's body; what AWS says or an unreachable endpoint becomes a FAIL."""
    try:
        return body()
    except aws_errors() as exc:
        reason, advice = explain(exc, aws)
        return CheckResult(name, Status.FAIL, reason, next_step=advice, data={"error": type(exc).__name__})


def aws_errors() -> tuple[type[Exception], ...]:
    """What botocore raises for AWS's answers and for transport or configuration problems."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]
    from botocore.parsers import ResponseParserError  # type: ignore[import-untyped, unused-ignore]

    # ResponseParserError (an endpoint that is not AWS, e.g. a web server) derives from neither
    return (BotoCoreError, ClientError, ResponseParserError)


def explain(exc: Exception, aws: AwsClients) -> tuple[str, str]:
    """A one-line reason and a next step for a botocore exception."""
    from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )
    from botocore.parsers import ResponseParserError  # type: ignore[import-untyped, unused-ignore]

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        if code.isdigit():  # botocore's code for an error page that is not an AWS error (a 404 from a web server)
            url = aws.endpoint_url or f"AWS in {aws.region}"
            return f"the answer from {url} is not an AWS response (HTTP {code})", "check the endpoint URL"
        reason = shorten(f"AWS refused {exc.operation_name}: {code}: {error.get('Message', '')}".rstrip(": "), 160)
        if "AccessDenied" in code or code == "UnauthorizedOperation":
            return reason, f"allow {exc.operation_name} in the IAM policy of the credentials in use"
        if code in _CREDENTIAL_CODES:
            return reason, "refresh the AWS credentials (aws sso login, AWS_PROFILE) or check the account"
        return reason, f"check the region and the arguments of {exc.operation_name}"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found", "configure credentials (aws configure, AWS_PROFILE) or use --local"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        url = str(exc.kwargs.get("endpoint_url") or aws.endpoint_url or f"AWS in {aws.region}").rstrip("/")
        what = "timed out" if isinstance(exc, ConnectTimeoutError | ReadTimeoutError) else "connection failed"
        advice = (
            "is the emulator running? (tfgen emulator status)"
            if aws.endpoint_url
            else "check the network and the region"
        )
        return f"cannot reach {url}: {what}", advice
    if isinstance(exc, ResponseParserError):
        url = aws.endpoint_url or f"AWS in {aws.region}"
        return f"the answer from {url} is not an AWS response", "check the endpoint URL"
    return shorten(f"AWS request failed: {exc}", 160), "check the AWS configuration and the region"


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item under ``key`` of every page of the boto3 ``operation`` called with ``kwargs``."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


def check_time(now: datetime | None) -> datetime:
    """The time a check looks back from: ``now`` (naive means UTC), or the current time."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now
