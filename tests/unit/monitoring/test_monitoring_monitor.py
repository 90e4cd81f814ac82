"""The monitor over batches of events: windows per version, lazy references, ids, spans."""

from __future__ import annotations

import numpy as np
from millrace_contracts import ArtifactRef, DriftDetected, MonitoringPolicy
from millrace_contracts.common import ScalarValue
from monitoring_support import (
    FEATURES,
    CountingStore,
    MakeMonitor,
    logged,
    signature_of,
    version_info,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SIGNATURE = signature_of(FEATURES)


def rows(n: int, *, shift: float = 0.0, seed: int = 0) -> list[dict[str, ScalarValue]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    c = rng.choice(np.array(["a", "b"]), n)
    return [{"x": float(x[i]), "c": str(c[i])} for i in range(n)]


def test_a_version_never_promoted_is_counted_unmonitored_and_nothing_is_fetched(
    make_monitor: MakeMonitor, store: CountingStore
) -> None:
    monitor = make_monitor()
    assert monitor.observe_predictions([logged(rows(30), model="ghost", version=3)]) == []
    view = monitor.models()
    assert view.versions == []
    assert [
        (u.model_name, u.version, u.unmonitored_predictions) for u in view.unknown_versions
    ] == [("ghost", 3, 30)]
    assert store.reads == []


def test_the_reference_is_loaded_lazily_once_and_cached(
    make_monitor: MakeMonitor, store: CountingStore, reference: ArtifactRef
) -> None:
    monitor = make_monitor()
    monitor.learn(version_info(reference, SIGNATURE), ["production"])
    assert store.reads == []
    assert monitor.models().versions[0].reference_status == "not_loaded"
    for seed in range(3):
        monitor.observe_predictions([logged(rows(40, seed=seed))])
    assert store.reads == [reference.uri]
    [version] = monitor.models().versions
    assert (version.reference_status, version.features_checked) == ("loaded", ["x", "c"])
    assert (version.predictions_seen, version.windows_checked, version.window_fill) == (120, 1, 20)


def test_drift_ids_are_deterministic_and_caused_by_the_event_closing_the_window(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    info = version_info(reference, SIGNATURE)
    batches = [logged(rows(60, shift=1.5, seed=s)) for s in range(4)]  # windows close in 2 and 4
    produced = []
    for _ in range(2):  # a replay from scratch (a restarted replica) gives the same events
        monitor = make_monitor()
        monitor.learn(info, ["production"])
        produced.append(monitor.observe_predictions(batches))
    first, again = produced
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert [e.causation_id for e in first] == [batches[1].event_id, batches[3].event_id]
    assert all(isinstance(e, DriftDetected) and e.drifted_features == ["x"] for e in first)
    assert len({e.event_id for e in first}) == 2


def test_one_event_bigger_than_a_window_closes_several(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor()
    monitor.learn(version_info(reference, SIGNATURE), ["production"])
    produced = monitor.observe_predictions([logged(rows(250, shift=2.0))])
    assert len(produced) == 2
    [version] = monitor.drift("m").versions  # type: ignore[union-attr]
    assert (version.windows_checked, version.window_fill) == (2, 50)
    assert version.latest is not None and version.latest.window_index == 1


def test_redelivered_events_are_dropped_by_id(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor()
    monitor.learn(version_info(reference, SIGNATURE), ["production"])
    batch = logged(rows(30))
    monitor.observe_predictions([batch, batch])
    monitor.observe_predictions([batch])
    view = monitor.models()
    assert (view.versions[0].predictions_seen, view.repeated_events) == (30, 2)


def test_versions_have_their_own_windows_and_policies(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    monitor = make_monitor()
    monitor.learn(version_info(reference, SIGNATURE, version=1), ["production"])
    small = MonitoringPolicy(window_size=20)
    monitor.learn(version_info(reference, SIGNATURE, version=2, policy=small), ["staging"])
    monitor.observe_predictions([logged(rows(30), version=1), logged(rows(30), version=2)])
    fill = {v.version: (v.windows_checked, v.window_fill) for v in monitor.models().versions}
    assert fill == {1: (0, 30), 2: (1, 10)}


def test_spans_per_window_and_reference_not_per_record(
    make_monitor: MakeMonitor, reference: ArtifactRef, spans: InMemorySpanExporter
) -> None:
    monitor = make_monitor()
    monitor.learn(version_info(reference, SIGNATURE), ["production"])
    monitor.observe_predictions([logged(rows(250, shift=2.0))])
    names = [s.name for s in spans.get_finished_spans()]
    assert names == ["load_reference", "drift_check", "drift_check"]
    check = spans.get_finished_spans()[1]
    assert check.attributes is not None
    assert dict(check.attributes) == {
        "millrace.model": "m",
        "millrace.model.version": 1,
        "millrace.window.size": 100,
        "millrace.drift.features": ("x",),
    }


def test_a_reference_without_some_signature_features_checks_the_rest(
    make_monitor: MakeMonitor, reference: ArtifactRef
) -> None:
    from millrace_contracts import FeatureSignature

    signature = [*SIGNATURE, FeatureSignature(name="extra", kind="numeric", dtype="float")]
    monitor = make_monitor()
    monitor.learn(version_info(reference, signature), ["production"])
    monitor.observe_predictions([logged(rows(10))])
    [version] = monitor.models().versions
    assert version.features_checked == ["x", "c"]
    assert version.features_skipped == {"extra": "not in the reference profile"}
