"""Events produced but not yet published, so a failed publish is retried, not lost.

The monitor's state moves on when a batch is handled; if publishing what it produced then
fails, the redelivered batch is dropped as already seen. The outbox keeps those events and
the next handler call (the retry, or the next batch) publishes them first. Their ids are
deterministic, so a repeat that did reach Kafka is dropped downstream. A partition's
checkpoint holds the outbox's events of its models, so a kill does not lose them either.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable

from millrace_contracts import DriftDetected, PerformanceDegraded
from millrace_shared.messaging import EventSink

Outgoing = DriftDetected | PerformanceDegraded


class Outbox:
    def __init__(self) -> None:
        self._pending: deque[Outgoing] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def extend(self, events: Iterable[Outgoing]) -> None:
        self._pending.extend(events)

    def of_models(self, models: Collection[str]) -> list[Outgoing]:
        return [e for e in self._pending if e.model_name in models]

    def restore(self, events: Iterable[Outgoing]) -> None:
        """Add a checkpoint's unpublished events, except those already waiting here."""
        waiting = {e.event_id for e in self._pending}
        self._pending.extend(e for e in events if e.event_id not in waiting)

    async def flush(self, sink: EventSink) -> None:
        while self._pending:
            await sink.publish(self._pending[0])
            self._pending.popleft()
