"""Publishing contract events: topic, key and CloudEvents headers from the event itself."""

from __future__ import annotations

from typing import Protocol, TypeVar

from faststream.kafka import KafkaBroker
from millrace_contracts import Event, cloudevents_headers

from .deadletter import PoisonMessage

E = TypeVar("E", bound=Event)

DEFAULT_MAX_EVENT_BYTES = 900_000
"""Below Kafka's default ``max.request.size`` (1,048,576 bytes), with room for the record's
own overhead; ``MILLRACE_KAFKA_MAX_EVENT_BYTES`` in the services."""


class EventTooLarge(PoisonMessage):
    """An event bigger than the sink's limit: refused before it reaches the broker.

    A poison message, so the input that produced it is dead-lettered at once: publishing the
    same event again could only fail again (and re-run the handler's work each time).
    """

    def __init__(self, event: Event, size: int, limit: int) -> None:
        super().__init__(
            f"{event.event_type} {event.event_id} encodes to {size} bytes, more than the limit "
            f"of {limit} (MILLRACE_KAFKA_MAX_EVENT_BYTES); its producer must cut it down"
        )
        self.event_type = event.event_type
        self.size = size
        self.limit = limit


def encoded_size(event: Event, body: bytes) -> int:
    """Bytes the record takes: body, key and headers (names and values)."""
    headers = sum(len(k) + len(v.encode()) for k, v in cloudevents_headers(event).items())
    return len(body) + len(event.partition_key.encode()) + headers


class EventSink(Protocol):
    """Where handlers send the events they produce: Kafka, or a list in tests."""

    async def publish(self, event: Event) -> None: ...

    async def publish_encoded(self, event: Event, body: bytes) -> None:
        """Publish ``body``, the JSON of an event like ``event`` that the producer encoded
        itself (a bulk payload pydantic would build object by object); topic, key and
        headers come from ``event``."""
        ...


class KafkaEventSink:
    def __init__(
        self, broker: KafkaBroker, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    ) -> None:
        self._broker = broker
        self.max_event_bytes = max_event_bytes

    async def publish(self, event: Event) -> None:
        # pydantic-core writes the JSON itself: no intermediate dict for FastStream to encode
        # again. The ce headers carry content-type, so consumers still parse it as JSON.
        await self.publish_encoded(event, event.model_dump_json().encode())

    async def publish_encoded(self, event: Event, body: bytes) -> None:
        check_size(event, body, self.max_event_bytes)
        # Waits for the broker's acknowledgement, so a handler that returns has its output
        # durable before its input offset is committed.
        await self._broker.publish(
            body,
            topic=event.topic(),
            key=event.partition_key.encode(),
            headers=cloudevents_headers(event),
        )


def check_size(event: Event, body: bytes, limit: int) -> None:
    size = encoded_size(event, body)
    if size > limit:
        raise EventTooLarge(event, size, limit)


class RecordingEventSink:
    """Collects events in memory: for unit tests of handlers and core logic.

    Refuses oversize events as the Kafka sink does, so tests see the same failure.
    """

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.events: list[Event] = []
        self.max_event_bytes = max_event_bytes

    async def publish(self, event: Event) -> None:
        check_size(event, event.model_dump_json().encode(), self.max_event_bytes)
        self.events.append(event)

    async def publish_encoded(self, event: Event, body: bytes) -> None:
        check_size(event, body, self.max_event_bytes)
        # Parsed back with the contract: a test sees exactly what a consumer would.
        self.events.append(type(event).model_validate_json(body))

    def of_type(self, event_type: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, event_type)]
