"""What the REST API shows: snapshots of the monitor's state, as response models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from millrace_contracts import DriftWindow, FeatureDrift
from pydantic import BaseModel, Field

ReferenceStatus = Literal["not_loaded", "loaded", "failed"]


class VersionSummary(BaseModel):
    model_name: str
    version: int
    dataset: str
    task: str
    promoted_as: list[str]
    monitored: bool = Field(description="False when its reference profile could not be used.")
    reference_status: ReferenceStatus
    reference_error: str | None
    features_checked: list[str]
    features_skipped: dict[str, str]
    window_size: int
    window_size_requested: int = Field(
        description="The promotion's window; above MILLRACE_MONITORING_MAX_WINDOW_SIZE it is "
        "clamped to that (window_size)."
    )
    window_clamped: bool
    window_fill: int = Field(description="Predictions in the current, unfinished window.")
    predictions_seen: int
    unmonitored_predictions: int = Field(description="Seen while no reference was usable.")
    windows_checked: int
    windows_drifted: int
    labelled: int


class UnknownVersion(BaseModel):
    model_name: str
    version: int
    unmonitored_predictions: int = Field(description="Predictions of a never-promoted version.")


class ModelsView(BaseModel):
    versions: list[VersionSummary]
    unknown_versions: list[UnknownVersion]
    unmonitored_predictions: int = Field(description="Total over unknown and failed versions.")
    recent_predictions: int = Field(description="Predictions held for joining labels.")
    recent_capacity: int
    recent_evicted: int
    recent_per_model_capacity: int
    recent_by_model: dict[str, int] = Field(description="Predictions held, per model.")
    recent_evicted_by_model: dict[str, int] = Field(
        description="Forgotten (oldest first) before a label came, per model."
    )
    label_misses: int = Field(description="Labels whose prediction was unknown or forgotten.")
    repeated_events: int = Field(description="Redelivered events dropped by id.")


class DriftCheck(BaseModel):
    window_index: int
    window: DriftWindow
    drifted: bool
    drifted_features: list[str]
    significance: float
    features: list[FeatureDrift]


class VersionDrift(BaseModel):
    version: int
    windows_checked: int
    windows_drifted: int
    window_size: int
    window_fill: int
    latest: DriftCheck | None


class DriftView(BaseModel):
    model_name: str
    versions: list[VersionDrift]


class VersionPerformance(BaseModel):
    version: int
    task: str
    metric: str
    value: float | None = Field(description="Over the most recent `window` labelled predictions.")
    window: int
    labelled: int = Field(description="Labels joined since start.")
    unscorable: int
    floor: float | None = Field(description="A maximum for error metrics (mae).")
    min_labels: int
    degraded: bool
    alerts: int


class PerformanceView(BaseModel):
    model_name: str
    versions: list[VersionPerformance]
    label_misses: int


class DriftPoint(BaseModel):
    """One checked window, kept in a version's bounded history."""

    window_index: int
    last_at: datetime
    drifted: bool
    drifted_features: list[str]
    features: list[FeatureDrift]


class PerformancePoint(BaseModel):
    """The live metric after one batch of labels, kept in a version's bounded history."""

    at: datetime = Field(description="When the labels were observed.")
    labelled: int
    value: float
    degraded: bool


class Distribution(BaseModel):
    """One feature's reference profile and latest checked window over the same bins."""

    feature: str
    kind: str
    bins: list[str] = Field(description="Numeric: '(lo, hi]' per bin; categorical: categories.")
    reference: list[float] = Field(description="Share of the reference in each bin.")
    current: list[float] = Field(description="Share of the latest checked window in each bin.")


class VersionHistory(BaseModel):
    version: int
    metric: str
    floor: float | None
    drift: list[DriftPoint] = Field(description="Checked windows, oldest first (bounded).")
    performance: list[PerformancePoint] = Field(description="Oldest first (bounded).")
    distributions: list[Distribution]


class HistoryView(BaseModel):
    model_name: str
    history_limit: int = Field(description="Points kept per version and series.")
    versions: list[VersionHistory]
