"""Kafka subscribers: decode the contract event, hand it to the runner."""

from __future__ import annotations

from millrace_contracts import (
    DatasetValidated,
    DriftDetected,
    ModelPromoted,
    ModelTrained,
    PerformanceDegraded,
    TrainingRequested,
)
from millrace_shared.service import ServiceRuntime

from .core.runner import TrainingRunner
from .settings import TrainingSettings


def register(runtime: ServiceRuntime, runner: TrainingRunner, settings: TrainingSettings) -> None:
    broker = runtime.broker
    group = runtime.group_id
    # Subscribers that may fit (or wait for a fit) must not be judged dead by the group
    # coordinator meanwhile.
    long_poll = settings.max_poll_interval_ms

    @broker.subscriber(
        DatasetValidated.topic(),
        group_id=group,
        auto_offset_reset="earliest",
        max_poll_interval_ms=long_poll,
    )
    async def on_dataset_validated(event: DatasetValidated) -> None:
        await runner.on_dataset_validated(event)

    @broker.subscriber(
        TrainingRequested.topic(),
        group_id=group,
        auto_offset_reset="earliest",
        max_poll_interval_ms=long_poll,
    )
    async def on_training_requested(event: TrainingRequested) -> None:
        await runner.on_training_requested(event)

    @broker.subscriber(
        DriftDetected.topic(),
        group_id=group,
        auto_offset_reset="earliest",
        max_poll_interval_ms=long_poll,
    )
    async def on_drift_detected(event: DriftDetected) -> None:
        await runner.on_retraining_signal(event)

    @broker.subscriber(
        PerformanceDegraded.topic(),
        group_id=group,
        auto_offset_reset="earliest",
        max_poll_interval_ms=long_poll,
    )
    async def on_performance_degraded(event: PerformanceDegraded) -> None:
        await runner.on_retraining_signal(event)

    @broker.subscriber(ModelPromoted.topic(), group_id=group, auto_offset_reset="earliest")
    async def on_model_promoted(event: ModelPromoted) -> None:
        await runner.on_model_promoted(event)

    runtime.declare_publishes(ModelTrained)
