"""Kafka handlers: every replica consumes every promotion, in a consumer group of its own."""

from __future__ import annotations

from typing import Any

from millrace_contracts import DeploymentFailed, ModelDeployed, ModelPromoted, PredictionsLogged
from millrace_shared.service import ServiceRuntime

from .core.deployer import Deployer


def register(runtime: ServiceRuntime, deployer: Deployer, group_id: str) -> Any:
    """Subscribe to promotions; returns the subscriber, whose position start-up pins."""
    runtime.declare_publishes(ModelDeployed, DeploymentFailed, PredictionsLogged)
    # "latest": a fresh replica's past is the registry snapshot, not a replay of every
    # promotion ever made (see lifecycle). A replica with a stable id resumes where it was.
    subscriber = runtime.broker.subscriber(
        ModelPromoted.topic(),
        group_id=group_id,
        auto_offset_reset="latest",
        title=f"{ModelPromoted.topic()}:deployment",
    )

    @subscriber
    async def on_model_promoted(event: ModelPromoted) -> None:
        outcome = await deployer.on_promoted(event)
        if outcome is not None:
            await runtime.sink.publish(outcome)

    return subscriber
