"""Every event type is a valid CloudEvent on the wire, as the CloudEvents SDK reads it: each
topic's golden sample, published through the services' publishing path (KafkaEventSink) to
the real broker, is read back as a raw Kafka record and converted by the SDK's Kafka protocol
binding (binary content mode: ``ce_*`` headers + body)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event
from millrace_contracts import TOPICS, Event
from millrace_shared.kafka import kafka_options
from millrace_shared.messaging import KafkaEventSink, ensure_topics, make_broker
from millrace_shared.settings import MillraceSettings

pytestmark = pytest.mark.integration
SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"


def sample(event: type[Event]) -> Event:
    """The golden sample of the event's current version, with a fresh id (to find its record
    among other tests' records on the shared topic)."""
    path = SAMPLES / event.event_type / f"{event.major_version}.{event.minor_version}.json"
    parsed = event.model_validate_json(path.read_text())
    return parsed.model_copy(update={"event_id": uuid.uuid4()})


async def records_with_ids(
    settings: MillraceSettings, topics: list[str], ids: set[str]
) -> dict[str, KafkaMessage]:
    """The raw records (headers, key, value) whose ``ce_id`` is one of ``ids``, by id."""
    consumer = AIOKafkaConsumer(*topics, **kafka_options(settings), auto_offset_reset="earliest")
    await consumer.start()
    found: dict[str, KafkaMessage] = {}
    try:
        async with asyncio.timeout(90):
            while len(found) < len(ids):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        headers = {k: v for k, v in record.headers}
                        ce_id = headers.get("ce_id", b"").decode()
                        if ce_id in ids:
                            found[ce_id] = KafkaMessage(
                                headers=headers, key=record.key, value=record.value
                            )
    finally:
        await consumer.stop()
    return found


async def test_every_event_type_is_a_cloudevent_on_the_wire(
    stack_settings: MillraceSettings,
) -> None:
    await ensure_topics(stack_settings)
    events = {str(e.event_id): e for e in (sample(spec.event) for spec in TOPICS)}
    broker, _ = make_broker(stack_settings.model_copy(update={"service_name": "ce-test"}))
    await broker.start()
    try:
        sink = KafkaEventSink(broker)
        for event in events.values():
            await sink.publish(event)
    finally:
        await broker.stop()

    topics = sorted({e.topic() for e in events.values()})
    records = await records_with_ids(stack_settings, topics, set(events))

    assert set(records) == set(events)
    for event_id, event in events.items():
        ce: Any = from_binary_event(records[event_id])  # raises if not a valid CloudEvent
        assert ce.get_specversion() == "1.0"
        assert ce.get_type() == event.cloudevents_type()
        assert ce.get_source() == f"/millrace/{event.producer}"
        assert ce.get_id() == event_id
        assert ce.get_datacontenttype() == "application/json"
        assert ce.get_time() == event.occurred_at
        assert ce.get_subject() == event.partition_key
        # The data is the event's contract JSON, the envelope included (see cloudevents.py).
        assert ce.get_data() == json.loads(event.model_dump_json())
