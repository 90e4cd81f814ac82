"""Kafka handlers: decode, call the monitor (off the event loop), publish what it returns.

Two subscribers:

* ``model.promoted`` with no consumer group, read from the topic's start on every start:
  every replica must know every promoted version, whichever partitions it is given.
* one batch subscriber over ``predictions.logged`` and ``labels.observed`` together, in the
  service's group, with the range assignor: both topics are keyed by model name and have the
  same partition count, so a model's predictions and its labels reach the same replica, whose
  memory of recent predictions the labels are joined against. Its state is checkpointed per
  partition (``checkpoints``): given a partition, it restores the checkpoint and seeks to the
  offsets that covers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream.middlewares import AckPolicy
from millrace_contracts import (
    DriftDetected,
    LabelsObserved,
    ModelPromoted,
    PerformanceDegraded,
    PredictionsLogged,
)
from millrace_shared.messaging.deadletter import set_aside
from millrace_shared.service import ServiceRuntime

from .archive import PredictionArchive, PredictionChunk, chunk_of
from .checkpoints import Checkpointer, CheckpointStore, RebalanceListener
from .core.decoding import Decoded, decode_batch
from .core.monitor import Monitor
from .core.outbox import Outbox
from .core.versions import KnownVersion, VersionStore
from .settings import MonitoringSettings

logger = logging.getLogger("millrace.monitoring")


def register(
    runtime: ServiceRuntime,
    monitor: Monitor,
    versions: VersionStore,
    settings: MonitoringSettings,
    archive: PredictionArchive | None = None,
) -> None:
    broker = runtime.broker
    runtime.declare_publishes(DriftDetected, PerformanceDegraded)
    outbox = Outbox()
    checkpointer = Checkpointer(
        monitor=monitor,
        outbox=outbox,
        store=CheckpointStore(runtime.store, settings.state_bucket("monitoring")),
        interval_seconds=settings.checkpoint_seconds,
        consumer=lambda: live.consumer,  # the subscriber's, once it started
        archive=archive,
        archive_buffer_rows=settings.archive_buffer_rows,
        health=runtime.dependencies,
        max_retry_seconds=settings.kafka_transient_backoff_max_seconds,
    )
    idle_stop = asyncio.Event()
    idle: list[asyncio.Task[None]] = []

    async def start_idle_checkpoints() -> None:
        idle.append(asyncio.create_task(checkpointer.run_idle(idle_stop), name="idle-checkpoint"))

    async def stop_idle_checkpoints() -> None:
        # Stopped, not cancelled: a checkpoint it is writing finishes before the last one.
        idle_stop.set()
        await asyncio.gather(*idle)

    runtime.startup_hooks.append(start_idle_checkpoints)
    runtime.shutdown_hooks += [stop_idle_checkpoints, checkpointer.on_shutdown]

    @broker.subscriber(
        ModelPromoted.topic(),
        group_id=None,
        ack_policy=AckPolicy.MANUAL,  # nothing to commit without a group
        auto_offset_reset="earliest",
    )
    async def on_model_promoted(event: ModelPromoted) -> None:
        info = event.model
        if await asyncio.to_thread(monitor.knows, info, event.alias):
            return
        aliases = await asyncio.to_thread(monitor.promoted_as, info)
        known = KnownVersion(info=info, promoted_as=sorted(aliases | {event.alias}))
        await asyncio.to_thread(versions.save, known)
        await asyncio.to_thread(monitor.learn, info, known.promoted_as)
        logger.info(
            "monitoring %s v%d (%s, window %d)",
            info.model_name,
            info.version,
            event.alias,
            info.monitoring.window_size,
        )

    async def decode_live(message: Any) -> list[PredictionsLogged | LabelsObserved]:
        """Parse each record once, from bytes, with its contract (FastStream's default would
        json.loads it first); dead-letter the bad ones alone, not their whole batch."""
        raw = message.raw_message  # a tuple from aiokafka; the test broker hands a list
        records = tuple(raw) if isinstance(raw, tuple | list) else (raw,)
        decoded, rows = await asyncio.to_thread(_decode, records, archive is not None)
        for record, error in decoded.poison:
            set_aside(record, error)
        checkpointer.pending = (decoded.partitions, decoded.next_offsets)
        checkpointer.pending_rows = rows
        return [*decoded.predictions, *decoded.labels]

    live = broker.subscriber(
        PredictionsLogged.topic(),
        LabelsObserved.topic(),
        group_id=runtime.group_id,
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        partition_assignment_strategy=(RangePartitionAssignor,),
        decoder=decode_live,
        listener=RebalanceListener(checkpointer),
    )

    @live
    async def on_live_batch(events: list[PredictionsLogged | LabelsObserved]) -> None:
        # Set by this batch's decoder; the next is decoded only once this handler returns.
        positions, checkpointer.pending = checkpointer.pending, None
        rows, checkpointer.pending_rows = checkpointer.pending_rows, {}
        # Back-pressure: the archive's buffer must have room for the batch's predictions; if
        # S3 cannot take what it holds, this waits (and no next batch is fetched meanwhile).
        await checkpointer.make_room(sum(len(c) for part in rows.values() for c in part))
        async with checkpointer.lock:
            await outbox.flush(runtime.sink)  # what a failed publish left behind, first
            await asyncio.to_thread(_observe, monitor, events, outbox, checkpointer.guard)
            checkpointer.handled(positions, rows)
            # Before publishing: a kill between the two leaves the events in the checkpoint.
            await checkpointer.maybe_checkpoint()
            await outbox.flush(runtime.sink)
        await checkpointer.make_room(0)  # a batch larger than the bound on its own


def _decode(
    records: tuple[Any, ...], archived: bool
) -> tuple[Decoded, dict[int, list[PredictionChunk]]]:
    """The batch decoded, and its predictions as archive chunks by partition (worker thread)."""
    decoded = decode_batch(records)
    rows: dict[int, list[PredictionChunk]] = {}
    if archived:
        for event in decoded.predictions:
            partition = decoded.partitions[event.model_name]
            trace_id = decoded.trace_ids.get(event.event_id)
            rows.setdefault(partition, []).append(chunk_of(event, trace_id))
    return decoded, rows


def _observe(
    monitor: Monitor,
    events: list[PredictionsLogged | LabelsObserved],
    outbox: Outbox,
    guard: threading.Lock,
) -> None:
    """Feed one batch (in a worker thread); predictions first, so that labels in the same
    batch find them. ``guard``: a checkpoint sees the state and the events it produced
    together, even if the handler is cancelled (shutdown) while this thread runs on."""
    predictions = [e for e in events if isinstance(e, PredictionsLogged)]
    labels = [e for e in events if isinstance(e, LabelsObserved)]
    with guard:
        if predictions:
            outbox.extend(monitor.observe_predictions(predictions))
        if labels:
            outbox.extend(monitor.observe_labels(labels))
