"""The console app on in-process backends (see console_support)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from console_support import TOKEN, URLS, FakeDeadLetters, Routing, model_trained
from faststream.kafka import TestKafkaBroker
from millrace_console.backends import Backends
from millrace_console.bootstrap import build_app as build_console
from millrace_console.settings import ConsoleSettings
from millrace_registry.bootstrap import build_app as build_registry
from millrace_registry.settings import RegistrySettings
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.registry.tokens import hash_token
from millrace_shared.service import ServiceRuntime


@pytest.fixture
def served() -> list[int]:
    """The replica's ``served`` counter (a test moves it to see a rate)."""
    return [100]


@pytest.fixture
def dead_letters() -> FakeDeadLetters:
    return FakeDeadLetters()


@pytest.fixture
async def console(
    served: list[int], dead_letters: FakeDeadLetters
) -> AsyncIterator[httpx.AsyncClient]:
    settings = RegistrySettings(environment="dev", registry_tokens={"alice": hash_token(TOKEN)})
    objects = InMemoryObjectStore()
    objects.ensure_buckets(settings.buckets)
    registry = build_registry(settings, store=objects, sink=RecordingEventSink())
    runtime: ServiceRuntime = registry.state.runtime
    async with TestKafkaBroker(runtime.broker) as broker:
        for event in (
            model_trained("run-a", 0.9),
            model_trained("run-b", 0.95, champion=(1, 0.9)),
            model_trained("run-c", 0.85, champion=(2, 0.95)),
        ):
            await broker.publish(event.model_dump(mode="json"), topic=event.topic(), key=b"iris")
        backends = Backends(
            registry_url=URLS["registry"],
            ingestion_url=URLS["ingestion"],
            training_url=URLS["training"],
            monitoring_url=URLS["monitoring"],
            deployment_urls=[URLS["deployment"]],
            transport=Routing(httpx.ASGITransport(app=registry), served),
        )
        app = build_console(
            ConsoleSettings(environment="dev", zipkin_url="http://zipkin:9411"),
            backends=backends,
            dead_letters=dead_letters,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            yield client
