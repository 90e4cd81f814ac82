"""A run stopped by a limit publishes nothing and leaves a machine-readable record."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from faststream.kafka import TestKafkaBroker
from millrace_contracts import ModelTrained
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.service import build_runtime
from millrace_training.api import training_router
from millrace_training.bootstrap import assemble
from millrace_training.settings import TrainingSettings
from opentelemetry.sdk.trace import TracerProvider
from training_component_data import SPEC, iris_frame, validated
from training_component_service import FlakyStore, Service


@pytest.fixture
async def limited() -> AsyncIterator[Service]:
    settings = TrainingSettings(
        kafka_max_attempts=1, kafka_retry_backoff_seconds=0, max_artifact_bytes=1000
    )
    store = FlakyStore()
    store.ensure_buckets(settings.buckets)
    runtime = build_runtime(settings, store=store, tracer_provider=TracerProvider())
    sink = RecordingEventSink()
    runtime.sink = sink
    runner, runs = assemble(runtime, settings)
    async with TestKafkaBroker(runtime.broker) as broker:
        yield Service(broker, store, sink, runner, runs, settings, runtime)


async def test_a_model_above_the_artifact_limit_ends_the_run_as_failed(limited: Service) -> None:
    event = validated(limited.store, iris_frame())
    await limited.deliver(event)
    assert limited.sink.of_type(ModelTrained) == []
    [failed] = limited.runs.failed_runs("iris")
    assert failed.reason.code == "artifact_too_large"
    assert (failed.dataset_version, failed.trigger) == (event.dataset_version, "data")
    keys = limited.store.list_keys("millrace-models", "iris/runs/")
    assert keys == [f"iris/runs/{failed.run_id}/failed.json"]  # no artifact, no card
    assert not limited.runs.is_done("iris", failed.run_id)

    app = FastAPI()
    app.include_router(training_router(limited.runner, limited.runs))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/runs/iris/failed")
    assert response.status_code == 200
    [body] = response.json()
    assert body["reason"]["code"] == "artifact_too_large"
    assert body["run_id"] == failed.run_id


async def test_a_declared_parameter_above_its_bound_ends_the_run_as_failed(
    limited: Service,
) -> None:
    assert SPEC.estimator is not None
    huge = SPEC.estimator.model_copy(update={"params": {"n_estimators": 100_000}})
    await limited.deliver(
        validated(limited.store, iris_frame(), training=SPEC.model_copy(update={"estimator": huge}))
    )
    assert limited.sink.of_type(ModelTrained) == []
    [failed] = limited.runs.failed_runs("iris")
    assert failed.reason.code == "parameter_out_of_bounds"
    assert "n_estimators=100000 > 500" in failed.reason.message
