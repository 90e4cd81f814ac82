"""The session's only Kafka broker is killed with SIGKILL mid-flow and started again 15 s after
a service first finds it gone (same port, same data): every service is ready again without a restart of its own, the flow
ends promoted with one fit and one model version, deployment loads it and ingestion takes in a
new declaration afterwards, and nothing is dead-lettered.

The broker dies while training holds a finished fit (``held_fit``): released, training's
upload succeeds and its ``model.trained`` publish fails on the missing broker (after aiokafka's
40 s request timeout), so it waits the outage out as a transient fault (503 naming ``kafka``),
and publishes once the broker is back.
Every other service, idle, reports the broker down by its probe (503 naming ``kafka``;
deployment 200 listing it), and is ready with nothing degraded once the broker is back.
The broker is back before the test ends, also when it fails, so later tests have their stack.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from millrace_contracts import DatasetValidated, ModelDeployed, ModelPromoted
from millrace_infra.config import StackConfig
from millrace_infra.stack import kill_broker, start_broker
from millrace_infra.state import read_state

from . import patched_service
from .conftest import Platform
from .flows import Flow, classification_frame, eventually
from .test_data_to_model import declaration, exactly_one_model_version

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = float(os.environ.get("MILLRACE_E2E_BROKER_OUTAGE_SECONDS", "15"))


class BrokerOutage:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.down = False

    def kill(self) -> None:
        kill_broker(self.config, 1)
        self.down = True

    def restart(self) -> None:
        start_broker(self.config, 1)
        self.down = False


@pytest.fixture
def broker_outage(local_stack: Any) -> Iterator[BrokerOutage]:
    config = read_state(local_stack.home) if local_stack.home is not None else None
    if config is None:
        pytest.skip("the stack was started elsewhere: its broker is not this suite's to kill")
    if config.brokers != 1:
        pytest.skip("the session's stack is a cluster: this test is about its only broker")
    outage = BrokerOutage(config)
    try:
        yield outage
    finally:
        if outage.down:  # the rest of the session needs its broker back, whatever happened
            outage.restart()


async def readiness(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"{url}/health/ready")


async def waits_on_kafka(url: str) -> bool:
    """503 naming ``kafka``, with a message of its own waiting on it (not only the probe)."""
    answer = await readiness(url)
    kafka = answer.json().get("degraded", {}).get("kafka", {})
    return answer.status_code == 503 and kafka.get("waiting_messages", 0) >= 1


async def reports_kafka_down(url: str, *, status: int) -> bool:
    """``kafka`` listed as degraded, answered with ``status``."""
    answer = await readiness(url)
    return answer.status_code == status and "kafka" in answer.json()["degraded"]


async def every_service_reports_kafka_down(
    platform: Platform, *, busy: str, deployment_status: int
) -> bool:
    """Idle services too, by their probe rather than by stuck work: a consumer 503, as it
    cannot do its job; deployment with the status it had before (200 while it serves a
    model from memory, 503 if it served none yet), listing kafka either way."""
    checks = [
        reports_kafka_down(s.url, status=deployment_status if name == "deployment" else 503)
        for name, s in platform.services.items()
        if s.running() and name != busy
    ]
    return all(await asyncio.gather(*checks))


async def all_ready(platform: Platform) -> bool:
    running = [s for s in platform.services.values() if s.running()]
    answers = await asyncio.gather(*(readiness(s.url) for s in running))
    return all(a.status_code == 200 and not a.json()["degraded"] for a in answers)


async def dead_lettered(platform: Platform) -> dict[str, int]:
    running = {n: s for n, s in platform.services.items() if s.running()}
    return {n: int((await readiness(s.url)).json()["dead_lettered"]) for n, s in running.items()}


async def test_the_only_broker_killed_mid_flow_is_waited_out_and_every_service_recovers(
    flow: Flow, broker_outage: BrokerOutage, tmp_path: Path
) -> None:
    platform = flow.platform
    platform["training"].stop()
    held = platform.start("training", patched_service.command("training", held_fit=tmp_path))
    try:
        await asyncio.gather(
            asyncio.to_thread(held.wait_ready), flow.declare(declaration(flow.dataset))
        )
        before = await dead_lettered(platform)
        pids = {n: s.pid for n, s in platform.services.items() if s.running()}

        arrival = await flow.arrive("a.csv", classification_frame(300, seed=11))
        await flow.first(DatasetValidated, arrival)
        await eventually(lambda: (tmp_path / "entered").exists(), within=flow.within)

        deployment_status = (await readiness(platform["deployment"].url)).status_code
        broker_outage.kill()
        (tmp_path / "release").touch()
        # Nothing in flight for ingestion, the registry or monitoring: 503 naming kafka all
        # the same. Deployment keeps its status and lists kafka degraded.
        await eventually(
            lambda: every_service_reports_kafka_down(
                platform, busy="training", deployment_status=deployment_status
            ),
            within=flow.within,
        )
        # The publish fails once aiokafka's request timeout (40 s) has run out; a shorter
        # outage only delays the send. From then on training waits it out, reporting it.
        await eventually(lambda: waits_on_kafka(held.url), within=flow.within)
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for an effect
        assert await waits_on_kafka(held.url), "training stopped waiting while Kafka was down"
        broker_outage.restart()

        decision = await flow.decision(arrival)
        assert isinstance(decision, ModelPromoted), decision
        assert decision.model.version == 1
        await exactly_one_model_version(flow)
        assert (tmp_path / "fits").read_text().splitlines() == ["fit"], "training fitted again"
        await eventually(lambda: all_ready(platform), within=120)
        # Consuming again, not only ready: deployment loaded the version promoted after the
        # outage, and ingestion takes in a new declaration.
        await flow.watcher.wait_for(
            ModelDeployed,
            lambda e: e.model_name == flow.dataset and e.version == 1,
            within=flow.within,
        )
        await flow.declare(declaration(flow.dataset, C=0.5))
        # Ready again by themselves: the same processes as before the outage.
        assert {n: s.pid for n, s in platform.services.items() if n in pids} == pids
        assert await dead_lettered(platform) == before, "nothing may be dead-lettered"
    finally:
        (tmp_path / "release").touch()  # whatever happened, later fits are not held
