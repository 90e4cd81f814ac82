"""A replica's life after the broker started: readiness, the start-up snapshot, log flushing.

Order at start-up (see ``core.deployer`` for why): the shared lifespan starts the broker, and
aiokafka's start returns once this replica's own consumer group has its partitions; then the
consumer's position is pinned (``latest`` resolved to an offset), and only then is the
registry asked for the current production versions. A promotion made in between is in the
snapshot, or delivered as an event, or both; an event wins.

A registry that does not answer is asked again in the background, with a backoff doubling
up to a cap, until it does. Until the snapshot is applied the replica is not ready (503):
serving only what promotions happened to bring would answer 404 for production models it
has not heard of, so a load balancer must not send it traffic yet. It stays live meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from millrace_shared.registry.models import SignedPromotion
from millrace_shared.service import ServiceRuntime

from .core.catalog import ModelCatalog
from .core.deployer import Deployer
from .core.logbuffer import PredictionLogBuffer
from .core.logpublisher import LogPublisher
from .core.ports import RegistryReader

logger = logging.getLogger("millrace.deployment")


async def pin_position(subscriber: Any) -> None:
    """Resolve the consumer's start offset on every assigned partition.

    ``subscriber`` is FastStream's Kafka subscriber; its ``consumer`` is aiokafka's, or None
    under the in-memory test broker, where there is no position to pin.
    """
    consumer = getattr(subscriber, "consumer", None)
    if consumer is None or not hasattr(consumer, "assignment"):
        return
    for partition in consumer.assignment():
        await consumer.position(partition)


def backoff(initial: float, cap: float) -> Iterator[float]:
    """Seconds to wait before each retry: initial, doubling, never more than cap."""
    delay = initial
    while True:
        yield min(delay, cap)
        delay = min(delay * 2, cap)


@dataclass
class Replica:
    runtime: ServiceRuntime
    catalog: ModelCatalog
    buffer: PredictionLogBuffer
    publisher: LogPublisher
    deployer: Deployer
    registry: RegistryReader
    subscriber: Any
    replica_id: str
    started: bool = False
    snapshot: asyncio.Task[None] | None = field(default=None, repr=False)
    """The start-up snapshot being loaded (and asked for again while the registry does not
    answer), once started."""
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    """The backoff between asks for the snapshot while the registry does not answer."""
    has_snapshot: bool = False
    """The registry's production versions were received and applied."""

    def refresh_ready(self) -> None:
        """Ready = consuming promotions, the start-up snapshot applied, and serving at least
        one model (``/health/ready``)."""
        self.runtime.ready = self.started and self.has_snapshot and len(self.catalog) > 0

    async def start(self) -> None:
        self.started = True
        self.refresh_ready()
        self.publisher.start()
        self.snapshot = asyncio.create_task(self.load_snapshot(), name="production-snapshot")
        logger.info(
            "deployment replica %s consuming promotions; not ready until a model is served",
            self.replica_id,
        )

    async def stop(self) -> None:
        self.started = False
        self.refresh_ready()
        if self.snapshot is not None:
            self.snapshot.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.snapshot
        await self.publisher.stop()

    async def load_snapshot(self) -> None:
        """Serve the registry's current production versions. Runs beside the consumer, so
        ``/health/live`` answers while the registry is asked and the models load."""
        await pin_position(self.subscriber)
        promotions = await self.fetch_snapshot()
        logger.info("start-up snapshot: %d production model(s)", len(promotions))
        try:
            for outcome in await self.deployer.apply_snapshot(promotions):
                try:
                    await self.runtime.sink.publish(outcome)
                except Exception as error:
                    logger.warning("could not publish %s: %s", outcome.event_type, error)
        finally:
            # Applied (a version that failed to load was reported as deployment.failed): the
            # replica now knows the production set, whatever it serves of it.
            self.has_snapshot = True
            self.refresh_ready()

    async def fetch_snapshot(self) -> list[SignedPromotion]:
        """The registry's production promotions, asked for until it answers."""
        delays = backoff(self.retry_initial_seconds, self.retry_max_seconds)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self.registry.production_promotions()
            except Exception as error:  # down, or answering errors: promotions still arrive
                delay = next(delays)
                logger.warning(
                    "no start-up snapshot from the registry (attempt %d: %s); asking again in "
                    "%.1f s, not ready until it answers",
                    attempt,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
