"""Numbered declarations of each dataset, kept in the state bucket.

``ingestion/<dataset>/declarations/<n>.json`` holds version n (1, 2, ...). A redelivered
``DatasetDeclared`` is recognised by its event id and is not a new version: a marker
``ingestion/<dataset>/declaration-events/<event_id>.json`` points at the version it made.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime
from typing import Literal

from millrace_contracts import DatasetDeclaration, DatasetDeclared, DatasetSpec
from millrace_shared.objectstore import ObjectNotFound, ObjectStore, make_uri
from pydantic import BaseModel, ConfigDict, Field

PREFIX = "ingestion"
SpecSource = Literal["declared", "inherited", "inferred"]


class DeclarationRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = Field(ge=1)
    event_id: uuid.UUID
    """The DatasetDeclared that made it; for an undeclared dataset, the first accepted arrival."""
    declared_at: datetime
    declaration: DatasetDeclaration
    spec_source: SpecSource | None = None
    """Where ``declaration.spec`` came from; None while the dataset has no contract yet."""

    @property
    def dataset(self) -> str:
        return self.declaration.dataset

    @property
    def spec(self) -> DatasetSpec | None:
        return self.declaration.spec


class DeclarationStore:
    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self._store = store
        self._bucket = bucket
        # Read-modify-write of "the latest version" must not interleave within one process
        # (the declaration and arrival handlers run concurrently).
        self._lock = threading.Lock()

    def record(self, event: DatasetDeclared) -> DeclarationRecord:
        """Store ``event``'s declaration as the next version, once per event id."""
        dataset = event.declaration.dataset
        with self._lock:
            marker = self._marker_uri(dataset, event.event_id)
            if self._store.exists(marker):
                version = int(json.loads(self._store.get_bytes(marker))["version"])
                return self._require(dataset, version)
            latest = self.current(dataset)
            if latest is not None and latest.event_id == event.event_id:
                self._mark(marker, latest.version)  # stored before, marker lost to a crash
                return latest
            record = DeclarationRecord(
                version=latest.version + 1 if latest else 1,
                event_id=event.event_id,
                declared_at=event.occurred_at,
                declaration=event.declaration,
                spec_source="declared" if event.declaration.spec else None,
            )
            if record.spec is None and latest is not None and latest.spec is not None:
                # A declaration that only changes policies keeps the contract in force.
                record = _with_spec(record, latest.spec, "inherited")
            self._put(record)
            self._mark(marker, record.version)
            return record

    def adopt_inferred(
        self, dataset: str, spec: DatasetSpec, *, cause: uuid.UUID, at: datetime
    ) -> DeclarationRecord:
        """Make ``spec`` the contract of the current version (version 1 if none was declared)."""
        with self._lock:
            latest = self.current(dataset)
            if latest is not None and latest.spec is not None:
                return latest  # a contract arrived meanwhile; it wins from the next arrival on
            if latest is None:
                record = DeclarationRecord(
                    version=1,
                    event_id=cause,
                    declared_at=at,
                    declaration=DatasetDeclaration(dataset=dataset),
                )
            else:
                record = latest
            record = _with_spec(record, spec, "inferred")
            self._put(record)
            return record

    def current(self, dataset: str) -> DeclarationRecord | None:
        versions = self.versions(dataset)
        return self.get(dataset, versions[-1]) if versions else None

    def get(self, dataset: str, version: int) -> DeclarationRecord | None:
        try:
            data = self._store.get_bytes(self._uri(dataset, version))
        except ObjectNotFound:
            return None
        return DeclarationRecord.model_validate_json(data)

    def versions(self, dataset: str) -> list[int]:
        prefix = f"{PREFIX}/{dataset}/declarations/"
        names = (k[len(prefix) :] for k in self._store.list_keys(self._bucket, prefix))
        return sorted(int(n[: -len(".json")]) for n in names if _is_version_name(n))

    def datasets(self) -> list[str]:
        names = set()
        for key in self._store.list_keys(self._bucket, f"{PREFIX}/"):
            parts = key.split("/")
            if len(parts) == 4 and parts[2] == "declarations":
                names.add(parts[1])
        return sorted(names)

    def _require(self, dataset: str, version: int) -> DeclarationRecord:
        record = self.get(dataset, version)
        if record is None:
            raise LookupError(f"declaration {dataset} v{version} is marked but missing")
        return record

    def _put(self, record: DeclarationRecord) -> None:
        uri = self._uri(record.dataset, record.version)
        self._store.put_bytes(uri, record.model_dump_json(indent=2).encode(), "application/json")

    def _mark(self, marker: str, version: int) -> None:
        self._store.put_bytes(marker, json.dumps({"version": version}).encode(), "application/json")

    def _uri(self, dataset: str, version: int) -> str:
        return make_uri(self._bucket, f"{PREFIX}/{dataset}/declarations/{version}.json")

    def _marker_uri(self, dataset: str, event_id: uuid.UUID) -> str:
        return make_uri(self._bucket, f"{PREFIX}/{dataset}/declaration-events/{event_id}.json")


def _with_spec(
    record: DeclarationRecord, spec: DatasetSpec, source: SpecSource
) -> DeclarationRecord:
    declaration = record.declaration.model_copy(update={"spec": spec})
    return record.model_copy(update={"declaration": declaration, "spec_source": source})


def _is_version_name(name: str) -> bool:
    return name.endswith(".json") and name[: -len(".json")].isdigit()
