"""The training service's handlers on FastStream's in-memory broker, with in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.kafka import TestKafkaBroker
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.service import build_runtime
from millrace_training.bootstrap import assemble
from millrace_training.settings import TrainingSettings
from opentelemetry.sdk.trace import TracerProvider
from training_component_service import FlakyStore, Service


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    settings = TrainingSettings(kafka_max_attempts=1, kafka_retry_backoff_seconds=0)
    store = FlakyStore()
    store.ensure_buckets(settings.buckets)
    runtime = build_runtime(settings, store=store, tracer_provider=TracerProvider())
    sink = RecordingEventSink()
    runtime.sink = sink
    runner, runs = assemble(runtime, settings)
    async with TestKafkaBroker(runtime.broker) as broker:
        yield Service(broker, store, sink, runner, runs, settings, runtime)
