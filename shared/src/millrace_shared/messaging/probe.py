"""Is the Kafka cluster reachable from here? Asked every few seconds, not per request.

Readiness built only from messages waiting on a dependency misses an idle service: with nothing
in flight it would answer 200 while the broker is gone, although it could neither take in nor
send anything. The probe asks for the cluster's metadata (one small request to any broker) on
its own admin client, and tells ``DependencyHealth`` that ``kafka`` is down after
``failures_to_report`` failed rounds in a row, and up again at the first answer. A cluster that
lost one broker of three still answers: the services can still do their job there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiokafka.admin import AIOKafkaAdminClient

from ..faults import KAFKA
from ..health import DependencyHealth
from ..kafka import kafka_options
from ..settings import MillraceSettings

logger = logging.getLogger("millrace.kafka.probe")


class MetadataClient(Protocol):
    async def start(self) -> None: ...

    async def describe_cluster(self) -> object: ...

    async def close(self) -> None: ...


class KafkaProbe:
    """A background task asking the cluster for its metadata every ``interval`` seconds."""

    def __init__(
        self,
        health: DependencyHealth,
        connect: Callable[[], MetadataClient],
        *,
        interval: float,
        timeout: float,
        failures_to_report: int = 2,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._health = health
        self._connect = connect
        self._interval, self._timeout = interval, timeout
        self._failures_to_report = failures_to_report
        self._sleep = sleep
        self._client: MetadataClient | None = None
        self._task: asyncio.Task[None] | None = None
        self.failures = 0
        """Failed rounds in a row."""

    @classmethod
    def from_settings(cls, settings: MillraceSettings, health: DependencyHealth) -> KafkaProbe:
        # A fresh TLS and SCRAM handshake on a busy machine may take seconds of its own.
        timeout = max(10.0, settings.kafka_probe_seconds)

        def connect() -> MetadataClient:
            options = kafka_options(settings, client_id=f"millrace-{settings.service_name}-probe")
            client: MetadataClient = AIOKafkaAdminClient(
                **options, request_timeout_ms=int(timeout * 1000)
            )
            return client

        return cls(health, connect, interval=settings.kafka_probe_seconds, timeout=timeout)

    async def check(self) -> bool:
        """One round: True if the cluster answered; ``health`` hears the outcome."""
        try:
            async with asyncio.timeout(self._timeout):
                if self._client is None:
                    self._client = self._connect()
                    await self._client.start()
                await self._client.describe_cluster()
        except Exception as error:  # any failure to answer is "not reachable"
            await self._drop_client()
            self.failures += 1
            if self.failures >= self._failures_to_report:
                if self.failures == self._failures_to_report:
                    logger.warning(
                        "kafka unreachable (%d probes in a row): %r", self.failures, error
                    )
                self._health.failing(KAFKA, _why(error), holder=self, probe=True)
            return False
        if self.failures >= self._failures_to_report:
            logger.warning("kafka reachable again")
        self.failures = 0
        self._health.release(self)
        return True

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kafka-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop_client()
        self._health.release(self)

    async def _run(self) -> None:
        while True:
            await self.check()
            await self._sleep(self._interval)

    async def _drop_client(self) -> None:
        # A fresh client after a failure: the next round bootstraps again rather than trust
        # connections and metadata from before the outage.
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()


def _why(error: Exception) -> Exception:
    # asyncio's timeout says nothing by itself; say what timed out.
    return (
        TimeoutError("no metadata from the cluster in time")
        if isinstance(error, TimeoutError)
        else error
    )
