"""Checkpoints of monitoring's live state: written after batches, restored when a partition is
given, with the consumer sent back to the offsets the checkpoint covers."""

from __future__ import annotations

import numpy as np
import pytest
from aiokafka import TopicPartition
from faststream.kafka import KafkaBroker
from millrace_contracts import (
    ArtifactRef,
    DriftDetected,
    LabelsObserved,
    MonitoringPolicy,
    PredictionsLogged,
)
from millrace_monitoring.bootstrap import build_monitor
from millrace_monitoring.checkpoints import Checkpointer, CheckpointStore
from millrace_monitoring.core.monitor import Monitor
from millrace_monitoring.core.outbox import Outbox
from millrace_monitoring.settings import MonitoringSettings
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime, build_runtime
from monitoring_component_support import predictions, promoted, put_profile, reference_profile, send

PREDICTIONS, LABELS = PredictionsLogged.topic(), LabelsObserved.topic()
SMALL = MonitoringPolicy(window_size=20)


@pytest.fixture
def settings() -> MonitoringSettings:
    return MonitoringSettings(
        kafka_max_attempts=1, kafka_retry_backoff_seconds=0, checkpoint_seconds=0
    )


class FakeConsumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[TopicPartition, int]] = []

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


class FailingOnce(InMemoryObjectStore):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.read_failures = 0

    def get_bytes(self, uri: str, sha256: str | None = None, max_bytes: int | None = None) -> bytes:
        if self.read_failures:
            self.read_failures -= 1
            raise ConnectionError("store away")
        return super().get_bytes(uri, sha256=sha256, max_bytes=max_bytes)

    def put_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store away")
        return super().put_bytes(uri, data, content_type)


class Replica:
    """One monitoring process's monitor, outbox and checkpointer over a shared store."""

    def __init__(
        self,
        store: InMemoryObjectStore,
        settings: MonitoringSettings,
        *,
        interval: float = 0.0,
    ) -> None:
        self.now = 0.0
        runtime: ServiceRuntime = build_runtime(settings, store=store)
        self.monitor: Monitor = build_monitor(runtime, settings)
        self.outbox = Outbox()
        self.consumer = FakeConsumer()
        self.checkpointer = Checkpointer(
            monitor=self.monitor,
            outbox=self.outbox,
            store=CheckpointStore(store, settings.state_bucket("monitoring")),
            interval_seconds=interval,
            consumer=lambda: self.consumer,
            clock=lambda: self.now,
            retry_seconds=0.0,
        )

    def learn(self, event_model: object) -> None:
        self.monitor.learn(event_model, ["production"])  # type: ignore[arg-type]

    async def handle(self, batch: PredictionsLogged, *, partition: int, offset: int) -> None:
        """What the batch handler does with one record at ``offset``."""
        async with self.checkpointer.lock:
            self.outbox.extend(self.monitor.observe_predictions([batch]))  # type: ignore[arg-type]
            self.checkpointer.handled(
                ({batch.model_name: partition}, {(PREDICTIONS, partition): offset + 1})
            )
            await self.checkpointer.maybe_checkpoint()

    def fill(self, model: str = "sensors") -> tuple[int, int]:
        [version] = [v for v in self.monitor.models().versions if v.model_name == model]
        return version.windows_checked, version.window_fill


def both(partition: int) -> list[TopicPartition]:
    return [TopicPartition(PREDICTIONS, partition), TopicPartition(LABELS, partition)]


async def test_a_new_replica_restores_the_open_window_and_seeks_to_what_it_covers(
    store: InMemoryObjectStore, settings: MonitoringSettings
) -> None:
    info = promoted(put_profile(store, reference_profile(), "p.json"), policy=SMALL).model
    rng = np.random.default_rng(1)
    first = Replica(store, settings)
    first.learn(info)
    await first.handle(predictions(rng, 19, shift=2.0), partition=3, offset=41)
    assert first.checkpointer.written == 1

    second = Replica(store, settings)  # a restart after kill -9: nothing of `first` runs
    second.learn(info)
    await second.checkpointer.on_assigned(both(3) + both(4))
    assert second.consumer.seeks == [(TopicPartition(PREDICTIONS, 3), 42)]  # 4 has none
    assert second.fill() == (0, 19)
    await second.handle(predictions(rng, 1, shift=2.0), partition=3, offset=42)
    assert second.fill() == (1, 0)
    assert [type(e) for e in second.outbox.of_models({"sensors"})] == [DriftDetected]


async def test_an_event_decided_but_not_published_is_published_after_restart_once(
    store: InMemoryObjectStore, settings: MonitoringSettings
) -> None:
    info = promoted(put_profile(store, reference_profile(), "p.json"), policy=SMALL).model
    rng = np.random.default_rng(2)
    first = Replica(store, settings)
    first.learn(info)
    await first.handle(predictions(rng, 20, shift=2.0), partition=0, offset=0)
    [decided] = first.outbox.of_models({"sensors"})  # killed before publishing it

    second = Replica(store, settings)
    second.learn(info)
    await second.checkpointer.on_assigned(both(0))
    sink = RecordingEventSink()
    await second.outbox.flush(sink)
    assert [e.event_id for e in sink.events] == [decided.event_id]
    assert second.fill() == (1, 0)

    # Killed again before the next checkpoint: the event is offered again with the same id,
    # which consumers drop; restoring twice in one process does not queue it twice.
    third = Replica(store, settings)
    third.learn(info)
    await third.checkpointer.on_assigned(both(0))
    third.outbox.restore(first.outbox.of_models({"sensors"}))
    assert [e.event_id for e in third.outbox.of_models({"sensors"})] == [decided.event_id]


async def test_checkpoints_wait_for_the_interval_and_a_failed_write_is_retried(
    settings: MonitoringSettings,
) -> None:
    store = FailingOnce()
    store.ensure_buckets(settings.buckets)
    info = promoted(put_profile(store, reference_profile(), "p.json"), policy=SMALL).model
    rng = np.random.default_rng(3)
    replica = Replica(store, settings, interval=10.0)
    replica.learn(info)
    checkpoints = replica.checkpointer
    replica.now = 8.0
    await replica.handle(predictions(rng, 2), partition=0, offset=0)  # too soon after start
    assert checkpoints.written == 0
    replica.now, store.failures = 12.0, 1
    await replica.handle(predictions(rng, 2), partition=0, offset=1)  # due, the write fails
    assert checkpoints.written == 0
    replica.now = 20.0  # a failed write waits for the interval too: a store away is not hammered
    await replica.handle(predictions(rng, 2), partition=0, offset=2)
    assert checkpoints.written == 0
    replica.now = 22.0
    await replica.handle(predictions(rng, 2), partition=0, offset=3)
    assert checkpoints.written == 1
    saved = CheckpointStore(store, settings.state_bucket("monitoring")).load(0)
    assert saved is not None and saved.offsets == {PREDICTIONS: 4}
    assert [v.window.fill for v in saved.state.versions] == [8]


async def test_a_revoked_partition_is_checkpointed_and_forgotten(
    store: InMemoryObjectStore, settings: MonitoringSettings
) -> None:
    info = promoted(put_profile(store, reference_profile(), "p.json"), policy=SMALL).model
    rng = np.random.default_rng(4)
    replica = Replica(store, settings, interval=60.0)
    replica.learn(info)
    await replica.handle(predictions(rng, 5), partition=1, offset=9)
    await replica.handle(predictions(rng, 5), partition=1, offset=10)
    assert replica.checkpointer.written == 0  # not due for a minute
    await replica.checkpointer.on_revoked(both(1))
    assert replica.checkpointer.written == 1
    assert replica.fill() == (0, 0)
    saved = CheckpointStore(store, settings.state_bucket("monitoring")).load(1)
    assert saved is not None and saved.offsets == {PREDICTIONS: 11}

    # A batch handled after the revocation is not checkpointed over the new owner's state.
    await replica.handle(predictions(rng, 5), partition=1, offset=11)
    await replica.checkpointer.on_shutdown()
    again = CheckpointStore(store, settings.state_bucket("monitoring")).load(1)
    assert again is not None and again.offsets == {PREDICTIONS: 11}


async def test_a_checkpoint_the_store_cannot_serve_yet_is_waited_for(
    settings: MonitoringSettings,
) -> None:
    store = FailingOnce()
    store.ensure_buckets(settings.buckets)
    info = promoted(put_profile(store, reference_profile(), "p.json"), policy=SMALL).model
    first = Replica(store, settings)
    first.learn(info)
    await first.handle(predictions(np.random.default_rng(6), 3), partition=2, offset=0)

    store.read_failures = 2  # aiokafka would swallow an error and consume from committed offsets
    second = Replica(store, settings)
    await second.checkpointer.on_assigned(both(2))
    assert store.read_failures == 0
    assert second.consumer.seeks == [(TopicPartition(PREDICTIONS, 2), 1)]
    assert second.fill() == (0, 3)


async def test_an_unreadable_checkpoint_leaves_the_partition_to_the_committed_offsets(
    store: InMemoryObjectStore, settings: MonitoringSettings
) -> None:
    store.put_bytes(
        f"s3://{settings.state_bucket('monitoring')}/monitoring/checkpoints/0.json", b"{nope"
    )
    replica = Replica(store, settings)
    await replica.checkpointer.on_assigned(both(0))
    assert replica.consumer.seeks == []


async def test_the_batch_handler_checkpoints_what_it_handled(
    broker: KafkaBroker,
    store: InMemoryObjectStore,
    sink: RecordingEventSink,
    settings: MonitoringSettings,
    runtime: ServiceRuntime,
) -> None:
    await send(broker, promoted(put_profile(store, reference_profile(), "p.json"), policy=SMALL))
    rng = np.random.default_rng(5)
    await send(broker, predictions(rng, 7))
    saved = CheckpointStore(store, settings.state_bucket("monitoring")).load(
        0
    )  # the test broker's partition
    assert saved is not None
    assert saved.offsets == {PREDICTIONS: 1}
    [version] = saved.state.versions
    assert (version.window.closed, version.window.fill) == (0, 7)
    assert saved.state.models == ["sensors"]


async def test_the_drift_history_survives_a_restart(
    store: InMemoryObjectStore, settings: MonitoringSettings
) -> None:
    info = promoted(put_profile(store, reference_profile(), "p.json"), policy=SMALL).model
    rng = np.random.default_rng(7)
    first = Replica(store, settings)
    first.learn(info)
    await first.handle(predictions(rng, SMALL.window_size, shift=2.0), partition=3, offset=9)
    before = first.monitor.history("sensors")
    assert before is not None and len(before.versions[0].drift) == 1

    second = Replica(store, settings)
    second.learn(info)
    await second.checkpointer.on_assigned(both(3))
    after = second.monitor.history("sensors")
    assert after is not None
    assert after.versions[0].drift == before.versions[0].drift
    assert after.versions[0].distributions == before.versions[0].distributions
