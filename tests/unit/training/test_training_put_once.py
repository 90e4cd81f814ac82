"""A run's artifact is stored once, whoever stores it first: two replicas training the same
run (a rebalance moved its partition mid-fit) both announce the bytes that are stored."""

from __future__ import annotations

import hashlib

from millrace_shared.objectstore import InMemoryObjectStore, PreconditionFailed
from millrace_training.core.runs import RunStore

BUCKET = "millrace-models"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RacedStore(InMemoryObjectStore):
    """Another replica's upload lands between this one's look and its write."""

    def __init__(self, theirs: bytes) -> None:
        super().__init__()
        self.theirs = theirs

    def create_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        if not self.exists(uri):
            self.put_bytes(uri, self.theirs)  # the other replica wins the race
        return super().create_bytes(uri, data, content_type)


class InFlightStore(InMemoryObjectStore):
    """The first create meets another writer's create in flight (S3's 409): neither stored."""

    def __init__(self) -> None:
        super().__init__()
        self.conflicts = 1

    def create_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        if self.conflicts:
            self.conflicts -= 1
            raise PreconditionFailed(uri, "If-None-Match: *")
        return super().create_bytes(uri, data, content_type)


def test_the_first_upload_stays_and_a_second_adopts_it() -> None:
    store = InMemoryObjectStore()
    store.ensure_buckets([BUCKET])
    runs = RunStore(store, BUCKET)
    uri = runs.uri("m", "run1", "model.skops")
    first = runs.put_once(uri, b"first dump", "application/octet-stream")
    second = runs.put_once(uri, b"second dump", "application/octet-stream")
    assert first.sha256 == second.sha256 == sha(b"first dump")
    assert store.get_bytes(uri) == b"first dump"


def test_a_replica_losing_the_race_announces_the_winners_bytes() -> None:
    """A look-then-put would overwrite the winner's bytes (and its published sha256)."""
    store = RacedStore(theirs=b"other replica's dump")
    store.ensure_buckets([BUCKET])
    runs = RunStore(store, BUCKET)
    uri = runs.uri("m", "run1", "model.skops")
    ref = runs.put_once(uri, b"my dump", "application/octet-stream")
    assert store.get_bytes(uri) == b"other replica's dump"
    assert ref.sha256 == sha(store.get_bytes(uri))
    assert ref.size_bytes == len(b"other replica's dump")


def test_a_create_in_flight_elsewhere_is_tried_again() -> None:
    store = InFlightStore()
    store.ensure_buckets([BUCKET])
    runs = RunStore(store, BUCKET)
    uri = runs.uri("m", "run1", "model.skops")
    ref = runs.put_once(uri, b"mine", "application/octet-stream")
    assert ref.sha256 == sha(store.get_bytes(uri)) == sha(b"mine")
