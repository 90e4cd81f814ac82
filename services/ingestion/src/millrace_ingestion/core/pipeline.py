"""The use case: an arrived file becomes a validated, versioned dataset, or a rejection."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from millrace_contracts import (
    ColumnProfile,
    DataArrived,
    DatasetProfile,
    DatasetRejected,
    DatasetSpec,
    DatasetValidated,
    Reason,
    caused_by,
)
from millrace_contracts.envelope import utc_now
from millrace_shared.messaging.publishing import DEFAULT_MAX_EVENT_BYTES, encoded_size
from millrace_shared.objectstore import ObjectStore
from millrace_shared.telemetry import Attr
from opentelemetry import trace
from opentelemetry.trace import Tracer
from opentelemetry.util.types import Attributes

from .canonical import canonical_parquet, content_version
from .columns import signatures
from .declarations import DeclarationRecord, DeclarationStore
from .inference import infer_spec
from .limits import InputLimits, landing_violation
from .profiling import ProfileOptions, profile_columns
from .reading import read_arrival
from .reasons import codes, condense
from .rejections import RejectionStore
from .validation import Checked, validate
from .versions import ColumnCheck, ValidationReport, VersionRecord, VersionStore

logger = logging.getLogger("millrace.ingestion")

NEW_VERSION_ATTR = "millrace.dataset.new_version"
"""Span attribute: whether the content was a new version (not in ``Attr``, ingestion's own)."""

Outcome = DatasetValidated | DatasetRejected


@dataclass(frozen=True)
class IngestionConfig:
    producer: str
    max_bytes: int
    landing_bucket: str = "millrace-landing"
    """Only ``s3://<landing_bucket>/<dataset>/...`` is read."""
    limits: InputLimits = field(default_factory=InputLimits)
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    """A rejection is cut down to fit this (the sink refuses bigger events)."""
    work_dir: Path | None = None
    profile: ProfileOptions = field(default_factory=ProfileOptions)
    max_signature_categories: int = 1000


class Ingestion:
    def __init__(
        self,
        *,
        store: ObjectStore,
        declarations: DeclarationStore,
        versions: VersionStore,
        config: IngestionConfig,
        tracer: Tracer,
        clock: Callable[[], datetime] = utc_now,
        rejections: RejectionStore | None = None,
    ) -> None:
        self._store = store
        self._rejections = rejections
        self._declarations = declarations
        self._versions = versions
        self._config = config
        self._tracer = tracer
        self._clock = clock

    def ingest(self, arrived: DataArrived) -> Outcome:
        """Idempotent: the same arrival gives the same event (id included) every time."""
        outside = landing_violation(arrived.uri, arrived.dataset, self._config.landing_bucket)
        if outside is not None:
            return self._reject(arrived, [outside])
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
        report = self._report(frame, checked, declared)
        record, new = self._store_version(arrived, checked, declared, report)
        logger.info(
            "accepted %s: version %s (%d rows, %s)",
            arrived.dataset,
            record.version[:12],
            record.rows,
            "new" if new else "already known",
        )
        return self._validated(arrived, checked, declared, spec, record, new)

    def _validated(
        self,
        arrived: DataArrived,
        checked: Checked,
        declared: DeclarationRecord,
        spec: DatasetSpec,
        record: VersionRecord,
        new: bool,
    ) -> DatasetValidated:
        """The event, with as many observed categories as fit under the event size limit."""
        max_categories = self._config.max_signature_categories
        while True:
            validated = DatasetValidated(
                **caused_by(DatasetValidated, arrived, producer=self._config.producer),
                dataset=arrived.dataset,
                dataset_version=record.version,
                source_uri=arrived.uri,
                data=record.data,
                profile=record.profile,
                rows=record.rows,
                columns=signatures(checked.frame, checked.columns, max_categories=max_categories),
                spec=declared.spec or spec,
                spec_version=declared.version,
                new_version=new,
                training=declared.declaration.training,
                promotion=declared.declaration.promotion,
                monitoring=declared.declaration.monitoring,
            )
            body = validated.model_dump_json().encode()
            if max_categories <= 1 or encoded_size(validated, body) <= self._config.max_event_bytes:
                # Still too large here means the declaration itself is: the sink refuses it
                # and says so, once.
                return validated
            # Many wide columns of many long values: a column with more distinct values than
            # the cap lists none (as ids and free text do), the setting's documented meaning.
            max_categories //= 4
            logger.info(
                "%s: signatures too large for one event, listing at most %d categories",
                arrived.dataset,
                max_categories,
            )

    def _read(self, arrived: DataArrived) -> pd.DataFrame | list[Reason]:
        attributes: Attributes = {Attr.DATASET: arrived.dataset, Attr.ARTIFACT_URI: arrived.uri}
        with self._tracer.start_as_current_span("read", attributes=attributes) as span:
            result = read_arrival(
                self._store,
                arrived,
                max_bytes=self._config.max_bytes,
                work_dir=self._config.work_dir,
                limits=self._config.limits,
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

    def _report(
        self, frame: pd.DataFrame, checked: Checked, declared: DeclarationRecord
    ) -> ValidationReport:
        spec = declared.spec
        kept = {c.name for c in checked.columns}
        return ValidationReport(
            spec_version=declared.version,
            spec_source=declared.spec_source,
            target=spec.target if spec is not None else None,
            min_rows=spec.min_rows if spec is not None else 0,
            rows_read=len(frame),
            columns=[
                ColumnCheck(
                    name=c.name, dtype=c.dtype, nulls=int(checked.frame[c.name].isna().sum())
                )
                for c in checked.columns
                if c.name in checked.frame.columns
            ],
            extra_columns_dropped=[str(n) for n in frame.columns if n not in kept],
            validated_at=self._clock(),
        )

    def _store_version(
        self,
        arrived: DataArrived,
        checked: Checked,
        declared: DeclarationRecord,
        report: ValidationReport,
    ) -> tuple[VersionRecord, bool]:
        """The version record, and whether this arrival is the one that made it."""
        # The canonical bytes (which name the version) and the profile's statistics are
        # independent work on the same frame, and Arrow's writer runs without the GIL: side by
        # side they take the longer of the two, not the sum. A known version wastes the
        # profile, which only a redelivery or a repeated upload pays.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="canonical") as pool:
            canonical = pool.submit(
                contextvars.copy_context().run, self._canonicalize, arrived, checked
            )
            columns = self._profile(arrived, checked)
            data, version = canonical.result()
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
        attributes: Attributes = {
            Attr.DATASET: arrived.dataset,
            Attr.DATASET_VERSION: version,
            Attr.ROWS: len(checked.frame),
        }
        with self._tracer.start_as_current_span("store", attributes=attributes) as span:
            profile = DatasetProfile(
                dataset=arrived.dataset,
                dataset_version=version,
                rows=len(checked.frame),
                columns=columns,
                created_at=self._clock(),
            )
            # The data's upload is mostly waiting on the network: the profile is serialised
            # and uploaded meanwhile.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload") as pool:
                data_upload = pool.submit(
                    self._store.put_bytes,
                    self._versions.data_uri(arrived.dataset, version),
                    data,
                    "application/vnd.apache.parquet",
                )
                profile_ref = self._store.put_bytes(
                    self._versions.profile_uri(arrived.dataset, version),
                    profile.model_dump_json().encode(),
                    "application/json",
                )
                data_ref = data_upload.result()
            span.set_attribute(Attr.BYTES, data_ref.size_bytes)
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
                submitted_by=arrived.submitted_by,
                validation=report,
            )
            self._versions.put(record)  # last: the version exists once its artifacts do
            return record, True

    def _canonicalize(self, arrived: DataArrived, checked: Checked) -> tuple[bytes, str]:
        """The version's canonical Parquet bytes and the content version they name."""
        attributes: Attributes = {Attr.DATASET: arrived.dataset, Attr.ROWS: len(checked.frame)}
        with self._tracer.start_as_current_span("canonicalize", attributes=attributes) as span:
            data = canonical_parquet(checked.frame, checked.columns)
            version = content_version(data)
            span.set_attribute(Attr.DATASET_VERSION, version)
            span.set_attribute(Attr.BYTES, len(data))
            return data, version

    def _profile(self, arrived: DataArrived, checked: Checked) -> list[ColumnProfile]:
        attributes: Attributes = {Attr.DATASET: arrived.dataset, Attr.ROWS: len(checked.frame)}
        with self._tracer.start_as_current_span("profile", attributes=attributes):
            return profile_columns(checked.frame, checked.columns, self._config.profile)

    def _reject(self, arrived: DataArrived, reasons: list[Reason]) -> DatasetRejected:
        logger.info("rejected %s (%s): %s", arrived.dataset, arrived.uri, ", ".join(codes(reasons)))
        rejected = self._rejection(arrived, condense(reasons))
        if (
            encoded_size(rejected, rejected.model_dump_json().encode())
            > self._config.max_event_bytes
        ):
            # Only many distinct codes with long messages get here: one summary per code is
            # as short as a rejection can be and still say every kind of problem.
            rejected = self._rejection(arrived, condense(reasons, per_code=0))
        if self._rejections is not None:
            # Before the event is published: a failed write raises, and the redelivered
            # arrival writes the same record again.
            self._rejections.record(arrived, rejected)
        return rejected

    def _rejection(self, arrived: DataArrived, reasons: list[Reason]) -> DatasetRejected:
        return DatasetRejected(
            **caused_by(DatasetRejected, arrived, producer=self._config.producer),
            dataset=arrived.dataset,
            source_uri=arrived.uri,
            reasons=reasons,
        )
