"""Composition root: the watcher's poller, run in the background of a health-only service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from millrace_contracts import DataArrived
from millrace_shared.objectstore import ObjectStore
from millrace_shared.service import ServiceRuntime, build_runtime, service_app
from minio import Minio
from opentelemetry.sdk.trace import TracerProvider

from .core.cursor import Cursor
from .core.listing import Lister, MinioLister
from .core.poller import Poller
from .handlers import register_notifications
from .settings import WatcherSettings

logger = logging.getLogger("millrace.watcher")

DESCRIPTION = (
    "Lists the landing bucket, and reads the object store's bucket notifications of it, and "
    "announces each new file under <dataset>/ as data.arrived, with an event id derived from "
    "its bucket, key and ETag: one arrival per object version, however many watchers run or "
    "restart, and whichever path saw it first."
)


def minio_lister(settings: WatcherSettings) -> MinioLister:
    return MinioLister(
        Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    )


def wire(runtime: ServiceRuntime, settings: WatcherSettings, lister: Lister) -> Poller:
    """The poller (tests call its ``poll`` directly); the notifications' subscriber."""
    runtime.declare_publishes(DataArrived)
    if settings.notifications:
        register_notifications(runtime, settings)
    poller = Poller(
        lister=lister,
        cursor=Cursor(runtime.store, settings.state_bucket("watcher")),
        sink=runtime.sink,
        bucket=settings.bucket_landing,
        producer=settings.service_name,
        submitted_by=settings.submitted_by,
    )
    return poller


def build_app(
    settings: WatcherSettings,
    tracer_provider: TracerProvider | None = None,
    *,
    store: ObjectStore | None = None,
    lister: Lister | None = None,
) -> FastAPI:
    runtime = build_runtime(settings, store=store, tracer_provider=tracer_provider)
    poller = wire(runtime, settings, lister if lister is not None else minio_lister(settings))
    app = service_app(runtime, description=DESCRIPTION)
    inner = app.router.lifespan_context

    # Polling runs inside the service's lifespan: from when the broker has started (it
    # publishes) until before it stops.
    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            if not settings.listing:
                yield
                return
            task = asyncio.create_task(
                poll_forever(runtime, poller, settings.poll_seconds), name="landing-watcher"
            )
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
    return app


async def poll_forever(runtime: ServiceRuntime, poller: Poller, interval: float) -> None:
    while True:
        await poll_reporting(runtime, poller)
        await asyncio.sleep(interval)


async def poll_reporting(runtime: ServiceRuntime, poller: Poller) -> None:
    """One poll; a failure (S3 or Kafka down) is retried at the next and, meanwhile, makes
    ``/health/ready`` say the service cannot do its job, and why."""
    try:
        await poller.poll()
    except Exception as err:
        logger.warning("polling s3://%s failed: %s", poller.bucket, err)
        runtime.dependencies.failing("landing", err, holder=poller)
    else:
        runtime.dependencies.release(poller)
