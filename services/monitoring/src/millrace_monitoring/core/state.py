"""What monitoring holds per promoted model version, in memory.

The version catalogue is kept in the state bucket (``versions``); the rest (partial window,
performance history) goes into its partition's checkpoint (``checkpoint``, ADR 0008).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from millrace_contracts import ModelVersionInfo

from .performance import PerformanceTracker
from .reference import Reference
from .views import DriftCheck, ReferenceStatus
from .windows import WindowBuffer

VersionKey = tuple[str, int]


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

    @classmethod
    def of(cls, info: ModelVersionInfo, promoted_as: set[str]) -> VersionState:
        return cls(
            info=info,
            promoted_as=promoted_as,
            performance=PerformanceTracker(task=info.task, policy=info.monitoring),
            window=WindowBuffer(size=info.monitoring.window_size),
        )

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
