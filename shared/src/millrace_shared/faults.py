"""What a handler's failure means: a dependency briefly gone, input no retry can fix, or neither.

``TRANSIENT``: a dependency is unreachable, timing out or answering 5xx (S3, Kafka, the
registry's HTTP API). Nothing is wrong with the message; it is tried again for as long as the
outage lasts, never dead-lettered, its offset not committed meanwhile.

``POISON``: the message itself cannot be handled, now or later (a contract violation, an
undecodable payload, an object that is missing, refused or altered). Dead-lettered at once.

``UNKNOWN``: anything else (most likely a bug): a few bounded tries, then dead-lettered.

Classification looks at the error, then at its explicit cause (``raise X from error``), so a
service's own wrapper (``RegistryUnreachable`` over ``httpx.ConnectError``) keeps its meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
import urllib3.exceptions
from aiokafka import errors as kafka_errors
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from minio.error import InvalidResponseError, S3Error, ServerError
from pydantic import ValidationError

from .objectstore.base import ChecksumMismatch, ObjectNotFound, ObjectTooLarge
from .registry.client import RegistryRefused, RegistryTimeout, RegistryUnreachable

S3 = "s3"
KAFKA = "kafka"
REGISTRY = "registry"
HTTP = "http"
NETWORK = "network"


class FaultKind(StrEnum):
    TRANSIENT = "transient"
    POISON = "poison"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    dependency: str | None = None
    """For a transient fault: the dependency that is down (``s3``, ``kafka``, ``registry``...)."""


class PoisonMessage(Exception):
    """Raise from a handler for input that no retry can fix; it goes straight to the DLQ."""


class DependencyUnavailable(Exception):
    """Raise from a handler when a dependency it needs is down: retried while it lasts."""

    def __init__(self, dependency: str, why: object) -> None:
        super().__init__(f"{dependency} unavailable: {why}")
        self.dependency = dependency


_UNKNOWN = Fault(FaultKind.UNKNOWN)
_POISON = Fault(FaultKind.POISON)

# S3 error codes that say "try again" (AWS's and MinIO's documented retryable codes).
_S3_RETRYABLE = frozenset(
    {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "RequestTimeTooSkewed"}
)

# Kafka errors that mean "the cluster is not available right now"; aiokafka marks most of them
# ``retriable``, but not its own producer/client timeouts, which are what a stopped broker gives.
_KAFKA_UNAVAILABLE: tuple[type[Exception], ...] = (
    kafka_errors.KafkaTimeoutError,
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaUnavailableError,
    kafka_errors.NoBrokersAvailable,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.NotEnoughReplicasError,
    kafka_errors.NotEnoughReplicasAfterAppendError,
    kafka_errors.LeaderNotAvailableError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.BrokerNotAvailableError,
)
_KAFKA_POISON: tuple[type[Exception], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
)


def is_poison(error: BaseException) -> bool:
    return classify(error).kind is FaultKind.POISON


def classify(error: BaseException) -> Fault:
    """The fault ``error`` stands for; see the module's docstring."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        fault = _classify_one(current)
        if fault.kind is not FaultKind.UNKNOWN:
            return fault
        current = current.__cause__
    return _UNKNOWN


def _classify_one(error: BaseException) -> Fault:
    if isinstance(
        error,
        ValidationError
        | json.JSONDecodeError
        | UnicodeDecodeError
        | PoisonMessage
        | ObjectNotFound
        | ChecksumMismatch
        | ObjectTooLarge,
    ):
        return _POISON
    if isinstance(error, DependencyUnavailable):
        return Fault(FaultKind.TRANSIENT, error.dependency)
    if isinstance(
        error, S3Error | ServerError | InvalidResponseError | urllib3.exceptions.HTTPError
    ):
        return _s3(error)
    if isinstance(error, ClientError | BotoCoreError):
        return _boto(error)
    if isinstance(error, kafka_errors.KafkaError):
        return _kafka(error)
    if isinstance(error, RegistryUnreachable | RegistryTimeout):
        return Fault(FaultKind.TRANSIENT, REGISTRY)
    if isinstance(error, RegistryRefused):
        return Fault(FaultKind.TRANSIENT, REGISTRY) if _is_5xx(error.response) else _UNKNOWN
    if isinstance(error, httpx.TransportError):
        return Fault(FaultKind.TRANSIENT, HTTP)
    if isinstance(error, httpx.HTTPStatusError):
        return Fault(FaultKind.TRANSIENT, HTTP) if _is_5xx(error.response) else _UNKNOWN
    if isinstance(error, ConnectionError | TimeoutError):
        return Fault(FaultKind.TRANSIENT, NETWORK)
    return _UNKNOWN


def _s3(error: Exception) -> Fault:
    transient = Fault(FaultKind.TRANSIENT, S3)
    if isinstance(error, S3Error):
        status = getattr(error.response, "status", 0) or 0
        if error.code in _S3_RETRYABLE or status >= 500:
            return transient
        # AccessDenied, NoSuchKey, NoSuchBucket, InvalidArgument...: the same request gets the
        # same answer however often it is sent.
        return _POISON
    if isinstance(error, ServerError):
        return transient if error.status_code >= 500 else _UNKNOWN
    if isinstance(error, InvalidResponseError):
        # A non-XML answer: a proxy's or a restarting server's error page.
        code = getattr(error, "_code", 0) or 0
        return transient if code >= 500 or code == 0 else _UNKNOWN
    if isinstance(error, urllib3.exceptions.LocationValueError):
        return _UNKNOWN  # a malformed endpoint: configuration, not an outage
    return transient  # refused/reset connections, timeouts, retries exhausted


def _boto(error: ClientError | BotoCoreError) -> Fault:
    """The conditional writes go through boto3 (the store's minio client cannot send them)."""
    if isinstance(error, ClientError):
        response: dict[str, Any] = dict(error.response)
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code = str(response.get("Error", {}).get("Code", ""))
        if code in _S3_RETRYABLE or status >= 500:
            return Fault(FaultKind.TRANSIENT, S3)
        return _UNKNOWN
    if isinstance(error, HTTPClientError | BotoConnectionError):  # refused, closed, timed out
        return Fault(FaultKind.TRANSIENT, S3)
    return _UNKNOWN  # missing credentials, a bad parameter: configuration, not an outage


def _kafka(error: kafka_errors.KafkaError) -> Fault:
    if isinstance(error, _KAFKA_POISON):
        return _POISON
    if isinstance(error, _KAFKA_UNAVAILABLE) or error.retriable:
        return Fault(FaultKind.TRANSIENT, KAFKA)
    return _UNKNOWN


def _is_5xx(response: httpx.Response) -> bool:
    return response.status_code >= 500
