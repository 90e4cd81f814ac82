"""The Kafka handlers through FastStream's in-memory broker, and the REST API over their state."""

from __future__ import annotations

import json

import numpy as np
from fastapi.testclient import TestClient
from faststream.kafka import KafkaBroker
from millrace_contracts import (
    DriftDetected,
    MonitoringPolicy,
    PerformanceDegraded,
    PredictionsLogged,
)
from millrace_monitoring.core.versions import KnownVersion, VersionStore
from millrace_monitoring.settings import MonitoringSettings
from millrace_shared.messaging import DLQ_HEADER_PREFIX, RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime
from monitoring_component_support import (
    labels,
    predictions,
    promoted,
    put_profile,
    reference_profile,
    send,
    send_one,
)


async def test_shifted_inputs_give_drift_detected_caused_by_the_closing_batch(
    broker: KafkaBroker, store: InMemoryObjectStore, sink: RecordingEventSink
) -> None:
    await send_one(broker, promoted(put_profile(store, reference_profile(), "p.json")))
    rng = np.random.default_rng(1)
    batches = [predictions(rng, 50, shift=1.0, red=0.3) for _ in range(4)]  # one window of 200
    await send(broker, *batches)
    [drift] = sink.of_type(DriftDetected)
    assert drift.causation_id == batches[-1].event_id
    assert drift.correlation_id == batches[-1].correlation_id
    assert sorted(drift.drifted_features) == ["color", "x"]
    assert (drift.model_name, drift.model_version, drift.dataset) == ("sensors", 1, "sensors")
    assert drift.window.size == 200
    assert drift.significance == MonitoringPolicy().significance


async def test_unshifted_inputs_give_no_drift_event_but_a_checked_window(
    broker: KafkaBroker, store: InMemoryObjectStore, sink: RecordingEventSink, client: TestClient
) -> None:
    await send_one(broker, promoted(put_profile(store, reference_profile(), "p.json")))
    rng = np.random.default_rng(2)
    await send(broker, *[predictions(rng, 50) for _ in range(5)])
    assert sink.of_type(DriftDetected) == []
    drift = client.get("/models/sensors/drift").json()
    [version] = drift["versions"]
    assert (version["windows_checked"], version["window_fill"]) == (1, 50)
    assert version["latest"]["drifted"] is False
    assert {f["feature"] for f in version["latest"]["features"]} == {"x", "color"}


async def test_labels_give_live_accuracy_and_one_degradation_event(
    broker: KafkaBroker, store: InMemoryObjectStore, sink: RecordingEventSink, client: TestClient
) -> None:
    policy = MonitoringPolicy(window_size=100, min_labels=20, performance_floor=0.8)
    await send_one(
        broker, promoted(put_profile(store, reference_profile(), "p.json"), policy=policy)
    )
    rng = np.random.default_rng(3)
    served = predictions(rng, 40, outputs=["a"] * 40)
    await send(broker, served)
    ids = [r.prediction_id for r in served.predictions]
    # 30 right, 10 wrong: accuracy 0.75 < 0.8 once 20 are labelled.
    truth = [(i, "a") for i in ids[:30]] + [(i, "b") for i in ids[30:]]
    await send(broker, labels("sensors", truth[:20]), labels("sensors", truth[20:]))
    await send(broker, labels("sensors", [("never-served", "a")]))

    body = client.get("/models/sensors/performance").json()
    [version] = body["versions"]
    assert (version["metric"], version["value"], version["labelled"]) == ("accuracy", 0.75, 40)
    assert (version["floor"], version["degraded"], version["alerts"]) == (0.8, True, 1)
    assert body["label_misses"] == 1
    [degraded] = sink.of_type(PerformanceDegraded)
    assert (degraded.metric, degraded.value, degraded.floor, degraded.labelled) == (
        "accuracy",
        0.75,
        0.8,
        40,
    )


async def test_predictions_of_a_version_never_promoted_are_counted_not_fetched(
    broker: KafkaBroker, store: InMemoryObjectStore, sink: RecordingEventSink, client: TestClient
) -> None:
    await send(broker, predictions(np.random.default_rng(4), 30, model="ghost", version=7))
    body = client.get("/models").json()
    assert body["versions"] == []
    assert body["unknown_versions"] == [
        {"model_name": "ghost", "version": 7, "unmonitored_predictions": 30}
    ]
    assert body["unmonitored_predictions"] == 30
    assert client.get("/models/ghost/drift").status_code == 404
    assert sink.events == []


async def test_a_redelivered_batch_is_not_counted_twice(
    broker: KafkaBroker, store: InMemoryObjectStore, client: TestClient
) -> None:
    await send_one(broker, promoted(put_profile(store, reference_profile(), "p.json")))
    batch = predictions(np.random.default_rng(5), 30)
    await send(broker, batch)
    await send(broker, batch, batch)
    [version] = client.get("/models").json()["versions"]
    assert version["predictions_seen"] == 30
    assert client.get("/models").json()["repeated_events"] == 2


async def test_a_bad_record_is_dead_lettered_alone_and_its_batch_goes_on(
    broker: KafkaBroker,
    store: InMemoryObjectStore,
    runtime: ServiceRuntime,
    client: TestClient,
) -> None:
    await send_one(broker, promoted(put_profile(store, reference_profile(), "p.json")))
    letters: list[tuple[bytes, str, dict[str, str]]] = []

    async def dead_letter(value: bytes, topic: str, _: bytes | None, h: dict[str, str]) -> None:
        letters.append((value, topic, h))

    runtime.dead_letters.bind(dead_letter)
    good = predictions(np.random.default_rng(6), 10)
    await broker.publish_batch(
        good.model_dump(mode="json"), {"model_name": "sensors"}, topic=PredictionsLogged.topic()
    )
    assert runtime.dead_letters.dead_lettered == 1
    [(value, topic, headers)] = letters
    assert (json.loads(value), topic) == ({"model_name": "sensors"}, f"{good.topic()}.dlq")
    assert headers[f"{DLQ_HEADER_PREFIX}kind"] == "poison"
    assert "ValidationError" in headers[f"{DLQ_HEADER_PREFIX}reason"]
    [version] = client.get("/models").json()["versions"]
    assert version["predictions_seen"] == 10


async def test_a_tampered_reference_leaves_the_version_unmonitored_not_crashed(
    broker: KafkaBroker, store: InMemoryObjectStore, sink: RecordingEventSink, client: TestClient
) -> None:
    ref = put_profile(store, reference_profile(), "p.json")
    store.put_bytes(ref.uri, b'{"tampered": true}')
    await send_one(broker, promoted(ref))
    await send(broker, *[predictions(np.random.default_rng(7), 100, shift=2.0) for _ in range(3)])
    [version] = client.get("/models").json()["versions"]
    assert (version["reference_status"], version["monitored"]) == ("failed", False)
    assert "ChecksumMismatch" in version["reference_error"]
    assert version["unmonitored_predictions"] == 300
    assert sink.of_type(DriftDetected) == []


async def test_promotions_are_kept_in_the_state_bucket_and_restored_at_start(
    broker: KafkaBroker,
    store: InMemoryObjectStore,
    settings: MonitoringSettings,
    runtime: ServiceRuntime,
    client: TestClient,
) -> None:
    ref = put_profile(store, reference_profile(), "p.json")
    await send_one(broker, promoted(ref, alias="production"))
    await send_one(broker, promoted(ref, alias="staging"))
    [known] = VersionStore(store, settings.state_bucket("monitoring")).load_all()
    assert isinstance(known, KnownVersion)
    assert known.promoted_as == ["production", "staging"]

    # A fresh service over the same store learns it in its start-up hook, before consuming.
    from millrace_monitoring.bootstrap import wire
    from millrace_shared.service import build_runtime

    fresh = build_runtime(settings, store=store)
    routers = wire(fresh, settings)
    for hook in fresh.startup_hooks:
        await hook()
    from fastapi import FastAPI

    app = FastAPI()
    for router in routers:
        app.include_router(router)
    [version] = TestClient(app).get("/models").json()["versions"]
    assert (version["model_name"], version["version"], version["promoted_as"]) == (
        "sensors",
        1,
        ["production", "staging"],
    )


async def test_a_logged_prediction_is_archived_with_the_checkpoint_and_served_by_id(
    broker: KafkaBroker, runtime: ServiceRuntime, client: TestClient
) -> None:
    """Checkpoints are due 5 s after start: the shutdown's checkpoint archives the batch."""
    batch = predictions(np.random.default_rng(9), 3)
    await send(broker, batch)
    wanted = batch.predictions[1]
    assert client.get(f"/predictions/{wanted.prediction_id}").status_code == 404  # not yet
    for hook in runtime.shutdown_hooks:
        await hook()
    response = client.get(f"/predictions/{wanted.prediction_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["prediction_id"] == wanted.prediction_id
    assert (body["model_name"], body["model_version"], body["replica_id"]) == ("sensors", 1, "r1")
    assert body["features"] == wanted.features and body["output"] == wanted.output
    assert body["event_id"] == str(batch.event_id)


async def test_history_keeps_each_window_the_live_metric_and_the_distributions(
    broker: KafkaBroker, store: InMemoryObjectStore, client: TestClient
) -> None:
    policy = MonitoringPolicy(window_size=100, min_labels=20, performance_floor=0.8)
    await send_one(
        broker, promoted(put_profile(store, reference_profile(), "p.json"), policy=policy)
    )
    rng = np.random.default_rng(4)
    quiet = [predictions(rng, 50, outputs=["a"] * 50) for _ in range(2)]
    shifted = [predictions(rng, 50, shift=1.0, red=0.3) for _ in range(2)]
    await send(broker, *quiet, *shifted)
    ids = [r.prediction_id for r in quiet[0].predictions]
    await send(broker, labels("sensors", [(i, "a") for i in ids[:25]]))
    await send(broker, labels("sensors", [(i, "b") for i in ids[25:]]))

    body = client.get("/models/sensors/history").json()
    [version] = body["versions"]
    assert [p["window_index"] for p in version["drift"]] == [0, 1]
    assert [p["drifted"] for p in version["drift"]] == [False, True]
    assert sorted(version["drift"][1]["drifted_features"]) == ["color", "x"]
    x = next(f for f in version["drift"][1]["features"] if f["feature"] == "x")
    assert x["psi"] > 0 and x["ks_statistic"] > 0 and 0 <= x["p_value"] <= 1
    assert [p["value"] for p in version["performance"]] == [1.0, 0.5]
    assert (version["metric"], version["floor"]) == ("accuracy", 0.8)
    dists = {d["feature"]: d for d in version["distributions"]}
    assert set(dists) == {"x", "color"}
    assert len(dists["x"]["bins"]) == len(dists["x"]["reference"]) == len(dists["x"]["current"])
    assert abs(sum(dists["x"]["current"]) - 1.0) < 1e-9
    assert client.get("/models/ghost/history").status_code == 404
