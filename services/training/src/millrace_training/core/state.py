"""What training remembers between events, as small JSON documents in the state bucket.

``training/<dataset>/latest.json``             the latest DatasetValidated (its spec is used)
``training/<dataset>/versions/<version>.json`` the DatasetValidated of each version
``training/<dataset>/index.json``              versions with rows and first-seen time
``training/production/<model>.json``           the production ModelVersionInfo
``training/retraining/<model>.json``           the last retraining started (cooldown)
"""

from __future__ import annotations

import logging
from typing import TypeVar

from millrace_contracts import DatasetValidated, ModelVersionInfo
from millrace_contracts.envelope import Contract
from millrace_shared.faults import S3, DependencyUnavailable
from millrace_shared.objectstore import ChecksumMismatch, ObjectNotFound, ObjectStore, make_uri
from pydantic import AwareDatetime, BaseModel

from .retraining import RetrainingRecord

logger = logging.getLogger("millrace.training")
M = TypeVar("M", bound=BaseModel)

READS_ON_MISMATCH = 3
"""Reads of a state document whose bytes do not match their recorded digest before giving up."""


class VersionEntry(Contract):
    dataset_version: str
    rows: int
    first_seen_at: AwareDatetime


class VersionIndex(Contract):
    dataset: str
    versions: list[VersionEntry] = []

    def get(self, dataset_version: str) -> VersionEntry | None:
        return next((v for v in self.versions if v.dataset_version == dataset_version), None)

    def newest(self) -> VersionEntry | None:
        """The version first seen last: a re-upload of old content does not make it newest."""
        return max(self.versions, key=lambda v: v.first_seen_at, default=None)

    def adding(self, event: DatasetValidated) -> VersionIndex:
        if self.get(event.dataset_version) is not None:
            return self
        entry = VersionEntry(
            dataset_version=event.dataset_version, rows=event.rows, first_seen_at=event.occurred_at
        )
        return VersionIndex(dataset=self.dataset, versions=[*self.versions, entry])


class TrainingState:
    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self._store = store
        self._bucket = bucket

    def _uri(self, key: str) -> str:
        return make_uri(self._bucket, f"training/{key}")

    def _read(self, key: str, model: type[M]) -> M | None:
        uri = self._uri(key)
        for attempt in range(1, READS_ON_MISMATCH + 1):
            try:
                return model.model_validate_json(self._store.get_bytes(uri))
            except ObjectNotFound:
                return None
            except ChecksumMismatch as error:
                # Each document is written whole, bytes and digest in one PUT, so a mismatch is
                # a read that raced a rewrite, or a store answering wrongly: read it again. It
                # says nothing about the event being handled, which must not be dead-lettered
                # for it, so a mismatch that lasts is an S3 fault, waited out like an outage.
                if attempt == READS_ON_MISMATCH:
                    raise DependencyUnavailable(S3, error) from error
                logger.info("%s: digest mismatch (read %d), reading again", uri, attempt)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _write(self, key: str, doc: BaseModel) -> None:
        self._store.put_bytes(self._uri(key), doc.model_dump_json().encode(), "application/json")

    def _write_if_newer(self, key: str, event: DatasetValidated) -> None:
        # A redelivered older event must not replace what a newer one wrote.
        current = self._read(key, DatasetValidated)
        if current is None or current.occurred_at <= event.occurred_at:
            self._write(key, event)

    def record_validated(self, event: DatasetValidated) -> None:
        # The version document and index first: latest.json may name only known versions.
        self._write_if_newer(f"{event.dataset}/versions/{event.dataset_version}.json", event)
        index = self.index(event.dataset)
        updated = index.adding(event)
        if updated is not index:
            self._write(f"{event.dataset}/index.json", updated)
        self._write_if_newer(f"{event.dataset}/latest.json", event)

    def latest(self, dataset: str) -> DatasetValidated | None:
        return self._read(f"{dataset}/latest.json", DatasetValidated)

    def validated(self, dataset: str, dataset_version: str) -> DatasetValidated | None:
        return self._read(f"{dataset}/versions/{dataset_version}.json", DatasetValidated)

    def index(self, dataset: str) -> VersionIndex:
        found = self._read(f"{dataset}/index.json", VersionIndex)
        return found if found is not None else VersionIndex(dataset=dataset)

    def record_production(self, model: ModelVersionInfo) -> None:
        self._write(f"production/{model.model_name}.json", model)

    def production(self, model_name: str) -> ModelVersionInfo | None:
        return self._read(f"production/{model_name}.json", ModelVersionInfo)

    def record_retraining(self, record: RetrainingRecord) -> None:
        self._write(f"retraining/{record.model_name}.json", record)

    def retraining(self, model_name: str) -> RetrainingRecord | None:
        return self._read(f"retraining/{model_name}.json", RetrainingRecord)
