"""Rejected arrivals, kept per dataset so people can see why their files were turned away.

``DatasetRejected`` events say it once, on Kafka; this is the durable, bounded record behind
``GET /datasets/{name}/rejections`` and the console's dataset page. One object per rejected
arrival, ``ingestion/<dataset>/rejections/<arrived at>-<arrival id>.json`` in the state bucket:
named by the arrival alone, so a redelivered arrival rewrites its own record, and sorted by
name oldest first, so the oldest beyond ``keep`` are deleted without being read.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from millrace_contracts import DataArrived, DatasetRejected, Reason
from millrace_shared.objectstore import ObjectNotFound, ObjectStore, make_uri
from pydantic import BaseModel, ConfigDict, Field

from .declarations import PREFIX

logger = logging.getLogger("millrace.ingestion")

DEFAULT_KEEP = 100


class RejectionRecord(BaseModel):
    """One rejected arrival: which file, who sent it, when, and every reason (by code)."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    arrival_id: uuid.UUID = Field(description="The DataArrived's event id (the flow's id).")
    source_uri: str
    submitted_by: str | None = Field(default=None, description="Who published the arrival.")
    arrived_at: datetime = Field(description="When the arrival was published.")
    rejected_at: datetime
    rejection_event_id: uuid.UUID = Field(description="The DatasetRejected event's id.")
    reasons: list[Reason] = Field(description="Machine-readable codes with their messages.")


class RejectionStore:
    def __init__(self, store: ObjectStore, bucket_state: str, *, keep: int = DEFAULT_KEEP) -> None:
        self._store = store
        self._bucket = bucket_state
        self._keep = keep

    def record(self, arrived: DataArrived, rejected: DatasetRejected) -> RejectionRecord:
        """Keep the rejection, then drop the dataset's oldest beyond ``keep``."""
        record = RejectionRecord(
            dataset=arrived.dataset,
            arrival_id=arrived.event_id,
            source_uri=arrived.uri,
            submitted_by=arrived.submitted_by,
            arrived_at=arrived.occurred_at,
            rejected_at=rejected.occurred_at,
            rejection_event_id=rejected.event_id,
            reasons=list(rejected.reasons),
        )
        stamp = arrived.occurred_at.strftime("%Y%m%dT%H%M%S%fZ")
        key = f"{self._prefix(arrived.dataset)}{stamp}-{arrived.event_id}.json"
        self._store.put_bytes(
            make_uri(self._bucket, key), record.model_dump_json().encode(), "application/json"
        )
        self._trim(arrived.dataset)
        return record

    def recent(self, dataset: str) -> list[RejectionRecord]:
        """The dataset's kept rejections, newest first."""
        records: list[RejectionRecord] = []
        for key in sorted(self._keys(dataset), reverse=True):
            try:
                data = self._store.get_bytes(make_uri(self._bucket, key))
            except ObjectNotFound:  # trimmed between listing and reading
                continue
            records.append(RejectionRecord.model_validate_json(data))
        return records

    def _trim(self, dataset: str) -> None:
        keys = sorted(self._keys(dataset))
        for key in keys[: max(len(keys) - self._keep, 0)]:
            self._store.delete(make_uri(self._bucket, key))

    def _keys(self, dataset: str) -> list[str]:
        prefix = self._prefix(dataset)
        return [k for k in self._store.list_keys(self._bucket, prefix) if k.endswith(".json")]

    @staticmethod
    def _prefix(dataset: str) -> str:
        return f"{PREFIX}/{dataset}/rejections/"
