"""Kill -9 of ingestion, the registry and deployment at the worst points of one flow.

Each service runs patched (``patched_service.held_call``) so that it stops at one point for
this test's dataset only, and is killed there with SIGKILL: no shutdown hook, no offset
committed. The plain service is then started again, and the flow must go on from where it
was, with nothing lost and nothing twice:

- ingestion mid-validation (the arrival read, nothing stored or published): the restarted
  ingestion validates the arrival, once;
- the registry between claiming the version (and recording its decision) and publishing the
  decision: the restarted registry publishes that same decision, and there is one version;
- deployment between loading the promoted version and swapping it in: the restarted replica
  serves it and says so (``model.deployed``).

One flow carries all three, so the suite pays for one training run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from millrace_contracts import DatasetValidated, ModelDeployed, ModelPromoted
from millrace_infra.launcher import Process

from . import patched_service
from .conftest import E2E_MAX_DECODED_BYTES, Platform
from .flows import Flow, classification_frame, eventually
from .test_data_to_model import declaration, exactly_one_model_version

pytestmark = pytest.mark.e2e

# The session's ingestion runs with these limits (see the ``platform`` fixture); its
# replacements keep them for the tests after this one.
INGESTION_ENV = {
    "MILLRACE_INGESTION_MAX_BYTES": "500000",
    "MILLRACE_INGESTION_MAX_DECODED_BYTES": str(E2E_MAX_DECODED_BYTES),
}

HOLD_POINTS = {
    "ingestion": "millrace_ingestion.core.pipeline:Ingestion._validate",
    "registry": "millrace_registry.core.service:decision_event",
    "deployment": "millrace_deployment.core.deployer:_ready_to_serve",
}


def start_plain(platform: Platform, name: str) -> Process:
    if name == "deployment":
        return platform.start_deployment("deployment")
    return platform.start(name, (), **(INGESTION_ENV if name == "ingestion" else {}))


def start_held(platform: Platform, name: str, gate: Path, needle: str) -> Process:
    gate.mkdir()
    argv = patched_service.command(name, held_call=f"{HOLD_POINTS[name]}@{gate}@{needle}")
    if name == "deployment":
        return platform.start_deployment("deployment", argv)
    return platform.start(name, argv, **(INGESTION_ENV if name == "ingestion" else {}))


async def kill_when_held(flow: Flow, held: Process, gate: Path) -> None:
    await eventually(lambda: (gate / "entered").exists(), within=flow.within)
    held.kill()
    assert not held.running()


async def test_ingestion_registry_and_deployment_killed_mid_work_lose_and_repeat_nothing(
    flow: Flow, tmp_path: Path
) -> None:
    platform = flow.platform
    names = ("ingestion", "registry", "deployment")
    gates = {name: tmp_path / name for name in names}
    held: dict[str, Process] = {}
    try:
        for name in names:
            platform[name].stop()
            held[name] = start_held(platform, name, gates[name], flow.dataset)
        await asyncio.gather(*(asyncio.to_thread(p.wait_ready) for p in held.values()))
        await flow.declare(declaration(flow.dataset))
        arrival = await flow.arrive("a.csv", classification_frame(300, seed=21))

        await kill_when_held(flow, held["ingestion"], gates["ingestion"])
        await asyncio.to_thread(start_plain(platform, "ingestion").wait_ready)
        validated = await flow.first(DatasetValidated, arrival)

        await kill_when_held(flow, held["registry"], gates["registry"])
        await asyncio.to_thread(start_plain(platform, "registry").wait_ready)
        decision = await flow.decision(arrival)
        assert isinstance(decision, ModelPromoted), decision
        assert decision.model.version == 1
        assert decision.model.dataset_version == validated.dataset_version
        await exactly_one_model_version(flow)

        await kill_when_held(flow, held["deployment"], gates["deployment"])
        await asyncio.to_thread(start_plain(platform, "deployment").wait_ready)
        await flow.watcher.wait_for(
            ModelDeployed,
            lambda e: e.model_name == flow.dataset and e.version == 1,
            within=flow.within,
        )
    finally:
        for name, process in held.items():
            (gates[name] / "release").touch()
            if platform[name] is process:  # still the patched one: the session gets it back
                process.stop()
                await asyncio.to_thread(start_plain(platform, name).wait_ready)
