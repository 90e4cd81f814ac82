"""aiokafka clients built from the settings, with "not reachable" as a clear error."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from millrace_shared.kafka import kafka_options
from millrace_shared.kafka import partitions_of as _partitions_of

from .endpoints import Endpoints
from .net import tcp_answers

if TYPE_CHECKING:
    from millrace_shared.messaging import KafkaEventSink

UNREACHABLE_ERRORS = (KafkaConnectionError, KafkaTimeoutError, OSError)
C = TypeVar("C", AIOKafkaConsumer, AIOKafkaProducer, AIOKafkaAdminClient)


@asynccontextmanager
async def _running(endpoints: Endpoints, client: C) -> AsyncIterator[C]:
    """``client`` started (Kafka not answering: the one-line error), stopped afterwards."""
    stop = client.close if isinstance(client, AIOKafkaAdminClient) else client.stop
    try:
        try:
            await client.start()
        except UNREACHABLE_ERRORS as error:
            raise endpoints.unreachable("kafka") from error
        yield client
    finally:
        await stop()


def consumer(endpoints: Endpoints, **options: Any) -> AbstractAsyncContextManager[AIOKafkaConsumer]:
    """A consumer without a group: it never takes partitions from a service."""
    options = {**kafka_options(endpoints.settings), "enable_auto_commit": False, **options}
    return _running(endpoints, AIOKafkaConsumer(**options, group_id=None))


def producer(endpoints: Endpoints) -> AbstractAsyncContextManager[AIOKafkaProducer]:
    options = kafka_options(endpoints.settings)
    return _running(endpoints, AIOKafkaProducer(**options, acks="all", enable_idempotence=True))


def admin(endpoints: Endpoints) -> AbstractAsyncContextManager[AIOKafkaAdminClient]:
    options = kafka_options(endpoints.settings, client_id="millrace-cli-admin")
    return _running(endpoints, AIOKafkaAdminClient(**options))


@asynccontextmanager
async def event_sink(endpoints: Endpoints) -> AsyncIterator[KafkaEventSink]:
    """Publishes contract events the way services do (CloudEvents headers, acks=all).

    With MILLRACE_ZIPKIN_ENDPOINT or MILLRACE_OTLP_ENDPOINT set (and answering), the publish
    span is exported, so a flow's trace starts at the CLI.
    """
    # Imported here: FastStream and the OpenTelemetry SDK take seconds to load, and only the
    # commands that publish events need them.
    from millrace_shared.messaging import KafkaEventSink, make_broker
    from millrace_shared.telemetry import setup_tracing

    settings = endpoints.settings
    # An endpoint that does not answer is dropped: the exporter would retry it at exit.
    silent = {
        name: None
        for name in ("otlp_endpoint", "zipkin_endpoint")
        if (url := getattr(settings, name)) and not tcp_answers(url, timeout=0.5)
    }
    settings = settings.model_copy(update=silent) if silent else settings
    exporting = settings.otlp_endpoint or settings.zipkin_endpoint
    provider = setup_tracing(settings) if exporting else None
    broker, _ = make_broker(settings, tracer_provider=provider)
    try:
        try:
            await broker.start()
        except UNREACHABLE_ERRORS as error:
            raise endpoints.unreachable("kafka") from error
        yield KafkaEventSink(broker)
    finally:
        await broker.stop()
        if provider is not None:
            provider.shutdown()


async def partitions_of(endpoints: Endpoints, topics: Sequence[str]) -> dict[str, list[int]]:
    """Partition numbers of each existing topic (missing topics are left out, not created)."""
    async with admin(endpoints) as client:
        return await _partitions_of(client, topics)
