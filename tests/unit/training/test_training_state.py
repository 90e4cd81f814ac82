from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from millrace_contracts import DatasetValidated
from millrace_shared.faults import S3, DependencyUnavailable, Fault, FaultKind, classify
from millrace_shared.objectstore import ChecksumMismatch, InMemoryObjectStore
from millrace_training.core.state import READS_ON_MISMATCH, TrainingState
from training_unit_data import BUCKETS, iris_frame


def test_records_versions_index_and_latest(
    store: InMemoryObjectStore, store_version: Callable[..., DatasetValidated]
) -> None:
    state = TrainingState(store, "millrace-state")
    first = store_version(iris_frame().head(100))
    second = store_version(iris_frame())
    state.record_validated(first)
    state.record_validated(second)

    assert state.latest("iris") == second
    assert state.validated("iris", first.dataset_version) == first
    index = state.index("iris")
    assert [v.rows for v in index.versions] == [100, 150]
    newest = index.newest()
    assert newest is not None and newest.dataset_version == second.dataset_version
    assert store.exists("s3://millrace-state/training/iris/latest.json")
    assert store.exists("s3://millrace-state/training/iris/index.json")


def test_an_older_redelivery_does_not_replace_latest_nor_reorder(
    store: InMemoryObjectStore, store_version: Callable[..., DatasetValidated]
) -> None:
    state = TrainingState(store, "millrace-state")
    old = store_version(iris_frame().head(100))
    new = store_version(iris_frame()).model_copy(
        update={"occurred_at": old.occurred_at + timedelta(seconds=5)}
    )
    state.record_validated(old)
    state.record_validated(new)
    state.record_validated(old)  # redelivered
    assert state.latest("iris") == new
    assert len(state.index("iris").versions) == 2
    newest = state.index("iris").newest()
    assert newest is not None and newest.dataset_version == new.dataset_version


def test_unknown_dataset_has_no_state(store: InMemoryObjectStore) -> None:
    state = TrainingState(store, "millrace-state")
    assert state.latest("nope") is None
    assert state.index("nope").newest() is None
    assert state.production("nope") is None
    assert state.retraining("nope") is None


class _RacingStore(InMemoryObjectStore):
    """A store whose reads of one key see a digest that does not match, ``mismatches`` times."""

    def __init__(self, key: str, mismatches: int) -> None:
        super().__init__()
        self.key, self.mismatches, self.reads = key, mismatches, 0

    def get_bytes(self, uri: str, sha256: str | None = None, max_bytes: int | None = None) -> bytes:
        if uri.endswith(self.key):
            self.reads += 1
            if self.reads <= self.mismatches:
                raise ChecksumMismatch(uri, "a" * 64, "b" * 64)
        return super().get_bytes(uri, sha256, max_bytes)


def test_a_state_document_read_racing_its_rewrite_is_read_again(
    store_version: Callable[..., DatasetValidated],
) -> None:
    racing = _RacingStore("iris/latest.json", mismatches=READS_ON_MISMATCH - 1)
    racing.ensure_buckets(BUCKETS)
    state = TrainingState(racing, "millrace-state")
    event = store_version(iris_frame())
    state.record_validated(event)  # reads latest.json once (write-if-newer): a mismatch
    racing.reads = 0
    assert state.latest("iris") == event
    assert racing.reads == READS_ON_MISMATCH


def test_a_lasting_mismatch_on_a_state_document_is_an_s3_fault_not_poison(
    store_version: Callable[..., DatasetValidated],
) -> None:
    # The event being handled is valid: it must be retried while S3 misbehaves, never
    # dead-lettered because training's own document cannot be read.
    racing = _RacingStore("iris/latest.json", mismatches=10**6)
    racing.ensure_buckets(BUCKETS)
    state = TrainingState(racing, "millrace-state")
    with pytest.raises(DependencyUnavailable) as raised:
        state.latest("iris")
    assert classify(raised.value) == Fault(FaultKind.TRANSIENT, S3)
    assert isinstance(raised.value.__cause__, ChecksumMismatch)
