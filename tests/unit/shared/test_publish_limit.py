"""No service can publish an event the broker would refuse: the sink refuses it first, once."""

from __future__ import annotations

from typing import Any, cast

import pytest
from faststream.kafka import KafkaBroker
from millrace_contracts import DataArrived, DatasetRejected, Reason, caused_by, first_of_flow
from millrace_shared.messaging import (
    EventTooLarge,
    KafkaEventSink,
    PoisonMessage,
    RecordingEventSink,
)
from millrace_shared.messaging.deadletter import is_poison
from millrace_shared.messaging.publishing import DEFAULT_MAX_EVENT_BYTES
from millrace_shared.settings import MillraceSettings


class FakeBroker:
    def __init__(self) -> None:
        self.published: list[bytes] = []

    async def publish(self, body: bytes, **_: Any) -> None:
        self.published.append(body)


def rejection(reasons: int, message_chars: int = 100) -> DatasetRejected:
    arrived = DataArrived(
        **first_of_flow(producer="test"), dataset="iris", uri="s3://millrace-landing/iris/a.csv"
    )
    return DatasetRejected(
        **caused_by(DatasetRejected, arrived, producer="test"),
        dataset="iris",
        source_uri=arrived.uri,
        reasons=[
            Reason(code="unexpected_column", message="x" * message_chars, column=f"c{i}")
            for i in range(reasons)
        ],
    )


def test_default_is_below_kafkas_default_request_size() -> None:
    assert DEFAULT_MAX_EVENT_BYTES < 1_048_576
    assert MillraceSettings().kafka_max_event_bytes == DEFAULT_MAX_EVENT_BYTES


async def test_an_event_under_the_limit_is_published() -> None:
    broker = FakeBroker()
    sink = KafkaEventSink(cast(KafkaBroker, broker), max_event_bytes=10_000)
    await sink.publish(rejection(3))
    assert len(broker.published) == 1


async def test_an_oversize_event_is_refused_before_the_broker_sees_it() -> None:
    broker = FakeBroker()
    sink = KafkaEventSink(cast(KafkaBroker, broker), max_event_bytes=10_000)
    event = rejection(200)
    with pytest.raises(EventTooLarge) as info:
        await sink.publish(event)
    assert broker.published == []
    assert info.value.size > info.value.limit == 10_000
    assert "dataset.rejected" in str(info.value)
    assert "MILLRACE_KAFKA_MAX_EVENT_BYTES" in str(info.value)


async def test_the_bulk_path_is_guarded_too() -> None:
    broker = FakeBroker()
    sink = KafkaEventSink(cast(KafkaBroker, broker))
    event = rejection(1)
    with pytest.raises(EventTooLarge):
        await sink.publish_encoded(event, b"x" * (DEFAULT_MAX_EVENT_BYTES + 1))
    assert broker.published == []


def test_too_large_is_poison_so_the_input_is_not_retried() -> None:
    error = EventTooLarge(rejection(1), 2_000_000, DEFAULT_MAX_EVENT_BYTES)
    assert isinstance(error, PoisonMessage)
    assert is_poison(error)


async def test_the_recording_sink_refuses_as_kafka_would() -> None:
    sink = RecordingEventSink(max_event_bytes=10_000)
    with pytest.raises(EventTooLarge):
        await sink.publish(rejection(200))
    assert sink.events == []
