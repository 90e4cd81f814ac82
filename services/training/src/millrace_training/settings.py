"""Training's configuration: the shared ``MILLRACE_*`` settings plus its own."""

from __future__ import annotations

from millrace_shared.settings import ServiceSettings
from pydantic import Field, field_validator

from .core.compute import parse_cluster
from .core.limits import TrainingLimits

_LIMITS = TrainingLimits()


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

    training_cluster: str | None = Field(default=None, validation_alias="MILLRACE_TRAINING_CLUSTER")
    """Where the AutoML search's folds and the final fit run: ``dask://host:8786`` (a Dask
    scheduler; needs ``millrace-training[dask]`` here and on the workers). Unset: in this
    process. An unreachable cluster is a transient fault: the job waits (``dask`` degraded)."""

    @field_validator("training_cluster")
    @classmethod
    def _cluster_url(cls, value: str | None) -> str | None:
        if value:
            parse_cluster(value)  # a wrong scheme or address fails at start, not per job
        return value or None

    # Limits of one job (core.limits says why search limits clamp and model limits refuse).
    automl_max_seconds: float = Field(
        default=_LIMITS.automl_max_seconds,
        gt=0,
        validation_alias="MILLRACE_TRAINING_AUTOML_MAX_SECONDS",
    )
    """Ceiling on an AutoML spec's ``time_budget_seconds`` (a larger budget is clamped); the
    search keeps the best candidate found when it runs out."""
    automl_max_candidates: int = Field(
        default=_LIMITS.automl_max_candidates,
        ge=1,
        validation_alias="MILLRACE_TRAINING_AUTOML_MAX_CANDIDATES",
    )
    """Most candidates (estimator, parameters) one AutoML search cross-validates; then the
    best so far wins."""
    max_n_estimators: int = Field(
        default=_LIMITS.max_n_estimators,
        ge=1,
        validation_alias="MILLRACE_TRAINING_MAX_N_ESTIMATORS",
    )
    """Largest ``n_estimators`` (trees) a spec may declare; above it the run fails with
    ``parameter_out_of_bounds``. AutoML's own points are clamped to it."""
    max_depth: int = Field(
        default=_LIMITS.max_depth, ge=1, validation_alias="MILLRACE_TRAINING_MAX_DEPTH"
    )
    """Largest ``max_depth`` a spec may declare (same rule)."""
    max_iter: int = Field(
        default=_LIMITS.max_iter, ge=1, validation_alias="MILLRACE_TRAINING_MAX_ITER"
    )
    """Largest ``max_iter`` a spec may declare (same rule)."""
    max_artifact_bytes: int = Field(
        default=_LIMITS.max_artifact_bytes,
        ge=1,
        validation_alias="MILLRACE_TRAINING_MAX_ARTIFACT_BYTES",
    )
    """Largest serialised model uploaded; a bigger one is not stored and the run fails with
    ``artifact_too_large`` (no ``model.trained``)."""

    def limits(self) -> TrainingLimits:
        return TrainingLimits(
            automl_max_seconds=self.automl_max_seconds,
            automl_max_candidates=self.automl_max_candidates,
            max_n_estimators=self.max_n_estimators,
            max_depth=self.max_depth,
            max_iter=self.max_iter,
            max_artifact_bytes=self.max_artifact_bytes,
        )
