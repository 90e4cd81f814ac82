"""What every service is made of, assembled once: broker, object store, sink, HTTP health.

A service's ``bootstrap.py`` calls ``build_runtime`` and ``service_app`` with its own handlers
and routes; nothing connects to anything until the app's lifespan starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from millrace_contracts import Event
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from .health import DependencyHealth
from .messaging import (
    DeadLetterMiddleware,
    EventSink,
    KafkaEventSink,
    KafkaProbe,
    ensure_topics,
    make_broker,
)
from .objectstore import MinioObjectStore, ObjectStore
from .settings import MillraceSettings, ServiceSettings
from .stalls import LoopWatchdog
from .telemetry import configure_logging, install_tracing

logger = logging.getLogger("millrace.service")

Hook = Callable[[], Awaitable[None]]
S = TypeVar("S", bound=ServiceSettings)


@dataclass
class ServiceRuntime:
    """The dependencies a service's handlers get; fakes replace them in tests."""

    settings: MillraceSettings
    broker: KafkaBroker
    dead_letters: DeadLetterMiddleware
    store: ObjectStore
    sink: EventSink
    tracer_provider: TracerProvider | None
    ready: bool = False
    dependencies: DependencyHealth = field(default_factory=DependencyHealth)
    """Dependencies found down by messages waiting on them (see ``faults``)."""
    ready_while_degraded: bool = False
    """True for a service that still does its job with a dependency down (deployment serves
    the models it holds in memory): its ``/health/ready`` then lists the outage but stays 200."""
    startup_hooks: list[Hook] = field(default_factory=list)
    watchdog: LoopWatchdog | None = None
    """Counts event-loop stalls while the app runs (None: ``loop_stall_seconds`` is 0)."""
    shutdown_hooks: list[Hook] = field(default_factory=list)

    @property
    def tracer(self) -> trace.Tracer:
        return trace.get_tracer(
            f"millrace.{self.settings.service_name}", tracer_provider=self.tracer_provider
        )

    @property
    def group_id(self) -> str:
        """The service's consumer group: replicas of one service share the work."""
        return f"millrace-{self.settings.service_name}"

    def declare_publishes(self, *events: type[Event]) -> None:
        """Record the topics this service writes, for its AsyncAPI document."""
        for event in events:
            self.broker.publisher(event.topic(), schema=event, title=f"{event.topic()}:publish")

    def asyncapi(self, description: str) -> dict[str, Any]:
        spec = AsyncAPI(
            self.broker,
            title=f"Millrace {self.settings.service_name}",
            version="1.0.0",
            description=description,
        )
        result: dict[str, Any] = spec.to_specification().to_jsonable()
        return result


def build_runtime(
    settings: MillraceSettings,
    *,
    store: ObjectStore | None = None,
    tracer_provider: TracerProvider | None = None,
) -> ServiceRuntime:
    dependencies = DependencyHealth()
    broker, dead_letters = make_broker(
        settings, tracer_provider=tracer_provider, health=dependencies
    )
    return ServiceRuntime(
        settings=settings,
        broker=broker,
        dead_letters=dead_letters,
        dependencies=dependencies,
        store=store if store is not None else MinioObjectStore.from_settings(settings),
        sink=KafkaEventSink(broker, max_event_bytes=settings.kafka_max_event_bytes),
        tracer_provider=tracer_provider,
    )


def health_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "alive", "service": runtime.settings.service_name}

    @router.get("/health/ready")
    async def ready(response: Response) -> dict[str, Any]:
        # Ready means "can do its job now": not while its messages wait on a dependency
        # that is down (they are retried, not lost), unless it serves without them.
        degraded = runtime.dependencies.report()
        ready = runtime.ready and (not degraded or runtime.ready_while_degraded)
        if not ready:
            response.status_code = 503
        return {
            "ready": ready,
            "service": runtime.settings.service_name,
            "dead_lettered": runtime.dead_letters.dead_lettered,
            "degraded": degraded,
        }

    return router


def service_app(
    runtime: ServiceRuntime,
    *,
    description: str,
    routers: Sequence[APIRouter] = (),
    prepare_kafka: bool = True,
    untraced: Callable[[MutableMapping[str, Any]], bool] | None = None,
) -> FastAPI:
    """The service's ASGI app: its lifespan prepares topics and buckets, then starts consuming.

    ``untraced``: requests (by ASGI scope) that FastAPI's own telemetry must skip, for hot
    paths where a server span per request would cost more than it tells.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settings = runtime.settings
        if prepare_kafka:
            await ensure_topics(settings)
        await asyncio.to_thread(runtime.store.ensure_buckets, settings.buckets)
        for hook in runtime.startup_hooks:
            await hook()
        await runtime.broker.start()
        # Readiness follows the cluster too, not only the messages waiting on it: an idle
        # service cannot do its job either while the broker is unreachable.
        probe = None
        if settings.kafka_probe_seconds > 0:
            probe = KafkaProbe.from_settings(settings, runtime.dependencies)
            probe.start()
        if settings.loop_stall_seconds > 0:  # from ready on: start-up's own loads are not stalls
            runtime.watchdog = LoopWatchdog(threshold=settings.loop_stall_seconds)
            await runtime.watchdog.start()
        runtime.ready = True
        logger.info(
            "%s ready (kafka %s, s3 %s)",
            settings.service_name,
            settings.kafka_bootstrap,
            settings.s3_endpoint,
        )
        try:
            yield
        finally:
            runtime.ready = False
            if probe is not None:
                await probe.stop()
            await runtime.broker.stop()
            for hook in runtime.shutdown_hooks:
                await hook()
            if runtime.tracer_provider is not None:
                runtime.tracer_provider.shutdown()
            if runtime.watchdog is not None:
                await runtime.watchdog.stop()

    app = FastAPI(
        title=f"Millrace {runtime.settings.service_name}",
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        telemetry={"exclude": untraced} if untraced is not None else None,
    )
    app.include_router(health_router(runtime))
    for router in routers:
        app.include_router(router)

    @app.get("/asyncapi.json", tags=["docs"])
    async def asyncapi() -> dict[str, Any]:
        return runtime.asyncapi(description)

    return app


def run_service(settings: S, build_app: Callable[[S, TracerProvider], FastAPI]) -> None:
    """The body of every service's ``python -m``: logging, tracing, the app, then serve."""
    configure_logging(settings)
    app = build_app(settings, install_tracing(settings))
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
