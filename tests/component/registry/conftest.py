"""The registry app over in-memory fakes: FastStream's test broker, object store and sink."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.kafka import TestKafkaBroker
from millrace_registry.bootstrap import build_app
from millrace_registry.settings import RegistrySettings
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.registry.tokens import hash_token
from millrace_shared.service import ServiceRuntime
from registry_component_support import BOB_TOKEN, TOKEN, Service


def make_settings() -> RegistrySettings:
    return RegistrySettings(
        environment="dev",
        registry_tokens={"alice": hash_token(TOKEN), "bob": hash_token(BOB_TOKEN)},
    )


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    settings = make_settings()
    objects = InMemoryObjectStore()
    objects.ensure_buckets(settings.buckets)
    sink = RecordingEventSink()
    app = build_app(settings, store=objects, sink=sink)
    runtime: ServiceRuntime = app.state.runtime
    async with TestKafkaBroker(runtime.broker) as broker:
        yield Service(app, runtime, broker, objects, sink)
