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
    """Largest arrived file read (bytes, as stored): checked on the object's metadata before
    any byte is fetched, and again while streaming; bigger ones are rejected as ``too_large``."""
    max_decoded_bytes: int = Field(
        default=2 * 1024**3, ge=1, validation_alias="MILLRACE_INGESTION_MAX_DECODED_BYTES"
    )
    """Largest estimated in-memory size of a file once decompressed and decoded (bytes).

    Estimated before decoding, from a Parquet footer (values' count and width, uncompressed
    page sizes) or a CSV's size and its lines times columns; above it the file is rejected as
    ``too_large_decoded``. This is what stops a small, highly compressed file from exhausting
    memory."""
    max_rows: int = Field(default=10_000_000, ge=1, validation_alias="MILLRACE_INGESTION_MAX_ROWS")
    """Most data rows in a file: a Parquet footer's count, or a CSV parsed one row past it;
    above it ``too_many_rows``."""
    max_columns: int = Field(default=1000, ge=1, validation_alias="MILLRACE_INGESTION_MAX_COLUMNS")
    """Most columns in a file, from the CSV header or the Parquet footer, before any row is
    decoded; above it ``too_many_columns``."""
    max_column_name_length: int = Field(
        default=256, ge=1, validation_alias="MILLRACE_INGESTION_MAX_COLUMN_NAME_LENGTH"
    )
    """Longest column name (characters); longer ones are ``column_name_too_long``."""
    max_cell_length: int = Field(
        default=65_536, ge=1, validation_alias="MILLRACE_INGESTION_MAX_CELL_LENGTH"
    )
    """Longest text value (characters) in any cell; longer ones are ``cell_too_long``."""
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
    rejections_kept: int = Field(
        default=100, ge=1, validation_alias="MILLRACE_INGESTION_REJECTIONS_KEPT"
    )
    """Rejected arrivals kept per dataset (``GET /datasets/{name}/rejections``, the console's
    dataset page); the oldest is deleted first."""
