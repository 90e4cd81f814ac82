"""The object-store port: what services need from S3, and the errors it raises."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from millrace_contracts import ArtifactRef

CHUNK = 1024 * 1024
SHA256_METADATA = "sha256"


class ObjectStoreError(Exception):
    """Base of the object store's own errors."""


class ObjectNotFound(ObjectStoreError):
    pass


class ChecksumMismatch(ObjectStoreError):
    def __init__(self, uri: str, expected: str, actual: str) -> None:
        super().__init__(f"{uri}: sha256 {actual} does not match the expected {expected}")
        self.uri, self.expected, self.actual = uri, expected, actual


class PreconditionFailed(ObjectStoreError):
    """A conditional put lost: the key exists (create-only) or changed (compare-and-swap).

    S3 answers 412 Precondition Failed, or 409 ConditionalRequestConflict when another
    conditional write to the key is in flight; both mean "re-read and decide again"."""

    def __init__(self, uri: str, condition: str) -> None:
        super().__init__(f"{uri}: precondition {condition} failed")
        self.uri, self.condition = uri, condition


class ObjectTooLarge(ObjectStoreError):
    def __init__(self, uri: str, size: int, limit: int) -> None:
        super().__init__(f"{uri}: {size} bytes is over the limit of {limit}")
        self.uri, self.size, self.limit = uri, size, limit


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    sha256: str | None
    """The digest recorded when Millrace wrote the object; None for objects put by others."""


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` into ``(bucket, key)``."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def make_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_hashing(source: Iterable[bytes], sink: BinaryIO, uri: str, limit: int | None) -> str:
    """Stream chunks into ``sink``; the digest is computed on the way, never holding it all."""
    digest = hashlib.sha256()
    written = 0
    for chunk in source:
        written += len(chunk)
        if limit is not None and written > limit:
            raise ObjectTooLarge(uri, written, limit)
        digest.update(chunk)
        sink.write(chunk)
    return digest.hexdigest()


def verify(uri: str, expected: str | None, actual: str) -> None:
    if expected is not None and expected != actual:
        raise ChecksumMismatch(uri, expected, actual)


class ObjectStore(Protocol):
    """S3 as Millrace uses it. URIs are ``s3://bucket/key``.

    Reads verify the sha256 given by the caller or, failing that, the one recorded at write time.
    """

    def ensure_buckets(self, buckets: Iterable[str]) -> None: ...

    def put_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> ArtifactRef: ...

    def put_file(
        self, uri: str, path: Path, content_type: str = "application/octet-stream"
    ) -> ArtifactRef: ...

    def get_bytes(
        self, uri: str, sha256: str | None = None, max_bytes: int | None = None
    ) -> bytes: ...

    def create_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        """Put ``data`` only if no object is at ``uri`` (``If-None-Match: *``); return its ETag.

        Raises ``PreconditionFailed`` if one is, whoever wrote it: the claim of a key."""
        ...

    def replace_bytes(
        self, uri: str, data: bytes, etag: str, content_type: str = "application/octet-stream"
    ) -> str:
        """Put ``data`` only if the object's ETag is still ``etag`` (``If-Match``); return the
        new ETag. Raises ``PreconditionFailed`` if it changed or is gone: compare-and-swap."""
        ...

    def get_versioned(self, uri: str) -> tuple[bytes, str]:
        """The object's bytes (digest verified) and the ETag to ``replace_bytes`` it with."""
        ...

    def download(
        self, uri: str, dest: Path, sha256: str | None = None, max_bytes: int | None = None
    ) -> str:
        """Stream the object to ``dest``; return its sha256. ``dest`` is removed on failure."""
        ...

    def stat(self, uri: str) -> ObjectInfo: ...

    def exists(self, uri: str) -> bool: ...

    def list_keys(self, bucket: str, prefix: str = "") -> list[str]: ...

    def list_prefixes(self, bucket: str, prefix: str = "") -> list[str]:
        """The "folders" right under ``prefix``: each distinct ``prefix + part + "/"`` of the
        keys below it, sorted. One delimited listing, however many keys lie deeper."""
        ...

    def delete(self, uri: str) -> None: ...
