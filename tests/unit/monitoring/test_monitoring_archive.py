"""The prediction archive: Parquet per model version and day, an index by id group, retention,
and its place in the checkpoint (written first, kept on failure, dropped on revocation)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from aiokafka import TopicPartition
from millrace_contracts import ArtifactRef, PredictionsLogged, first_of_flow
from millrace_contracts.serving_events import PredictionRecord
from millrace_monitoring.archive import (
    DATA_PREFIX,
    INDEX_PREFIX,
    Marker,
    PredictionArchive,
    _ranges,
    _ranges_of,
    chunk_of,
    id_group,
    table_of,
)
from millrace_monitoring.checkpoints import Checkpointer, CheckpointStore
from millrace_monitoring.core.monitor import Monitor
from millrace_monitoring.core.outbox import Outbox
from monitoring_support import CountingStore, MakeMonitor

BUCKET = "millrace-state"
DAY = datetime(2026, 12, 1, 10, tzinfo=UTC)
TODAY = DAY.date()
PREFIX = "0123456789abcdef0123"  # a deployment process's id prefix


def ids(start: int, n: int, prefix: str = PREFIX) -> list[str]:
    return [f"{prefix}{i:012x}" for i in range(start, start + n)]


def logged(
    prediction_ids: list[str], *, at: datetime = DAY, model: str = "m", version: int = 1
) -> PredictionsLogged:
    return PredictionsLogged(
        **first_of_flow(producer="deployment"),
        model_name=model,
        model_version=version,
        replica_id="deployment-a",
        predictions=[
            PredictionRecord(
                prediction_id=pid,
                features={"x": float(i), "color": "red"},
                output="yes" if i % 2 else 1,
                timestamp=at + timedelta(seconds=i),
            )
            for i, pid in enumerate(prediction_ids)
        ],
    )


def archive_of(
    store: CountingStore, *, retention_days: int = 30, today: date = TODAY
) -> PredictionArchive:
    return PredictionArchive(store, BUCKET, retention_days=retention_days, today=lambda: today)


def test_deployment_ids_group_by_their_process_prefix_and_other_ids_by_a_digest() -> None:
    assert id_group(f"{PREFIX}00000000002a") == (PREFIX, "00000000002a")
    group, position = id_group("not-from-deployment")
    assert group.startswith("h") and len(group) == 21 and position == "any"


@pytest.mark.parametrize(
    "batch",
    [
        ids(5, 3) + ids(100, 2, prefix="f" * 20) + ids(0, 1),  # deployment's ids: Arrow's path
        [*ids(5, 3), "not-from-deployment", f"{PREFIX}00000000002a\n"],  # mixed: Python's
        [*ids(7, 1), PREFIX.upper() + "00000000002A"],
    ],
)
def test_the_index_ranges_of_a_column_are_those_of_its_ids(batch: list[str]) -> None:
    column = pa.chunked_array([batch[:2], batch[2:]], pa.string())
    assert _ranges_of(column) == _ranges(batch)


def test_a_table_repeats_each_logs_fields_for_its_predictions() -> None:
    one, two = chunk_of(logged(ids(0, 1)), "t" * 32), chunk_of(logged(ids(1, 3), version=2))
    table = table_of([one, two]).to_pydict()
    assert table["prediction_id"] == ids(0, 4)
    assert table["model_version"] == [1, 2, 2, 2]
    assert table["event_id"] == [one.event_id] + [two.event_id] * 3
    assert table["trace_id"] == ["t" * 32, None, None, None]


def test_a_flushed_prediction_is_found_by_id_with_its_inputs_output_time_and_replica(
    store: CountingStore,
) -> None:
    archive = archive_of(store)
    event = logged(ids(0, 3))
    archive.add(2, [chunk_of(event, trace_id="ab" * 16)])
    archive.flush(2)
    assert archive.pending(2) == 0
    found = archive.find(ids(1, 1)[0])
    assert found is not None
    assert (found.model_name, found.model_version, found.replica_id) == ("m", 1, "deployment-a")
    assert found.features == {"x": 1.0, "color": "red"}
    assert found.output == "yes"
    assert found.timestamp == DAY + timedelta(seconds=1)
    assert found.event_id == event.event_id and found.correlation_id == event.correlation_id
    assert found.trace_id == "ab" * 16
    zero = archive.find(ids(0, 1)[0])
    assert zero is not None and zero.output == 1  # the output keeps its type
    assert archive.find(ids(3, 1)[0]) is None
    assert archive.find("never-served") is None
    [data] = store.list_keys(BUCKET, DATA_PREFIX)
    assert data.startswith(f"{DATA_PREFIX}model=m/version=1/day=2026-12-01/p2-")


def test_the_index_sends_a_lookup_to_the_one_file_whose_range_holds_the_id(
    store: CountingStore,
) -> None:
    archive = archive_of(store)
    for start in (0, 100, 200):
        archive.add(0, [chunk_of(logged(ids(start, 10)))])
        archive.flush(0)
    assert len(store.list_keys(BUCKET, DATA_PREFIX)) == 3
    markers = [Marker.parse(k) for k in store.list_keys(BUCKET, INDEX_PREFIX)]
    assert sorted((m.lo, m.hi) for m in markers if m) == [
        ("000000000000", "000000000009"),
        ("000000000064", "00000000006d"),
        ("0000000000c8", "0000000000d1"),
    ]
    store.reads.clear()
    found = archive.find(ids(105, 1)[0])
    assert found is not None and found.features["x"] == 5.0
    assert len(store.reads) == 1  # one file read, not the three


def test_ids_of_other_producers_are_found_too(store: CountingStore) -> None:
    archive = archive_of(store)
    foreign = ["req-1", "req-2", uuid.uuid4().hex]
    archive.add(0, [chunk_of(logged(foreign))])
    archive.flush(0)
    for pid in foreign:
        found = archive.find(pid)
        assert found is not None and found.prediction_id == pid


def test_a_prediction_archived_twice_after_a_replay_is_found_once(store: CountingStore) -> None:
    archive = archive_of(store)
    event = logged(ids(0, 2))
    for _ in range(2):  # a kill between the archive write and the checkpoint
        archive.add(0, [chunk_of(event)])
        archive.flush(0)
    found = archive.find(ids(1, 1)[0])
    assert found is not None and found.event_id == event.event_id


def test_versions_and_days_go_to_their_own_files(store: CountingStore) -> None:
    archive = archive_of(store)
    archive.add(0, [chunk_of(logged(ids(0, 2), version=1))])
    archive.add(0, [chunk_of(logged(ids(2, 2), version=2, at=DAY + timedelta(days=1)))])
    archive.flush(0)
    days = sorted(k.split("/")[4] for k in store.list_keys(BUCKET, DATA_PREFIX))
    assert days == ["day=2026-12-01", "day=2026-12-02"]
    later = archive.find(ids(3, 1)[0])
    assert later is not None and later.model_version == 2


def test_retention_deletes_files_and_markers_of_days_past_it_and_0_keeps_all(
    store: CountingStore,
) -> None:
    writer = archive_of(store)
    for day in range(5):
        writer.add(0, [chunk_of(logged(ids(day * 10, 2), at=DAY + timedelta(days=day)))])
    writer.flush(0)
    assert archive_of(store, retention_days=0, today=date(2027, 6, 1)).prune() == 0
    # On Dec 8 with 3 days of retention, Dec 5 is the oldest day kept.
    pruner = archive_of(store, retention_days=3, today=date(2026, 12, 8))
    assert pruner.prune() == 8  # Dec 1-4: a file and a marker each
    days = sorted({k.split("/")[4] for k in store.list_keys(BUCKET, DATA_PREFIX)})
    assert days == ["day=2026-12-05"]
    assert [m.day for k in store.list_keys(BUCKET, INDEX_PREFIX) if (m := Marker.parse(k))] == [
        "2026-12-05"
    ]
    assert pruner.find(ids(0, 1)[0]) is None
    assert pruner.find(ids(40, 1)[0]) is not None
    assert pruner.prune() == 0


class FailingStore(CountingStore):
    def __init__(self) -> None:
        super().__init__()
        self.fail_archive = 0

    def put_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        if self.fail_archive and DATA_PREFIX in uri:
            self.fail_archive -= 1
            raise ConnectionError("store away")
        return super().put_bytes(uri, data, content_type)


@pytest.fixture
def failing() -> FailingStore:
    store = FailingStore()
    store.ensure_buckets([BUCKET, "millrace-models"])
    return store


def checkpointer(
    store: CountingStore, monitor: Monitor, archive: PredictionArchive, interval: float = 0
) -> Checkpointer:
    return Checkpointer(
        monitor=monitor,
        outbox=Outbox(),
        store=CheckpointStore(store, BUCKET),
        interval_seconds=interval,
        consumer=lambda: None,
        clock=lambda: 100.0,
        archive=archive,
    )


async def test_a_checkpoint_writes_the_archive_first_and_none_is_written_if_that_fails(
    failing: FailingStore, make_monitor: MakeMonitor
) -> None:
    archive = archive_of(failing)
    checkpoints = checkpointer(failing, make_monitor(), archive)
    event = logged(ids(0, 3))
    failing.fail_archive = 1
    async with checkpoints.lock:
        checkpoints.handled(({"m": 4}, {(event.topic(), 4): 8}), {4: [chunk_of(event)]})
        await checkpoints.maybe_checkpoint()
    assert checkpoints.written == 0  # the checkpoint would cover predictions not archived
    assert CheckpointStore(failing, BUCKET).load(4) is None
    assert archive.pending(4) == 3
    async with checkpoints.lock:
        await checkpoints.maybe_checkpoint()  # retried: the partition is still dirty
    assert checkpoints.written == 1 and archive.pending(4) == 0
    assert archive.find(ids(2, 1)[0]) is not None
    saved = CheckpointStore(failing, BUCKET).load(4)
    assert saved is not None and saved.offsets == {event.topic(): 8}


async def test_a_revoked_partition_flushes_its_archive_and_later_rows_of_it_are_ignored(
    failing: FailingStore, make_monitor: MakeMonitor
) -> None:
    archive = archive_of(failing)
    checkpoints = checkpointer(failing, make_monitor(), archive, interval=3600)  # not due
    event = logged(ids(0, 2))
    async with checkpoints.lock:
        checkpoints.handled(({"m": 1}, {(event.topic(), 1): 3}), {1: [chunk_of(event)]})
    await checkpoints.on_revoked([TopicPartition(event.topic(), 1)])
    assert archive.find(ids(0, 1)[0]) is not None
    late = logged(ids(10, 2))
    async with checkpoints.lock:  # handled after the revocation: the new owner re-reads it
        checkpoints.handled(({"m": 1}, {(late.topic(), 1): 4}), {1: [chunk_of(late)]})
    assert archive.pending(1) == 0


async def test_a_batch_after_a_recent_checkpoint_is_archived_though_no_batch_follows(
    store: CountingStore, make_monitor: MakeMonitor
) -> None:
    """Low traffic: one batch handled just after a checkpoint was not due then, and nothing
    else arrives. The idle ticker checkpoints it once due, and the prediction is found."""
    now = [100.0]
    archive = archive_of(store)
    checkpoints = Checkpointer(
        monitor=make_monitor(),
        outbox=Outbox(),
        store=CheckpointStore(store, BUCKET),
        interval_seconds=5,
        consumer=lambda: None,
        clock=lambda: now[0],
        archive=archive,
    )
    event = logged(ids(0, 1))
    async with checkpoints.lock:
        checkpoints.handled(({"m": 2}, {(event.topic(), 2): 1}), {2: [chunk_of(event)]})
        await checkpoints.maybe_checkpoint()
    assert checkpoints.written == 0 and archive.find(ids(0, 1)[0]) is None  # not due yet

    stop = asyncio.Event()
    idle = asyncio.create_task(checkpoints.run_idle(stop, every=0.01))
    try:
        now[0] = 105.0  # the interval has passed; no batch comes

        async def checkpointed() -> None:
            while True:
                if checkpoints.written:
                    return
                await asyncio.sleep(0.01)

        await asyncio.wait_for(checkpointed(), 30)
    finally:
        stop.set()
        await idle
    found = archive.find(ids(0, 1)[0])
    assert found is not None and found.model_name == "m"
    saved = CheckpointStore(store, BUCKET).load(2)
    assert saved is not None and saved.offsets == {event.topic(): 1}
