from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from millrace_contracts import ModelTrained
from millrace_training.api import training_router
from training_component_data import degraded, drift, iris_frame, promoted, validated
from training_component_service import HeldFit, Service, replica


async def prepare_untrained_newest_version(service: Service) -> None:
    """Production on 120 rows; a 150-row version whose own training failed."""
    await service.deliver(validated(service.store, iris_frame(120)))
    [first] = service.sink.of_type(ModelTrained)
    await service.deliver(promoted(first, version=1))
    service.store.failing = True
    await service.deliver(validated(service.store, iris_frame()))
    service.store.failing = False


async def test_cooldown_stops_a_second_replica_while_the_first_retrains(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    await prepare_untrained_newest_version(service)
    held = HeldFit(monkeypatch)
    runner_a, sink_a = replica(service.store, service.settings)
    runner_b, sink_b = replica(service.store, service.settings)

    fitting = asyncio.create_task(runner_a.on_retraining_signal(drift()))
    assert await asyncio.to_thread(held.entered.wait, 30), "replica A never started its fit"
    # Replica B gets the degradation signal of the same model while A is mid-fit.
    assert await runner_b.on_retraining_signal(degraded()) is None
    assert held.fits == 1, "replica B started a fit of its own"

    held.gate.set()
    trained = await fitting
    assert trained is not None and trained.trigger == "drift"
    assert held.fits == 1
    assert sink_a.of_type(ModelTrained) == [trained] and sink_b.events == []


async def test_status_and_runs_endpoints(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    held = HeldFit(monkeypatch)
    runner, _ = replica(service.store, service.settings)
    app = FastAPI()
    app.include_router(training_router(runner, service.runs))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://training") as client:
        assert (await client.get("/status")).json() == {"current": None}
        event = validated(service.store, iris_frame())
        fitting = asyncio.create_task(runner.on_dataset_validated(event))
        assert await asyncio.to_thread(held.entered.wait, 30)

        status = (await client.get("/status")).json()["current"]
        assert status["model"] == "iris" and status["dataset_version"] == event.dataset_version
        assert len(status["run_id"]) == 16 and status["started_at"]

        held.gate.set()
        trained = await fitting
        assert trained is not None
        assert (await client.get("/status")).json() == {"current": None}
        runs = (await client.get("/runs/iris")).json()
        assert [r["run_id"] for r in runs] == [trained.run_id]
        assert (await client.get("/runs/unknown")).json() == []
        assert (await client.get("/runs/Bad Name")).status_code == 422
        # One run with its card: what `millrace lineage` shows of the training.
        detail = (await client.get(f"/runs/iris/run/{trained.run_id}")).json()
        assert detail["trained"]["run_id"] == trained.run_id
        assert detail["card"]["training_spec"] == event.training.model_dump(mode="json")
        assert detail["card"]["code_version"]["package"] == "millrace-training"
        assert (await client.get("/runs/iris/run/nope")).status_code == 404
