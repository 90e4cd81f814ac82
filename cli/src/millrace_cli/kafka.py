"""aiokafka clients built from the settings, with "not reachable" as a clear error."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from millrace_shared.settings import MillraceSettings

from .endpoints import Endpoints
from .net import tcp_answers

if TYPE_CHECKING:
    from millrace_shared.messaging import KafkaEventSink

UNREACHABLE_ERRORS = (KafkaConnectionError, KafkaTimeoutError, OSError)


def client_options(settings: MillraceSettings) -> dict[str, Any]:
    """bootstrap_servers and security keyword arguments for any aiokafka client."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
        "client_id": "millrace-cli",
    }
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value()
            if settings.kafka_sasl_password
            else None
        )
    if "SSL" in settings.kafka_security_protocol:
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_tls_cafile)
    return options


async def _start(client: Any, endpoints: Endpoints) -> None:
    try:
        await client.start()
    except UNREACHABLE_ERRORS as error:
        await _close(client)
        raise endpoints.unreachable("kafka") from error


async def _close(client: Any) -> None:
    if isinstance(client, AIOKafkaAdminClient):
        await client.close()
    else:
        await client.stop()


@asynccontextmanager
async def consumer(endpoints: Endpoints, **options: Any) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without a group: it never takes partitions from a service."""
    client = AIOKafkaConsumer(
        **client_options(endpoints.settings),
        group_id=None,
        enable_auto_commit=False,
        **options,
    )
    await _start(client, endpoints)
    try:
        yield client
    finally:
        await client.stop()


@asynccontextmanager
async def producer(endpoints: Endpoints) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(
        **client_options(endpoints.settings), acks="all", enable_idempotence=True
    )
    await _start(client, endpoints)
    try:
        yield client
    finally:
        await client.stop()


@asynccontextmanager
async def admin(endpoints: Endpoints) -> AsyncIterator[AIOKafkaAdminClient]:
    options = client_options(endpoints.settings)
    options["client_id"] = "millrace-cli-admin"
    client = AIOKafkaAdminClient(**options)
    await _start(client, endpoints)
    try:
        yield client
    finally:
        await _close(client)


@asynccontextmanager
async def event_sink(endpoints: Endpoints) -> AsyncIterator[KafkaEventSink]:
    """Publishes contract events the way services do (CloudEvents headers, acks=all).

    With MILLRACE_OTLP_ENDPOINT set, the publish span is exported, so a flow's trace starts
    at the CLI.
    """
    # Imported here: FastStream and the OpenTelemetry SDK take seconds to load, and only the
    # commands that publish events need them.
    from millrace_shared.messaging import KafkaEventSink, make_broker
    from millrace_shared.telemetry import setup_tracing

    settings = endpoints.settings
    exporting = settings.otlp_endpoint and tcp_answers(settings.otlp_endpoint, timeout=0.5)
    provider = setup_tracing(settings) if exporting else None
    broker, _ = make_broker(settings, tracer_provider=provider)
    try:
        await broker.start()
    except UNREACHABLE_ERRORS as error:
        await broker.stop()
        raise endpoints.unreachable("kafka") from error
    try:
        yield KafkaEventSink(broker)
    finally:
        await broker.stop()
        if provider is not None:
            provider.shutdown()


async def partitions_of(endpoints: Endpoints, topics: Sequence[str]) -> dict[str, list[int]]:
    """Partition numbers of each existing topic (missing topics are left out, not created)."""
    if not topics:
        return {}
    async with admin(endpoints) as client:
        described = await client.describe_topics(list(topics))
    return {
        str(d["topic"]): sorted(int(p["partition"]) for p in d["partitions"])
        for d in described
        if d.get("error_code", 0) == 0 and d.get("partitions")
    }
