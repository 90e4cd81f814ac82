"""Where accepted versions live, and the record that says a version is complete.

Data and profile go to ``s3://<bucket_datasets>/<dataset>/versions/<version>/``; the record
``ingestion/<dataset>/versions/<version>.json`` in the state bucket is written last, so a
version exists only once everything it points at does.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from millrace_contracts import ArtifactRef
from millrace_shared.objectstore import ObjectNotFound, ObjectStore, make_uri
from pydantic import BaseModel, ConfigDict, Field

from .declarations import PREFIX, SpecSource


class ColumnCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    dtype: str
    nulls: int = Field(ge=0)


class ValidationReport(BaseModel):
    """What the version passed: the contract it was checked against, column by column.

    Every check of the contract held (rows, columns present, types, null rates, ranges,
    categories): a version exists only for an arrival with no rejection reason."""

    model_config = ConfigDict(frozen=True)

    passed: bool = True
    spec_version: int = Field(ge=1)
    spec_source: SpecSource | None
    target: str | None
    min_rows: int
    rows_read: int = Field(ge=0)
    """Rows in the arrived file (all kept: a version is never a partial file)."""
    columns: list[ColumnCheck]
    """The contract's columns as checked, with their null counts."""
    extra_columns_dropped: list[str] = Field(default_factory=list)
    validated_at: datetime


class VersionRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    dataset: str
    version: str
    rows: int = Field(ge=0)
    created_at: datetime
    created_by: uuid.UUID
    """The DataArrived whose content first made this version."""
    source_uri: str
    spec_version: int
    data: ArtifactRef
    profile: ArtifactRef
    submitted_by: str | None = None
    """Who published the arrival that made it (its DataArrived's ``submitted_by``)."""
    validation: ValidationReport | None = None
    """The checks it passed; None in records written before reports were kept."""


class VersionStore:
    def __init__(self, store: ObjectStore, *, bucket_state: str, bucket_datasets: str) -> None:
        self._store = store
        self._state = bucket_state
        self._datasets = bucket_datasets

    def data_uri(self, dataset: str, version: str) -> str:
        return make_uri(self._datasets, f"{dataset}/versions/{version}/data.parquet")

    def profile_uri(self, dataset: str, version: str) -> str:
        return make_uri(self._datasets, f"{dataset}/versions/{version}/profile.json")

    def get(self, dataset: str, version: str) -> VersionRecord | None:
        try:
            data = self._store.get_bytes(self._record_uri(dataset, version))
        except ObjectNotFound:
            return None
        return VersionRecord.model_validate_json(data)

    def put(self, record: VersionRecord) -> None:
        self._store.put_bytes(
            self._record_uri(record.dataset, record.version),
            record.model_dump_json(indent=2).encode(),
            "application/json",
        )

    def history(self, dataset: str) -> list[VersionRecord]:
        """Every version of ``dataset``, oldest first."""
        prefix = f"{PREFIX}/{dataset}/versions/"
        records: list[VersionRecord] = []
        for key in self._store.list_keys(self._state, prefix):
            try:
                records.append(
                    VersionRecord.model_validate_json(
                        self._store.get_bytes(make_uri(self._state, key))
                    )
                )
            except ObjectNotFound:  # deleted between listing and reading
                continue
        return sorted(records, key=lambda r: (r.created_at, r.version))

    def _record_uri(self, dataset: str, version: str) -> str:
        return make_uri(self._state, f"{PREFIX}/{dataset}/versions/{version}.json")
