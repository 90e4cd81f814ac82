"""A service wired as in production (its ``bootstrap.wire``) on in-memory fakes and FastStream's
test broker: a service's folder provides ``settings`` and ``routers`` (the wiring), these
fixtures (and tests/conftest.py's ``store``) build the rest around them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter
from faststream.kafka import KafkaBroker, TestKafkaBroker
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime, build_runtime
from millrace_shared.settings import MillraceSettings


@pytest.fixture
def sink() -> RecordingEventSink:
    return RecordingEventSink()


@pytest.fixture
def runtime(
    settings: MillraceSettings, store: InMemoryObjectStore, sink: RecordingEventSink
) -> ServiceRuntime:
    runtime = build_runtime(settings, store=store)
    runtime.sink = sink
    return runtime


@pytest.fixture
async def broker(runtime: ServiceRuntime, routers: list[APIRouter]) -> AsyncIterator[KafkaBroker]:
    async with TestKafkaBroker(runtime.broker) as broker:
        yield broker
