"""The start-up snapshot through the shared registry client, against a mock transport."""

from __future__ import annotations

import httpx
import pytest
from deployment_unit_data import store_version
from millrace_contracts import ModelVersionInfo
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.registry.client import RegistryClient, RegistryRefused


def registry_with(production: dict[str, ModelVersionInfo], listed: list[str]) -> RegistryClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/models":
            return httpx.Response(
                200,
                json=[
                    {
                        "name": n,
                        "production_version": 1 if n in production or n == "gone" else None,
                        "latest_version": 1,
                    }
                    for n in listed
                ],
            )
        name = request.url.path.split("/")[2]
        if name in production:
            return httpx.Response(200, content=production[name].model_dump_json())
        return httpx.Response(404, json={"detail": "no production version"})

    return RegistryClient("http://registry", transport=httpx.MockTransport(handle))


async def test_lists_the_production_version_of_each_model(
    store: InMemoryObjectStore,
    trained: tuple[object, list],  # type: ignore[type-arg]
) -> None:
    model, signature = trained
    info = store_version(store, model, signature)
    registry = registry_with({"churn": info}, ["churn", "draft", "gone"])
    assert await registry.production_models() == [info]


async def test_a_failing_registry_raises() -> None:
    def broken(_: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    registry = RegistryClient("http://registry", transport=httpx.MockTransport(broken))
    with pytest.raises(RegistryRefused):
        await registry.production_models()
