"""Publishing contract events: topic, key and CloudEvents headers from the event itself."""

from __future__ import annotations

from typing import Protocol, TypeVar

from faststream.kafka import KafkaBroker
from millrace_contracts import Event, cloudevents_headers

E = TypeVar("E", bound=Event)


class EventSink(Protocol):
    """Where handlers send the events they produce: Kafka, or a list in tests."""

    async def publish(self, event: Event) -> None: ...

    async def publish_encoded(self, event: Event, body: bytes) -> None:
        """Publish ``body``, the JSON of an event like ``event`` that the producer encoded
        itself (a bulk payload pydantic would build object by object); topic, key and
        headers come from ``event``."""
        ...


class KafkaEventSink:
    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def publish(self, event: Event) -> None:
        # pydantic-core writes the JSON itself: no intermediate dict for FastStream to encode
        # again. The ce headers carry content-type, so consumers still parse it as JSON.
        await self.publish_encoded(event, event.model_dump_json().encode())

    async def publish_encoded(self, event: Event, body: bytes) -> None:
        # Waits for the broker's acknowledgement, so a handler that returns has its output
        # durable before its input offset is committed.
        await self._broker.publish(
            body,
            topic=event.topic(),
            key=event.partition_key.encode(),
            headers=cloudevents_headers(event),
        )


class RecordingEventSink:
    """Collects events in memory: for unit tests of handlers and core logic."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)

    async def publish_encoded(self, event: Event, body: bytes) -> None:
        # Parsed back with the contract: a test sees exactly what a consumer would.
        self.events.append(type(event).model_validate_json(body))

    def of_type(self, event_type: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, event_type)]
