"""An in-memory object store with the real one's semantics, for unit and component tests."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path

from millrace_contracts import ArtifactRef

from .base import (
    ObjectInfo,
    ObjectNotFound,
    ObjectTooLarge,
    PreconditionFailed,
    copy_hashing,
    split_uri,
    verify,
)


class InMemoryObjectStore:
    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, tuple[bytes, str | None]]] = {}
        # Conditional puts check and write under one lock, as the server does per key: two
        # services racing in threads (asyncio.to_thread) must see exactly one winner.
        self._lock = threading.RLock()

    def ensure_buckets(self, buckets: Iterable[str]) -> None:
        for bucket in buckets:
            self.buckets.setdefault(bucket, {})

    def put_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        return self._put(uri, data, record_digest=True)

    def create_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        with self._lock:
            if self.exists(uri):
                raise PreconditionFailed(uri, "If-None-Match: *")
            self._put(uri, data, record_digest=True)
            return etag_of(data)

    def replace_bytes(
        self, uri: str, data: bytes, etag: str, content_type: str = "application/octet-stream"
    ) -> str:
        with self._lock:
            try:
                current, _ = self._get(uri)
            except ObjectNotFound:
                raise PreconditionFailed(uri, f"If-Match: {etag}") from None
            if etag_of(current) != etag:
                raise PreconditionFailed(uri, f"If-Match: {etag}")
            self._put(uri, data, record_digest=True)
            return etag_of(data)

    def get_versioned(self, uri: str) -> tuple[bytes, str]:
        with self._lock:
            data = self.get_bytes(uri)
            return data, etag_of(data)

    def put_foreign(self, uri: str, data: bytes) -> None:
        """Put an object as a third party would: no recorded digest."""
        self._put(uri, data, record_digest=False)

    def put_file(
        self, uri: str, path: Path, content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        return self._put(uri, path.read_bytes(), record_digest=True)

    def stat(self, uri: str) -> ObjectInfo:
        data, digest = self._get(uri)
        return ObjectInfo(size=len(data), sha256=digest)

    def exists(self, uri: str) -> bool:
        try:
            self._get(uri)
        except ObjectNotFound:
            return False
        return True

    def get_bytes(self, uri: str, sha256: str | None = None, max_bytes: int | None = None) -> bytes:
        data, recorded = self._get(uri)
        if max_bytes is not None and len(data) > max_bytes:
            raise ObjectTooLarge(uri, len(data), max_bytes)
        verify(uri, sha256 or recorded, hashlib.sha256(data).hexdigest())
        return data

    def download(
        self, uri: str, dest: Path, sha256: str | None = None, max_bytes: int | None = None
    ) -> str:
        data, recorded = self._get(uri)
        try:
            with dest.open("wb") as sink:
                actual = copy_hashing([data], sink, uri, max_bytes)
            verify(uri, sha256 or recorded, actual)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return actual

    def list_keys(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(k for k in self.buckets.get(bucket, {}) if k.startswith(prefix))

    def list_prefixes(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(
            {
                prefix + rest.split("/", 1)[0] + "/"
                for key in self.buckets.get(bucket, {})
                if key.startswith(prefix) and "/" in (rest := key[len(prefix) :])
            }
        )

    def delete(self, uri: str) -> None:
        bucket, key = split_uri(uri)
        self.buckets.get(bucket, {}).pop(key, None)

    def corrupt(self, uri: str, data: bytes) -> None:
        """Replace an object's bytes but keep its recorded digest, as bit rot or tampering would."""
        _, recorded = self._get(uri)
        bucket, key = split_uri(uri)
        self.buckets[bucket][key] = (data, recorded)

    def _put(self, uri: str, data: bytes, *, record_digest: bool) -> ArtifactRef:
        bucket, key = split_uri(uri)
        if bucket not in self.buckets:
            raise ObjectNotFound(f"s3://{bucket}")
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self.buckets[bucket][key] = (bytes(data), digest if record_digest else None)
        return ArtifactRef(uri=uri, sha256=digest, size_bytes=len(data))

    def _get(self, uri: str) -> tuple[bytes, str | None]:
        bucket, key = split_uri(uri)
        try:
            return self.buckets[bucket][key]
        except KeyError:
            raise ObjectNotFound(uri) from None


def etag_of(data: bytes) -> str:
    """The ETag S3 gives an object put in one request: the quoted MD5 of its bytes."""
    return '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'
