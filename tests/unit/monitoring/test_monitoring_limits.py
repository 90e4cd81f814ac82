"""Monitoring's memory per model is bounded: the window (clamped, and shown so) and the
predictions held for late labels (oldest first, counted per model)."""

from __future__ import annotations

import pytest
from millrace_contracts import ArtifactRef, MonitoringPolicy
from millrace_monitoring.core.performance import RecentPredictions, Served
from millrace_monitoring.settings import MonitoringSettings
from monitoring_support import FEATURES, MakeMonitor, labelled, logged, signature_of, version_info

SIGNATURE = signature_of(FEATURES)


def test_a_window_above_the_maximum_is_clamped_and_says_so(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor(max_window=50)
    policy = MonitoringPolicy(window_size=5000, min_labels=800, performance_floor=0.5)
    monitor.learn(version_info(reference, SIGNATURE, policy=policy), ["production"])
    staging = MonitoringPolicy(window_size=60)
    monitor.learn(version_info(reference, SIGNATURE, version=2, policy=staging), ["staging"])
    [big, small] = monitor.models().versions
    assert (big.window_size, big.window_size_requested, big.window_clamped) == (50, 5000, True)
    assert (small.window_size, small.window_clamped) == (50, True)
    # The performance span is bounded as well: 800 labels are never held for one version.
    ids = [f"p{i}" for i in range(120)]
    batch = logged([{"x": 0.0, "c": "a"}] * 120, outputs=["y"] * 120, ids=ids)
    monitor.observe_predictions([batch])
    monitor.observe_labels([labelled([(i, "y") for i in ids])])
    performance = monitor.performance("m")
    assert performance is not None
    assert (performance.versions[0].window, performance.versions[0].min_labels) == (50, 50)
    drift = monitor.drift("m")
    assert drift is not None and drift.versions[0].windows_checked == 2  # 120 // 50


def test_a_window_within_the_maximum_is_kept(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor(max_window=500)
    monitor.learn(version_info(reference, SIGNATURE), ["production"])
    [version] = monitor.models().versions
    assert (version.window_size, version.window_clamped) == (100, False)  # the test policy


def test_one_models_flood_does_not_evict_anothers_pending_joins() -> None:
    recent = RecentPredictions(10, per_model=3)
    recent.remember("b0", Served("b", 1, "x"))
    for i in range(6):
        recent.remember(f"a{i}", Served("a", 1, i))
    assert (recent.held("a"), recent.held("b"), len(recent)) == (3, 1, 4)
    assert recent.evicted == 3 and recent.evicted_by_model == {"a": 3}
    assert recent.take("a0") is None and recent.take("a5") == Served("a", 1, 5)
    assert recent.take("b0") == Served("b", 1, "x")


def test_the_overall_capacity_still_holds_across_models() -> None:
    recent = RecentPredictions(4, per_model=3)
    for i in range(3):
        recent.remember(f"a{i}", Served("a", 1, i))
        recent.remember(f"b{i}", Served("b", 1, i))
    assert len(recent) == 4 and recent.evicted == 2
    assert recent.evicted_by_model == {"a": 1, "b": 1}


def test_the_models_view_counts_evictions_per_model(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor(per_model=5)
    monitor.learn(version_info(reference, SIGNATURE), ["production"])
    ids = [f"p{i}" for i in range(8)]
    monitor.observe_predictions([logged([{"x": 0.0, "c": "a"}] * 8, outputs=["y"] * 8, ids=ids)])
    view = monitor.models()
    assert (view.recent_per_model_capacity, view.recent_by_model) == (5, {"m": 5})
    assert view.recent_evicted_by_model == {"m": 3}


def test_the_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_MONITORING_MAX_WINDOW_SIZE", "2000")
    monkeypatch.setenv("MILLRACE_MONITORING_RECENT_PREDICTIONS_PER_MODEL", "700")
    settings = MonitoringSettings(environment="dev")
    assert (settings.max_window_size, settings.recent_predictions_per_model) == (2000, 700)
