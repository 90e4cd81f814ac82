"""Events over the real Kafka broker: contracts intact, traces joined, bad input dead-lettered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from millrace_contracts import DataArrived, cloudevents_headers, first_of_flow
from millrace_shared.kafka import kafka_options
from millrace_shared.messaging import (
    DLQ_HEADER_PREFIX,
    DeadLetterMiddleware,
    KafkaEventSink,
    ensure_topics,
    make_broker,
)
from millrace_shared.messaging.deadletter import set_aside
from millrace_shared.settings import MillraceSettings
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

pytestmark = pytest.mark.integration
TOPIC = DataArrived.topic()


def arrival(dataset: str) -> DataArrived:
    return DataArrived(
        **first_of_flow(producer="test"),
        dataset=dataset,
        uri=f"s3://millrace-landing/{dataset}/a.csv",
    )


@pytest.fixture
async def topics(stack_settings: MillraceSettings) -> None:
    await ensure_topics(stack_settings)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider


@pytest.fixture
async def producer(
    stack_settings: MillraceSettings, spans: InMemorySpanExporter, topics: None
) -> AsyncIterator[KafkaBroker]:
    settings = stack_settings.model_copy(update={"service_name": "producer-app"})
    broker, _ = make_broker(settings, tracer_provider=provider(spans))
    await broker.start()
    yield broker
    await broker.stop()


async def read_records(
    settings: MillraceSettings, topic: str, key: str, count: int, wait_seconds: float = 30
) -> list[tuple[bytes, dict[str, str]]]:
    consumer = AIOKafkaConsumer(topic, **kafka_options(settings), auto_offset_reset="earliest")
    await consumer.start()
    found: list[tuple[bytes, dict[str, str]]] = []
    try:
        async with asyncio.timeout(wait_seconds):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        if record.key == key.encode():
                            headers = {k: v.decode() for k, v in record.headers}
                            found.append((record.value, headers))
    finally:
        await consumer.stop()
    return found


async def test_event_arrives_intact_in_the_producers_trace(
    stack_settings: MillraceSettings,
    producer: KafkaBroker,
    spans: InMemorySpanExporter,
    unique: str,
) -> None:
    consumer_settings = stack_settings.model_copy(update={"service_name": "consumer-app"})
    consumer, _ = make_broker(consumer_settings, tracer_provider=provider(spans))
    received: asyncio.Future[DataArrived] = asyncio.get_running_loop().create_future()

    @consumer.subscriber(TOPIC, group_id=f"{unique}-group", auto_offset_reset="earliest")
    async def on_arrival(event: DataArrived) -> None:
        if event.dataset == unique and not received.done():
            received.set_result(event)

    sent = arrival(unique)
    await consumer.start()
    try:
        await KafkaEventSink(producer).publish(sent)
        got = await asyncio.wait_for(received, 60)
    finally:
        await consumer.stop()

    assert got == sent
    assert got.model_dump_json() == sent.model_dump_json()
    finished: list[ReadableSpan] = list(spans.get_finished_spans())
    publish = [s for s in finished if s.kind is SpanKind.PRODUCER and s.name.startswith(TOPIC)]
    consume = [s for s in finished if s.kind is SpanKind.CONSUMER and TOPIC in s.name]
    assert publish, [s.name for s in finished]
    assert consume, [s.name for s in finished]
    producer_trace = {s.context.trace_id for s in publish}
    assert any(s.context.trace_id in producer_trace for s in consume), (
        "consumer span not in producer trace"
    )
    tagged = [
        s
        for s in consume
        if (s.attributes or {}).get("millrace.correlation_id") == str(sent.correlation_id)
    ]
    assert tagged, "the consumer span carries the flow's correlation id"
    assert (tagged[0].attributes or {}).get("millrace.event_type") == DataArrived.cloudevents_type()


def dlq_consumer(
    settings: MillraceSettings, unique: str
) -> tuple[KafkaBroker, DeadLetterMiddleware, str]:
    """A consumer with the real dead-letter middleware, and a topic of its own: the services of
    the e2e suite may be consuming the real one."""
    consumer, dead_letters = make_broker(settings.model_copy(update={"service_name": "dlq-test"}))
    return consumer, dead_letters, f"millrace-test.{unique}"


async def test_malformed_and_failing_messages_go_to_the_dlq_and_the_consumer_moves_on(
    stack_settings: MillraceSettings, producer: KafkaBroker, unique: str
) -> None:
    consumer, dead_letters, topic = dlq_consumer(stack_settings, unique)
    await ensure_topics(stack_settings, [topic, f"{topic}.dlq"])  # no auto-creation
    processed: list[str] = []
    attempts: dict[str, int] = {}
    done = asyncio.Event()

    @consumer.subscriber(topic, group_id=f"{unique}-group", auto_offset_reset="earliest")
    async def on_arrival(event: DataArrived) -> None:
        if not event.dataset.startswith(unique):
            return
        attempts[event.dataset] = attempts.get(event.dataset, 0) + 1
        if event.dataset.endswith("-boom"):
            raise RuntimeError("the handler keeps failing")
        processed.append(event.dataset)
        done.set()

    key = unique.encode()
    await consumer.start()
    try:
        # Not JSON at all, then JSON that breaks the contract, then a handler that always fails,
        # then a valid event, all on one partition (same key) so order is fixed.
        await producer.publish(b"{not json", topic=topic, key=key)
        await producer.publish({"dataset": unique, "uri": "nowhere"}, topic=topic, key=key)
        boom = arrival(f"{unique}-boom")
        await producer.publish(
            boom.model_dump(mode="json"), topic=topic, key=key, headers=cloudevents_headers(boom)
        )
        await producer.publish(arrival(unique).model_dump(mode="json"), topic=topic, key=key)
        await asyncio.wait_for(done.wait(), 60)
    finally:
        await consumer.stop()

    assert processed == [unique]
    assert attempts[f"{unique}-boom"] == stack_settings.kafka_max_attempts
    assert dead_letters.dead_lettered == 3

    letters = await read_records(stack_settings, topic + ".dlq", unique, count=3)
    kinds = [h[f"{DLQ_HEADER_PREFIX}kind"] for _, h in letters]
    assert kinds == ["poison", "poison", "exhausted"]
    assert letters[0][0] == b"{not json"
    assert json.loads(letters[1][0]) == {"dataset": unique, "uri": "nowhere"}
    for _, headers in letters:
        assert headers[f"{DLQ_HEADER_PREFIX}original-topic"] == topic
        assert int(headers[f"{DLQ_HEADER_PREFIX}original-offset"]) >= 0
        assert headers[f"{DLQ_HEADER_PREFIX}reason"]
    assert "ValidationError" in letters[1][1][f"{DLQ_HEADER_PREFIX}reason"]

    failed = letters[2][1]
    assert failed[f"{DLQ_HEADER_PREFIX}attempts"] == str(stack_settings.kafka_max_attempts)
    assert "keeps failing" in failed[f"{DLQ_HEADER_PREFIX}reason"]
    # The original CloudEvents headers travel with the dead letter.
    assert failed["ce_type"] == DataArrived.cloudevents_type()
    assert failed["ce_id"] == str(boom.event_id)


async def test_a_malformed_record_of_a_batch_is_dead_lettered_alone(
    stack_settings: MillraceSettings, producer: KafkaBroker, unique: str
) -> None:
    consumer, dead_letters, topic = dlq_consumer(stack_settings, unique)
    await ensure_topics(stack_settings, [topic, f"{topic}.dlq"])  # no auto-creation
    processed: list[str] = []
    both = asyncio.Event()

    async def decode_each(message: Any) -> list[DataArrived]:
        """As monitoring's decoder: each record parsed on its own, the bad ones set aside."""
        events = []
        for record in message.raw_message:
            try:
                events.append(DataArrived.model_validate_json(record.value))
            except ValidationError as error:
                set_aside(record, error)
        return events

    @consumer.subscriber(
        topic,
        group_id=f"{unique}-group",
        auto_offset_reset="earliest",
        batch=True,
        decoder=decode_each,
    )
    async def on_arrivals(events: list[DataArrived]) -> None:
        processed.extend(event.dataset for event in events)
        if len(processed) >= 2:
            both.set()

    key = unique.encode()
    await consumer.start()
    try:
        await producer.publish(arrival(f"{unique}-a").model_dump(mode="json"), topic=topic, key=key)
        await producer.publish(b"{not json", topic=topic, key=key)
        await producer.publish(arrival(f"{unique}-b").model_dump(mode="json"), topic=topic, key=key)
        [(value, headers)] = await read_records(stack_settings, topic + ".dlq", unique, count=1)
        await asyncio.wait_for(both.wait(), 30)
    finally:
        await consumer.stop()

    assert processed == [f"{unique}-a", f"{unique}-b"]
    assert dead_letters.dead_lettered == 1
    assert value == b"{not json"
    assert headers[f"{DLQ_HEADER_PREFIX}kind"] == "poison"
    assert headers[f"{DLQ_HEADER_PREFIX}original-topic"] == topic
    assert headers[f"{DLQ_HEADER_PREFIX}attempts"] == "1"
    assert "ValidationError" in headers[f"{DLQ_HEADER_PREFIX}reason"]
