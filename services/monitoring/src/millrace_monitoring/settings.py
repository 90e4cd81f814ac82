"""Monitoring's configuration: the shared ``MILLRACE_*`` settings plus its own."""

from __future__ import annotations

from millrace_shared.settings import ServiceSettings
from pydantic import Field


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
