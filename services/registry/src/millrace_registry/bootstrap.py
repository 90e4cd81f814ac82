"""The composition root: the one place that builds the registry's parts and wires them."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from millrace_shared.messaging import EventSink
from millrace_shared.objectstore import ObjectStore
from millrace_shared.service import build_runtime, service_app
from opentelemetry.sdk.trace import TracerProvider

from . import handlers
from .api import actor_router, registry_router
from .commands import RegistryCommands
from .core.service import Registry
from .core.store import RegistryStore
from .core.views import RegistryViews
from .settings import RegistrySettings

logger = logging.getLogger("millrace.registry")

DESCRIPTION = (
    "Registers every trained model as an immutable, numbered version, applies the promotion "
    "policy, moves the production alias, and keeps an audit trail. Publishes model.promoted "
    "and model.rejected."
)


def build_app(
    settings: RegistrySettings,
    tracer_provider: TracerProvider | None = None,
    *,
    store: ObjectStore | None = None,
    sink: EventSink | None = None,
) -> FastAPI:
    runtime = build_runtime(settings, store=store, tracer_provider=tracer_provider)
    if sink is not None:
        runtime.sink = sink
    registry_store = RegistryStore(
        runtime.store, settings.state_bucket("registry"), settings.registry_prefix
    )
    signer = settings.signing_key()
    if signer is None:
        logger.warning("no MILLRACE_REGISTRY_SIGNING_KEY: promotions are published unsigned")
    registry = Registry(registry_store, tracer=runtime.tracer, signer=signer)
    commands = RegistryCommands(registry, runtime.sink, runtime.tracer)
    handlers.register(runtime, commands)

    async def rebuild_cache() -> None:
        models = await asyncio.to_thread(registry_store.warm)
        logger.info(
            "registry state loaded: %d model(s) from s3://%s/%s/",
            models,
            settings.state_bucket("registry"),
            settings.registry_prefix,
        )

    runtime.startup_hooks.append(rebuild_cache)
    actors = settings.actor_tokens()
    if not actors:
        # Reads still work; say why every promote/rollback will be refused.
        logger.warning(
            "no actors in MILLRACE_REGISTRY_TOKENS(_FILE): promote and rollback are refused "
            "(make a token with `python -m millrace_registry.tokens ACTOR`)"
        )
    app = service_app(
        runtime,
        description=DESCRIPTION,
        routers=[
            registry_router(RegistryViews(registry_store, signer), commands, actors),
            actor_router(actors),
        ],
    )
    app.state.runtime = runtime
    return app
