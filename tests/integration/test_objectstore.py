"""Objects through the real S3 server: checksums recorded, verified, and corruption refused."""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from millrace_shared.objectstore import (
    ChecksumMismatch,
    InMemoryObjectStore,
    MinioObjectStore,
    ObjectNotFound,
    ObjectStore,
    PreconditionFailed,
)
from millrace_shared.settings import MillraceSettings

pytestmark = pytest.mark.integration


def test_bytes_round_trip_with_checksum(object_store: MinioObjectStore, unique: str) -> None:
    uri = f"s3://millrace-datasets/{unique}/blob.bin"
    data = os.urandom(10_000)
    ref = object_store.put_bytes(uri, data)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.size_bytes == len(data)
    assert object_store.stat(uri).sha256 == ref.sha256
    assert object_store.get_bytes(uri) == data
    assert object_store.get_bytes(uri, sha256=ref.sha256) == data
    with pytest.raises(ChecksumMismatch):
        object_store.get_bytes(uri, sha256="0" * 64)


def test_large_file_streams_both_ways(
    object_store: MinioObjectStore, unique: str, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(12 * 1024 * 1024))  # over the client's multipart threshold
    uri = f"s3://millrace-datasets/{unique}/big.bin"
    ref = object_store.put_file(uri, source)
    target = tmp_path / "copy.bin"
    digest = object_store.download(uri, target)
    assert digest == ref.sha256
    assert target.read_bytes() == source.read_bytes()


def test_corrupted_object_is_refused_on_read(
    object_store: MinioObjectStore,
    stack_settings: MillraceSettings,
    unique: str,
    tmp_path: Path,
) -> None:
    uri = f"s3://millrace-models/{unique}/model.skops"
    ref = object_store.put_bytes(uri, b"the real model bytes")
    # Overwrite the bytes behind Millrace's back, keeping the recorded digest, as tampering would.
    raw = object_store._client
    raw.put_object(
        "millrace-models",
        f"{unique}/model.skops",
        io.BytesIO(b"tampered bytes!!"),
        16,
        metadata={"sha256": ref.sha256},
    )
    with pytest.raises(ChecksumMismatch):
        object_store.get_bytes(uri)
    target = tmp_path / "model.skops"
    with pytest.raises(ChecksumMismatch):
        object_store.download(uri, target)
    assert not target.exists(), "a refused download must not leave a file behind"


def test_missing_object_is_a_clear_error(object_store: MinioObjectStore, unique: str) -> None:
    with pytest.raises(ObjectNotFound):
        object_store.get_bytes(f"s3://millrace-datasets/{unique}/absent")
    assert not object_store.exists(f"s3://millrace-datasets/{unique}/absent")


# -- conditional puts: the real server and the in-memory fake must agree -------------------------


@pytest.fixture(params=["server", "fake"])
def either_store(request: pytest.FixtureRequest, object_store: MinioObjectStore) -> ObjectStore:
    """The same checks run against both: the fake is only trusted because they agree."""
    if request.param == "server":
        return object_store
    fake = InMemoryObjectStore()
    fake.ensure_buckets(["millrace-datasets"])
    return fake


def test_create_only_put_has_one_winner(either_store: ObjectStore, unique: str) -> None:
    uri = f"s3://millrace-datasets/{unique}/claim.json"
    etag = either_store.create_bytes(uri, b"first")
    with pytest.raises(PreconditionFailed):
        either_store.create_bytes(uri, b"second")
    data, current = either_store.get_versioned(uri)
    assert (data, current) == (b"first", etag), "the loser must not have changed the object"
    assert either_store.get_bytes(uri) == b"first"
    assert either_store.stat(uri).sha256 == hashlib.sha256(b"first").hexdigest()


def test_compare_and_swap_needs_the_current_etag(either_store: ObjectStore, unique: str) -> None:
    uri = f"s3://millrace-datasets/{unique}/head.json"
    first = either_store.create_bytes(uri, b"v1")
    second = either_store.replace_bytes(uri, b"v2", first)
    assert second != first
    with pytest.raises(PreconditionFailed):
        either_store.replace_bytes(uri, b"v3", first)  # stale: someone swapped it meanwhile
    assert either_store.get_versioned(uri) == (b"v2", second)
    with pytest.raises(PreconditionFailed):
        either_store.replace_bytes(f"s3://millrace-datasets/{unique}/absent", b"x", second)


def test_etag_from_a_read_is_the_one_to_swap_with(either_store: ObjectStore, unique: str) -> None:
    uri = f"s3://millrace-datasets/{unique}/read-then-swap.json"
    either_store.put_bytes(uri, b"plain put")
    _, etag = either_store.get_versioned(uri)
    either_store.replace_bytes(uri, b"swapped", etag)
    assert either_store.get_bytes(uri) == b"swapped"
    with pytest.raises(ObjectNotFound):
        either_store.get_versioned(f"s3://millrace-datasets/{unique}/nothing")


def test_racing_creators_of_one_key_get_one_winner(either_store: ObjectStore, unique: str) -> None:
    uri = f"s3://millrace-datasets/{unique}/raced.json"

    def claim(n: int) -> int | None:
        try:
            either_store.create_bytes(uri, f"writer {n}".encode())
        except PreconditionFailed:
            return None
        return n

    with ThreadPoolExecutor(max_workers=8) as pool:
        winners = [n for n in pool.map(claim, range(8)) if n is not None]
    assert len(winners) == 1
    assert either_store.get_bytes(uri) == f"writer {winners[0]}".encode()


def test_prefixes_are_the_folders_right_under_a_prefix(
    either_store: ObjectStore, unique: str
) -> None:
    for key in ("a/1.json", "a/deep/2.json", "b/3.json", "top.json"):
        either_store.put_bytes(f"s3://millrace-datasets/{unique}/{key}", b"x")
    found = either_store.list_prefixes("millrace-datasets", f"{unique}/")
    assert found == [f"{unique}/a/", f"{unique}/b/"]
    assert either_store.list_prefixes("millrace-datasets", f"{unique}/a/") == [f"{unique}/a/deep/"]
