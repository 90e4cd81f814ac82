from __future__ import annotations

from datetime import UTC, datetime

import pytest
from millrace_registry.core.keys import InvalidRunId
from millrace_registry.core.store import RegistryStore
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.registry.models import AliasMove, NewAuditEntry
from registry_support import BUCKET


def test_versions_are_numbered_one_two_three_per_model(store: RegistryStore) -> None:
    assert [store.claim_version("iris", run) for run in ("a", "b", "c")] == [
        (1, True),
        (2, True),
        (3, True),
    ]
    assert store.claim_version("wine", "a") == (1, True)


def test_a_claim_is_idempotent(store: RegistryStore) -> None:
    store.claim_version("iris", "a")
    store.claim_version("iris", "b")
    assert store.claim_version("iris", "b") == (2, False)
    assert store.claim_version("iris", "c") == (3, True)


def test_the_claim_is_stored_where_the_layout_says(
    store: RegistryStore, objects: InMemoryObjectStore
) -> None:
    store.claim_version("iris", "run-1")
    data = objects.get_bytes(f"s3://{BUCKET}/registry/iris/runs/run-1.json")
    assert data == b'{"version":1}'
    # The claim itself: number 1, naming the run that holds it (put create-only).
    claim = objects.get_bytes(f"s3://{BUCKET}/registry/iris/numbers/1.json")
    assert claim == b'{"version":1,"run_id":"run-1"}'


def test_a_run_whose_index_was_never_written_finds_its_number_claim(
    objects: InMemoryObjectStore,
) -> None:
    """A writer that stopped between the claim and the index: the claim still decides."""
    RegistryStore(objects, BUCKET).claim_version("iris", "run-1")
    objects.delete(f"s3://{BUCKET}/registry/iris/runs/run-1.json")
    fresh = RegistryStore(objects, BUCKET)
    assert fresh.claim_version("iris", "run-1") == (1, False)
    assert fresh.claim_version("iris", "run-2") == (2, True)


def test_claims_of_another_process_are_seen(objects: InMemoryObjectStore) -> None:
    first, second = RegistryStore(objects, BUCKET), RegistryStore(objects, BUCKET)
    assert first.claim_version("iris", "a") == (1, True)
    assert second.claim_version("iris", "b") == (2, True)
    assert first.claim_version("iris", "c") == (3, True)
    assert second.claimed("iris", "c") == 3


def test_run_ids_that_cannot_be_keys_are_refused(store: RegistryStore) -> None:
    with pytest.raises(InvalidRunId):
        store.claim_version("iris", "../../etc")


def entry(version: int, minute: int, to: int | None = None) -> NewAuditEntry:
    move = None if to is None else AliasMove(alias="production", from_version=None, to_version=to)
    return NewAuditEntry(
        at=datetime(2026, 11, 26, 10, minute, tzinfo=UTC),
        kind="promoted" if to is not None else "registered",
        actor="test",
        version=version,
        alias_move=move,
    )


def test_the_audit_trail_is_append_only_and_zero_padded(
    store: RegistryStore, objects: InMemoryObjectStore
) -> None:
    first = store.append_audit("iris", entry(1, 0))
    before = objects.get_bytes(f"s3://{BUCKET}/registry/iris/audit/0000000001.json")
    second = store.append_audit("iris", entry(1, 1, to=1))
    assert (first.seq, second.seq) == (1, 2)
    assert objects.list_keys(BUCKET, "registry/iris/audit/") == [
        "registry/iris/audit/0000000001.json",
        "registry/iris/audit/0000000002.json",
    ]
    assert objects.get_bytes(f"s3://{BUCKET}/registry/iris/audit/0000000001.json") == before


def test_an_audit_key_written_behind_its_back_is_not_overwritten(
    objects: InMemoryObjectStore,
) -> None:
    mine, theirs = RegistryStore(objects, BUCKET), RegistryStore(objects, BUCKET)
    mine.append_audit("iris", entry(1, 0))
    theirs.append_audit("iris", entry(1, 1, to=1))
    appended = mine.append_audit("iris", entry(2, 2))
    assert appended.seq == 3
    assert [e.seq for e in mine.audit("iris")] == [1, 2, 3]


def test_alias_at_a_time_follows_the_moves(store: RegistryStore) -> None:
    store.append_audit("iris", entry(1, 0, to=1))
    store.append_audit("iris", entry(2, 10, to=2))
    store.append_audit("iris", entry(3, 20))

    def at(minute: int) -> datetime:
        return datetime(2026, 11, 26, 10, minute, tzinfo=UTC)

    assert store.alias("iris", "production", datetime(2026, 11, 26, 9, 59, tzinfo=UTC)) is None
    assert store.alias("iris", "production", at(0)) == 1
    assert store.alias("iris", "production", at(9)) == 1
    assert store.alias("iris", "production", at(10)) == 2
    assert store.alias("iris", "production") == 2
    assert store.aliases("iris") == {"production": 2}


def test_models_are_listed_from_the_store(store: RegistryStore) -> None:
    store.claim_version("wine", "a")
    store.claim_version("iris", "a")
    assert store.models() == ["iris", "wine"]
