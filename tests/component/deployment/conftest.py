"""The deployment service's handler and REST API on in-memory fakes (broker, store, registry)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from deployment_component_data import Deployment, FakeRegistry, train
from faststream.kafka import TestKafkaBroker
from millrace_contracts import FeatureSignature
from millrace_deployment.bootstrap import serving_app, wire
from millrace_deployment.settings import DeploymentSettings
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.registry.client import RegistryClient
from millrace_shared.service import build_runtime
from millrace_shared.signing import SigningKey
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture(scope="session")
def trained() -> tuple[Any, list[FeatureSignature]]:
    return train()


@asynccontextmanager
async def running_deployment(
    trained: tuple[Any, list[FeatureSignature]], registry_key: SigningKey | None = None
) -> AsyncIterator[Deployment]:
    """``registry_key``: the registry signs with it and the replica verifies with its public
    half; without one nothing is signed or verified (dev)."""
    settings = DeploymentSettings(
        replica_id="r1",
        public_url="http://deploy-r1:8104",
        max_body_bytes=4096,
        max_batch_rows=5,
        log_batch_size=100,
        kafka_max_attempts=1,
        kafka_retry_backoff_seconds=0,
        registry_public_key=registry_key.public.to_base64() if registry_key else None,
        registry_retry_initial_seconds=0.01,
        registry_retry_max_seconds=0.05,
    )
    store = InMemoryObjectStore()
    store.ensure_buckets(settings.buckets)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    runtime = build_runtime(settings, store=store, tracer_provider=provider)
    sink = RecordingEventSink()
    runtime.sink = sink
    fake = FakeRegistry(key=registry_key)
    registry = RegistryClient("http://registry", timeout=1.0, backoff=0, transport=fake.transport())
    replica, router = wire(runtime, settings, registry)
    # No lifespan here: the tests start the replica themselves where they need it.
    app = serving_app(runtime, router)
    transport = httpx.ASGITransport(app=app)
    async with (
        TestKafkaBroker(runtime.broker) as broker,
        httpx.AsyncClient(transport=transport, base_url="http://deploy") as http,
    ):
        yield Deployment(runtime, replica, broker, store, sink, http, fake, trained, exporter)
        await replica.stop()


@pytest.fixture
async def deployment(trained: tuple[Any, list[FeatureSignature]]) -> AsyncIterator[Deployment]:
    async with running_deployment(trained) as running:
        yield running


@pytest.fixture
async def signed_deployment(
    trained: tuple[Any, list[FeatureSignature]],
) -> AsyncIterator[Deployment]:
    async with running_deployment(trained, SigningKey.generate()) as running:
        yield running
