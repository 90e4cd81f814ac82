"""Monitoring wired as in production (``bootstrap.wire``), on in-memory fakes and test broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from faststream.kafka import KafkaBroker, TestKafkaBroker
from millrace_monitoring.bootstrap import wire
from millrace_monitoring.settings import MonitoringSettings
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime, build_runtime


@pytest.fixture
def settings() -> MonitoringSettings:
    return MonitoringSettings(kafka_max_attempts=1, kafka_retry_backoff_seconds=0)


@pytest.fixture
def store(settings: MonitoringSettings) -> InMemoryObjectStore:
    store = InMemoryObjectStore()
    store.ensure_buckets(settings.buckets)
    return store


@pytest.fixture
def sink() -> RecordingEventSink:
    return RecordingEventSink()


@pytest.fixture
def runtime(
    settings: MonitoringSettings, store: InMemoryObjectStore, sink: RecordingEventSink
) -> ServiceRuntime:
    runtime = build_runtime(settings, store=store)
    runtime.sink = sink
    return runtime


@pytest.fixture
def routers(runtime: ServiceRuntime, settings: MonitoringSettings) -> list[APIRouter]:
    return wire(runtime, settings)


@pytest.fixture
def client(routers: list[APIRouter]) -> TestClient:
    app = FastAPI()
    for router in routers:
        app.include_router(router)
    return TestClient(app)


@pytest.fixture
async def broker(runtime: ServiceRuntime, routers: list[APIRouter]) -> AsyncIterator[KafkaBroker]:
    async with TestKafkaBroker(runtime.broker) as broker:
        yield broker
