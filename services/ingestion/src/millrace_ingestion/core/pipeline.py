"""The use case: an arrived file becomes a validated, versioned dataset, or a rejection."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from millrace_contracts import DataArrived, DatasetRejected, DatasetSpec, DatasetValidated, Reason
from millrace_shared.objectstore import ObjectStore
from millrace_shared.telemetry import Attr
from opentelemetry import trace
from opentelemetry.trace import Tracer
from opentelemetry.util.types import Attributes

from .canonical import canonical_parquet, content_version
from .columns import signatures
from .declarations import DeclarationRecord, DeclarationStore
from .inference import infer_spec
from .profiling import ProfileOptions, build_profile
from .reading import read_arrival
from .reasons import codes
from .validation import Checked, validate
from .versions import VersionRecord, VersionStore

logger = logging.getLogger("millrace.ingestion")

NEW_VERSION_ATTR = "millrace.dataset.new_version"
"""Span attribute: whether the content was a new version (not in ``Attr``, ingestion's own)."""

Outcome = DatasetValidated | DatasetRejected


@dataclass(frozen=True)
class IngestionConfig:
    producer: str
    max_bytes: int
    work_dir: Path | None = None
    profile: ProfileOptions = field(default_factory=ProfileOptions)
    max_signature_categories: int = 1000


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Ingestion:
    def __init__(
        self,
        *,
        store: ObjectStore,
        declarations: DeclarationStore,
        versions: VersionStore,
        config: IngestionConfig,
        tracer: Tracer,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._store = store
        self._declarations = declarations
        self._versions = versions
        self._config = config
        self._tracer = tracer
        self._clock = clock

    def ingest(self, arrived: DataArrived) -> Outcome:
        """Idempotent: the same arrival gives the same event (id included) every time."""
        frame = self._read(arrived)
        if isinstance(frame, list):
            return self._reject(arrived, frame)
        declared = self._declarations.current(arrived.dataset)
        checked, spec = self._validate(arrived, frame, declared)
        if not checked.accepted:
            return self._reject(arrived, checked.reasons)
        if declared is None or declared.spec is None:
            declared = self._declarations.adopt_inferred(
                arrived.dataset, spec, cause=arrived.event_id, at=self._clock()
            )
        data = canonical_parquet(checked.frame, checked.columns)
        record, new = self._store_version(arrived, checked, data, declared)
        logger.info(
            "accepted %s: version %s (%d rows, %s)",
            arrived.dataset,
            record.version[:12],
            record.rows,
            "new" if new else "already known",
        )
        return DatasetValidated.caused_by(
            arrived,
            producer=self._config.producer,
            dataset=arrived.dataset,
            dataset_version=record.version,
            source_uri=arrived.uri,
            data=record.data,
            profile=record.profile,
            rows=record.rows,
            columns=signatures(
                checked.frame,
                checked.columns,
                max_categories=self._config.max_signature_categories,
            ),
            spec=declared.spec or spec,
            spec_version=declared.version,
            new_version=new,
            training=declared.declaration.training,
            promotion=declared.declaration.promotion,
            monitoring=declared.declaration.monitoring,
        )

    def _read(self, arrived: DataArrived) -> pd.DataFrame | list[Reason]:
        attributes: Attributes = {Attr.DATASET: arrived.dataset, Attr.ARTIFACT_URI: arrived.uri}
        with self._tracer.start_as_current_span("read", attributes=attributes) as span:
            result = read_arrival(
                self._store,
                arrived,
                max_bytes=self._config.max_bytes,
                work_dir=self._config.work_dir,
            )
            span.set_attribute(Attr.BYTES, result.size_bytes)
            if result.frame is None:
                span.set_attribute(Attr.REASON_CODES, codes(result.reasons))
                return result.reasons
            span.set_attribute(Attr.ROWS, len(result.frame))
            return result.frame

    def _validate(
        self, arrived: DataArrived, frame: pd.DataFrame, declared: DeclarationRecord | None
    ) -> tuple[Checked, DatasetSpec]:
        attributes: Attributes = {Attr.DATASET: arrived.dataset, Attr.ROWS: len(frame)}
        with self._tracer.start_as_current_span("validate", attributes=attributes) as span:
            spec = declared.spec if declared is not None else None
            if spec is None:
                # No contract yet: this arrival's own shape becomes it, if it is acceptable.
                training = declared.declaration.training if declared is not None else None
                spec = infer_spec(frame, target=training.target if training else None)
            checked = validate(frame, spec)
            span.set_attribute(Attr.REASON_CODES, codes(checked.reasons))
            return checked, spec

    def _store_version(
        self, arrived: DataArrived, checked: Checked, data: bytes, declared: DeclarationRecord
    ) -> tuple[VersionRecord, bool]:
        """The version record, and whether this arrival is the one that made it."""
        version = content_version(data)
        existing = self._versions.get(arrived.dataset, version)
        # On the handler's span: one place to see which version a flow produced.
        flow = trace.get_current_span()
        flow.set_attribute(Attr.DATASET_VERSION, version)
        if existing is not None:
            # A redelivery of the arrival that made the version must say "new" again.
            new = existing.created_by == arrived.event_id
            flow.set_attribute(NEW_VERSION_ATTR, new)
            return existing, new
        flow.set_attribute(NEW_VERSION_ATTR, True)
        profile_json = self._profile(arrived, checked, version)
        attributes: Attributes = {
            Attr.DATASET: arrived.dataset,
            Attr.DATASET_VERSION: version,
            Attr.ROWS: len(checked.frame),
        }
        with self._tracer.start_as_current_span("store", attributes=attributes) as span:
            data_ref = self._store.put_bytes(
                self._versions.data_uri(arrived.dataset, version),
                data,
                "application/vnd.apache.parquet",
            )
            span.set_attribute(Attr.BYTES, data_ref.size_bytes)
            profile_ref = self._store.put_bytes(
                self._versions.profile_uri(arrived.dataset, version),
                profile_json,
                "application/json",
            )
            record = VersionRecord(
                dataset=arrived.dataset,
                version=version,
                rows=len(checked.frame),
                created_at=self._clock(),
                created_by=arrived.event_id,
                source_uri=arrived.uri,
                spec_version=declared.version,
                data=data_ref,
                profile=profile_ref,
            )
            self._versions.put(record)  # last: the version exists once its artifacts do
            return record, True

    def _profile(self, arrived: DataArrived, checked: Checked, version: str) -> bytes:
        attributes: Attributes = {
            Attr.DATASET: arrived.dataset,
            Attr.DATASET_VERSION: version,
            Attr.ROWS: len(checked.frame),
        }
        with self._tracer.start_as_current_span("profile", attributes=attributes):
            profile = build_profile(
                checked.frame,
                checked.columns,
                dataset=arrived.dataset,
                version=version,
                created_at=self._clock(),
                options=self._config.profile,
            )
            return profile.model_dump_json().encode()

    def _reject(self, arrived: DataArrived, reasons: list[Reason]) -> DatasetRejected:
        logger.info("rejected %s (%s): %s", arrived.dataset, arrived.uri, ", ".join(codes(reasons)))
        return DatasetRejected.caused_by(
            arrived,
            producer=self._config.producer,
            dataset=arrived.dataset,
            source_uri=arrived.uri,
            reasons=reasons,
        )
