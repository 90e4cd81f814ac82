"""Composition root: the one place where deployment's parts are built and wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from millrace_shared.objectstore import ObjectStore
from millrace_shared.registry.client import RegistryClient
from millrace_shared.service import ServiceRuntime, build_runtime, service_app
from opentelemetry.sdk.trace import TracerProvider

from .api import ServingRouter, ServingStats, document_predict, is_predict, serving_router
from .core.catalog import ModelCatalog
from .core.deployer import Deployer, DeployerConfig
from .core.logbuffer import PredictionLogBuffer
from .core.logpublisher import LogPublisher
from .core.ports import RegistryReader
from .core.predicting import Predictor
from .core.trust import PromotionTrust
from .handlers import register
from .lifecycle import Replica
from .settings import DeploymentSettings

DESCRIPTION = (
    "Serves the production version of every model over REST. On each promotion every replica "
    "downloads and verifies the artifact, warms it up and swaps it in atomically; prediction "
    "logs are published in batches, off the request path."
)

Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


def wire(
    runtime: ServiceRuntime, settings: DeploymentSettings, registry: RegistryReader
) -> tuple[Replica, ServingRouter]:
    """Register the handler; return the replica and its REST router (tests use this too)."""
    # Predictions come from the models in memory: a replica serving one stays ready while S3
    # or the registry is down, and lists the outage in /health/ready.
    runtime.ready_while_degraded = True
    catalog = ModelCatalog()
    # The lambdas bind late: the buffer wakes the publisher, the deployer refreshes readiness.
    buffer = PredictionLogBuffer(
        settings.log_buffer_size, settings.log_batch_size, lambda: publisher.wake()
    )
    publisher = LogPublisher(
        buffer,
        runtime.sink,
        runtime.tracer,
        producer=settings.service_name,
        replica_id=settings.replica_id,
        batch_size=settings.log_batch_size,
        interval_seconds=settings.log_flush_interval_seconds,
    )
    deployer = Deployer(
        runtime.store,
        catalog,
        runtime.tracer,
        DeployerConfig(
            producer=settings.service_name,
            replica_id=settings.replica_id,
            endpoint_base=settings.endpoint_base,
            work_dir=settings.work_dir,
            max_artifact_bytes=settings.max_artifact_bytes,
        ),
        on_swap=lambda: replica.refresh_ready(),
        trust=PromotionTrust(key=settings.verify_key(), models_bucket=settings.bucket_models),
    )
    subscriber = register(runtime, deployer, settings.consumer_group)
    replica = Replica(
        runtime,
        catalog,
        buffer,
        publisher,
        deployer,
        registry,
        subscriber,
        settings.replica_id,
        retry_initial_seconds=settings.registry_retry_initial_seconds,
        retry_max_seconds=settings.registry_retry_max_seconds,
    )
    predictor = Predictor(buffer, runtime.tracer, settings.replica_id, settings.max_batch_rows)
    router = serving_router(
        catalog,
        predictor,
        lambda: serving_stats(replica, runtime),
        max_body_bytes=settings.max_body_bytes,
    )
    return replica, router


def serving_stats(replica: Replica, runtime: ServiceRuntime) -> ServingStats:
    stalls = runtime.watchdog.stats() if runtime.watchdog is not None else {}
    return ServingStats(
        **stalls,
        replica_id=replica.replica_id,
        models=len(replica.catalog),
        served=replica.buffer.appended,
        logged=replica.publisher.logged,
        dropped=replica.buffer.dropped,
        buffer_depth=len(replica.buffer),
        buffer_capacity=replica.buffer.capacity,
        failed_publishes=replica.publisher.failed_publishes,
        fast_path_fallbacks=replica.deployer.fallbacks,
    )


def with_replica(inner: Lifespan, replica: Replica) -> Lifespan:
    """The shared lifespan (topics, buckets, broker), then this replica's own start-up.

    The shared lifespan marks the runtime ready once the broker runs; ``replica.start`` narrows
    that to "and a model is served" before the first request can arrive.
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with inner(app):
            await replica.start()
            try:
                yield
            finally:
                await replica.stop()

    return lifespan


def serving_app(runtime: ServiceRuntime, router: ServingRouter) -> FastAPI:
    """The HTTP app around the serving routes, without the replica's lifespan."""
    app = service_app(
        runtime,
        description=DESCRIPTION,
        routers=[router],
        untraced=is_predict,
    )
    document_predict(app, router.catalog, router.max_batch_rows)
    return app


def build_app(
    settings: DeploymentSettings,
    tracer_provider: TracerProvider | None = None,
    *,
    store: ObjectStore | None = None,
    registry: RegistryReader | None = None,
) -> FastAPI:
    runtime = build_runtime(settings, store=store, tracer_provider=tracer_provider)
    replica, router = wire(
        runtime,
        settings,
        registry
        or RegistryClient(settings.registry_url, timeout=settings.registry_timeout_seconds),
    )
    app = serving_app(runtime, router)
    app.router.lifespan_context = with_replica(app.router.lifespan_context, replica)
    return app
