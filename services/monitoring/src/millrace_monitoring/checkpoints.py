"""Monitoring's state survives a kill: a checkpoint per partition, restored where it left off.

Both live topics are keyed by model name with the same partition count, so partition ``p`` of
each carries the same models, and those models' state (open windows, predictions awaiting
their label, performance, seen event ids, undelivered events) is checkpointed together with
the offsets it covers, as ``s3://<bucket_state>-monitoring/monitoring/checkpoints/<p>.json``.

When the group gives this replica partition ``p`` the checkpoint is restored and the consumer
seeks to its offsets, whatever the group committed: the state and the records read next fit
together, so nothing is counted twice or lost. A checkpoint is written at most every
``checkpoint_seconds`` after a batch, by the idle ticker at most ``checkpoint_seconds`` after
that when no batch follows (``run_idle``), and on revocation and shutdown. The committed offsets
only say how far the live process got (lag); after a kill, the records past the checkpoint
are read again and give the same results, and the same event ids (see ADR 0008).

The prediction archive's rows wait in memory for their partition's checkpoint, and a
checkpoint cannot be written while S3 is down, so the buffer is bounded (``make_room``): when
the next batch would take it past ``archive_buffer_rows``, the batch handler writes what it
holds before it goes on, and while S3 refuses it waits (``/health/ready`` 503 naming ``s3``)
instead of returning. The subscriber fetches its next batch only once the handler returns, so
consuming stops meanwhile; nothing is dropped, and a kill re-reads from the last checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import ConsumerRebalanceListener, TopicPartition
from millrace_contracts import DriftDetected, PerformanceDegraded
from millrace_shared.faults import S3
from millrace_shared.health import DependencyHealth
from millrace_shared.memory import release_memory
from millrace_shared.messaging.deadletter import transient_delay
from millrace_shared.objectstore import ObjectNotFound, ObjectStore, make_uri
from pydantic import ValidationError

from .archive import PredictionArchive, PredictionChunk
from .core.checkpoint import MonitorPart, PartitionCheckpoint
from .core.monitor import Monitor
from .core.outbox import Outbox

logger = logging.getLogger("millrace.monitoring.checkpoints")

PREFIX = "monitoring/checkpoints/"
MAX_RETRY_SECONDS = 30.0
MIN_IDLE_SECONDS = 1.0


class CheckpointStore:
    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self._store = store
        self._bucket = bucket

    def key(self, partition: int) -> str:
        return f"{PREFIX}{partition}.json"

    def save(self, checkpoint: PartitionCheckpoint) -> None:
        uri = make_uri(self._bucket, self.key(checkpoint.partition))
        self._store.put_bytes(uri, checkpoint.model_dump_json().encode(), "application/json")

    def load(self, partition: int) -> PartitionCheckpoint | None:
        """The partition's checkpoint; None if it has none (or an unreadable one)."""
        try:
            data = self._store.get_bytes(make_uri(self._bucket, self.key(partition)))
        except ObjectNotFound:
            return None
        try:
            return PartitionCheckpoint.model_validate_json(data)
        except ValidationError as error:
            # Starting from the group's committed offsets loses the partition's windows, but
            # refusing to start would stop monitoring every model.
            logger.error("ignoring unreadable checkpoint of partition %d: %s", partition, error)
            return None


class Seeker(Protocol):
    def seek(self, partition: TopicPartition, offset: int) -> None: ...


Positions = tuple[Mapping[str, int], Mapping[tuple[str, int], int]]
"""(model -> partition, (topic, partition) -> next offset) of one handled batch."""


class Checkpointer:
    """Tracks what the handled batches cover; writes and restores partitions' checkpoints.

    ``lock`` is held by the batch handler for a whole batch and by every checkpoint and
    restore, so a checkpoint never sees a batch half applied.
    """

    def __init__(
        self,
        *,
        monitor: Monitor,
        outbox: Outbox,
        store: CheckpointStore,
        interval_seconds: float,
        consumer: Callable[[], Seeker | None],
        clock: Callable[[], float] = time.monotonic,
        retry_seconds: float = 0.5,
        archive: PredictionArchive | None = None,
        archive_buffer_rows: int = 0,
        health: DependencyHealth | None = None,
        max_retry_seconds: float = MAX_RETRY_SECONDS,
    ) -> None:
        self._monitor = monitor
        self._outbox = outbox
        self._store = store
        self._interval = interval_seconds
        self._consumer = consumer
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._archive = archive
        self._buffer_rows = archive_buffer_rows
        self._health = health if health is not None else DependencyHealth()
        self._max_retry_seconds = max_retry_seconds
        self.lock = asyncio.Lock()
        self.guard = threading.Lock()
        """Held (in worker threads) while a batch changes the monitor and the outbox, and
        while a checkpoint copies them: the two always match in a checkpoint."""
        self.pending: Positions | None = None
        """Set by the batch decoder, taken by the handler once the batch is applied."""
        self.pending_rows: dict[int, list[PredictionChunk]] = {}
        """The batch's predictions for the archive, by partition; likewise."""
        self._offsets: dict[int, dict[str, int]] = {}
        self._partition_of: dict[str, int] = {}
        self._dirty: set[int] = set()
        self._revoked: set[int] = set()
        self._last = clock()  # what was just restored needs no checkpoint at once
        self.written = 0
        """Checkpoints written by this process."""

    # -- batches ----------------------------------------------------------------------------

    def handled(
        self, positions: Positions | None, rows: Mapping[int, list[PredictionChunk]] | None = None
    ) -> None:
        """A batch is reflected in the monitor's state (call with ``lock`` held); its
        predictions (``rows``, by partition) go to the archive with the next checkpoint."""
        if self._archive is not None:
            for partition, part in (rows or {}).items():
                if partition not in self._revoked:
                    self._archive.add(partition, part)
        if positions is None:
            return
        partitions, next_offsets = positions
        for model, partition in partitions.items():
            if partition not in self._revoked:
                self._partition_of[model] = partition
        for (topic, partition), offset in next_offsets.items():
            if partition in self._revoked:
                continue  # handled before the revocation reached us: the new owner re-reads it
            known = self._offsets.setdefault(partition, {})
            known[topic] = max(known.get(topic, 0), offset)
            self._dirty.add(partition)

    async def maybe_checkpoint(self) -> None:
        """Checkpoint the partitions that moved if the last checkpoint is old enough."""
        if self._dirty and self._clock() - self._last >= self._interval:
            await self.checkpoint(self._dirty)

    async def run_idle(self, stop: asyncio.Event, every: float | None = None) -> None:
        """Checkpoint what the last batches left dirty when no batch follows, until ``stop``.

        ``maybe_checkpoint`` runs after each batch, so a batch handled less than the interval
        after a checkpoint waited for the next batch: under low traffic its predictions never
        reached the archive (``GET /predictions/{id}`` stayed 404) and a kill re-read it. With
        this ticker a handled batch is checkpointed, and archived, within about two intervals.
        """
        period = every if every is not None else max(self._interval, MIN_IDLE_SECONDS)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)
            if stop.is_set():
                return
            try:
                async with self.lock:
                    await self.maybe_checkpoint()
            except Exception:  # the ticker must outlive a bad tick: the next one retries
                logger.warning("idle checkpoint failed", exc_info=True)

    async def checkpoint(self, partitions: Iterable[int]) -> Exception | None:
        """Write the checkpoints of ``partitions`` (call with ``lock`` held); returns the last
        write's error, if any failed.

        A failed write is logged and left for the next one: consuming goes on, and a restart
        re-reads from the previous checkpoint, so nothing is lost, only replayed.
        """
        failed: Exception | None = None
        for partition in sorted(set(partitions)):
            offsets = self._offsets.get(partition)
            if offsets is None:
                continue
            models = self.models_of({partition})
            try:
                await asyncio.to_thread(self._write, partition, dict(offsets), models)
            except Exception as error:
                logger.warning("checkpoint of partition %d failed", partition, exc_info=True)
                failed = error
                continue
            self._dirty.discard(partition)
            self.written += 1
        self._last = self._clock()
        return failed

    async def make_room(self, incoming: int) -> None:
        """Back-pressure on the archive's buffer: return once it can take ``incoming`` more
        predictions within ``archive_buffer_rows`` (0: unbounded), writing what it holds first.

        Call from the batch handler without ``lock``: before applying a batch (its predictions
        as ``incoming``) and after (0, for a batch larger than the bound on its own). While S3
        refuses the writes it retries with capped backoff and reports ``s3`` down, for as long
        as that lasts: the handler does not return, so the consumer takes no next batch and the
        buffer stays bounded. The lock is taken per try only, so a rebalance is not held up;
        revoked partitions leave the buffer (their new owner re-reads them).
        """
        archive = self._archive
        if archive is None or self._buffer_rows <= 0:
            return
        tries = 0
        try:
            while True:
                async with self.lock:
                    buffered = archive.buffered
                    if buffered == 0 or buffered + incoming <= self._buffer_rows:
                        return
                    failed = await self.checkpoint(self._dirty)
                    left = archive.buffered
                    if left == 0 or left + incoming <= self._buffer_rows:
                        return
                    if failed is None:
                        if left < buffered:
                            continue  # some written and none failed: try the rest at once
                        # Nothing failed, yet nothing left the buffer: rows of no partition
                        # this checkpointer tracks. Not expected; do not spin on them.
                        logger.error("%d archive rows held but no checkpoint covers them", left)
                        return
                tries += 1
                self._health.failing(S3, failed, holder=self)
                delay = transient_delay(
                    tries, base=max(self._retry_seconds, 0.01), cap=self._max_retry_seconds
                )
                logger.log(
                    logging.WARNING if tries == 1 else logging.INFO,
                    "prediction archive full (%d rows held, bound %d): not consuming until S3 "
                    "takes them (try %d, again in %.1fs): %r",
                    buffered,
                    self._buffer_rows,
                    tries,
                    delay,
                    failed,
                )
                await asyncio.sleep(delay)
        finally:
            self._health.release(self)

    def _write(self, partition: int, offsets: dict[str, int], models: set[str]) -> None:
        if self._archive is not None:
            # First: a checkpoint must never cover predictions the archive lacks. A failure
            # raises here, and the partition stays dirty with its rows kept.
            self._archive.flush(partition)
        with self.guard:
            state: MonitorPart = self._monitor.export(models)
            outgoing = self._outbox.of_models(models)
        self._store.save(
            PartitionCheckpoint(
                partition=partition,
                offsets=offsets,
                state=state,
                outbox_drift=[e for e in outgoing if isinstance(e, DriftDetected)],
                outbox_degraded=[e for e in outgoing if isinstance(e, PerformanceDegraded)],
                written_at=datetime.now(UTC),
            )
        )

    def models_of(self, partitions: Collection[int]) -> set[str]:
        return {m for m, p in self._partition_of.items() if p in partitions}

    # -- the group's assignments ------------------------------------------------------------

    async def on_assigned(self, assigned: Collection[TopicPartition]) -> None:
        """Restore the checkpoints of newly given partitions and seek to what they cover."""
        restored = False
        async with self.lock:
            by_partition: dict[int, list[TopicPartition]] = {}
            for tp in assigned:
                by_partition.setdefault(tp.partition, []).append(tp)
            for partition, tps in sorted(by_partition.items()):
                self._revoked.discard(partition)
                if partition in self._offsets:
                    continue  # kept through the rebalance: memory is ahead of any checkpoint
                checkpoint = await self._load(partition)
                if checkpoint is None:
                    continue
                await asyncio.to_thread(self._monitor.restore, checkpoint.state)
                restored = True
                self._outbox.restore([*checkpoint.outbox_drift, *checkpoint.outbox_degraded])
                for model in checkpoint.state.models:
                    self._partition_of[model] = partition
                self._offsets[partition] = dict(checkpoint.offsets)
                consumer = self._consumer()
                for tp in tps:
                    offset = checkpoint.offsets.get(tp.topic)
                    if consumer is not None and offset is not None:
                        consumer.seek(tp, offset)
                logger.info(
                    "restored partition %d from its checkpoint of %s: %d model(s), offsets %s",
                    partition,
                    checkpoint.written_at.isoformat(),
                    len(checkpoint.state.models),
                    checkpoint.offsets,
                )
        if restored:
            # Decoding a checkpoint (its JSON, then the model, then the state built from it)
            # peaks at several times the state it leaves; give those pages back, or a replica
            # that restored a large state stays at that peak while idle.
            await asyncio.to_thread(release_memory)

    async def _load(self, partition: int) -> PartitionCheckpoint | None:
        """The partition's checkpoint, however long the store takes to answer.

        aiokafka only logs an error raised here and goes on consuming from the committed
        offsets, which would start the partition's models afresh past records never counted.
        """
        delay = self._retry_seconds
        while True:
            try:
                return await asyncio.to_thread(self._store.load, partition)
            except Exception:
                logger.warning(
                    "reading the checkpoint of partition %d failed; retrying in %.1fs",
                    partition,
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)
                delay = min(max(delay, 0.1) * 2, MAX_RETRY_SECONDS)

    async def on_revoked(self, revoked: Collection[TopicPartition]) -> None:
        """Checkpoint partitions taken away, then forget them: their new owner restores them."""
        async with self.lock:
            partitions = {tp.partition for tp in revoked}
            await self.checkpoint(partitions & self._dirty)
            models = self.models_of(partitions)
            await asyncio.to_thread(self._monitor.forget, models)
            for model in models:
                del self._partition_of[model]
            for partition in partitions:
                self._offsets.pop(partition, None)
                self._dirty.discard(partition)
            if self._archive is not None:
                self._archive.drop(partitions)
            self._revoked |= partitions

    async def on_shutdown(self) -> None:
        async with self.lock:
            await self.checkpoint(self._dirty)


class RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """The ``Checkpointer``'s side of aiokafka's rebalance callbacks."""

    def __init__(self, checkpointer: Checkpointer) -> None:
        self._checkpointer = checkpointer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._checkpointer.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._checkpointer.on_assigned(assigned)
