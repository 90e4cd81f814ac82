"""The landing watcher: which objects are arrivals, and one arrival per object version however
often it is listed, restarted or run twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from millrace_contracts import DataArrived
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import build_runtime
from millrace_watcher.bootstrap import poll_reporting, wire
from millrace_watcher.core.arrivals import LandedObject, arrival_for, dataset_of
from millrace_watcher.core.cursor import Cursor
from millrace_watcher.core.poller import Poller
from millrace_watcher.settings import WatcherSettings

LANDING = "millrace-landing"


class FakeLister:
    """A landing bucket's listing, changed by the test between polls."""

    def __init__(self) -> None:
        self.objects: dict[str, LandedObject] = {}
        self.error: Exception | None = None

    def drop(self, key: str, etag: str = "e1") -> None:
        self.objects[key] = LandedObject(LANDING, key, etag, size=10)

    def list(self, bucket: str) -> Iterator[LandedObject]:
        assert bucket == LANDING
        if self.error is not None:
            raise self.error
        yield from list(self.objects.values())


@pytest.fixture
def settings() -> WatcherSettings:
    return WatcherSettings()


@pytest.fixture
def lister() -> FakeLister:
    return FakeLister()


def poller(store: InMemoryObjectStore, lister: FakeLister) -> tuple[Poller, RecordingEventSink]:
    """A watcher process: its own sink, the shared store (its state bucket) and landing."""
    sink = RecordingEventSink()
    return Poller(
        lister=lister,
        cursor=Cursor(store, "millrace-state-watcher"),
        sink=sink,
        bucket=LANDING,
        producer="watcher",
        submitted_by="landing-watcher",
    ), sink


def arrivals(sink: RecordingEventSink) -> list[DataArrived]:
    return [e for e in sink.events if isinstance(e, DataArrived)]


@pytest.mark.parametrize(
    ("key", "dataset"),
    [
        ("iris/2026-12-07.csv", "iris"),
        ("iris/batch/part-1.PARQUET", "iris"),
        ("iris/x.pq", "iris"),
        ("iris/notes.txt", None),  # not a format ingestion reads
        ("loose.csv", None),  # no dataset folder
        ("Iris/x.csv", None),  # not a dataset name
        ("iris/", None),  # a folder marker
    ],
)
def test_an_arrival_is_a_readable_file_under_a_dataset_folder(
    key: str, dataset: str | None
) -> None:
    assert dataset_of(key) == dataset


def test_the_arrival_id_is_the_object_version() -> None:
    obj = LandedObject(LANDING, "iris/a.csv", "e1", size=1)
    first = arrival_for(obj, producer="watcher", submitted_by="w")
    again = arrival_for(obj, producer="another-replica", submitted_by="w")
    rewritten = arrival_for(
        LandedObject(LANDING, "iris/a.csv", "e2", size=1), producer="watcher", submitted_by="w"
    )
    assert first is not None and again is not None and rewritten is not None
    assert first.event_id == again.event_id != rewritten.event_id
    assert first.correlation_id == first.event_id  # it starts a flow
    assert (first.dataset, first.uri, first.sha256) == ("iris", f"s3://{LANDING}/iris/a.csv", None)
    assert first.submitted_by == "w"


async def test_each_new_object_is_announced_once(
    store: InMemoryObjectStore, lister: FakeLister
) -> None:
    watcher, sink = poller(store, lister)
    lister.drop("iris/a.csv")
    lister.drop("iris/readme.md")
    assert await watcher.poll() == 1
    assert await watcher.poll() == 0
    lister.drop("iris/b.csv")
    assert await watcher.poll() == 1
    assert [a.uri.rsplit("/", 1)[-1] for a in arrivals(sink)] == ["a.csv", "b.csv"]


async def test_a_restarted_watcher_announces_nothing_again(
    store: InMemoryObjectStore, lister: FakeLister
) -> None:
    first, _ = poller(store, lister)
    lister.drop("iris/a.csv")
    await first.poll()
    restarted, sink = poller(store, lister)
    assert await restarted.poll() == 0
    assert arrivals(sink) == []


async def test_without_its_cursor_a_watcher_repeats_the_same_ids(
    store: InMemoryObjectStore, lister: FakeLister
) -> None:
    """Two watchers at once, or a lost cursor: the same events again, which downstream
    (ingestion, idempotent per event id and per content) takes as one arrival."""
    elsewhere = InMemoryObjectStore()
    elsewhere.ensure_buckets(["millrace-state-watcher"])
    one, sink_one = poller(store, lister)
    two, sink_two = poller(elsewhere, lister)
    lister.drop("iris/a.csv")
    await one.poll()
    await two.poll()
    assert [a.event_id for a in arrivals(sink_one)] == [a.event_id for a in arrivals(sink_two)]
    assert len(arrivals(sink_one)) == 1


async def test_a_new_upload_to_a_key_is_a_new_arrival_and_a_deleted_key_is_forgotten(
    store: InMemoryObjectStore, lister: FakeLister
) -> None:
    watcher, sink = poller(store, lister)
    lister.drop("iris/a.csv", etag="e1")
    await watcher.poll()
    lister.drop("iris/a.csv", etag="e2")
    assert await watcher.poll() == 1
    del lister.objects["iris/a.csv"]
    await watcher.poll()
    lister.drop("iris/a.csv", etag="e1")  # the first content again, after a delete
    assert await watcher.poll() == 1
    ids = [a.event_id for a in arrivals(sink)]
    assert len(ids) == 3 and ids[0] == ids[2] != ids[1]


async def test_a_failing_listing_makes_the_service_unready_until_it_lists_again(
    settings: WatcherSettings, store: InMemoryObjectStore, lister: FakeLister
) -> None:
    runtime = build_runtime(settings, store=store)
    sink = runtime.sink = RecordingEventSink()
    watcher = wire(runtime, settings, lister)
    lister.drop("iris/a.csv")
    lister.error = ConnectionError("s3 down")
    await poll_reporting(runtime, watcher)
    assert "s3 down" in str(runtime.dependencies.report()["landing"]["last_error"])
    lister.error = None
    await poll_reporting(runtime, watcher)
    assert runtime.dependencies.report() == {}
    assert [a.dataset for a in arrivals(sink)] == ["iris"]
