"""Kafka subscribers: decode the contract event, hand it to the runner."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from millrace_contracts import (
    DatasetValidated,
    DriftDetected,
    Event,
    ModelPromoted,
    ModelTrained,
    PerformanceDegraded,
    TrainingRequested,
)
from millrace_shared.service import ServiceRuntime

from .core.runner import TrainingRunner
from .settings import TrainingSettings

E = TypeVar("E", bound=Event)


def register(runtime: ServiceRuntime, runner: TrainingRunner, settings: TrainingSettings) -> None:
    broker = runtime.broker
    may_fit: list[tuple[type[Event], Callable[[Any], Awaitable[object]]]] = [
        (DatasetValidated, runner.on_dataset_validated),
        (TrainingRequested, runner.on_training_requested),
        (DriftDetected, runner.on_retraining_signal),
        (PerformanceDegraded, runner.on_retraining_signal),
    ]
    for event_type, handle in may_fit:
        broker.subscriber(
            event_type.topic(),
            group_id=runtime.group_id,
            auto_offset_reset="earliest",
            # A subscriber that may fit (or wait for a fit) must not be judged dead by the
            # group coordinator meanwhile.
            max_poll_interval_ms=settings.max_poll_interval_ms,
        )(subscriber_for(event_type, handle))

    @broker.subscriber(
        ModelPromoted.topic(), group_id=runtime.group_id, auto_offset_reset="earliest"
    )
    async def on_model_promoted(event: ModelPromoted) -> None:
        await runner.on_model_promoted(event)

    runtime.declare_publishes(ModelTrained)


def subscriber_for(
    event_type: type[E], handle: Callable[[E], Awaitable[object]]
) -> Callable[[E], Awaitable[None]]:
    """A handler of its own per event type: FastStream decodes the body by the parameter's
    annotation and names the AsyncAPI operation after the function (``on_dataset_validated``)."""

    async def handler(event: E) -> None:
        await handle(event)

    handler.__name__ = handler.__qualname__ = (
        "on_" + re.sub(r"(?<!^)(?=[A-Z])", "_", event_type.__name__).lower()
    )
    handler.__annotations__ = {"event": event_type, "return": None}
    return handler
