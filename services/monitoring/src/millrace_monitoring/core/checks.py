"""The two judgements, each in its span: a closed window's drift and a version's performance."""

from __future__ import annotations

from millrace_contracts import (
    DriftDetected,
    DriftWindow,
    LabelsObserved,
    PerformanceDegraded,
    PredictionsLogged,
    caused_by,
)
from millrace_shared.telemetry import Attr
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from .distributions import distributions
from .drift import check_window
from .state import VersionState
from .views import DriftCheck, DriftPoint, PerformancePoint
from .windows import ClosedWindow

METRIC_VALUE = "millrace.metric.value"
"""Span attribute: the live metric's value (a name not in ``millrace_shared.telemetry.Attr``)."""
LABELLED = "millrace.labelled"
"""Span attribute: labels the live metric is computed over."""


def judge_window(
    state: VersionState,
    window: ClosedWindow,
    cause: PredictionsLogged,
    *,
    tracer: Tracer,
    producer: str,
) -> DriftDetected | None:
    """Check ``window`` against the version's reference; a DriftDetected if a feature drifted.

    Its id derives from the event that closed the window plus (model, version, window index),
    so a redelivered batch that closes the same window again yields the same event.
    """
    info, policy = state.info, state.info.monitoring
    assert state.reference is not None
    attributes: dict[str, AttributeValue] = {
        Attr.MODEL: info.model_name,
        Attr.MODEL_VERSION: info.version,
        Attr.WINDOW_SIZE: window.size,
    }
    with tracer.start_as_current_span("drift_check", attributes=attributes) as span:
        features = check_window(state.reference, window.values, policy)
        drifted = [f.feature for f in features if f.drifted]
        span.set_attribute(Attr.DRIFTED_FEATURES, drifted)
    span_of_window = DriftWindow(first_at=window.first_at, last_at=window.last_at, size=window.size)
    state.last_check = DriftCheck(
        window_index=window.index,
        window=span_of_window,
        drifted=bool(drifted),
        drifted_features=drifted,
        significance=policy.significance,
        features=features,
    )
    state.drift_history.append(
        DriftPoint(
            window_index=window.index,
            last_at=window.last_at,
            drifted=bool(drifted),
            drifted_features=drifted,
            features=features,
        )
    )
    state.distributions = distributions(state.reference, window.values)
    if not drifted:
        return None
    state.windows_drifted += 1
    salt = f"{info.model_name}/{info.version}/{window.index}"
    return DriftDetected(
        **caused_by(DriftDetected, cause, producer=producer, salt=salt),
        model_name=info.model_name,
        model_version=info.version,
        dataset=info.dataset,
        window=span_of_window,
        features=features,
        drifted_features=drifted,
        significance=policy.significance,
    )


def judge_performance(
    state: VersionState, cause: LabelsObserved, *, tracer: Tracer, producer: str
) -> PerformanceDegraded | None:
    """The version's live metric after ``cause``'s labels; a PerformanceDegraded when due."""
    info, tracker = state.info, state.performance
    attributes: dict[str, AttributeValue] = {
        Attr.MODEL: info.model_name,
        Attr.MODEL_VERSION: info.version,
        Attr.METRIC: tracker.metric,
        LABELLED: tracker.window,
    }
    with tracer.start_as_current_span("performance_check", attributes=attributes) as span:
        value = tracker.value()
        if value is not None:
            span.set_attribute(METRIC_VALUE, value)
        alert = tracker.should_alert()
    if value is not None:
        state.performance_history.append(
            PerformancePoint(
                at=cause.occurred_at,
                labelled=tracker.labelled,
                value=value,
                degraded=tracker.degraded(),
            )
        )
    if not alert or value is None or info.monitoring.performance_floor is None:
        return None
    salt = f"{info.model_name}/{info.version}/{tracker.alerts}"
    return PerformanceDegraded(
        **caused_by(PerformanceDegraded, cause, producer=producer, salt=salt),
        model_name=info.model_name,
        model_version=info.version,
        dataset=info.dataset,
        metric=tracker.metric,
        value=value,
        floor=info.monitoring.performance_floor,
        labelled=tracker.window,
    )
