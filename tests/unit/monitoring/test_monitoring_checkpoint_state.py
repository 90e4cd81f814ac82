"""A model's state exported for a checkpoint and restored in another monitor goes on as if the
monitor had never stopped: same window, same drift event id, same pending label joins."""

from __future__ import annotations

import numpy as np
from millrace_contracts import ArtifactRef, DriftDetected, MonitoringPolicy, PerformanceDegraded
from millrace_contracts.common import ScalarValue
from millrace_monitoring.core.checkpoint import MonitorPart
from millrace_monitoring.core.monitor import Monitor
from monitoring_support import FEATURES, MakeMonitor, labelled, logged, signature_of, version_info

SIGNATURE = signature_of(FEATURES)
POLICY = MonitoringPolicy(window_size=50, min_labels=4, performance_floor=0.9)


def rows(n: int, *, shift: float = 0.0, seed: int = 0) -> list[dict[str, ScalarValue]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    c = rng.choice(np.array(["a", "b"]), n)
    out: list[dict[str, ScalarValue]] = [{"x": float(x[i]), "c": str(c[i])} for i in range(n)]
    if n > 3:
        out[3] = {"x": None, "c": None}  # missing values travel as null and come back missing
    return out


def round_trip(part: MonitorPart) -> MonitorPart:
    return MonitorPart.model_validate_json(part.model_dump_json())


def test_a_restored_window_closes_one_prediction_later_with_the_same_drift_event(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    info = version_info(reference, SIGNATURE, policy=POLICY)
    before = logged(
        rows(49, shift=2.0, seed=1), outputs=["a"] * 49, ids=[f"p{i}" for i in range(49)]
    )
    last = logged(rows(1, shift=2.0, seed=2), outputs=["a"])
    other = logged(rows(10, seed=3), model="other")

    never_stopped = make_monitor()
    never_stopped.learn(info, ["production"])
    never_stopped.observe_predictions([before, other])
    part = round_trip(never_stopped.export({"m"}))

    restarted = make_monitor()  # knows nothing yet: the checkpoint brings the version along
    restarted.restore(part)
    [fill] = [(v.windows_checked, v.window_fill) for v in restarted.models().versions]
    assert fill == (0, 49)

    expected = never_stopped.observe_predictions([last])
    produced = restarted.observe_predictions([last])
    assert [type(e) for e in produced] == [DriftDetected]
    assert [e.event_id for e in produced] == [e.event_id for e in expected]
    assert produced[0].features == expected[0].features  # the same 50 values, missing ones too
    assert produced[0].window == expected[0].window


def test_pending_label_joins_performance_and_seen_ids_survive(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    info = version_info(reference, SIGNATURE, policy=POLICY)
    served = logged(rows(10), outputs=["a"] * 10, ids=[f"p{i}" for i in range(10)])
    first_labels = labelled([(f"p{i}", "b") for i in range(4)])  # 4 wrong: degraded, alert 1

    monitor = make_monitor()
    monitor.learn(info, ["production"])
    monitor.observe_predictions([served])
    [alert] = monitor.observe_labels([first_labels])
    assert isinstance(alert, PerformanceDegraded)

    restarted = make_monitor()
    restarted.learn(info, ["production"])
    restarted.restore(round_trip(monitor.export({"m"})))
    assert restarted.performance("m") == monitor.performance("m")

    # A redelivery of what the checkpoint covers is dropped; the rest still joins.
    assert restarted.observe_predictions([served]) == []
    assert restarted.observe_labels([first_labels]) == []
    later = labelled([(f"p{i}", "a") for i in range(4, 10)])
    assert restarted.observe_labels([later]) == monitor.observe_labels([later])
    view = restarted.models()
    assert (view.repeated_events, view.recent_predictions, view.label_misses) == (2, 0, 0)
    assert restarted.performance("m") == monitor.performance("m")


def test_only_the_named_models_are_exported_restored_and_forgotten(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor()
    for model in ("m", "n"):
        monitor.learn(version_info(reference, SIGNATURE, model=model, policy=POLICY), ["prod"])
        monitor.observe_predictions(
            [logged(rows(20), model=model, ids=[f"{model}{i}" for i in range(20)])]
        )
    monitor.observe_predictions([logged(rows(5), model="ghost")])
    part = monitor.export({"m", "ghost"})
    assert {v.info.model_name for v in part.versions} == {"m"}
    assert set(part.recent) == {"m"}  # a never-promoted version has nothing to join labels to
    assert set(part.seen) == {"m", "ghost"}
    assert part.unknown == {"ghost": {1: 5}}

    monitor.forget({"m", "ghost"})
    fills = {v.model_name: v.window_fill for v in monitor.models().versions}
    assert fills == {"m": 0, "n": 20}  # m is still known, from scratch; n is untouched
    assert monitor.models().unknown_versions == []
    assert monitor.models().versions[0].reference_status == "loaded"  # kept, not refetched

    monitor.restore(round_trip(part))
    fills = {v.model_name: v.window_fill for v in monitor.models().versions}
    assert fills == {"m": 20, "n": 20}
    assert monitor.models().recent_predictions == 40


def test_a_checkpoint_of_a_version_since_re_promoted_differently_is_not_applied(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    old = version_info(reference, SIGNATURE, policy=POLICY)
    monitor: Monitor = make_monitor()
    monitor.learn(old, ["production"])
    monitor.observe_predictions([logged(rows(20))])
    part = monitor.export({"m"})

    changed = version_info(reference, SIGNATURE, policy=MonitoringPolicy(window_size=30))
    restarted = make_monitor()
    restarted.learn(changed, ["production"])
    restarted.restore(part)
    [version] = restarted.models().versions
    assert (version.window_size, version.window_fill) == (30, 0)
