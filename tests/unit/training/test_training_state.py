from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from millrace_contracts import DatasetValidated
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_training.core.state import TrainingState
from training_unit_data import iris_frame


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
