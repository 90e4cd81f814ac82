"""Listing the landing bucket: every object with its ETag and, where the store says, its owner.

``fetch-owner`` asks S3 for each object's owner. AWS reports the account (canonical id and,
in some regions, a display name); SeaweedFS 3.x reports the writing identity's name in our
local stack where it reports one at all; where the store reports none, arrivals carry the
watcher's ``submitted_by`` setting.
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
        for item in self._client.list_objects(bucket, recursive=True, fetch_owner=True):
            if item.is_dir or item.object_name is None:
                continue
            yield LandedObject(
                bucket=bucket,
                key=item.object_name,
                etag=(item.etag or "").strip('"'),
                size=item.size or 0,
                last_modified=item.last_modified,
                owner=item.owner_name or item.owner_id or None,
            )
