"""A version's drift and performance history stays bounded, and a checkpoint written before
the history existed still loads (with an empty one)."""

from __future__ import annotations

from datetime import UTC, datetime

from millrace_contracts import ArtifactRef
from millrace_monitoring.core.checkpoint import VersionCheckpoint
from millrace_monitoring.core.state import HISTORY_LIMIT, VersionState
from millrace_monitoring.core.views import DriftPoint, PerformancePoint
from monitoring_support import FEATURES, signature_of, version_info

REFERENCE = ArtifactRef(uri="s3://millrace-models/m/profile.json", sha256="0" * 64, size_bytes=1)
AT = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_history_keeps_the_newest_points_only() -> None:
    state = VersionState.of(version_info(REFERENCE, signature_of(FEATURES)), {"production"})
    for i in range(HISTORY_LIMIT + 25):
        state.drift_history.append(
            DriftPoint(window_index=i, last_at=AT, drifted=False, drifted_features=[], features=[])
        )
        state.performance_history.append(
            PerformancePoint(at=AT, labelled=i, value=0.9, degraded=False)
        )
    assert len(state.drift_history) == len(state.performance_history) == HISTORY_LIMIT
    assert state.drift_history[0].window_index == 25
    restored = VersionState.of(state.info, set())
    VersionCheckpoint.model_validate_json(VersionCheckpoint.of(state).model_dump_json()).apply(
        restored
    )
    assert list(restored.drift_history) == list(state.drift_history)
    assert restored.drift_history.maxlen == HISTORY_LIMIT


def test_a_checkpoint_without_history_loads() -> None:
    state = VersionState.of(version_info(REFERENCE, signature_of(FEATURES)), {"production"})
    written = VersionCheckpoint.of(state).model_dump(mode="json")
    for field in ("drift_history", "performance_history", "distributions"):
        del written[field]
    restored = VersionState.of(state.info, set())
    VersionCheckpoint.model_validate(written).apply(restored)
    assert not restored.drift_history and not restored.distributions
