"""The durable form of part of the monitor's state: what a checkpoint of one partition holds.

A partition's checkpoint is the state of the models whose events arrive on that partition
(both live topics are keyed by model name with the same partition count), the offsets that
state covers, and the events decided from it but not yet published. It is JSON (no pickle:
the state bucket is read back into a running service). Reference profiles are not in it:
they are loaded again from the store, as after any start.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from typing import Literal

import numpy as np
from millrace_contracts import DriftDetected, ModelVersionInfo, PerformanceDegraded
from millrace_contracts.common import ScalarValue
from pydantic import BaseModel, Field

from .performance import Served
from .state import VersionState
from .views import Distribution, DriftCheck, DriftPoint, PerformancePoint
from .windows import OpenWindow


class WindowCheckpoint(BaseModel):
    closed: int = Field(description="Windows closed before; the open window's index.")
    fill: int
    numeric: dict[str, list[float | None]] = Field(description="NaN (missing) as null.")
    categorical: dict[str, list[str | None]]
    first_at: datetime | None
    last_at: datetime | None

    @classmethod
    def of(cls, window: OpenWindow) -> WindowCheckpoint:
        return cls(
            closed=window.closed,
            fill=window.fill,
            numeric={
                k: [None if math.isnan(x) else x for x in v.tolist()]
                for k, v in window.numeric.items()
            },
            categorical=window.categorical,
            first_at=window.first,
            last_at=window.last,
        )

    def open_window(self) -> OpenWindow:
        return OpenWindow(
            closed=self.closed,
            fill=self.fill,
            numeric={
                k: np.array([math.nan if x is None else x for x in v], dtype=np.float64)
                for k, v in self.numeric.items()
            },
            categorical=self.categorical,
            first=self.first_at,
            last=self.last_at,
        )


class PerformanceCheckpoint(BaseModel):
    labelled: int
    unscorable: int
    alerts: int
    scores: list[float]
    since_alert: int | None


class VersionCheckpoint(BaseModel):
    info: ModelVersionInfo
    promoted_as: list[str]
    window: WindowCheckpoint
    performance: PerformanceCheckpoint
    predictions_seen: int
    unmonitored: int
    windows_drifted: int
    last_check: DriftCheck | None
    # Defaults: a checkpoint written before the history existed still loads.
    drift_history: list[DriftPoint] = Field(default_factory=list)
    performance_history: list[PerformancePoint] = Field(default_factory=list)
    distributions: list[Distribution] = Field(default_factory=list)

    @classmethod
    def of(cls, state: VersionState) -> VersionCheckpoint:
        tracker = state.performance
        return cls(
            info=state.info,
            promoted_as=sorted(state.promoted_as),
            window=WindowCheckpoint.of(state.window.open_window()),
            performance=PerformanceCheckpoint(
                labelled=tracker.labelled,
                unscorable=tracker.unscorable,
                alerts=tracker.alerts,
                scores=tracker.scores,
                since_alert=tracker.since_alert,
            ),
            predictions_seen=state.predictions_seen,
            unmonitored=state.unmonitored,
            windows_drifted=state.windows_drifted,
            last_check=state.last_check,
            drift_history=list(state.drift_history),
            performance_history=list(state.performance_history),
            distributions=state.distributions,
        )

    def apply(self, state: VersionState) -> None:
        """Put this checkpoint's progress into ``state`` (a state of the same version info)."""
        state.window.restore(self.window.open_window())
        p = self.performance
        state.performance.restore(
            labelled=p.labelled,
            unscorable=p.unscorable,
            alerts=p.alerts,
            scores=p.scores,
            since_alert=p.since_alert,
        )
        state.predictions_seen = self.predictions_seen
        state.unmonitored = self.unmonitored
        state.windows_drifted = self.windows_drifted
        state.last_check = self.last_check
        state.drift_history.extend(self.drift_history)
        state.performance_history.extend(self.performance_history)
        state.distributions = list(self.distributions)
        state.promoted_as.update(self.promoted_as)


class RecentColumns(BaseModel):
    """One model's remembered predictions, oldest first, column by column: a list of objects
    per prediction would make a full memory (200k) take seconds to write and read."""

    prediction_ids: list[str] = Field(default_factory=list)
    versions: list[int] = Field(default_factory=list)
    outputs: list[ScalarValue] = Field(default_factory=list)

    def served(self, model_name: str) -> Iterator[tuple[str, Served]]:
        for prediction_id, version, output in zip(
            self.prediction_ids, self.versions, self.outputs, strict=True
        ):
            yield prediction_id, Served(model_name, version, output)


def recent_columns(
    items: Iterable[tuple[str, Served]], models: Collection[str]
) -> dict[str, RecentColumns]:
    """The remembered predictions of ``models``, per model, column by column."""
    ids: dict[str, list[str]] = {}
    versions: dict[str, list[int]] = {}
    outputs: dict[str, list[ScalarValue]] = {}
    for prediction_id, (model, version, output) in items:
        if model in models:
            if model not in ids:
                ids[model], versions[model], outputs[model] = [], [], []
            ids[model].append(prediction_id)
            versions[model].append(version)
            outputs[model].append(output)
    return {
        m: RecentColumns(prediction_ids=ids[m], versions=versions[m], outputs=outputs[m])
        for m in ids
    }


def seen_by_model(items: Iterable[tuple[int, str]], models: Collection[str]) -> dict[str, str]:
    """The seen event ids of ``models``, per model, ``pack_ids``."""
    ids: dict[str, list[int]] = {}
    for event_id, model in items:
        if model in models:
            ids.setdefault(model, []).append(event_id)
    return {model: pack_ids(of_model) for model, of_model in ids.items()}


def pack_ids(ids: Iterable[int]) -> str:
    """128-bit event ids as base64 of 16 bytes each, a tenth of the size of JSON numbers."""
    return base64.b64encode(b"".join(i.to_bytes(16, "big") for i in ids)).decode("ascii")


def unpack_ids(packed: str) -> list[int]:
    raw = base64.b64decode(packed, validate=True)
    return [int.from_bytes(raw[i : i + 16], "big") for i in range(0, len(raw), 16)]


class MonitorPart(BaseModel):
    """The monitor's state for some models (those of one partition).

    Remembered predictions and seen ids are kept per model: their order across models is not
    (it only decides which model's oldest entry a full memory forgets first).
    """

    models: list[str]
    versions: list[VersionCheckpoint] = Field(default_factory=list)
    unknown: dict[str, dict[int, int]] = Field(
        default_factory=dict, description="model -> never-promoted version -> predictions"
    )
    label_misses: dict[str, int] = Field(default_factory=dict)
    recent: dict[str, RecentColumns] = Field(default_factory=dict)
    seen: dict[str, str] = Field(
        default_factory=dict, description="model -> its seen event ids, ``pack_ids``, oldest first"
    )

    def recent_items(self) -> Iterator[tuple[str, Served]]:
        for model, columns in self.recent.items():
            yield from columns.served(model)

    def seen_items(self) -> Iterator[tuple[int, str]]:
        for model, packed in self.seen.items():
            for event_id in unpack_ids(packed):
                yield event_id, model


class PartitionCheckpoint(BaseModel):
    format: Literal[1] = 1
    partition: int
    offsets: dict[str, int] = Field(
        description="topic -> the next offset to read on this partition: everything before it "
        "is reflected in the state."
    )
    state: MonitorPart
    outbox_drift: list[DriftDetected] = Field(default_factory=list)
    outbox_degraded: list[PerformanceDegraded] = Field(default_factory=list)
    written_at: datetime
