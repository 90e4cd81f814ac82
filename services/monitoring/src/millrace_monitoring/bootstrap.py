"""Composition root: the one place where monitoring's parts are built and wired together."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, FastAPI
from millrace_shared.objectstore import ObjectStore
from millrace_shared.service import ServiceRuntime, build_runtime, service_app
from opentelemetry.sdk.trace import TracerProvider

from .api import monitoring_router, predictions_router
from .archive import PredictionArchive, warm_up_arrow
from .copartition import check_copartitioned
from .core.loading import ReferenceLoader
from .core.monitor import Monitor
from .core.performance import RecentPredictions
from .core.seen import SeenIds
from .core.versions import VersionStore
from .handlers import register
from .settings import MonitoringSettings

logger = logging.getLogger("millrace.monitoring")

DESCRIPTION = (
    "Windows the live inputs of every promoted model version and compares each window with the "
    "version's training reference (PSI, KS, chi-square; Benjamini-Hochberg across features), "
    "joins late labels to recent predictions for live accuracy or MAE, and reports drift and "
    "degradation."
)


def build_monitor(runtime: ServiceRuntime, settings: MonitoringSettings) -> Monitor:
    return Monitor(
        loader=ReferenceLoader(
            runtime.store, max_bytes=settings.reference_max_bytes, tracer=runtime.tracer
        ),
        recent=RecentPredictions(
            settings.recent_predictions, per_model=settings.recent_predictions_per_model
        ),
        seen=SeenIds(settings.seen_events),
        tracer=runtime.tracer,
        producer=settings.service_name,
        max_window=settings.max_window_size,
    )


def wire(runtime: ServiceRuntime, settings: MonitoringSettings) -> list[APIRouter]:
    """Register the handlers on ``runtime`` and return the REST routers (tests use this too)."""
    monitor = build_monitor(runtime, settings)
    bucket = settings.state_bucket("monitoring")
    versions = VersionStore(runtime.store, bucket)
    archive = PredictionArchive(
        runtime.store, bucket, retention_days=settings.archive_retention_days
    )
    register(runtime, monitor, versions, settings, archive)

    async def restore_versions() -> None:
        # Before ready, off the loop: the archive's first flush would otherwise pay pyarrow's
        # one-time set-up while it holds the checkpoint lock, with logs waiting.
        await asyncio.to_thread(warm_up_arrow)
        known = await asyncio.to_thread(versions.load_all)
        for version in known:
            monitor.learn(version.info, version.promoted_as)
        logger.info("restored %d known model version(s) from the state bucket", len(known))

    pruning: list[asyncio.Task[None]] = []

    async def start_pruning() -> None:
        pruning.append(asyncio.create_task(prune_forever(archive), name="archive-retention"))

    async def stop_pruning() -> None:
        for task in pruning:
            task.cancel()

    runtime.startup_hooks += [restore_versions, start_pruning]
    runtime.shutdown_hooks.append(stop_pruning)
    return [monitoring_router(monitor), predictions_router(archive)]


PRUNE_EVERY_SECONDS = 3600.0


async def prune_forever(archive: PredictionArchive) -> None:
    """Apply the archive's retention at start, then hourly; a failure waits for the next."""
    while True:
        try:
            await asyncio.to_thread(archive.prune)
        except Exception:
            logger.warning("pruning the prediction archive failed", exc_info=True)
        await asyncio.sleep(PRUNE_EVERY_SECONDS)


def build_app(
    settings: MonitoringSettings,
    tracer_provider: TracerProvider | None = None,
    *,
    store: ObjectStore | None = None,
) -> FastAPI:
    runtime = build_runtime(settings, store=store, tracer_provider=tracer_provider)
    routers = wire(runtime, settings)

    async def copartitioned() -> None:
        await check_copartitioned(settings)

    # First of all: a replica that cannot join labels to predictions must not start at all
    # (uvicorn exits non-zero when a start-up hook raises).
    runtime.startup_hooks.insert(0, copartitioned)
    return service_app(runtime, description=DESCRIPTION, routers=routers)
