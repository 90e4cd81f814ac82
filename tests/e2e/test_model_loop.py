"""Model to production and back: deployment, monitoring and the retraining loop, for real."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pandas as pd
import pytest
from millrace_cli.demo import (
    SHIFT,
    UNSHIFTED_REQUESTS,
    Traffic,
    sensors_declaration,
    sensors_frame,
)
from millrace_contracts import (
    DatasetValidated,
    DeploymentFailed,
    DriftDetected,
    LabelsObserved,
    ModelDeployed,
    ModelPromoted,
    ModelTrained,
    ObservedLabel,
    RetrainingPolicy,
    first_of_flow,
)

from .conftest import Platform
from .flows import Flow, eventually

pytestmark = pytest.mark.e2e
FLOW_SECONDS = 240


@pytest.fixture
def flow(flow: Flow) -> Flow:
    return replace(flow, within=FLOW_SECONDS)


async def served_version(platform: Platform, replica: str, name: str) -> int | None:
    async with httpx.AsyncClient(timeout=5) as client:
        models = (await client.get(f"{platform[replica].url}/models")).json()
    return next((m["version"] for m in models if m["name"] == name), None)


async def deployed(flow: Flow, version: int) -> None:
    """Wait until the platform's own deployment replica serves ``version``."""
    await flow.watcher.wait_for(
        ModelDeployed,
        lambda e: (
            e.model_name == flow.dataset and e.version == version and e.replica_id == "deployment"
        ),
        within=flow.within,
    )


async def promote_and_serve(flow: Flow, data: pd.DataFrame, name: str) -> ModelPromoted:
    promoted = await flow.first(ModelPromoted, await flow.arrive(name, data))
    await deployed(flow, promoted.model.version)
    return promoted


async def test_drift_retrains_promotes_and_swaps_with_zero_failed_requests(flow: Flow) -> None:
    dataset, watcher = flow.dataset, flow.watcher
    await flow.declare(sensors_declaration(dataset))
    first = await promote_and_serve(flow, sensors_frame(800, seed=1), "v1.csv")
    assert first.model.version == 1

    traffic = Traffic(f"{flow.platform['deployment'].url}/models/{dataset}/predict")
    client = asyncio.create_task(traffic.run())
    try:
        # Newer data arrives; with on_new_data=false it waits for a reason to retrain.
        arrival = await flow.arrive("v2.csv", sensors_frame(1000, seed=2, shift=SHIFT))
        await flow.first(DatasetValidated, arrival)
        # Two unshifted monitoring windows.
        await eventually(lambda: traffic.ok >= UNSHIFTED_REQUESTS, within=flow.within)
        assert not watcher.of_type(DriftDetected, lambda e: e.model_name == dataset), (
            "drift on unshifted traffic"
        )
        assert not watcher.of_type(
            ModelTrained,
            lambda e: e.dataset == dataset and e.model_name == dataset and e.trigger != "data",
        )

        traffic.shift = SHIFT  # the client's traffic moves with the world
        drift = await watcher.wait_for(
            DriftDetected, lambda e: e.model_name == dataset, within=flow.within
        )
        assert "x1" in drift[0].drifted_features
        assert drift[0].model_version == 1
        retrained = await watcher.wait_for(
            ModelTrained,
            lambda e: e.model_name == dataset and e.trigger == "drift",
            within=flow.within,
        )
        assert retrained[0].dataset_version != first.model.dataset_version
        promoted = await watcher.wait_for(
            ModelPromoted,
            lambda e: e.model.model_name == dataset and e.model.version == 2,
            within=flow.within,
        )
        assert promoted[0].previous_version == 1
        await deployed(flow, 2)
        await eventually(lambda: 2 in traffic.versions, within=flow.within)
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
    flow: Flow, registry_actor: str, registry_token: str
) -> None:
    dataset, platform, watcher = flow.dataset, flow.platform, flow.watcher
    spec = sensors_declaration(dataset)
    training = spec.training
    assert training is not None
    spec = spec.model_copy(
        update={"training": training.model_copy(update={"retraining": RetrainingPolicy()})}
    )
    await flow.declare(spec)
    first = await promote_and_serve(flow, sensors_frame(600, seed=3, shift=SHIFT), "v1.csv")
    second = await promote_and_serve(flow, sensors_frame(800, seed=4), "v2.csv")
    assert (first.model.version, second.model.version) == (1, 2)

    # Change v1's bytes behind the registry's back, then roll back to it.
    artifact = first.model.artifact
    bucket, key = artifact.uri[5:].split("/", 1)
    raw = flow.store._client
    raw.put_object(
        bucket, key, io.BytesIO(b"not the model"), 13, metadata={"sha256": artifact.sha256}
    )
    registry = platform["registry"].url
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{registry}/models/{dataset}/rollback",
            json={"reason": "e2e: roll back onto a tampered artifact", "to_version": 1},
            headers={"Authorization": f"Bearer {registry_token}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["actor"] == registry_actor  # the token's, not the body's
        failed = await watcher.wait_for(
            DeploymentFailed,
            lambda e: e.model_name == dataset and e.version == 1,
            within=flow.within,
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
    flow: Flow,
) -> None:
    dataset, platform = flow.dataset, flow.platform
    await flow.declare(sensors_declaration(dataset))
    promoted = await promote_and_serve(flow, sensors_frame(600, seed=5), "v1.csv")

    late = platform.start_deployment(f"late-{dataset}")
    late.wait_ready()  # live

    async def serves_production() -> bool:
        served = await served_version(platform, f"late-{dataset}", dataset)
        return served == promoted.model.version

    await eventually(serves_production, within=60)
    async with httpx.AsyncClient(timeout=10) as client:

        async def ready() -> bool:
            # Ready once the whole start-up snapshot is applied: every production model of
            # the session, not only this test's, is loaded first.
            return (await client.get(f"{late.url}/health/ready")).status_code == 200

        await eventually(ready, within=120)
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
    await flow.producer.publish(
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
