"""What monitoring holds per promoted model version, in memory.

The version catalogue is kept in the state bucket (``versions``); the rest (partial window,
performance history) goes into its partition's checkpoint (``checkpoint``, ADR 0008).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from millrace_contracts import ModelVersionInfo, MonitoringPolicy

from .performance import PerformanceTracker
from .reference import Reference
from .views import Distribution, DriftCheck, DriftPoint, PerformancePoint, ReferenceStatus
from .windows import WindowBuffer

VersionKey = tuple[str, int]

DEFAULT_MAX_WINDOW = 10_000
HISTORY_LIMIT = 100
"""Checked windows and performance points kept per version for ``/models/{name}/history``:
bounded, as they ride in every checkpoint of the version's partition (a point of a
window holds every checked feature's scores: 100 of 20 features are ~400 kB of JSON)."""


def bounded(policy: MonitoringPolicy, max_window: int) -> MonitoringPolicy:
    """The policy with its window (drift) and label span (performance) at most ``max_window``.

    Clamped rather than refused: a refusal would leave a promoted model unmonitored, while a
    smaller window is still a sound drift test, checked more often. The view shows both.
    """
    return policy.model_copy(
        update={
            "window_size": min(policy.window_size, max_window),
            "min_labels": min(policy.min_labels, max_window),
        }
    )


@dataclass
class VersionState:
    info: ModelVersionInfo
    promoted_as: set[str]
    performance: PerformanceTracker
    window: WindowBuffer
    reference: Reference | None = None
    reference_error: str | None = None
    predictions_seen: int = 0
    unmonitored: int = 0
    windows_drifted: int = 0
    last_check: DriftCheck | None = field(default=None)
    drift_history: deque[DriftPoint] = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))
    performance_history: deque[PerformancePoint] = field(
        default_factory=lambda: deque(maxlen=HISTORY_LIMIT)
    )
    distributions: list[Distribution] = field(default_factory=list)
    """The reference and the latest checked window, per feature, over the same bins."""

    @classmethod
    def of(
        cls, info: ModelVersionInfo, promoted_as: set[str], max_window: int = DEFAULT_MAX_WINDOW
    ) -> VersionState:
        policy = bounded(info.monitoring, max_window)
        return cls(
            info=info,
            promoted_as=promoted_as,
            performance=PerformanceTracker(task=info.task, policy=policy),
            window=WindowBuffer(size=policy.window_size),
        )

    @property
    def window_clamped(self) -> bool:
        """Whether the promotion asked for a larger window than the service allows."""
        return self.window.size < self.info.monitoring.window_size

    @property
    def key(self) -> VersionKey:
        return (self.info.model_name, self.info.version)

    @property
    def needs_reference(self) -> bool:
        return self.reference is None and self.reference_error is None

    @property
    def reference_status(self) -> ReferenceStatus:
        if self.reference is not None:
            return "loaded"
        return "failed" if self.reference_error is not None else "not_loaded"
