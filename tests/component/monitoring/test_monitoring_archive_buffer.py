"""The prediction archive's buffer is bounded while S3 is down, and loses nothing.

Monitoring wired as in production (``register``, the real batch handler) on FastStream's test
broker, over an in-memory store whose writes fail while ``down``: once the buffer cannot take
the next batch, the handler waits (readiness 503 naming ``s3``) instead of returning, so the
consumer would fetch nothing more; when S3 answers again, every prediction is archived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from faststream.kafka import KafkaBroker
from millrace_contracts import ArtifactRef, PredictionsLogged
from millrace_monitoring.archive import PredictionArchive
from millrace_monitoring.bootstrap import build_monitor
from millrace_monitoring.core.monitor import Monitor
from millrace_monitoring.core.versions import VersionStore
from millrace_monitoring.handlers import register
from millrace_monitoring.settings import MonitoringSettings
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime, health_router
from monitoring_component_support import predictions, promoted, put_profile, reference_profile, send

BOUND = 10


class S3Away(InMemoryObjectStore):
    """Writes fail while ``down``, as a stopped S3's do (a refused connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refused = 0

    def put_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        if self.down:
            self.refused += 1
            raise ConnectionError("s3 away")
        return super().put_bytes(uri, data, content_type)


@pytest.fixture
def store() -> S3Away:
    return S3Away()


@pytest.fixture
def settings() -> MonitoringSettings:
    return MonitoringSettings(
        kafka_max_attempts=1,
        kafka_retry_backoff_seconds=0,
        kafka_transient_backoff_max_seconds=0.05,  # retries of the paused handler, quick here
        checkpoint_seconds=3600,  # no checkpoint falls due by time: only the bound writes
        archive_buffer_rows=BOUND,
    )


class Wired:
    monitor: Monitor
    archive: PredictionArchive


@pytest.fixture
def wired() -> Wired:
    return Wired()


@pytest.fixture
def routers(
    runtime: ServiceRuntime, settings: MonitoringSettings, store: S3Away, wired: Wired
) -> list[APIRouter]:
    """``bootstrap.wire``'s registration, keeping the monitor and the archive to look at."""
    bucket = settings.state_bucket("monitoring")
    store.ensure_buckets(settings.buckets)
    wired.monitor = build_monitor(runtime, settings)
    wired.archive = PredictionArchive(store, bucket, retention_days=0)
    register(runtime, wired.monitor, VersionStore(store, bucket), settings, wired.archive)
    return []


@pytest.fixture
def readiness(runtime: ServiceRuntime) -> TestClient:
    runtime.ready = True
    app = FastAPI()
    app.include_router(health_router(runtime))
    return TestClient(app)


async def until(condition: Callable[[], bool], within: float = 30) -> None:
    """Poll ``condition``, set by the paused handler on this loop (no event to await on it);
    ``within`` only turns a hang into a failure."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


def seen(monitor: Monitor) -> int:
    return sum(v.predictions_seen for v in monitor.models().versions)


async def shut_down(runtime: ServiceRuntime) -> None:
    for hook in runtime.shutdown_hooks:
        await hook()


async def test_a_full_buffer_stops_consuming_until_s3_takes_it_and_nothing_is_lost(
    broker: KafkaBroker,
    runtime: ServiceRuntime,
    store: S3Away,
    wired: Wired,
    readiness: TestClient,
) -> None:
    await send(broker, promoted(put_profile(store, reference_profile(), "p.json")))
    rng = np.random.default_rng(11)
    batches = [predictions(rng, 6) for _ in range(4)]
    store.down = True

    await send(broker, batches[0])  # room for it: buffered, not written (no checkpoint due)
    assert wired.archive.buffered == 6
    assert readiness.get("/health/ready").status_code == 200  # below the bound: still working

    # The next batch does not fit: the handler tries to write what the buffer holds, S3
    # refuses, and it waits instead of returning.
    paused = asyncio.create_task(send(broker, batches[1]))
    await until(lambda: "s3" in runtime.dependencies.degraded)
    answer = readiness.get("/health/ready")
    assert answer.status_code == 503 and "s3" in answer.json()["degraded"], answer.json()
    refused = store.refused
    await until(lambda: store.refused > refused)  # it keeps trying while S3 is away
    assert not paused.done()
    assert wired.archive.buffered == 6 <= BOUND
    assert seen(wired.monitor) == 6, "the waiting batch must not be applied yet"

    store.down = False
    await paused
    assert readiness.get("/health/ready").status_code == 200
    assert wired.archive.buffered == 6  # the first batch written, the second held
    assert seen(wired.monitor) == 12

    for batch in batches[2:]:  # S3 up: the bound writes as it goes, no pause
        await send(broker, batch)
        assert wired.archive.buffered <= BOUND
    await shut_down(runtime)  # the shutdown's checkpoint writes the rest
    assert wired.archive.buffered == 0
    assert missing(wired.archive, batches) == []
    assert runtime.dead_letters.dead_lettered == 0


async def test_a_batch_larger_than_the_bound_is_written_before_the_next_is_taken(
    broker: KafkaBroker,
    runtime: ServiceRuntime,
    store: S3Away,
    wired: Wired,
) -> None:
    await send(broker, promoted(put_profile(store, reference_profile(), "p.json")))
    big = predictions(np.random.default_rng(12), BOUND + 5)
    store.down = True
    handled = asyncio.create_task(send(broker, big))
    await until(lambda: "s3" in runtime.dependencies.degraded)
    assert not handled.done()
    assert seen(wired.monitor) == BOUND + 5  # applied, but not returned: nothing more is fetched

    store.down = False
    await handled
    assert wired.archive.buffered == 0
    assert not runtime.dependencies.degraded
    assert missing(wired.archive, [big]) == []


def missing(archive: PredictionArchive, batches: list[PredictionsLogged]) -> list[str]:
    return [
        p.prediction_id
        for batch in batches
        for p in batch.predictions
        if (found := archive.find(p.prediction_id)) is None or found.event_id != batch.event_id
    ]
