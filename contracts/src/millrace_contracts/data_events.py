"""Events of the data side: arrival, declaration, validation, rejection."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from .common import ArtifactRef, FeatureSignature, Name, Reason, S3Uri, Sha256
from .envelope import Event, derived_event_id
from .policies import (
    DatasetDeclaration,
    DatasetSpec,
    MonitoringPolicy,
    PromotionPolicy,
    TrainingSpec,
)


class DataArrived(Event):
    """A file landed in object storage and should become a dataset version."""

    event_type = "data.arrived"

    dataset: Name = Field(description="Dataset the file belongs to.")
    uri: S3Uri = Field(description="Where the file is.")
    sha256: Sha256 | None = Field(default=None, description="Digest of the file, checked if given.")
    format: Literal["csv", "parquet"] | None = Field(
        default=None,
        description="File format; inferred from the key's suffix if null.",
        examples=["csv"],
    )
    submitted_by: str | None = Field(
        default=None, description="Who published it.", examples=["data-team"]
    )

    @property
    def partition_key(self) -> str:
        return self.dataset


def landed_arrival_id(bucket: str, key: str, etag: str) -> uuid.UUID:
    """The ``event_id`` of the arrival announcing one object version (bucket, key, ETag).

    Whoever announces a landed object (``millrace publish`` after its upload, the landing
    watcher when it lists it, either of them again) gives the same id, so ingestion takes
    every announcement of it as one arrival, one flow. ETags are compared unquoted."""
    return derived_event_id("landing", bucket, key, etag.strip('"'))


class DatasetDeclared(Event):
    """A data team declared (or updated) a dataset's contract and policies."""

    event_type = "dataset.declared"
    minor_version = 1

    declaration: DatasetDeclaration = Field(description="The full declaration.")

    @property
    def partition_key(self) -> str:
        return self.declaration.dataset


class DatasetValidated(Event):
    """An arrival passed its contract and is stored as a content-addressed version."""

    event_type = "dataset.validated"
    minor_version = 1

    dataset: Name
    dataset_version: Sha256 = Field(
        description="Content version: sha256 of the canonical Parquet bytes."
    )
    source_uri: S3Uri = Field(description="The arrived file.")
    data: ArtifactRef = Field(description="Canonical Parquet copy.")
    profile: ArtifactRef = Field(
        description="Reference profile: per-column statistics and histogram bins."
    )
    rows: int = Field(ge=0, examples=[150])
    columns: list[FeatureSignature] = Field(description="Columns and their kinds, target included.")
    spec: DatasetSpec = Field(description="The contract it was checked against.")
    spec_version: int = Field(
        ge=1, description="Version of the dataset's declaration.", examples=[1]
    )
    new_version: bool = Field(
        description="False when this content was already a version.", examples=[True]
    )
    training: TrainingSpec | None = Field(
        default=None, description="Training spec in force, if any."
    )
    promotion: PromotionPolicy | None = Field(
        default=None, description="Promotion policy in force."
    )
    monitoring: MonitoringPolicy = Field(
        default_factory=MonitoringPolicy, description="Monitoring policy in force."
    )

    @property
    def partition_key(self) -> str:
        return self.dataset


class DatasetRejected(Event):
    """An arrival broke its contract (or could not be read); nothing is trained from it."""

    event_type = "dataset.rejected"
    minor_version = 1
    """1.1: ``reasons`` may carry the codes of the input limits and the landing prefix
    (``outside_landing``, ``too_large_decoded``, ``too_many_rows``, ``too_many_columns``,
    ``column_name_too_long``, ``cell_too_long``), and a reason may stand for many problems of
    one code (``details.count``, the first ones in ``details.sample``)."""

    dataset: Name
    source_uri: S3Uri
    reasons: list[Reason] = Field(
        min_length=1,
        description=(
            "Every problem found, machine-readable; many of one code are summed up in one "
            "reason (details.count) so the event stays small."
        ),
    )

    @property
    def partition_key(self) -> str:
        return self.dataset
