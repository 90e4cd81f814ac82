"""Objects through the real S3 server: checksums recorded, verified, and corruption refused."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from millrace_shared.objectstore import ChecksumMismatch, MinioObjectStore, ObjectNotFound
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
