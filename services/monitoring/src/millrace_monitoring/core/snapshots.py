"""Building the REST views from the monitor's state (called with its lock held)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .performance import RecentPredictions
from .seen import SeenIds
from .state import HISTORY_LIMIT, VersionKey, VersionState
from .views import (
    DriftView,
    HistoryView,
    ModelsView,
    PerformanceView,
    UnknownVersion,
    VersionDrift,
    VersionHistory,
    VersionPerformance,
    VersionSummary,
)


def _summary(state: VersionState) -> VersionSummary:
    info, reference = state.info, state.reference
    return VersionSummary(
        model_name=info.model_name,
        version=info.version,
        dataset=info.dataset,
        task=info.task,
        promoted_as=sorted(state.promoted_as),
        monitored=state.reference_error is None,
        reference_status=state.reference_status,
        reference_error=state.reference_error,
        features_checked=[f.name for f in reference.features] if reference else [],
        features_skipped=dict(reference.skipped) if reference else {},
        window_size=state.window.size,
        window_size_requested=info.monitoring.window_size,
        window_clamped=state.window_clamped,
        window_fill=state.window.fill,
        predictions_seen=state.predictions_seen,
        unmonitored_predictions=state.unmonitored,
        windows_checked=state.window.closed,
        windows_drifted=state.windows_drifted,
        labelled=state.performance.labelled,
    )


def models_view(
    states: Iterable[VersionState],
    unknown: Counter[VersionKey],
    recent: RecentPredictions,
    label_misses: Counter[str],
    seen: SeenIds[int],
) -> ModelsView:
    versions = [_summary(s) for s in sorted(states, key=lambda s: s.key)]
    return ModelsView(
        versions=versions,
        unknown_versions=[
            UnknownVersion(model_name=m, version=v, unmonitored_predictions=n)
            for (m, v), n in sorted(unknown.items())
        ],
        unmonitored_predictions=sum(unknown.values())
        + sum(v.unmonitored_predictions for v in versions),
        recent_predictions=len(recent),
        recent_capacity=recent.capacity,
        recent_evicted=recent.evicted,
        recent_per_model_capacity=recent.per_model,
        recent_by_model={m: recent.held(m) for m in sorted({v.model_name for v in versions})},
        recent_evicted_by_model=dict(sorted(recent.evicted_by_model.items())),
        label_misses=sum(label_misses.values()),
        repeated_events=seen.repeats,
    )


def _of_model(model_name: str, states: Iterable[VersionState]) -> list[VersionState]:
    return sorted((s for s in states if s.info.model_name == model_name), key=lambda s: s.key)


def drift_view(model_name: str, states: Iterable[VersionState]) -> DriftView | None:
    mine = _of_model(model_name, states)
    if not mine:
        return None
    return DriftView(
        model_name=model_name,
        versions=[
            VersionDrift(
                version=s.info.version,
                windows_checked=s.window.closed,
                windows_drifted=s.windows_drifted,
                window_size=s.window.size,
                window_fill=s.window.fill,
                latest=s.last_check,
            )
            for s in mine
        ],
    )


def performance_view(
    model_name: str, states: Iterable[VersionState], label_misses: Counter[str]
) -> PerformanceView | None:
    mine = _of_model(model_name, states)
    if not mine:
        return None
    return PerformanceView(
        model_name=model_name,
        versions=[
            VersionPerformance(
                version=s.info.version,
                task=s.info.task,
                metric=s.performance.metric,
                value=s.performance.value(),
                window=s.performance.window,
                labelled=s.performance.labelled,
                unscorable=s.performance.unscorable,
                floor=s.info.monitoring.performance_floor,
                min_labels=s.performance.policy.min_labels,
                degraded=s.performance.degraded(),
                alerts=s.performance.alerts,
            )
            for s in mine
        ],
        label_misses=label_misses[model_name],
    )


def history_view(model_name: str, states: Iterable[VersionState]) -> HistoryView | None:
    mine = _of_model(model_name, states)
    if not mine:
        return None
    return HistoryView(
        model_name=model_name,
        history_limit=HISTORY_LIMIT,
        versions=[
            VersionHistory(
                version=s.info.version,
                metric=s.performance.metric,
                floor=s.info.monitoring.performance_floor,
                drift=list(s.drift_history),
                performance=list(s.performance_history),
                distributions=list(s.distributions),
            )
            for s in mine
        ],
    )
