"""Late labels joined to recent predictions: accuracy, MAE, the floor, bounded memory."""

from __future__ import annotations

from millrace_contracts import ArtifactRef, MonitoringPolicy, PerformanceDegraded
from millrace_monitoring.core.performance import (
    PerformanceTracker,
    RecentPredictions,
    Served,
    score,
)
from monitoring_support import FEATURES, MakeMonitor, labelled, logged, signature_of, version_info
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SIGNATURE = signature_of(FEATURES)
FLOORED = MonitoringPolicy(window_size=100, min_labels=10, performance_floor=0.8)


def served(n: int, outputs: list[object]) -> tuple[list[str], object]:
    ids = [f"p{i}" for i in range(n)]
    return ids, logged([{"x": 0.0, "c": "a"}] * n, outputs=outputs, ids=ids)  # type: ignore[arg-type]


def test_label_join_gives_the_right_accuracy(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor()
    monitor.learn(version_info(reference, SIGNATURE), ["production"])
    ids, batch = served(8, ["cat", "dog"] * 4)
    monitor.observe_predictions([batch])  # type: ignore[list-item]
    truth = ["cat", "dog", "dog", "dog", "cat", "cat", "cat", "cat"]  # 3rd, 6th, 8th wrong
    monitor.observe_labels([labelled(list(zip(ids, truth, strict=True)))])
    view = monitor.performance("m")
    assert view is not None
    [version] = view.versions
    assert (version.metric, version.value, version.labelled, version.window) == (
        "accuracy",
        5 / 8,
        8,
        8,
    )
    assert version.degraded is False  # no floor set


def test_regression_tracks_mae_and_its_floor_is_a_ceiling() -> None:
    policy = MonitoringPolicy(window_size=20, min_labels=2, performance_floor=1.0)
    tracker = PerformanceTracker(task="regression", policy=policy)
    tracker.add(1.0, 1.5)
    tracker.add(2.0, 2.0)
    assert (tracker.metric, tracker.value(), tracker.degraded()) == ("mae", 0.25, False)
    tracker.add(0.0, 5.0)
    assert tracker.value() == 5.5 / 3
    assert tracker.degraded()  # higher error is worse


def test_the_performance_floor_emits_once_then_waits_a_full_span_of_labels(
    make_monitor: MakeMonitor, reference: ArtifactRef, spans: InMemorySpanExporter
) -> None:
    monitor = make_monitor()
    monitor.learn(version_info(reference, SIGNATURE, policy=FLOORED), ["production"])
    ids, batch = served(400, ["yes"] * 400)
    monitor.observe_predictions([batch])  # type: ignore[list-item]
    events = []
    # Labels come 10 at a time, half of them wrong: degraded from the first event on.
    for start in range(0, 300, 10):
        pairs = [(ids[i], "yes" if i % 2 else "no") for i in range(start, start + 10)]
        events += monitor.observe_labels([labelled(pairs)])
    assert len(events) == 3  # at 10 labels, then after 100 more, then 100 more
    first = events[0]
    assert isinstance(first, PerformanceDegraded)
    assert (first.metric, first.value, first.floor, first.labelled) == ("accuracy", 0.5, 0.8, 10)
    assert len({e.event_id for e in events}) == 3
    assert [s.name for s in spans.get_finished_spans()].count("performance_check") == 30


def test_labels_before_min_labels_or_without_a_floor_emit_nothing(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor()
    monitor.learn(version_info(reference, SIGNATURE, policy=FLOORED), ["production"])
    ids, batch = served(9, ["yes"] * 9)
    monitor.observe_predictions([batch])  # type: ignore[list-item]
    assert monitor.observe_labels([labelled([(i, "no") for i in ids])]) == []
    view = monitor.performance("m")
    assert view is not None and view.versions[0].value == 0.0
    assert view.versions[0].degraded is False


def test_unknown_forgotten_and_repeated_labels_are_misses(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor(recent=5)
    monitor.learn(version_info(reference, SIGNATURE), ["production"])
    ids, batch = served(8, ["a"] * 8)
    monitor.observe_predictions([batch])  # type: ignore[list-item]
    # p0..p2 were evicted (5 kept); p7 is labelled twice; "zzz" was never served.
    monitor.observe_labels([labelled([(ids[0], "a"), (ids[7], "a"), (ids[7], "a"), ("zzz", "a")])])
    view = monitor.performance("m")
    assert view is not None
    assert (view.versions[0].labelled, view.label_misses) == (1, 3)
    assert monitor.models().recent_evicted == 3


def test_recent_predictions_forget_the_oldest_first() -> None:
    recent = RecentPredictions(2)
    for pid in ("a", "b", "c"):
        recent.remember(pid, Served("m", 1, pid))
    assert recent.take("a") is None
    assert recent.take("c") == Served("m", 1, "c")
    assert (len(recent), recent.evicted) == (1, 1)


def test_scoring_compares_numbers_as_numbers_and_the_rest_as_strings() -> None:
    assert score("classification", 1, 1.0) == 1.0
    assert score("classification", True, "True") == 1.0
    assert score("classification", "1", 1) == 1.0
    assert score("classification", "a", "b") == 0.0
    assert score("regression", 2.0, "3.5") == 1.5
    assert score("regression", "x", 1.0) is None
    assert score("classification", None, "a") is None
