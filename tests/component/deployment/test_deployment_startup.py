"""Start-up: the registry snapshot, readiness, and an unreachable registry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from deployment_component_data import ROW, Deployment, promoted
from millrace_contracts import ModelDeployed
from millrace_deployment.bootstrap import with_replica


async def ready(deployment: Deployment) -> int:
    return (await deployment.http.get("/health/ready")).status_code


async def test_a_fresh_replica_serves_the_current_production_model(deployment: Deployment) -> None:
    info = deployment.version(3)
    deployment.registry.production["churn"] = info
    assert await ready(deployment) == 503

    await deployment.replica.start()
    assert deployment.replica.snapshot is not None
    await deployment.replica.snapshot

    [deployed] = deployment.sink.of_type(ModelDeployed)
    assert deployed.version == 3 and deployed.causation_id is None
    assert await ready(deployment) == 200
    response = await deployment.http.post("/models/churn/predict", json=ROW)
    assert response.json()["version"] == 3


async def test_without_a_model_the_replica_is_live_but_not_ready(deployment: Deployment) -> None:
    await deployment.replica.start()
    assert deployment.replica.snapshot is not None
    await deployment.replica.snapshot
    assert (await deployment.http.get("/health/live")).status_code == 200
    assert await ready(deployment) == 503


async def asked_again(deployment: Deployment, times: int) -> None:
    """Until the registry has been asked `times` more times (the replica's retries)."""
    target = deployment.registry.asked + times
    while deployment.registry.asked < target:
        assert deployment.replica.snapshot is not None and not deployment.replica.snapshot.done()
        await asyncio.sleep(0.01)


async def test_an_unreachable_registry_is_asked_again_until_it_answers(
    deployment: Deployment,
) -> None:
    deployment.registry.down = True
    deployment.registry.production["churn"] = deployment.version(1)
    await deployment.replica.start()
    await asked_again(deployment, 3)
    assert (await deployment.http.get("/health/live")).status_code == 200
    assert await ready(deployment) == 503 and deployment.sink.events == []

    # A promotion is applied at once, but without the production set the replica stays
    # out of rotation: it would 404 production models it has not heard of.
    await deployment.deliver(promoted(deployment.version(2)))
    assert [e.version for e in deployment.sink.of_type(ModelDeployed)] == [2]
    assert await ready(deployment) == 503

    deployment.registry.down = False
    assert deployment.replica.snapshot is not None
    await deployment.replica.snapshot
    assert deployment.replica.has_snapshot
    assert await ready(deployment) == 200
    # The promotion came after the pinned position: it wins over the snapshot's version 1.
    response = await deployment.http.post("/models/churn/predict", json=ROW)
    assert response.json()["version"] == 2


async def test_stopping_ends_the_retries(deployment: Deployment) -> None:
    deployment.registry.down = True
    await deployment.replica.start()
    await asked_again(deployment, 2)
    await deployment.replica.stop()
    assert deployment.replica.snapshot is not None and deployment.replica.snapshot.cancelled()


async def test_a_promotion_received_before_the_snapshot_wins(deployment: Deployment) -> None:
    deployment.registry.production["churn"] = deployment.version(1)
    await deployment.deliver(promoted(deployment.version(2)))
    await deployment.replica.start()
    assert deployment.replica.snapshot is not None
    await deployment.replica.snapshot
    assert [e.version for e in deployment.sink.of_type(ModelDeployed)] == [2]
    response = await deployment.http.post("/models/churn/predict", json=ROW)
    assert response.json()["version"] == 2


async def test_the_replica_runs_inside_the_shared_lifespan_and_narrows_readiness(
    deployment: Deployment,
) -> None:
    runtime, order = deployment.runtime, []

    @asynccontextmanager
    async def shared(_: Any) -> AsyncIterator[None]:
        runtime.ready = True  # what the shared lifespan does once the broker runs
        order.append("broker started")
        yield
        order.append("broker stopped")

    async with with_replica(shared, deployment.replica)(None):
        order.append(f"serving, ready={runtime.ready}")
        assert deployment.replica.snapshot is not None
        await deployment.replica.snapshot
    assert order == ["broker started", "serving, ready=False", "broker stopped"]
    assert deployment.replica.publisher.logged == 0 and not deployment.replica.started
