"""Monitoring killed -9 keeps its open drift window: the real process, the real stack."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
from millrace_contracts import (
    ArtifactRef,
    ColumnProfile,
    DatasetProfile,
    DriftDetected,
    FeatureSignature,
    Metrics,
    ModelPromoted,
    ModelVersionInfo,
    MonitoringPolicy,
    NumericProfile,
    PredictionsLogged,
    first_of_flow,
)
from millrace_contracts.serving_events import PredictionRecord

from .flows import Flow, eventually, wait_consumed

pytestmark = pytest.mark.e2e

WINDOW = 20
SHA = "ab" * 32
START = datetime(2026, 12, 1, tzinfo=UTC)


def reference(rows: int = 5000) -> DatasetProfile:
    """x ~ N(0, 1), profiled as ingestion does (decile bins, a sample)."""
    x = np.random.default_rng(0).normal(0.0, 1.0, rows)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, 11)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=edges.size + 1)
    numeric = NumericProfile(
        mean=float(x.mean()),
        std=float(x.std()),
        min=float(x.min()),
        max=float(x.max()),
        bin_edges=[float(e) for e in edges],
        bin_counts=[int(c) for c in counts],
        sample=[float(v) for v in x],
    )
    column = ColumnProfile(
        name="x", kind="numeric", dtype="float", count=rows, nulls=0, numeric=numeric
    )
    return DatasetProfile(
        dataset="e2e", dataset_version=SHA, rows=rows, created_at=START, columns=[column]
    )


def version(model: str, profile: ArtifactRef) -> ModelVersionInfo:
    placeholder = ArtifactRef(uri=f"s3://millrace-models/{model}/none", sha256=SHA, size_bytes=1)
    return ModelVersionInfo(
        model_name=model,
        version=1,
        run_id="e2e-run",
        dataset=model,  # never declared: a drift of it retrains nothing
        dataset_version=SHA,
        task="classification",
        artifact=placeholder,
        model_card=placeholder,
        reference_profile=profile,
        signature=[FeatureSignature(name="x", kind="numeric", dtype="float")],
        metrics=Metrics(values={"accuracy": 0.9}, holdout_id="h", holdout_rows=1),
        monitoring=MonitoringPolicy(window_size=WINDOW),
    )


def shifted(model: str, n: int, rng: np.random.Generator) -> PredictionsLogged:
    """``n`` predictions whose x moved by 3 standard deviations."""
    return PredictionsLogged(
        **first_of_flow(producer="e2e"),
        model_name=model,
        model_version=1,
        replica_id="e2e",
        predictions=[
            PredictionRecord(
                prediction_id=uuid.uuid4().hex,
                features={"x": float(v)},
                output="yes",
                timestamp=START + timedelta(seconds=i),
            )
            for i, v in enumerate(rng.normal(3.0, 1.0, n))
        ],
    )


async def window_of(url: str, model: str) -> tuple[int, int] | None:
    """(windows checked, predictions in the open window) of the model's v1, if known."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{url}/models/{model}/drift")
    if response.status_code != 200:
        return None
    [v1] = response.json()["versions"]
    return v1["windows_checked"], v1["window_fill"]


async def test_monitoring_killed_one_prediction_short_of_a_window_reports_the_drift_after_restart(
    flow: Flow,
) -> None:
    platform, model, settings = flow.platform, flow.dataset, flow.settings
    profile = flow.store.put_bytes(
        f"s3://{settings.bucket_datasets}/{model}/reference.json",
        reference().model_dump_json().encode(),
        "application/json",
    )
    rng = np.random.default_rng(7)

    async def filled(url: str, expected: tuple[int, int]) -> bool:
        return await window_of(url, model) == expected

    async def handled(url: str, expected: tuple[int, int]) -> None:
        """The open window is as expected and the group has committed past every prediction."""
        await eventually(lambda: filled(url, expected), within=60)
        await wait_consumed(settings, "millrace-monitoring", PredictionsLogged.topic(), within=60)

    # 1. Every batch checkpointed: 14 predictions of the 20-prediction window, then kill -9.
    platform["monitoring"].stop()
    first = platform.start("monitoring", MILLRACE_MONITORING_CHECKPOINT_SECONDS="0")
    first.wait_ready()
    # Staging: monitored like any alias, left alone by deployment (production only).
    promoted = ModelPromoted(
        **first_of_flow(producer="e2e"), model=version(model, profile), alias="staging"
    )
    await flow.producer.publish(promoted)
    await eventually(lambda: window_of(first.url, model), within=60)
    for size in (8, 6):
        await flow.producer.publish(shifted(model, size, rng))
    await handled(first.url, (0, 14))  # consumed means checkpointed here
    first.kill()

    # 2. No checkpoint for an hour: the restored 14, then 5 more handled and committed but
    # not checkpointed, then kill -9 one prediction short of the window.
    second = platform.start("monitoring", MILLRACE_MONITORING_CHECKPOINT_SECONDS="3600")
    second.wait_ready()
    # Partitions (and their checkpoints) come once the group has rebalanced, after readiness.
    await eventually(lambda: filled(second.url, (0, 14)), within=60)
    await flow.producer.publish(shifted(model, WINDOW - 1 - 14, rng))
    await handled(second.url, (0, WINDOW - 1))
    second.kill()

    # 3. Restarted as configured by default: it restores the 14 and reads the 5 again, from
    # the checkpoint's offsets rather than the group's committed ones.
    third = platform.start("monitoring")
    third.wait_ready()
    await eventually(lambda: filled(third.url, (0, WINDOW - 1)), within=60)
    assert not flow.watcher.of_type(DriftDetected, lambda e: e.model_name == model)

    await flow.producer.publish(shifted(model, 1, rng))
    [drift] = await flow.watcher.wait_for(DriftDetected, lambda e: e.model_name == model, within=60)
    assert drift.window.size == WINDOW
    assert drift.drifted_features == ["x"]
    assert await window_of(third.url, model) == (1, 0)
