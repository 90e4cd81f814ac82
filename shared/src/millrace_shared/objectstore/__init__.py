"""Object storage behind one small port, with a MinIO-client adapter and an in-memory fake."""

from .base import (
    ChecksumMismatch,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreError,
    ObjectTooLarge,
    PreconditionFailed,
    make_uri,
    sha256_of_file,
    split_uri,
)
from .memory import InMemoryObjectStore
from .minio_store import MinioObjectStore

__all__ = [
    "ChecksumMismatch",
    "InMemoryObjectStore",
    "MinioObjectStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStoreError",
    "ObjectTooLarge",
    "PreconditionFailed",
    "make_uri",
    "sha256_of_file",
    "split_uri",
]
