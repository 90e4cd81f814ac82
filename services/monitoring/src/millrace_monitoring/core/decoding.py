"""Parsing a consumer batch once, straight from bytes, into the two event types it carries.

A record that is not a valid event is set aside for the dead-letter topic alone (see
``millrace_shared.messaging.deadletter.set_aside``): one bad record must not send the 499 good
ones of its batch there with it.
"""

from __future__ import annotations

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


PREDICTIONS_TOPIC = PredictionsLogged.topic()
LABELS_TOPIC = LabelsObserved.topic()


def decode_batch(records: Sequence[RawRecord]) -> Decoded:
    decoded = Decoded()
    for record in records:
        try:
            if record.topic == PREDICTIONS_TOPIC:
                decoded.predictions.append(PredictionsLogged.model_validate_json(record.value))
            elif record.topic == LABELS_TOPIC:
                decoded.labels.append(LabelsObserved.model_validate_json(record.value))
            else:
                raise PoisonMessage(f"unexpected topic {record.topic!r}")
        except Exception as error:
            if not is_poison(error):
                raise
            decoded.poison.append((record, error))
    return decoded
