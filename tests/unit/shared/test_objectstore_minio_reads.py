"""A read pairs an object's bytes with the digest recorded in the same response.

The training state document ``latest.json`` was once refused as corrupt in a soak: the digest
came from a HEAD and the bytes from a GET after it, and a rewrite of the document landed in
between. Each version was whole; only the read mixed them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from millrace_shared.objectstore import ChecksumMismatch, MinioObjectStore, ObjectTooLarge


class _Response:
    def __init__(self, data: bytes, digest: str) -> None:
        self.data = data
        self.headers = {"content-length": str(len(data)), "x-amz-meta-sha256": digest}
        self.closed = False

    def stream(self, amt: int) -> Iterator[bytes]:
        yield from (self.data[i : i + amt] for i in range(0, len(self.data), amt))

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        pass


class _Minio:
    """Each GET answers the next version of the object: a key rewritten between requests."""

    def __init__(self, *versions: bytes, recorded: str | None = None) -> None:
        self.versions = list(versions)
        self.recorded = recorded
        self.responses: list[_Response] = []

    def stat_object(self, bucket: str, key: str) -> Any:
        raise AssertionError("a read must not take its digest from a separate HEAD")

    def get_object(self, bucket: str, key: str) -> _Response:
        data = self.versions.pop(0)
        response = _Response(data, self.recorded or hashlib.sha256(data).hexdigest())
        self.responses.append(response)
        return response


def _store(client: _Minio) -> MinioObjectStore:
    return MinioObjectStore(client)  # type: ignore[arg-type]


def test_a_rewritten_object_reads_whole_with_its_own_digest(tmp_path: Path) -> None:
    client = _Minio(b'{"v": 1}', b'{"v": 2, "longer": true}')
    store = _store(client)
    assert store.get_bytes("s3://state/latest.json") == b'{"v": 1}'
    target = tmp_path / "latest.json"
    digest = store.download("s3://state/latest.json", target)
    assert target.read_bytes() == b'{"v": 2, "longer": true}'
    assert digest == hashlib.sha256(b'{"v": 2, "longer": true}').hexdigest()
    assert all(r.closed for r in client.responses)


def test_bytes_that_do_not_match_their_recorded_digest_are_still_refused(tmp_path: Path) -> None:
    store = _store(_Minio(b"tampered", b"tampered", recorded="0" * 64))
    with pytest.raises(ChecksumMismatch):
        store.get_bytes("s3://models/m.skops")
    target = tmp_path / "m.skops"
    with pytest.raises(ChecksumMismatch):
        store.download("s3://models/m.skops", target)
    assert not target.exists()


def test_the_size_limit_is_checked_from_the_same_response() -> None:
    client = _Minio(b"x" * 100)
    with pytest.raises(ObjectTooLarge):
        _store(client).get_bytes("s3://datasets/big.csv", max_bytes=10)
    assert client.responses[0].closed
