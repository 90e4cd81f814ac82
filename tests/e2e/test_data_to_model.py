"""Data to model, for real: ingestion, training and registry as processes on Kafka + S3."""

from __future__ import annotations

import asyncio
import hashlib
import io

import httpx
import numpy as np
import pandas as pd
import pytest
from millrace_contracts import (
    ColumnSpec,
    DataArrived,
    DatasetDeclaration,
    DatasetRejected,
    DatasetSpec,
    DatasetValidated,
    EstimatorSpec,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
    PromotionPolicy,
    TrainingSpec,
)

from . import patched_service
from .conftest import Platform
from .flows import Flow, arrive, classification_frame, upload_raw, wait_consumed

pytestmark = pytest.mark.e2e


def spec() -> DatasetSpec:
    numeric = [ColumnSpec(name=f"x{i}", dtype="float", min=-10, max=10) for i in range(1, 5)]
    return DatasetSpec(
        columns=[
            *numeric,
            ColumnSpec(name="color", dtype="category", allowed=["red", "green", "blue"]),
            ColumnSpec(name="label", dtype="category", allowed=["yes", "no"]),
        ],
        target="label",
        min_rows=50,
    )


def declaration(dataset: str, **estimator_params: object) -> DatasetDeclaration:
    return DatasetDeclaration(
        dataset=dataset,
        spec=spec(),
        training=TrainingSpec(
            task="classification",
            target="label",
            estimator=EstimatorSpec(
                name="logistic_regression", params={"max_iter": 500, **estimator_params}
            ),
        ),
        promotion=PromotionPolicy(primary_metric="accuracy", floor=0.6, min_improvement=0.01),
    )


def shifted_concept(rows: int, seed: int) -> pd.DataFrame:
    """Same columns, but the label follows other features: a model of it fails on the usual one."""
    frame = classification_frame(rows, seed=seed)
    score = frame["x3"] - frame["x4"]
    frame["label"] = np.where(score > 0, "yes", "no")
    return frame


async def registry_model(platform: Platform, name: str) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{platform['registry'].url}/models/{name}")
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


async def production_version(platform: Platform, name: str) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{platform['registry'].url}/models/{name}/production")
    response.raise_for_status()
    version: int = response.json()["version"]
    return version


async def test_happy_path_better_data_promotes_and_a_worse_spec_is_rejected(flow: Flow) -> None:
    await flow.declare(declaration(flow.dataset))

    # Version 1 learns a concept that the later data no longer follows.
    first = await flow.arrive("v1.csv", shifted_concept(600, seed=1))
    validated = await flow.first(DatasetValidated, first)
    assert validated.rows == 600 and validated.new_version
    trained = await flow.first(ModelTrained, first)
    assert trained.dataset_version == validated.dataset_version
    assert trained.champion_version is None
    decision = await flow.decision(first)
    assert isinstance(decision, ModelPromoted), decision
    assert decision.model.version == 1 and decision.previous_version is None
    artifact = decision.model.artifact
    assert flow.store.get_bytes(artifact.uri, sha256=artifact.sha256)

    # Version 2: the usual concept, better data. Judged against v1 on the same holdout.
    second = await flow.arrive("v2.csv", classification_frame(600, seed=2))
    trained = await flow.first(ModelTrained, second)
    assert trained.champion_version == 1
    assert trained.champion_metrics is not None
    assert trained.champion_metrics.holdout_id == trained.metrics.holdout_id
    decision = await flow.decision(second)
    assert isinstance(decision, ModelPromoted), decision
    assert decision.model.version == 2 and decision.previous_version == 1

    # A spec that gives a worse model on the same data: registered, rejected, production unchanged.
    await flow.declare(declaration(flow.dataset, C=1e-6))
    third = await arrive(flow.producer, flow.dataset, second.uri)
    decision = await flow.decision(third)
    assert isinstance(decision, ModelRejected), decision
    assert decision.version == 3 and decision.production_version == 2
    assert {r.code for r in decision.reasons} & {"below_floor", "not_improved"}
    assert await production_version(flow.platform, flow.dataset) == 2


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def good_frame() -> pd.DataFrame:
    return classification_frame(200, seed=7)


def bad_files() -> dict[str, tuple[bytes, dict[str, object], str]]:
    """Rejection code -> (file bytes, extra DataArrived fields, file name)."""
    frame = good_frame()
    missing = frame.drop(columns=["x2"])
    extra = frame.assign(surprise=1.0)
    wrong_type = frame.assign(x1="not a number")
    nulls = frame.copy()
    nulls.loc[::3, "x3"] = None
    out_of_range = frame.copy()
    out_of_range.loc[0, "x4"] = 1e6
    unseen = frame.copy()
    unseen.loc[0, "color"] = "purple"
    no_target = frame.drop(columns=["label"])
    good = csv_bytes(frame)
    return {
        "unreadable": (b"\x00\x01\x02 this is not a table \xff\xfe" * 50, {}, "garbage.parquet"),
        "unsupported_format": (good, {}, "data.xlsx"),
        "empty": (b"x1,x2,x3,x4,color,label\n", {}, "empty.csv"),
        "too_few_rows": (csv_bytes(frame.head(10)), {}, "few.csv"),
        "too_large": (csv_bytes(pd.concat([frame] * 60)), {}, "large.csv"),
        "checksum_mismatch": (good, {"sha256": hashlib.sha256(b"other").hexdigest()}, "sum.csv"),
        "missing_column": (csv_bytes(missing), {}, "missing.csv"),
        "unexpected_column": (csv_bytes(extra), {}, "extra.csv"),
        "wrong_type": (csv_bytes(wrong_type), {}, "type.csv"),
        "null_rate_exceeded": (csv_bytes(nulls), {}, "nulls.csv"),
        "out_of_range": (csv_bytes(out_of_range), {}, "range.csv"),
        "unseen_category": (csv_bytes(unseen), {}, "unseen.csv"),
        "missing_target": (csv_bytes(no_target), {}, "target.csv"),
    }


async def test_every_kind_of_bad_data_is_rejected_with_its_reason_and_nothing_trains(
    flow: Flow,
) -> None:
    dataset, settings = flow.dataset, flow.settings
    await flow.declare(declaration(dataset))
    sent = {}
    for code, (data, extra, name) in bad_files().items():
        uri = upload_raw(flow.store, settings, dataset, name, data)
        sent[code] = await arrive(flow.producer, dataset, uri, **extra)
    missing = f"s3://{settings.bucket_landing}/{dataset}/absent.csv"
    sent["not_found"] = await arrive(flow.producer, dataset, missing)

    for code, event in sent.items():
        rejected = await flow.first(DatasetRejected, event)
        codes = {r.code for r in rejected.reasons}
        assert code in codes, (code, rejected.reasons)
        for reason in rejected.reasons:
            assert reason.message
    await wait_consumed(settings, "millrace-ingestion", DataArrived.topic())
    flows = {e.event_id for e in sent.values()}
    assert not flow.watcher.of_type(DatasetValidated, lambda e: e.correlation_id in flows)
    assert not flow.watcher.of_type(ModelTrained, lambda e: e.dataset == dataset)


async def exactly_one_model_version(flow: Flow) -> None:
    """Once training and the registry have caught up, the dataset has one model version."""
    await wait_consumed(flow.settings, "millrace-training", DatasetValidated.topic())
    await wait_consumed(flow.settings, "millrace-registry", ModelTrained.topic())
    model = await registry_model(flow.platform, flow.dataset)
    versions = model.get("versions")
    assert isinstance(versions, list) and len(versions) == 1, model


async def test_the_same_content_twice_is_one_dataset_version_and_one_model_version(
    flow: Flow,
) -> None:
    await flow.declare(declaration(flow.dataset))
    frame = classification_frame(300, seed=3)
    first = await flow.arrive("a.csv", frame)
    decision = await flow.decision(first)
    assert isinstance(decision, ModelPromoted)

    # Same values, another file, another event.
    second = await flow.arrive("b.csv", frame)
    again = await flow.first(DatasetValidated, second)
    assert not again.new_version
    assert again.dataset_version == decision.model.dataset_version
    await exactly_one_model_version(flow)
    assert not flow.watcher.of_type(ModelTrained, lambda e: e.correlation_id == second.event_id)


async def test_training_killed_mid_fit_completes_after_restart_with_exactly_one_version(
    flow: Flow,
) -> None:
    platform = flow.platform
    await flow.declare(declaration(flow.dataset))
    platform["training"].stop()
    slow = platform.start("training", patched_service.command("training", slow_fit=600))
    slow.wait_ready()

    arrival = await flow.arrive("a.csv", classification_frame(300, seed=4))
    async with httpx.AsyncClient(timeout=5) as client, asyncio.timeout(flow.within):
        while True:
            status = (await client.get(f"{slow.url}/status")).json()
            if (
                status
                and status.get("current")
                and status["current"].get("dataset") == flow.dataset
            ):
                break
            await asyncio.sleep(0.2)
    slow.kill()

    platform.start("training").wait_ready()
    decision = await flow.decision(arrival)
    assert isinstance(decision, ModelPromoted)
    assert decision.model.version == 1
    await exactly_one_model_version(flow)


async def registry_views(registry: str, dataset: str) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=10) as client:
        return {
            p: (await client.get(f"{registry}/models/{dataset}{p}")).json()
            for p in ("", "/aliases", "/audit")
        }


async def test_registry_restart_keeps_versions_aliases_and_audit(flow: Flow) -> None:
    await flow.declare(declaration(flow.dataset))
    arrival = await flow.arrive("a.csv", classification_frame(300, seed=5))
    assert isinstance(await flow.decision(arrival), ModelPromoted)

    before = await registry_views(flow.platform["registry"].url, flow.dataset)
    flow.platform["registry"].stop()
    flow.platform.start("registry").wait_ready()
    after = await registry_views(flow.platform["registry"].url, flow.dataset)
    assert after == before
    assert before["/audit"], "the audit trail should not be empty"
