"""Training's configuration: the shared ``MILLRACE_*`` settings plus its own."""

from __future__ import annotations

from millrace_shared.settings import ServiceSettings
from pydantic import Field


class TrainingSettings(ServiceSettings):
    service_name: str = "training"
    """Name used in traces, logs, DLQ headers and the consumer group (``millrace-training``)."""
    http_port: int = Field(default=8102, ge=1, le=65535)

    max_poll_interval_ms: int = Field(
        default=30 * 60 * 1000, ge=1000, validation_alias="MILLRACE_TRAINING_MAX_POLL_INTERVAL_MS"
    )
    """Longest a training subscriber may spend on one event (a fit, or waiting for another
    fit) before Kafka deems it gone and rebalances. Heartbeats keep flowing meanwhile, since
    fits run off the event loop; this bounds only the time between two polls."""
    max_training_rows: int | None = Field(
        default=None, ge=2, validation_alias="MILLRACE_TRAINING_MAX_TRAINING_ROWS"
    )
    """Cap on the rows a model is fitted on: a seeded sample of the training part. The holdout
    is never capped, so its identity stays (version, seed, fraction). Unset: no cap."""
    model_cache_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=0,
        validation_alias="MILLRACE_TRAINING_MODEL_CACHE_MAX_BYTES",
    )
    """The last model stored or loaded stays in memory, so the next run can judge it as the
    champion without deserialising its artifact again, if the artifact is at most this big.
    0 keeps none."""
