"""Follow one flow (the events sharing a correlation id) until it ends, stage by stage."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from millrace_contracts import (
    DatasetRejected,
    DatasetValidated,
    DeploymentFailed,
    Event,
    ModelDeployed,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
)
from millrace_shared.watch import EventWatcher

from .errors import ExitCode

FLOW_EVENTS: tuple[type[Event], ...] = (
    DatasetValidated,
    DatasetRejected,
    ModelTrained,
    ModelPromoted,
    ModelRejected,
    ModelDeployed,
    DeploymentFailed,
)
"""What a flow started by a data arrival produces (the watcher subscribes to these)."""


@dataclass(frozen=True)
class Outcome:
    code: ExitCode
    summary: str
    event: Event | None = None


def outcome_of(event: Event) -> Outcome | None:
    """The flow's end if ``event`` ends it, else None (more stages to come)."""
    if isinstance(event, DatasetRejected):
        return Outcome(ExitCode.DATASET_REJECTED, "the dataset was rejected", event)
    if isinstance(event, ModelRejected):
        return Outcome(ExitCode.MODEL_REJECTED, "the model was not promoted", event)
    if isinstance(event, ModelPromoted):
        return Outcome(ExitCode.OK, "the model was promoted", event)
    if isinstance(event, DatasetValidated):
        if event.training is None:
            return Outcome(ExitCode.OK, "validated; no training is declared for it", event)
        if not event.new_version:
            return Outcome(
                ExitCode.OK,
                "validated; same content as an existing version: nothing to train",
                event,
            )
    return None


def deployment_of(event: Event, promoted: ModelPromoted) -> bool:
    """Whether ``event`` is a replica's answer to this promotion."""
    model = promoted.model
    return isinstance(event, ModelDeployed | DeploymentFailed) and (
        event.model_name == model.model_name and event.version == model.version
    )


class FlowFollower:
    """Reads a watcher's events of one flow, in order, each once."""

    def __init__(self, watcher: EventWatcher, correlation_id: uuid.UUID) -> None:
        self.watcher = watcher
        self.correlation_id = correlation_id
        self._read = 0

    def _next(self) -> Event | None:
        events = self.watcher.events
        while self._read < len(events):
            event = events[self._read]
            self._read += 1
            if event.correlation_id == self.correlation_id:
                return event
        return None

    async def until(
        self,
        done: Callable[[Event], bool],
        show: Callable[[Event], None],
        within: float,
    ) -> Event | None:
        """Show each event of the flow; return the first for which ``done`` holds (None on
        timeout). Events after it stay unread for the next call."""
        deadline = time.monotonic() + within
        while True:
            while (event := self._next()) is not None:
                show(event)
                if done(event):
                    return event
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.1)


async def follow(
    watcher: EventWatcher,
    correlation_id: uuid.UUID,
    show: Callable[[Event], None],
    *,
    within: float,
    deployment_within: float = 0.0,
) -> Outcome:
    """Until the flow ends (or ``within`` seconds); after a promotion, up to
    ``deployment_within`` seconds more for a replica to deploy it."""
    follower = FlowFollower(watcher, correlation_id)
    final = await follower.until(lambda e: outcome_of(e) is not None, show, within)
    if final is None:
        return Outcome(ExitCode.TIMEOUT, f"the flow did not finish within {within:.0f}s")
    outcome = outcome_of(final)
    assert outcome is not None
    if isinstance(final, ModelPromoted) and deployment_within > 0:
        deployed = await follower.until(lambda e: deployment_of(e, final), show, deployment_within)
        if deployed is None:
            return Outcome(
                outcome.code,
                f"{outcome.summary}; no deployment seen within {deployment_within:.0f}s",
                final,
            )
        verb = "deployed" if isinstance(deployed, ModelDeployed) else "deployment failed"
        return Outcome(outcome.code, f"{outcome.summary} and {verb}", final)
    return outcome
