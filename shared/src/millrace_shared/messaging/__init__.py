"""Kafka plumbing shared by the services."""

from ..records import DLQ_HEADER_PREFIX
from .broker import ensure_topics, kafka_security, make_broker
from .deadletter import DeadLetterMiddleware, PoisonMessage, transient_delay
from .probe import KafkaProbe
from .publishing import EventSink, EventTooLarge, KafkaEventSink, RecordingEventSink

__all__ = [
    "DLQ_HEADER_PREFIX",
    "DeadLetterMiddleware",
    "EventSink",
    "EventTooLarge",
    "KafkaEventSink",
    "KafkaProbe",
    "PoisonMessage",
    "RecordingEventSink",
    "ensure_topics",
    "kafka_security",
    "make_broker",
    "transient_delay",
]
