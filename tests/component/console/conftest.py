"""The console app on in-process backends (see console_support), the registry the real app
on its component tests' fakes (registry_component_support)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from console_support import URLS, FakeDeadLetters, Routing
from millrace_console.backends import Backends
from millrace_console.bootstrap import build_app as build_console
from millrace_console.settings import ConsoleSettings
from registry_component_support import model_trained, registry_service


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
    async with registry_service() as registry:
        for event in (
            model_trained("run-a", 0.9),
            model_trained("run-b", 0.95, champion_version=1, champion_accuracy=0.9),
            model_trained("run-c", 0.85, champion_version=2, champion_accuracy=0.95),
        ):
            await registry.deliver(event)
        backends = Backends(
            registry_url=URLS["registry"],
            ingestion_url=URLS["ingestion"],
            training_url=URLS["training"],
            monitoring_url=URLS["monitoring"],
            deployment_urls=[URLS["deployment"]],
            transport=Routing(httpx.ASGITransport(app=registry.app), served),
        )
        app = build_console(
            ConsoleSettings(environment="dev", zipkin_url="http://zipkin:9411"),
            backends=backends,
            dead_letters=dead_letters,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            yield client
