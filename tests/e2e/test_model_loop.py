"""Model to production and back: deployment, monitoring and the retraining loop, for real."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from millrace_contracts import (
    ColumnSpec,
    DatasetDeclaration,
    DatasetSpec,
    DatasetValidated,
    DeploymentFailed,
    DriftDetected,
    EstimatorSpec,
    LabelsObserved,
    ModelDeployed,
    ModelPromoted,
    ModelTrained,
    MonitoringPolicy,
    ObservedLabel,
    PromotionPolicy,
    RetrainingPolicy,
    TrainingSpec,
    first_of_flow,
)
from millrace_shared.messaging import KafkaEventSink
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings
from millrace_shared.watch import EventWatcher

from .conftest import Platform
from .flows import arrive, declare, eventually, upload_csv

pytestmark = pytest.mark.e2e
FLOW_SECONDS = 240
FEATURES = ("x1", "x2", "x3")


def frame(rows: int, *, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """x1 moves by ``shift``; the label's threshold moves with it, so a model of the old
    data misjudges the new one (it must be retrained, not merely re-validated)."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(rng.normal(size=(rows, 3)), columns=list(FEATURES))
    data["x1"] += shift
    data["label"] = np.where(data["x1"] + data["x2"] > shift, "yes", "no")
    return data


def declaration(dataset: str) -> DatasetDeclaration:
    return DatasetDeclaration(
        dataset=dataset,
        spec=DatasetSpec(
            columns=[
                *(ColumnSpec(name=f, dtype="float") for f in FEATURES),
                ColumnSpec(name="label", dtype="category", allowed=["yes", "no"]),
            ],
            target="label",
        ),
        training=TrainingSpec(
            task="classification",
            target="label",
            estimator=EstimatorSpec(name="logistic_regression"),
            retraining=RetrainingPolicy(on_new_data=False, cooldown_seconds=0, min_new_rows=1),
        ),
        promotion=PromotionPolicy(primary_metric="accuracy", floor=0.7, min_improvement=0.02),
        # A strict level keeps false alarms on unshifted windows rare; the shift is large.
        monitoring=MonitoringPolicy(window_size=200, significance=0.001),
    )


@dataclass
class Traffic:
    """A client sending single-row requests throughout, counting every failure."""

    url: str
    rows: Callable[[], dict[str, float]]
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    versions: set[int] = field(default_factory=set)
    predictions: list[tuple[str, dict[str, float], Any]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            while not self.stop.is_set():
                row = self.rows()
                try:
                    response = await client.post(self.url, json=row)
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code}: {response.text[:200]}")
                    continue
                body = response.json()
                self.ok += 1
                self.versions.add(body["version"])
                self.predictions.append((body["prediction_id"], row, body["prediction"]))
                await asyncio.sleep(0.002)


def row_sampler(seed: int, shift: Callable[[], float]) -> Callable[[], dict[str, float]]:
    rng = random.Random(seed)

    def sample() -> dict[str, float]:
        return {"x1": rng.gauss(shift(), 1), "x2": rng.gauss(0, 1), "x3": rng.gauss(0, 1)}

    return sample


async def served_version(platform: Platform, replica: str, name: str) -> int | None:
    async with httpx.AsyncClient(timeout=5) as client:
        models = (await client.get(f"{platform[replica].url}/models")).json()
    return next((m["version"] for m in models if m["name"] == name), None)


async def promote_and_serve(
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    settings: MillraceSettings,
    dataset: str,
    data: pd.DataFrame,
    name: str,
) -> ModelPromoted:
    arrival = await arrive(producer, dataset, upload_csv(store, settings, dataset, name, data))
    promoted = await watcher.wait_for(
        ModelPromoted, lambda e: e.correlation_id == arrival.event_id, within=FLOW_SECONDS
    )
    version = promoted[0].model.version
    await watcher.wait_for(
        ModelDeployed,
        lambda e: e.model_name == dataset and e.version == version and e.replica_id == "deployment",
        within=FLOW_SECONDS,
    )
    return promoted[0]


async def test_drift_retrains_promotes_and_swaps_with_zero_failed_requests(
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    unique: str,
) -> None:
    dataset = unique
    await declare(producer, platform["ingestion"].url, declaration(dataset))
    first = await promote_and_serve(
        platform, watcher, producer, store, e2e_settings, dataset, frame(800, seed=1), "v1.csv"
    )
    assert first.model.version == 1

    shift = 0.0
    traffic = Traffic(
        f"{platform['deployment'].url}/models/{dataset}/predict", row_sampler(7, lambda: shift)
    )
    client = asyncio.create_task(traffic.run())
    try:
        # Newer data arrives; with on_new_data=false it waits for a reason to retrain.
        arrival = await arrive(
            producer,
            dataset,
            upload_csv(store, e2e_settings, dataset, "v2.csv", frame(1000, seed=2, shift=2.0)),
        )
        await watcher.wait_for(
            DatasetValidated, lambda e: e.correlation_id == arrival.event_id, within=FLOW_SECONDS
        )
        await eventually(lambda: traffic.ok >= 450, within=FLOW_SECONDS)  # two unshifted windows
        assert not watcher.of_type(DriftDetected, lambda e: e.model_name == dataset), (
            "drift on unshifted traffic"
        )
        assert not watcher.of_type(
            ModelTrained,
            lambda e: e.dataset == dataset and e.model_name == dataset and e.trigger != "data",
        )

        shift = 2.0  # the client's traffic moves with the world
        drift = await watcher.wait_for(
            DriftDetected, lambda e: e.model_name == dataset, within=FLOW_SECONDS
        )
        assert "x1" in drift[0].drifted_features
        assert drift[0].model_version == 1
        retrained = await watcher.wait_for(
            ModelTrained,
            lambda e: e.model_name == dataset and e.trigger == "drift",
            within=FLOW_SECONDS,
        )
        assert retrained[0].dataset_version != first.model.dataset_version
        promoted = await watcher.wait_for(
            ModelPromoted,
            lambda e: e.model.model_name == dataset and e.model.version == 2,
            within=FLOW_SECONDS,
        )
        assert promoted[0].previous_version == 1
        await watcher.wait_for(
            ModelDeployed,
            lambda e: e.model_name == dataset and e.version == 2 and e.replica_id == "deployment",
            within=FLOW_SECONDS,
        )
        await eventually(lambda: 2 in traffic.versions, within=FLOW_SECONDS)
    finally:
        traffic.stop.set()
        await client
    assert traffic.failures == [], traffic.failures[:5]
    assert traffic.versions == {1, 2}
    # One drift burst, one retraining.
    assert (
        len(
            watcher.of_type(
                ModelTrained, lambda e: e.model_name == dataset and e.trigger == "drift"
            )
        )
        == 1
    )


async def test_tampered_artifact_is_refused_and_bad_requests_get_clear_errors(
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    unique: str,
) -> None:
    dataset = unique
    spec = declaration(dataset)
    training = spec.training
    assert training is not None
    spec = spec.model_copy(
        update={"training": training.model_copy(update={"retraining": RetrainingPolicy()})}
    )
    await declare(producer, platform["ingestion"].url, spec)
    first = await promote_and_serve(
        platform,
        watcher,
        producer,
        store,
        e2e_settings,
        dataset,
        frame(600, seed=3, shift=2.0),
        "v1.csv",
    )
    second = await promote_and_serve(
        platform, watcher, producer, store, e2e_settings, dataset, frame(800, seed=4), "v2.csv"
    )
    assert (first.model.version, second.model.version) == (1, 2)

    # Change v1's bytes behind the registry's back, then roll back to it.
    artifact = first.model.artifact
    bucket, key = artifact.uri[5:].split("/", 1)
    raw = store._client
    raw.put_object(
        bucket, key, io.BytesIO(b"not the model"), 13, metadata={"sha256": artifact.sha256}
    )
    registry = platform["registry"].url
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{registry}/models/{dataset}/rollback",
            json={"reason": "e2e: roll back onto a tampered artifact", "to_version": 1},
            headers={"Authorization": "Bearer millrace-dev-registry-token"},
        )
        assert response.status_code == 200, response.text
        failed = await watcher.wait_for(
            DeploymentFailed,
            lambda e: e.model_name == dataset and e.version == 1,
            within=FLOW_SECONDS,
        )
        assert failed[0].reason.code == "checksum_mismatch"
        assert failed[0].serving_version == 2
        assert await served_version(platform, "deployment", dataset) == 2

        url = f"{platform['deployment'].url}/models/{dataset}/predict"
        good = {"x1": 0.1, "x2": 0.2, "x3": 0.3}
        ok = await client.post(url, json=good)
        assert ok.status_code == 200 and ok.json()["version"] == 2
        invalid = await client.post(url, json={"x1": "high", "x3": 0.3, "color": "red"})
        assert invalid.status_code == 422
        problems = {(d["field"], d["code"]) for d in invalid.json()["detail"]}
        assert problems >= {
            ("x1", "wrong_type"),
            ("x2", "missing_feature"),
            ("color", "unexpected_feature"),
        }
        too_many = await client.post(url, json={"rows": [good] * 5000})
        assert too_many.status_code == 413
        too_big = await client.post(
            url,
            content=b'{"x1": "' + b"9" * 2_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert too_big.status_code == 413
        batch = await client.post(url, json={"rows": [good, good]})
        assert batch.status_code == 200 and len(batch.json()["predictions"]) == 2
        assert (await client.get(f"{platform['deployment'].url}/health/ready")).status_code == 200


async def test_a_new_replica_serves_production_at_once_and_labels_give_live_accuracy(
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    unique: str,
) -> None:
    dataset = unique
    await declare(producer, platform["ingestion"].url, declaration(dataset))
    promoted = await promote_and_serve(
        platform, watcher, producer, store, e2e_settings, dataset, frame(600, seed=5), "v1.csv"
    )

    late = platform.start_deployment(f"late-{unique}")
    late.wait_ready()  # live

    async def serves_production() -> bool:
        served = await served_version(platform, f"late-{unique}", dataset)
        return served == promoted.model.version

    await eventually(serves_production, within=60)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{late.url}/health/ready")).status_code == 200
        url = f"{late.url}/models/{dataset}/predict"
        predictions = []
        for i in range(40):
            body = (await client.post(url, json={"x1": i / 10, "x2": -i / 20, "x3": 0.0})).json()
            assert body["version"] == promoted.model.version
            predictions.append((body["prediction_id"], body["prediction"]))
    monitoring = platform["monitoring"].url

    async def predictions_reached_monitoring() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            models = (await client.get(f"{monitoring}/models")).json()
        return any(
            v["model_name"] == dataset
            and v["version"] == promoted.model.version
            and v["predictions_seen"] >= 40
            for v in models.get("versions", [])
        )

    # Labels only join predictions monitoring has seen: wait for the replica's logs first.
    await eventually(predictions_reached_monitoring, within=90)
    late.stop()

    # Ground truth arrives later: right for the first 30, wrong for the last 10 -> 0.75.
    now = datetime.now(UTC)
    flip = {"yes": "no", "no": "yes"}
    labels = [
        ObservedLabel(prediction_id=pid, label=pred if i < 30 else flip[pred], observed_at=now)
        for i, (pid, pred) in enumerate(predictions)
    ]
    await producer.publish(
        LabelsObserved(**first_of_flow(producer="e2e"), model_name=dataset, labels=labels)
    )
    async with httpx.AsyncClient(timeout=5) as client, asyncio.timeout(90):
        while True:
            view = (await client.get(f"{monitoring}/models/{dataset}/performance")).json()
            versions = [
                v for v in view.get("versions", []) if v["version"] == promoted.model.version
            ]
            if versions and versions[0]["labelled"] >= 40:
                break
            await asyncio.sleep(0.2)
    assert versions[0]["metric"] == "accuracy"
    assert versions[0]["value"] == pytest.approx(0.75)
