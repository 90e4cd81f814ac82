"""S3 down while a promotion is loaded: the replica keeps serving what it holds, stays ready
(listing the outage), and loads the new version once S3 is back, nothing dead-lettered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deployment_component_data import ROW, Deployment, promoted
from urllib3.exceptions import MaxRetryError, NewConnectionError


async def test_a_replica_serving_from_memory_stays_ready_through_an_s3_outage(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    await deployment.replica.start()
    await deployment.deliver(promoted(deployment.version(1)))
    assert (await deployment.http.get("/health/ready")).status_code == 200

    download = deployment.store.download
    failed = 0

    def s3_down_three_times(uri: str, dest: Path, *args: Any, **kwargs: Any) -> str:
        nonlocal failed
        if failed < 3:
            failed += 1
            raise MaxRetryError(None, uri, NewConnectionError(None, "refused"))  # type: ignore[arg-type]
        return download(uri, dest, *args, **kwargs)

    monkeypatch.setattr(deployment.store, "download", s3_down_three_times)
    during: list[tuple[int, list[str], int]] = []

    async def while_waiting(_: float) -> None:
        health = await deployment.http.get("/health/ready")
        served = await deployment.http.post("/models/churn/predict", json=ROW)
        during.append(
            (health.status_code, list(health.json()["degraded"]), served.json()["version"])
        )

    deployment.runtime.dead_letters.sleep = while_waiting
    await deployment.deliver(promoted(deployment.version(2)))

    assert during == [(200, ["s3"], 1)] * 3, "ready, naming S3, serving v1 while v2 waited"
    assert deployment.runtime.dead_letters.dead_lettered == 0
    assert (await deployment.http.post("/models/churn/predict", json=ROW)).json()["version"] == 2
    health = await deployment.http.get("/health/ready")
    assert health.status_code == 200 and health.json()["degraded"] == {}
