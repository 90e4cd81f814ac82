"""The registry app over in-memory fakes: FastStream's test broker, object store and sink."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.kafka import TestKafkaBroker
from millrace_registry.bootstrap import build_app
from millrace_registry.settings import RegistrySettings
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime
from pydantic import SecretStr
from registry_component_support import TOKEN, Service


def make_settings() -> RegistrySettings:
    return RegistrySettings(environment="dev", registry_token=SecretStr(TOKEN))


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
