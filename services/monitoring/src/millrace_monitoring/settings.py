"""Monitoring's configuration: the shared ``MILLRACE_*`` settings plus its own."""

from __future__ import annotations

from millrace_shared.settings import ServiceSettings
from pydantic import Field

from .core.state import DEFAULT_MAX_WINDOW


class MonitoringSettings(ServiceSettings):
    service_name: str = "monitoring"
    """Name used in traces, logs, DLQ headers and the Kafka client id."""
    http_port: int = Field(default=8105, ge=1, le=65535)

    max_records: int = Field(default=500, ge=1, validation_alias="MILLRACE_MONITORING_MAX_RECORDS")
    """Most Kafka records (prediction logs and label batches) handled as one consumer batch."""
    batch_timeout_ms: int = Field(
        default=200, ge=0, validation_alias="MILLRACE_MONITORING_BATCH_TIMEOUT_MS"
    )
    """How long the consumer waits to fill a batch before handling what it has."""
    recent_predictions: int = Field(
        default=200_000, ge=1, validation_alias="MILLRACE_MONITORING_RECENT_PREDICTIONS"
    )
    """Predictions remembered (id -> model, version, output) for joining late labels; the
    oldest is forgotten first, and a label arriving after that counts as a miss."""
    recent_predictions_per_model: int = Field(
        default=50_000, ge=1, validation_alias="MILLRACE_MONITORING_RECENT_PREDICTIONS_PER_MODEL"
    )
    """Of those, most held for one model: its oldest are forgotten first (counted per model in
    ``GET /models``), so one model's flood cannot evict the others' pending joins."""
    max_window_size: int = Field(
        default=DEFAULT_MAX_WINDOW, ge=20, validation_alias="MILLRACE_MONITORING_MAX_WINDOW_SIZE"
    )
    """Largest drift window (and performance label span) held per model version; a promotion
    asking more is clamped to it (``window_clamped`` in ``GET /models``), since a model
    promoted is better monitored with a smaller window than not at all."""
    seen_events: int = Field(
        default=100_000, ge=1, validation_alias="MILLRACE_MONITORING_SEEN_EVENTS"
    )
    """Event ids remembered to drop redelivered prediction and label events."""
    reference_max_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, validation_alias="MILLRACE_MONITORING_REFERENCE_MAX_BYTES"
    )
    """Largest reference profile loaded; a bigger one leaves its version unmonitored."""
    checkpoint_seconds: float = Field(
        default=5.0, ge=0, validation_alias="MILLRACE_MONITORING_CHECKPOINT_SECONDS"
    )
    """Least time between two checkpoints of the live state (after a batch); 0 checkpoints
    every batch. A kill re-reads at most what came since the last one."""
    archive_retention_days: int = Field(
        default=30, ge=0, validation_alias="MILLRACE_MONITORING_ARCHIVE_RETENTION_DAYS"
    )
    """Days of logged predictions kept in the prediction archive (``GET /predictions/{id}``,
    ``millrace lineage``); older days are deleted hourly. 0 keeps them forever."""
    archive_buffer_rows: int = Field(
        default=100_000, ge=0, validation_alias="MILLRACE_MONITORING_ARCHIVE_BUFFER_ROWS"
    )
    """Most logged predictions held in memory for the prediction archive until their
    partition's checkpoint writes them. Reaching it, monitoring writes them at once, and while
    S3 refuses the write it stops consuming (``/health/ready`` 503 naming ``s3``) until S3
    takes them: nothing is dropped, memory stays bounded. 0 leaves the buffer unbounded."""
