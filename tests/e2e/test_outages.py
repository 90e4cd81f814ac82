"""S3 goes away and comes back: the flow waits it out, ends promoted, nothing dead-lettered,
training fits once, and readiness says which dependency is missing while it is.

S3 is stopped twice: right after an arrival is announced (ingestion must wait), for
``MILLRACE_E2E_S3_OUTAGE_SECONDS`` (60 s by default, the issue's scenario, in CI too), and
between training's fit and its upload (training must wait, and must not fit again), for
``MILLRACE_E2E_S3_FIT_OUTAGE_SECONDS`` (10 s by default). The two cannot overlap: training fits
from the validated data, which it reads from S3. The second is short so that the test adds
about a minute to CI, not two: what it shows (a fit is not redone because its upload failed)
does not depend on the outage's length: training's retries of its upload reach their backoff
cap (2 s in these tests) within seconds, and a longer outage only means more of them.

Training runs patched (``held_fit``) from here on: once released, its fits pass straight
through, so it is the real service for the rest of the session, and restarting it again
would cost the suite half a minute.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from millrace_contracts import DatasetValidated, ModelPromoted
from millrace_infra.config import StackConfig
from millrace_infra.stack import start_component, stop_component
from millrace_infra.state import read_state

from . import patched_service
from .conftest import Platform
from .flows import Flow, arrive, classification_frame, eventually, upload_csv
from .test_data_to_model import declaration, exactly_one_model_version

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = float(os.environ.get("MILLRACE_E2E_S3_OUTAGE_SECONDS", "60"))
FIT_OUTAGE_SECONDS = float(os.environ.get("MILLRACE_E2E_S3_FIT_OUTAGE_SECONDS", "10"))


@pytest.fixture
def stack_config(local_stack: Any) -> StackConfig:
    config = read_state(local_stack.home) if local_stack.home is not None else None
    if config is None:
        pytest.skip("the stack was started elsewhere: its S3 is not this suite's to stop")
    return config


class S3Outage:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.down = False
        self.since = 0.0

    def begin(self) -> None:
        assert stop_component(self.config, "s3"), "S3 was not running"
        self.down = True
        self.since = time.monotonic()

    async def lasts(self, seconds: float) -> None:
        """Let the outage run until it has lasted ``seconds`` since S3 stopped."""
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - self.since)))

    def end(self) -> None:
        start_component(self.config, "s3")
        self.down = False


@pytest.fixture
def s3_outage(stack_config: StackConfig) -> Iterator[S3Outage]:
    outage = S3Outage(stack_config)
    try:
        yield outage
    finally:
        if outage.down:  # the rest of the session needs its S3 back, whatever happened here
            outage.end()


async def health(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"{url}/health/ready")


async def waits_on_s3(url: str) -> bool:
    answer = await health(url)
    return answer.status_code == 503 and "s3" in answer.json().get("degraded", {})


async def is_ready(url: str) -> bool:
    return (await health(url)).status_code == 200


async def dead_lettered(platform: Platform) -> dict[str, int]:
    counts = {}
    for name, service in platform.services.items():
        if service.running():  # earlier tests may have stopped some (replicas, a killed training)
            counts[name] = int((await health(service.url)).json()["dead_lettered"])
    return counts


async def test_s3_outages_are_waited_out_and_the_flow_ends_promoted_with_one_fit(
    flow: Flow, s3_outage: S3Outage, tmp_path: Path
) -> None:
    platform = flow.platform
    platform["training"].stop()
    held = platform.start("training", patched_service.command("training", held_fit=tmp_path))
    try:
        await asyncio.gather(
            asyncio.to_thread(held.wait_ready), flow.declare(declaration(flow.dataset))
        )
        before = await dead_lettered(platform)
        ingestion = platform["ingestion"].url

        # Outage 1: the file is uploaded, S3 goes, the arrival is announced.
        uri = upload_csv(
            flow.store, flow.settings, flow.dataset, "a.csv", classification_frame(300, seed=6)
        )
        s3_outage.begin()
        arrival = await arrive(flow.producer, flow.dataset, uri)
        await eventually(lambda: waits_on_s3(ingestion), within=60)
        await s3_outage.lasts(OUTAGE_SECONDS)  # the outage itself, not a wait for an effect
        assert await waits_on_s3(ingestion), "ingestion stopped waiting while S3 was down"
        assert not flow.watcher.of_type(
            DatasetValidated, lambda e: e.correlation_id == arrival.event_id
        )
        s3_outage.end()
        await flow.first(DatasetValidated, arrival)
        await eventually(lambda: is_ready(ingestion), within=60)

        # Outage 2: between training's fit and its upload.
        await eventually(lambda: (tmp_path / "entered").exists(), within=flow.within)
        s3_outage.begin()
        (tmp_path / "release").touch()
        await eventually(lambda: waits_on_s3(held.url), within=60)
        await s3_outage.lasts(FIT_OUTAGE_SECONDS)
        assert await waits_on_s3(held.url), "training stopped waiting while S3 was down"
        s3_outage.end()

        decision = await flow.decision(arrival)
        assert isinstance(decision, ModelPromoted), decision
        assert decision.model.version == 1
        await exactly_one_model_version(flow)
        assert (tmp_path / "fits").read_text().splitlines() == ["fit"], "training fitted again"
        await eventually(lambda: is_ready(held.url), within=60)
        assert await dead_lettered(platform) == before, "nothing may be dead-lettered"
    finally:
        (tmp_path / "release").touch()  # whatever happened, later fits are not held
