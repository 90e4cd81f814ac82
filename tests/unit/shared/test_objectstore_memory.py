"""The in-memory object store keeps the real one's promises, so unit tests can trust it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from millrace_shared.objectstore import (
    ChecksumMismatch,
    InMemoryObjectStore,
    ObjectNotFound,
    ObjectTooLarge,
    split_uri,
)


@pytest.fixture
def store() -> InMemoryObjectStore:
    s = InMemoryObjectStore()
    s.ensure_buckets(["bkt"])
    return s


def test_put_records_digest_and_get_verifies(store: InMemoryObjectStore) -> None:
    ref = store.put_bytes("s3://bkt/k", b"abc")
    assert ref.sha256 == hashlib.sha256(b"abc").hexdigest()
    assert store.get_bytes("s3://bkt/k") == b"abc"
    store.corrupt("s3://bkt/k", b"abd")
    with pytest.raises(ChecksumMismatch):
        store.get_bytes("s3://bkt/k")


def test_caller_digest_wins_over_missing_metadata(store: InMemoryObjectStore) -> None:
    store.put_foreign("s3://bkt/foreign.csv", b"x,y\n1,2\n")
    assert store.stat("s3://bkt/foreign.csv").sha256 is None
    assert store.get_bytes("s3://bkt/foreign.csv") == b"x,y\n1,2\n"
    with pytest.raises(ChecksumMismatch):
        store.get_bytes("s3://bkt/foreign.csv", sha256="0" * 64)


def test_download_enforces_limit_and_cleans_up(store: InMemoryObjectStore, tmp_path: Path) -> None:
    store.put_bytes("s3://bkt/big", b"x" * 100)
    dest = tmp_path / "big"
    with pytest.raises(ObjectTooLarge):
        store.download("s3://bkt/big", dest, max_bytes=10)
    assert not dest.exists()
    assert store.download("s3://bkt/big", dest) == hashlib.sha256(b"x" * 100).hexdigest()


def test_missing_objects_and_buckets(store: InMemoryObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.get_bytes("s3://bkt/none")
    with pytest.raises(ObjectNotFound):
        store.put_bytes("s3://nobucket/k", b"")
    assert store.list_keys("bkt") == []


def test_split_uri_rejects_non_s3() -> None:
    assert split_uri("s3://bucket/a/b.csv") == ("bucket", "a/b.csv")
    with pytest.raises(ValueError, match="not an s3"):
        split_uri("http://bucket/a")


def test_conditional_puts_claim_and_swap(store: InMemoryObjectStore) -> None:
    from millrace_shared.objectstore import PreconditionFailed

    etag = store.create_bytes("s3://bkt/claim", b"one")
    with pytest.raises(PreconditionFailed):
        store.create_bytes("s3://bkt/claim", b"two")
    newer = store.replace_bytes("s3://bkt/claim", b"three", etag)
    with pytest.raises(PreconditionFailed):
        store.replace_bytes("s3://bkt/claim", b"four", etag)
    assert store.get_versioned("s3://bkt/claim") == (b"three", newer)
    # (The same checks run against the real server in tests/integration/test_objectstore.py.)
