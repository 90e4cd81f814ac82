"""Composition root: the console's pages, its health endpoints and its session cookie.

The console holds no state of its own and uses no S3: it reads the services' REST APIs (and
acts through the registry's, with the logged-in person's token), and Kafka only for dead
letters, with plain clients made per request. So it is not built on ``build_runtime`` (a
broker, consumer groups and a store it would never use), only on the shared ``run_service``
for logging, tracing and serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace import TracerProvider
from starlette.middleware.sessions import SessionMiddleware

from . import charts
from .backends import Backends
from .deadletters import DeadLetters
from .pages import console_router
from .sessions import TTL_SECONDS, Sessions
from .settings import ConsoleSettings

logger = logging.getLogger("millrace.console")

DESCRIPTION = (
    "Server-rendered pages over the services' REST APIs: datasets, models (versions, metrics, "
    "aliases, audit, card), serving replicas and monitoring charts. Read-only until a person "
    "logs in with their own registry token, which then promotes and rolls back as them."
)


def backends_of(settings: ConsoleSettings) -> Backends:
    return Backends(
        registry_url=settings.registry_url,
        ingestion_url=settings.ingestion_url,
        training_url=settings.training_url,
        monitoring_url=settings.monitoring_url,
        deployment_urls=settings.deployment_urls,
        timeout=settings.backend_timeout_seconds,
    )


def build_app(
    settings: ConsoleSettings,
    tracer_provider: TracerProvider | None = None,
    *,
    backends: Backends | None = None,
    dead_letters: DeadLetters | None = None,
) -> FastAPI:
    backends = backends if backends is not None else backends_of(settings)
    state = {"ready": False}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The chart engine's first render takes seconds: paid here, not by the first page.
        await asyncio.to_thread(charts.warm_up)
        state["ready"] = True
        logger.info("console ready (registry %s)", settings.registry_url)
        try:
            yield
        finally:
            state["ready"] = False
            await backends.close()
            if tracer_provider is not None:
                tracer_provider.shutdown()

    app = FastAPI(title="Millrace console", description=DESCRIPTION, lifespan=lifespan)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie="millrace_console",
        max_age=TTL_SECONDS,
        same_site="strict",
        https_only=settings.secure_cookies,
    )

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        return {"status": "alive", "service": settings.service_name}

    @app.get("/health/ready", tags=["health"])
    async def ready() -> JSONResponse:
        body = {"ready": state["ready"], "service": settings.service_name}
        return JSONResponse(body, status_code=200 if state["ready"] else 503)

    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(console_router(settings, backends, Sessions(), dead_letters))
    return app
