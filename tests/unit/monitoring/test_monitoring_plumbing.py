"""The outbox (no event lost to a failed publish) and batch decoding (poison set aside)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from millrace_contracts import Event, PredictionsLogged
from millrace_monitoring.core.decoding import decode_batch
from millrace_monitoring.core.outbox import Outbox
from millrace_shared.messaging import RecordingEventSink
from monitoring_support import labelled, logged


class FlakySink(RecordingEventSink):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish(self, event: Event) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker away")
        await super().publish(event)


async def test_events_whose_publish_failed_go_out_on_the_next_flush_in_order() -> None:
    events = [labelled([(f"p{i}", "a")]) for i in range(3)]
    outbox, sink = Outbox(), FlakySink(failures=1)
    outbox.extend(events)
    with pytest.raises(ConnectionError):
        await outbox.flush(sink)
    assert len(outbox) == 3
    await outbox.flush(sink)
    assert sink.events == events
    assert len(outbox) == 0


@dataclass
class Record:
    topic: str
    value: Any
    partition: int = 0
    offset: int = 0


def test_a_batch_is_split_by_topic_and_bad_records_are_set_aside() -> None:
    predictions = logged([{"x": 1.0}])
    labels = labelled([("p", "a")])
    decoded = decode_batch(
        [
            Record(PredictionsLogged.topic(), predictions.model_dump_json().encode()),
            Record(PredictionsLogged.topic(), b"not json", offset=1),
            Record(labels.topic(), labels.model_dump_json().encode(), offset=2),
            Record(PredictionsLogged.topic(), None, offset=3),
            Record("millrace.other.v1", b"{}", offset=4),
        ]
    )
    assert decoded.predictions == [predictions]
    assert decoded.labels == [labels]
    assert [record.offset for record, _ in decoded.poison] == [1, 3, 4]
