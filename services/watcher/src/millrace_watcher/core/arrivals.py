"""Which landed objects are arrivals, and the one ``DataArrived`` each of them is.

An object is ``<dataset>/<...>/<file>.<csv|parquet|pq>`` in the landing bucket. Its event id
derives from (bucket, key, ETag) alone (``landed_arrival_id``), so every watcher, every
restart, every repeated poll and ``millrace publish`` announce one object version with the
same id: Kafka may carry it more than once, ingestion takes a repeated id as one arrival
(same outcome, same event ids after it). Two objects of the same content are two arrivals of
one dataset version: ingestion's versions are content-addressed (the second is not new).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from millrace_contracts import DataArrived, first_of_flow, landed_arrival_id

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
"""The suffixes ingestion reads (``millrace_ingestion.core.reading``); others are ignored."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class LandedObject:
    """One object version as a bucket listing reports it."""

    bucket: str
    key: str
    etag: str
    size: int
    last_modified: datetime | None = None

    @property
    def identity(self) -> str:
        """What names this object version: another upload to the key has another ETag."""
        return f"{self.key}\n{self.etag}"


def dataset_of(key: str) -> str | None:
    """The dataset an object belongs to: its key's first segment, if a valid name and the
    object is a file ingestion reads; None for anything else (ignored, not rejected)."""
    parts = key.split("/")
    if len(parts) < 2 or not parts[-1] or PurePosixPath(key).suffix.lower() not in FORMATS:
        return None
    return parts[0] if _NAME.match(parts[0]) else None


def arrival_for(obj: LandedObject, *, producer: str, submitted_by: str) -> DataArrived | None:
    """The arrival announcing ``obj``; None when it is not a dataset's file."""
    dataset = dataset_of(obj.key)
    if dataset is None:
        return None
    return DataArrived(
        **first_of_flow(
            producer=producer, event_id=landed_arrival_id(obj.bucket, obj.key, obj.etag)
        ),
        dataset=dataset,
        uri=f"s3://{obj.bucket}/{obj.key}",
        # The ETag is not a SHA-256 (MD5, or a digest of parts): ingestion reads the bytes.
        sha256=None,
        submitted_by=submitted_by,
    )
