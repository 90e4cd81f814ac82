"""Each kind of failure a handler meets, and what it means: wait it out, dead-letter, or neither."""

from __future__ import annotations

import json

import botocore.exceptions as boto
import httpx
import pytest
from aiokafka import errors as kafka_errors
from millrace_contracts import DataArrived
from millrace_shared.faults import (
    DependencyUnavailable,
    Fault,
    FaultKind,
    PoisonMessage,
    classify,
)
from millrace_shared.objectstore import ObjectNotFound
from millrace_shared.objectstore.base import ChecksumMismatch, ObjectTooLarge
from millrace_shared.registry.client import (
    RegistryBadAnswer,
    RegistryRefused,
    RegistryTimeout,
    RegistryUnreachable,
)
from minio.error import InvalidResponseError, S3Error, ServerError
from pydantic import ValidationError
from urllib3 import HTTPResponse
from urllib3.exceptions import (
    LocationParseError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

TRANSIENT, POISON, UNKNOWN = FaultKind.TRANSIENT, FaultKind.POISON, FaultKind.UNKNOWN


def validation_error() -> ValidationError:
    with pytest.raises(ValidationError) as info:
        DataArrived.model_validate({"dataset": "x"})
    return info.value


def json_error() -> json.JSONDecodeError:
    with pytest.raises(json.JSONDecodeError) as info:
        json.loads("{")
    return info.value


def s3_error(code: str, status: int) -> S3Error:
    return S3Error(HTTPResponse(body=b"", status=status), code, "msg", "/b/k", "req", "host")


REQUEST = httpx.Request("GET", "http://registry/models")


def registry_answer(status: int) -> RegistryRefused:
    return RegistryRefused(httpx.Response(status, request=REQUEST, text="nope"))


def caused(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


def boto_answer(status: int, code: str) -> boto.ClientError:
    return boto.ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject"
    )


CASES: list[tuple[str, BaseException, Fault]] = [
    # S3 unreachable, slow or failing: wait.
    (
        "minio: connection refused, urllib3's retries exhausted",
        MaxRetryError(None, "/b/k", NewConnectionError(None, "refused")),  # type: ignore[arg-type]
        Fault(TRANSIENT, "s3"),
    ),
    ("minio: read timeout", ReadTimeoutError(None, "/b/k", "timed out"), Fault(TRANSIENT, "s3")),  # type: ignore[arg-type]
    ("minio: connection reset", ProtocolError("reset"), Fault(TRANSIENT, "s3")),
    ("S3 503 SlowDown", s3_error("SlowDown", 503), Fault(TRANSIENT, "s3")),
    ("S3 500 InternalError", s3_error("InternalError", 500), Fault(TRANSIENT, "s3")),
    ("S3 ServerError 502", ServerError("bad gateway", 502), Fault(TRANSIENT, "s3")),
    ("S3 non-XML 503 page", InvalidResponseError(503, "text/html", "<h1>"), Fault(TRANSIENT, "s3")),
    # S3 saying no to this request: permanent.
    ("S3 403 AccessDenied", s3_error("AccessDenied", 403), Fault(POISON)),
    ("S3 404 NoSuchKey", s3_error("NoSuchKey", 404), Fault(POISON)),
    ("store: object not found", ObjectNotFound("s3://b/k"), Fault(POISON)),
    ("store: checksum mismatch", ChecksumMismatch("s3://b/k", "a", "b"), Fault(POISON)),
    ("store: object too large", ObjectTooLarge("s3://b/k", 10, 1), Fault(POISON)),
    ("a malformed S3 endpoint", LocationParseError("::"), Fault(UNKNOWN)),
    # Kafka not available: wait.
    ("kafka: connection", kafka_errors.KafkaConnectionError(), Fault(TRANSIENT, "kafka")),
    ("kafka: producer timeout", kafka_errors.KafkaTimeoutError(), Fault(TRANSIENT, "kafka")),
    (
        "kafka: not enough replicas",
        kafka_errors.NotEnoughReplicasError(),
        Fault(TRANSIENT, "kafka"),
    ),
    ("kafka: leader moving", kafka_errors.NotLeaderForPartitionError(), Fault(TRANSIENT, "kafka")),
    (
        "kafka: any retriable error",
        kafka_errors.GroupLoadInProgressError(),
        Fault(TRANSIENT, "kafka"),
    ),
    ("kafka: record too large", kafka_errors.MessageSizeTooLargeError(), Fault(POISON)),
    ("kafka: not authorised", kafka_errors.TopicAuthorizationFailedError(), Fault(UNKNOWN)),
    # The registry's HTTP API down: wait; its 4xx answers are not an outage.
    ("registry unreachable", RegistryUnreachable(REQUEST, "refused"), Fault(TRANSIENT, "registry")),
    ("registry timeout", RegistryTimeout(REQUEST, "slow"), Fault(TRANSIENT, "registry")),
    ("registry answers 503", registry_answer(503), Fault(TRANSIENT, "registry")),
    ("registry answers 409", registry_answer(409), Fault(UNKNOWN)),
    ("registry answers nonsense", RegistryBadAnswer(REQUEST, "not JSON"), Fault(UNKNOWN)),
    (
        "httpx connect error",
        httpx.ConnectError("refused", request=REQUEST),
        Fault(TRANSIENT, "http"),
    ),
    ("httpx read timeout", httpx.ReadTimeout("slow", request=REQUEST), Fault(TRANSIENT, "http")),
    (
        "httpx 502 raised for status",
        httpx.HTTPStatusError(
            "bad gateway", request=REQUEST, response=httpx.Response(502, request=REQUEST)
        ),
        Fault(TRANSIENT, "http"),
    ),
    ("a refused socket", ConnectionRefusedError(), Fault(TRANSIENT, "network")),
    ("a timeout", TimeoutError(), Fault(TRANSIENT, "network")),
    ("said so by a handler", DependencyUnavailable("s3", "down"), Fault(TRANSIENT, "s3")),
    # boto3 (the store's conditional writes): its connection errors and 5xx are an outage.
    (
        "boto: endpoint unreachable",
        boto.EndpointConnectionError(endpoint_url="http://s3"),
        Fault(TRANSIENT, "s3"),
    ),
    ("boto: read timeout", boto.ReadTimeoutError(endpoint_url="http://s3"), Fault(TRANSIENT, "s3")),
    ("boto: 503", boto_answer(503, "SlowDown"), Fault(TRANSIENT, "s3")),
    ("boto: 403", boto_answer(403, "AccessDenied"), Fault(UNKNOWN)),
    ("boto: no credentials", boto.NoCredentialsError(), Fault(UNKNOWN)),
    # The message itself is bad: dead-letter at once.
    ("contract violation", validation_error(), Fault(POISON)),
    ("undecodable JSON", json_error(), Fault(POISON)),
    ("undecodable text", UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), Fault(POISON)),
    ("cannot be made to fit", PoisonMessage("bad"), Fault(POISON)),
    # Anything else: a few tries, then dead-lettered.
    ("a bug", KeyError("x"), Fault(UNKNOWN)),
    ("a plain runtime error", RuntimeError("?"), Fault(UNKNOWN)),
    # A service's own wrapper keeps the meaning of what it wraps.
    (
        "wrapper over an outage",
        caused(RuntimeError("load failed"), ProtocolError("reset")),
        Fault(TRANSIENT, "s3"),
    ),
    (
        "wrapper over poison",
        caused(RuntimeError("load failed"), ObjectNotFound("s3://b/k")),
        Fault(POISON),
    ),
]


@pytest.mark.parametrize(("error", "fault"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_failure_is_classified(error: BaseException, fault: Fault) -> None:
    assert classify(error) == fault


def test_a_cause_cycle_ends() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert classify(first) == Fault(UNKNOWN)
