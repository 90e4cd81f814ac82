"""Listing the landing bucket: every object with its ETag.

No owner is asked for: no store at hand reports who wrote an object. ``fetch-owner`` gets
the local stack's SeaweedFS to name the bucket's owner (``millrace-admin`` for an object the
data-teams identity put, tests/integration/test_watcher_listing.py) and AWS the account, not
the IAM identity. Arrivals carry the watcher's ``submitted_by`` setting instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from minio import Minio

from .arrivals import LandedObject


class Lister(Protocol):
    def list(self, bucket: str) -> Iterator[LandedObject]: ...


class MinioLister:
    def __init__(self, client: Minio) -> None:
        self._client = client

    def list(self, bucket: str) -> Iterator[LandedObject]:
        for item in self._client.list_objects(bucket, recursive=True):
            if item.is_dir or item.object_name is None:
                continue
            yield LandedObject(
                bucket=bucket,
                key=item.object_name,
                etag=(item.etag or "").strip('"'),
                size=item.size or 0,
                last_modified=item.last_modified,
            )
