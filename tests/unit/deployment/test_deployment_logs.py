"""The prediction-log buffer is bounded and counts drops; the publisher flushes in batches."""

from __future__ import annotations

import asyncio

from millrace_contracts import Event, PredictionsLogged
from millrace_deployment.core.logbuffer import LoggedPrediction, PredictionLogBuffer
from millrace_deployment.core.logpublisher import LogPublisher
from millrace_shared.messaging import RecordingEventSink
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def entry(n: int, model: str = "churn", version: int = 1) -> LoggedPrediction:
    return LoggedPrediction(model, version, f"id{n}", {"x": n}, "yes", 1_700_000_000.0 + n)


def publisher_for(
    buffer: PredictionLogBuffer, sink: object, batch_size: int, interval: float = 60.0
) -> tuple[LogPublisher, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    publisher = LogPublisher(
        buffer,
        sink,  # type: ignore[arg-type]
        provider.get_tracer("test"),
        producer="deployment",
        replica_id="r1",
        batch_size=batch_size,
        interval_seconds=interval,
    )
    return publisher, exporter


def test_a_full_buffer_drops_the_oldest_and_counts_them() -> None:
    buffer = PredictionLogBuffer(capacity=3, batch_size=2)
    for n in range(5):
        buffer.append(entry(n))
    assert len(buffer) == 3 and buffer.dropped == 2 and buffer.appended == 5
    assert [e.prediction_id for e in buffer.drain(10)] == ["id2", "id3", "id4"]
    assert len(buffer) == 0


def test_extend_buffers_a_batch_as_appends_would() -> None:
    ready: list[int] = []
    buffer = PredictionLogBuffer(capacity=5, batch_size=3, on_batch_ready=lambda: ready.append(1))
    buffer.extend([entry(0), entry(1)])
    assert (len(buffer), buffer.appended, buffer.dropped, ready) == (2, 2, 0, [])
    buffer.extend([entry(2), entry(3), entry(4), entry(5), entry(6)])
    assert (buffer.appended, buffer.dropped, ready) == (7, 2, [1])
    assert [e.prediction_id for e in buffer.drain(10)] == [f"id{n}" for n in range(2, 7)]


def test_the_batch_ready_callback_fires_when_a_batch_is_queued() -> None:
    ready: list[int] = []
    buffer = PredictionLogBuffer(capacity=10, batch_size=3, on_batch_ready=lambda: ready.append(1))
    for n in range(2):
        buffer.append(entry(n))
    assert ready == []
    buffer.append(entry(2))
    assert ready == [1]


async def test_flush_publishes_batches_per_model_version_in_order() -> None:
    buffer = PredictionLogBuffer(capacity=100, batch_size=3)
    sink = RecordingEventSink()
    publisher, exporter = publisher_for(buffer, sink, batch_size=3)
    for n in range(5):
        buffer.append(entry(n))
    buffer.append(entry(5, version=2))
    assert await publisher.flush() == 6
    events = sink.of_type(PredictionsLogged)
    assert [(e.model_version, [p.prediction_id for p in e.predictions]) for e in events] == [
        (1, ["id0", "id1", "id2"]),
        (1, ["id3", "id4"]),
        (2, ["id5"]),
    ]
    first = events[0]
    assert first.replica_id == "r1" and first.dropped_before == 0
    assert first.predictions[0].features == {"x": 0} and first.predictions[0].output == "yes"
    assert first.predictions[0].timestamp.timestamp() == 1_700_000_000.0
    assert publisher.logged == 6 and len(buffer) == 0
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["publish_logs"] * 3
    assert spans[0].attributes is not None and spans[0].attributes["millrace.batch.size"] == 3


class DownSink:
    async def publish(self, event: Event) -> None:
        raise ConnectionError("kafka is down")

    async def publish_encoded(self, event: Event, body: bytes) -> None:
        raise ConnectionError("kafka is down")


async def test_a_failed_publish_is_counted_as_dropped_and_reported_later() -> None:
    buffer = PredictionLogBuffer(capacity=100, batch_size=10)
    publisher, _ = publisher_for(buffer, DownSink(), batch_size=10)
    for n in range(4):
        buffer.append(entry(n))
    assert await publisher.flush() == 0
    assert buffer.dropped == 4 and publisher.failed_publishes == 1 and len(buffer) == 0

    sink = RecordingEventSink()
    publisher, _ = publisher_for(buffer, sink, batch_size=10)
    buffer.append(entry(9))
    await publisher.flush()
    [event] = sink.of_type(PredictionsLogged)
    assert event.dropped_before == 4


class SignallingSink(RecordingEventSink):
    def __init__(self) -> None:
        super().__init__()
        self.published = asyncio.Event()

    async def publish(self, event: Event) -> None:
        await super().publish(event)
        self.published.set()

    async def publish_encoded(self, event: Event, body: bytes) -> None:
        await super().publish_encoded(event, body)
        self.published.set()


async def test_a_full_batch_is_published_without_waiting_for_the_interval() -> None:
    sink = SignallingSink()
    publisher: LogPublisher | None = None
    buffer = PredictionLogBuffer(
        capacity=100, batch_size=2, on_batch_ready=lambda: publisher.wake()
    )  # type: ignore[union-attr]
    publisher, _ = publisher_for(buffer, sink, batch_size=2, interval=3600)
    publisher.start()
    try:
        buffer.append(entry(0))
        buffer.append(entry(1))
        await asyncio.wait_for(sink.published.wait(), 10)
        [event] = sink.of_type(PredictionsLogged)
        assert len(event.predictions) == 2
    finally:
        await publisher.stop()


async def test_stop_publishes_what_is_left() -> None:
    buffer = PredictionLogBuffer(capacity=100, batch_size=50)
    sink = RecordingEventSink()
    publisher, _ = publisher_for(buffer, sink, batch_size=50, interval=3600)
    publisher.start()
    buffer.append(entry(0))
    await publisher.stop()
    assert len(sink.of_type(PredictionsLogged)) == 1


def test_encoded_logs_are_the_contract_event_with_every_record() -> None:
    from millrace_deployment.core.logpublisher import encode_logs

    entries = [
        LoggedPrediction("churn", 3, f"id{n}", {"x": n * 0.5, "c": "red", "n": None}, n, 1.7e9)
        for n in range(5)
    ]
    head, body = encode_logs(entries, producer="deployment", replica_id="r1", dropped_before=2)
    event = PredictionsLogged.model_validate_json(body)
    assert (event.event_id, event.model_name, event.model_version) == (head.event_id, "churn", 3)
    assert event.dropped_before == 2 and event.replica_id == "r1"
    assert [(p.prediction_id, p.features, p.output) for p in event.predictions] == [
        (e.prediction_id, e.features, e.output) for e in entries
    ]
    assert all(p.timestamp.timestamp() == 1.7e9 for p in event.predictions)
