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
from millrace_shared.messaging import KafkaEventSink
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings
from millrace_shared.watch import EventWatcher

from . import patched_service
from .conftest import Platform
from .flows import arrive, classification_frame, declare, upload_csv, upload_raw, wait_consumed

pytestmark = pytest.mark.e2e
FLOW_SECONDS = 180


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


async def promoted_or_rejected(
    watcher: EventWatcher, model: str, correlation: object
) -> ModelPromoted | ModelRejected:
    event = await watcher.wait_for_any(
        {
            ModelPromoted: lambda e: (
                isinstance(e, ModelPromoted) and e.correlation_id == correlation
            ),
            ModelRejected: lambda e: (
                isinstance(e, ModelRejected) and e.correlation_id == correlation
            ),
        },
        within=FLOW_SECONDS,
    )
    assert isinstance(event, ModelPromoted | ModelRejected)
    return event


async def test_happy_path_better_data_promotes_and_a_worse_spec_is_rejected(
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    unique: str,
) -> None:
    dataset = unique
    await declare(producer, platform["ingestion"].url, declaration(dataset))

    # Version 1 learns a concept that the later data no longer follows.
    uri = upload_csv(store, e2e_settings, dataset, "v1.csv", shifted_concept(600, seed=1))
    first = await arrive(producer, dataset, uri)
    validated = await watcher.wait_for(
        DatasetValidated, lambda e: e.correlation_id == first.event_id, within=FLOW_SECONDS
    )
    assert validated[0].rows == 600 and validated[0].new_version
    trained = await watcher.wait_for(
        ModelTrained, lambda e: e.correlation_id == first.event_id, within=FLOW_SECONDS
    )
    assert trained[0].dataset_version == validated[0].dataset_version
    assert trained[0].champion_version is None
    decision = await promoted_or_rejected(watcher, dataset, first.event_id)
    assert isinstance(decision, ModelPromoted), decision
    assert decision.model.version == 1 and decision.previous_version is None
    assert store.get_bytes(decision.model.artifact.uri, sha256=decision.model.artifact.sha256)

    # Version 2: the usual concept, better data. Judged against v1 on the same holdout.
    uri = upload_csv(store, e2e_settings, dataset, "v2.csv", classification_frame(600, seed=2))
    second = await arrive(producer, dataset, uri)
    trained = await watcher.wait_for(
        ModelTrained, lambda e: e.correlation_id == second.event_id, within=FLOW_SECONDS
    )
    assert trained[0].champion_version == 1
    assert trained[0].champion_metrics is not None
    assert trained[0].champion_metrics.holdout_id == trained[0].metrics.holdout_id
    decision = await promoted_or_rejected(watcher, dataset, second.event_id)
    assert isinstance(decision, ModelPromoted), decision
    assert decision.model.version == 2 and decision.previous_version == 1

    # A spec that gives a worse model on the same data: registered, rejected, production unchanged.
    await declare(producer, platform["ingestion"].url, declaration(dataset, C=1e-6))
    third = await arrive(producer, dataset, uri)
    decision = await promoted_or_rejected(watcher, dataset, third.event_id)
    assert isinstance(decision, ModelRejected), decision
    assert decision.version == 3 and decision.production_version == 2
    assert {r.code for r in decision.reasons} & {"below_floor", "not_improved"}
    assert await production_version(platform, dataset) == 2


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
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    unique: str,
) -> None:
    dataset = unique
    await declare(producer, platform["ingestion"].url, declaration(dataset))
    sent = {}
    for code, (data, extra, name) in bad_files().items():
        uri = upload_raw(store, e2e_settings, dataset, name, data)
        sent[code] = await arrive(producer, dataset, uri, **extra)
    missing = await arrive(
        producer, dataset, f"s3://{e2e_settings.bucket_landing}/{dataset}/absent.csv"
    )
    sent["not_found"] = missing

    for code, event in sent.items():
        rejected = await watcher.wait_for(
            DatasetRejected,
            lambda e, ev=event: e.correlation_id == ev.event_id,
            within=FLOW_SECONDS,
        )
        codes = {r.code for r in rejected[0].reasons}
        assert code in codes, (code, rejected[0].reasons)
        for reason in rejected[0].reasons:
            assert reason.message
    await wait_consumed(e2e_settings, "millrace-ingestion", DataArrived.topic())
    flows = {e.event_id for e in sent.values()}
    assert not watcher.of_type(DatasetValidated, lambda e: e.correlation_id in flows)
    assert not watcher.of_type(ModelTrained, lambda e: e.dataset == dataset)


async def test_the_same_content_twice_is_one_dataset_version_and_one_model_version(
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    unique: str,
) -> None:
    dataset = unique
    await declare(producer, platform["ingestion"].url, declaration(dataset))
    frame = classification_frame(300, seed=3)
    first = await arrive(
        producer, dataset, upload_csv(store, e2e_settings, dataset, "a.csv", frame)
    )
    decision = await promoted_or_rejected(watcher, dataset, first.event_id)
    assert isinstance(decision, ModelPromoted)

    # Same values, another file, another event.
    second = await arrive(
        producer, dataset, upload_csv(store, e2e_settings, dataset, "b.csv", frame)
    )
    again = await watcher.wait_for(
        DatasetValidated, lambda e: e.correlation_id == second.event_id, within=FLOW_SECONDS
    )
    assert not again[0].new_version
    assert again[0].dataset_version == decision.model.dataset_version
    await wait_consumed(e2e_settings, "millrace-training", DatasetValidated.topic())
    await wait_consumed(e2e_settings, "millrace-registry", ModelTrained.topic())
    model = await registry_model(platform, dataset)
    versions = model.get("versions")
    assert isinstance(versions, list) and len(versions) == 1, model
    assert not watcher.of_type(ModelTrained, lambda e: e.correlation_id == second.event_id)


async def test_training_killed_mid_fit_completes_after_restart_with_exactly_one_version(
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    unique: str,
) -> None:
    dataset = unique
    await declare(producer, platform["ingestion"].url, declaration(dataset))
    training = platform["training"]
    training.stop()
    slow = platform.start("training", patched_service.command("training", slow_fit=600))
    slow.wait_ready()

    arrival = await arrive(
        producer,
        dataset,
        upload_csv(store, e2e_settings, dataset, "a.csv", classification_frame(300, seed=4)),
    )
    async with httpx.AsyncClient(timeout=5) as client, asyncio.timeout(FLOW_SECONDS):
        while True:
            status = (await client.get(f"{slow.url}/status")).json()
            if status and status.get("current") and status["current"].get("dataset") == dataset:
                break
            await asyncio.sleep(0.2)
    slow.kill()

    restarted = platform.start("training")
    restarted.wait_ready()
    decision = await promoted_or_rejected(watcher, dataset, arrival.event_id)
    assert isinstance(decision, ModelPromoted)
    assert decision.model.version == 1
    await wait_consumed(e2e_settings, "millrace-training", DatasetValidated.topic())
    await wait_consumed(e2e_settings, "millrace-registry", ModelTrained.topic())
    model = await registry_model(platform, dataset)
    versions = model.get("versions")
    assert isinstance(versions, list) and len(versions) == 1, model


async def test_registry_restart_keeps_versions_aliases_and_audit(
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    unique: str,
) -> None:
    dataset = unique
    await declare(producer, platform["ingestion"].url, declaration(dataset))
    arrival = await arrive(
        producer,
        dataset,
        upload_csv(store, e2e_settings, dataset, "a.csv", classification_frame(300, seed=5)),
    )
    assert isinstance(await promoted_or_rejected(watcher, dataset, arrival.event_id), ModelPromoted)

    registry = platform["registry"]
    async with httpx.AsyncClient(timeout=10) as client:
        before = {
            p: (await client.get(f"{registry.url}/models/{dataset}{p}")).json()
            for p in ("", "/aliases", "/audit")
        }
    registry.stop()
    platform.start("registry").wait_ready()
    registry = platform["registry"]
    async with httpx.AsyncClient(timeout=10) as client:
        after = {
            p: (await client.get(f"{registry.url}/models/{dataset}{p}")).json()
            for p in ("", "/aliases", "/audit")
        }
    assert after == before
    assert before["/audit"], "the audit trail should not be empty"
