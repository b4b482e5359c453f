"""The emulator under concurrent requests, as terraform sends them (``-parallelism 10``).

moto's backends are not thread-safe (moto's FAQ: "Is Moto concurrency safe? No.") and the
emulator serves from a threaded server, so it runs one request at a time inside moto
(``tfgen.emulator.dispatch.serialised``). Without that, a ListSecrets or DescribeSecret walking
the secrets while a CreateSecret added one failed with an HTTP 500 ("dictionary changed size
during iteration"), and so did CreateDBSubnetGroup beside DescribeDBSubnetGroups.

The tests switch threads far more often than Python's default (``sys.setswitchinterval``), so
that a race shows up within a few hundred calls; no call is retried, so none is hidden.
"""

from __future__ import annotations

import http.client
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tfgen.emulator.endpoint import HEALTH_PATH
from tfgen.emulator.server import Emulator

REGION = "eu-west-1"
WORKERS = 10  # terraform's -parallelism
ROUNDS = 8  # per worker: a secret, a subnet group and five reads each


@pytest.fixture
def local_url() -> Iterator[str]:
    """An in-process emulator (fixes applied), stopped after the test; threads switch often meanwhile."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with Emulator() as url:
            yield url
    finally:
        sys.setswitchinterval(interval)


def _client(url: str, service: str) -> Any:
    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=WORKERS * 2)
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def _run_all(rounds: list[list[Callable[[], object]]]) -> list[str]:
    """Run the rounds from ``WORKERS`` threads, each round's calls in order; the failures, as ``name: error``."""
    failures: list[str] = []
    lock = threading.Lock()

    def run(calls: list[Callable[[], object]]) -> None:
        for call in calls:
            try:
                call()
            except Exception as exc:  # every failure is the finding
                with lock:
                    failures.append(f"{getattr(call, '__name__', call)}: {type(exc).__name__}: {str(exc)[:200]}")

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(run, rounds))
    return failures


def test_concurrent_creates_and_reads_all_succeed_and_all_are_listed(local_url: str) -> None:
    secrets, rds, ec2 = _client(local_url, "secretsmanager"), _client(local_url, "rds"), _client(local_url, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    names = [f"stress-{worker}-{n}" for worker in range(WORKERS) for n in range(ROUNDS)]

    def rounds(name: str) -> list[Callable[[], object]]:
        def create_secret() -> object:
            return secrets.create_secret(Name=name, SecretString='{"password": "x"}')

        def describe_secret() -> object:
            return secrets.describe_secret(SecretId=name)

        def get_secret_value() -> object:
            return secrets.get_secret_value(SecretId=name)

        def create_db_subnet_group() -> object:
            return rds.create_db_subnet_group(
                DBSubnetGroupName=name, DBSubnetGroupDescription="stress", SubnetIds=subnets
            )

        return [
            create_secret,
            secrets.list_secrets,
            create_db_subnet_group,
            rds.describe_db_subnet_groups,
            rds.describe_db_clusters,
            describe_secret,
            get_secret_value,
        ]

    # a round's reads follow its creates; the rounds run side by side
    failures = _run_all([rounds(name) for name in names])
    assert not failures, f"{len(failures)} of {len(names) * 7} calls failed:\n" + "\n".join(failures[:20])

    listed = {s["Name"] for page in secrets.get_paginator("list_secrets").paginate() for s in page["SecretList"]}
    groups = {
        g["DBSubnetGroupName"]
        for page in rds.get_paginator("describe_db_subnet_groups").paginate()
        for g in page["DBSubnetGroups"]
    }
    assert set(names) <= listed
    assert set(names) <= groups


def test_health_answers_while_a_request_is_inside_moto(local_url: str) -> None:
    """The health route bypasses the lock: ``tfgen`` finds a busy emulator running."""
    from tfgen.emulator import dispatch

    with dispatch.DISPATCH:  # as a long request (a cluster's database starting) holds it
        address = urllib.parse.urlsplit(local_url).netloc
        connection = http.client.HTTPConnection(address, timeout=30)
        try:
            connection.request("GET", HEALTH_PATH)
            answer = connection.getresponse()
            assert answer.status == 200
            assert b"pid" in answer.read()
        finally:
            connection.close()


def test_a_client_that_stops_sending_holds_no_other_request_up(local_url: str) -> None:
    """The lock is taken once the body is read: a half-sent request waits alone, the rest are answered.

    (moto alone reads the body of a request to 127.0.0.1, which names no service, under its own
    application lock: before the emulator read it first, one stalled client held up every request.)
    """
    address = urllib.parse.urlsplit(local_url).netloc
    host, port = address.split(":")
    stalled = socket.create_connection((host, int(port)), timeout=30)
    try:
        stalled.sendall(
            b"POST / HTTP/1.1\r\nHost: " + address.encode() + b"\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nAction=Describe"
        )
        rds = _client(local_url, "rds")
        assert rds.describe_db_clusters()["DBClusters"] == []
    finally:
        stalled.close()


def test_a_retry_of_a_request_the_emulator_did_gets_the_same_answer(local_url: str) -> None:
    """An SDK retry (same ``amz-sdk-invocation-id``, a later attempt) of a create that was done is not done twice.

    The retry comes when the client lost the first answer: terraform then failed with "already
    exists" for the resource it had just created (CI: CreateDBSubnetGroup, CreateSubnet). A new
    invocation for the same name is still refused, as AWS refuses it.
    """
    secrets = _client(local_url, "secretsmanager")
    attempt = [1]

    def one_invocation(request: Any, **_: object) -> None:
        request.headers["amz-sdk-invocation-id"] = "6f1c3a52-5d0b-4c1e-9f6a-2b7d1e0c9a41"
        request.headers["amz-sdk-request"] = f"attempt={attempt[0]}; max=25"

    secrets.meta.events.register("before-send.secrets-manager.CreateSecret", one_invocation)
    first = secrets.create_secret(Name="retried", SecretString="s3cr3t-value")
    attempt[0] = 2
    again = secrets.create_secret(Name="retried", SecretString="s3cr3t-value")
    assert (again["ARN"], again["VersionId"]) == (first["ARN"], first["VersionId"])
    assert len(secrets.list_secrets()["SecretList"]) == 1

    secrets.meta.events.unregister("before-send.secrets-manager.CreateSecret", one_invocation)
    with pytest.raises(secrets.exceptions.ResourceExistsException):
        secrets.create_secret(Name="retried", SecretString="s3cr3t-value")


def test_the_attempt_is_read_from_either_sdks_header() -> None:
    """Go's SDK writes ``attempt=N; max=M``, botocore ``attempt=N``: only a later attempt is a retry."""
    from tfgen.emulator import dispatch

    assert [dispatch._attempt(h) for h in ("attempt=2; max=25", "attempt=1", "", "attempt=x")] == [2, 1, 1, 1]
