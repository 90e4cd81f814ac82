"""Parsing a consumer batch once, straight from bytes, into the two event types it carries.

A record that is not a valid event is set aside for the dead-letter topic alone (see
``millrace_shared.messaging.deadletter.set_aside``): one bad record must not send the 499 good
ones of its batch there with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from millrace_contracts import LabelsObserved, PredictionsLogged
from millrace_shared.messaging.deadletter import PoisonMessage, is_poison


class RawRecord(Protocol):
    topic: str
    partition: int
    offset: int
    value: Any


@dataclass
class Decoded:
    predictions: list[PredictionsLogged] = field(default_factory=list)
    labels: list[LabelsObserved] = field(default_factory=list)
    poison: list[tuple[RawRecord, Exception]] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)
    """model name -> the partition its events came on (the same on both live topics)."""
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """(topic, partition) -> just past the batch's last record there, poison ones included."""
    trace_ids: dict[uuid.UUID, str] = field(default_factory=dict)
    """event id -> trace id of a prediction log whose record carried a W3C traceparent."""


PREDICTIONS_TOPIC = PredictionsLogged.topic()
LABELS_TOPIC = LabelsObserved.topic()


def decode_batch(records: Sequence[RawRecord]) -> Decoded:
    decoded = Decoded()
    for record in records:
        position = (record.topic, record.partition)
        decoded.next_offsets[position] = max(
            decoded.next_offsets.get(position, 0), record.offset + 1
        )
        try:
            event: PredictionsLogged | LabelsObserved
            if record.topic == PREDICTIONS_TOPIC:
                event = PredictionsLogged.model_validate_json(record.value)
                decoded.predictions.append(event)
                if (trace_id := trace_id_of(record)) is not None:
                    decoded.trace_ids[event.event_id] = trace_id
            elif record.topic == LABELS_TOPIC:
                event = LabelsObserved.model_validate_json(record.value)
                decoded.labels.append(event)
            else:
                raise PoisonMessage(f"unexpected topic {record.topic!r}")
            decoded.partitions[event.model_name] = record.partition
        except Exception as error:
            if not is_poison(error):
                raise
            decoded.poison.append((record, error))
    return decoded


def trace_id_of(record: RawRecord) -> str | None:
    """The trace id in the record's ``traceparent`` header (``00-<trace>-<span>-<flags>``)."""
    for key, value in getattr(record, "headers", None) or ():
        if key == "traceparent" and isinstance(value, bytes | str):
            text = value.decode(errors="replace") if isinstance(value, bytes) else value
            parts = text.split("-")
            if len(parts) == 4 and len(parts[1]) == 32:
                return parts[1]
    return None
