"""Publishes the buffered prediction logs as ``predictions.logged``, in batches, off the
request path: when a batch is full, or every flush interval for what is there.

A failed publish (Kafka down past the producer's own timeout) loses that batch; it is counted
as dropped. Requests never wait for any of this: while a publish hangs, the buffer fills and
drops its oldest logs instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import orjson
from millrace_contracts import PredictionRecord, PredictionsLogged, first_of_flow
from millrace_shared.messaging import EventSink
from millrace_shared.telemetry import Attr
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from .logbuffer import LoggedPrediction, PredictionLogBuffer

logger = logging.getLogger("millrace.deployment.logs")

FINAL_FLUSH_SECONDS = 10.0
"""How long shutdown waits to publish what is left."""


class LogPublisher:
    def __init__(
        self,
        buffer: PredictionLogBuffer,
        sink: EventSink,
        tracer: Tracer,
        *,
        producer: str,
        replica_id: str,
        batch_size: int,
        interval_seconds: float,
    ) -> None:
        self._buffer, self._sink, self._tracer = buffer, sink, tracer
        self._producer, self._replica_id = producer, replica_id
        self._batch_size, self._interval = batch_size, interval_seconds
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.logged = 0
        """Predictions published since start."""
        self.failed_publishes = 0

    def wake(self) -> None:
        """A batch is ready: flush now rather than at the next interval (event-loop thread)."""
        if self._wake is not None:
            self._wake.set()

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="prediction-log-publisher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await asyncio.wait_for(self.flush(), FINAL_FLUSH_SECONDS)
        except TimeoutError:
            logger.warning("%d prediction log(s) not published at shutdown", len(self._buffer))

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Publish everything buffered now, a batch at a time; returns how many were logged."""
        logged = 0
        while batch := self._buffer.drain(self._batch_size):
            groups: dict[tuple[str, int], list[LoggedPrediction]] = {}
            for entry in batch:
                groups.setdefault((entry.model, entry.version), []).append(entry)
            for (model, version), entries in groups.items():
                logged += await self._publish(model, version, entries)
        return logged

    async def _publish(self, model: str, version: int, entries: list[LoggedPrediction]) -> int:
        attributes: dict[str, AttributeValue] = {
            Attr.MODEL: model,
            Attr.MODEL_VERSION: version,
            Attr.REPLICA: self._replica_id,
            Attr.BATCH_SIZE: len(entries),
        }
        with self._tracer.start_as_current_span("publish_logs", attributes=attributes):
            # Encoded in a worker thread: the event loop keeps answering requests meanwhile
            # (and a batch's model call, which releases the GIL, overlaps with it).
            head, body = await asyncio.to_thread(
                encode_logs,
                entries,
                producer=self._producer,
                replica_id=self._replica_id,
                dropped_before=self._buffer.dropped,
            )
            try:
                await self._sink.publish_encoded(head, body)
            except Exception as error:  # the request path must never see Kafka's trouble
                self._buffer.count_dropped(len(entries))
                self.failed_publishes += 1
                logger.warning(
                    "dropped %d prediction log(s) of %s v%d: %s",
                    len(entries),
                    model,
                    version,
                    error,
                )
                return 0
        self.logged += len(entries)
        return len(entries)


def encode_logs(
    entries: list[LoggedPrediction], *, producer: str, replica_id: str, dropped_before: int
) -> tuple[PredictionsLogged, bytes]:
    """One ``predictions.logged`` event for entries of one model version, as JSON.

    pydantic would build and then serialize one object per prediction; the records are
    written as plain dicts instead (ids, times and outputs are ours, and the features passed
    the model's signature check on the way in). The envelope is a real event holding the
    first record, checked by the contract like any other; its JSON gets the full list.
    """
    stamps = {at: _iso(at) for at in {e.at for e in entries}}
    records = [
        {
            "prediction_id": e.prediction_id,
            "features": e.features,
            "output": e.output,
            "timestamp": stamps[e.at],
        }
        for e in entries
    ]
    first = entries[0]
    head = PredictionsLogged(
        **first_of_flow(producer=producer),
        model_name=first.model,
        model_version=first.version,
        replica_id=replica_id,
        predictions=[PredictionRecord.model_validate(records[0])],
        dropped_before=dropped_before,
    )
    document = head.model_dump(mode="json")
    document["predictions"] = records
    return head, orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
