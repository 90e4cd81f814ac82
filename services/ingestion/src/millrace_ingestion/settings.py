"""Ingestion's configuration: the shared ``MILLRACE_*`` settings plus its own."""

from __future__ import annotations

from pathlib import Path

from millrace_shared.settings import ServiceSettings
from pydantic import Field


class IngestionSettings(ServiceSettings):
    service_name: str = "ingestion"
    """Name used in traces, logs, DLQ headers and the Kafka client id."""
    http_port: int = Field(default=8101, ge=1, le=65535)

    max_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1, validation_alias="MILLRACE_INGESTION_MAX_BYTES"
    )
    """Largest arrived file accepted (bytes); bigger ones are rejected as ``too_large``."""
    work_dir: Path | None = Field(default=None, validation_alias="MILLRACE_INGESTION_WORK_DIR")
    """Where arrived files are downloaded while being read; the system temp dir when unset."""
    profile_bins: int = Field(default=10, ge=2, validation_alias="MILLRACE_INGESTION_PROFILE_BINS")
    """Quantile bins per numeric column in the reference profile (fewer when values repeat)."""
    profile_sample_size: int = Field(
        default=5000, ge=0, validation_alias="MILLRACE_INGESTION_PROFILE_SAMPLE_SIZE"
    )
    """Values per numeric column kept in the profile for two-sample tests."""
    profile_seed: int = Field(default=0, validation_alias="MILLRACE_INGESTION_PROFILE_SEED")
    """Seed of the profile's random sample, so a version's profile is reproducible."""
    max_signature_categories: int = Field(
        default=1000, ge=1, validation_alias="MILLRACE_INGESTION_MAX_SIGNATURE_CATEGORIES"
    )
    """Above this many distinct values a column's signature lists no categories (ids, text)."""
