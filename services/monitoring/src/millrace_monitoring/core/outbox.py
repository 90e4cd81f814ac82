"""Events produced but not yet published, so a failed publish is retried, not lost.

The monitor's state moves on when a batch is handled; if publishing what it produced then
fails, the redelivered batch is dropped as already seen. The outbox keeps those events and
the next handler call (the retry, or the next batch) publishes them first. Their ids are
deterministic, so a repeat that did reach Kafka is dropped downstream.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from millrace_contracts import Event
from millrace_shared.messaging import EventSink


class Outbox:
    def __init__(self) -> None:
        self._pending: deque[Event] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def extend(self, events: Iterable[Event]) -> None:
        self._pending.extend(events)

    async def flush(self, sink: EventSink) -> None:
        while self._pending:
            await sink.publish(self._pending[0])
            self._pending.popleft()
