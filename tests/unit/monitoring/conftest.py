"""Fixtures for monitoring's unit tests: a store that counts reads, spans kept in memory."""

from __future__ import annotations

import numpy as np
import pytest
from millrace_contracts import ArtifactRef
from millrace_monitoring.core.loading import ReferenceLoader
from millrace_monitoring.core.monitor import Monitor
from millrace_monitoring.core.performance import RecentPredictions
from millrace_monitoring.core.seen import SeenIds
from millrace_monitoring.core.state import DEFAULT_MAX_WINDOW
from monitoring_support import FEATURES, CountingStore, MakeMonitor, profile_of
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture
def store() -> CountingStore:
    store = CountingStore()
    store.ensure_buckets(["millrace-models", "millrace-state"])
    return store


@pytest.fixture
def reference(store: CountingStore) -> ArtifactRef:
    profile = profile_of(FEATURES, 20_000, np.random.default_rng(0))
    return store.put_bytes(
        "s3://millrace-models/m/profile.json", profile.model_dump_json().encode()
    )


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def make_monitor(store: CountingStore, spans: InMemorySpanExporter) -> MakeMonitor:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("test")

    def make(
        recent: int = 1000,
        seen: int = 1000,
        per_model: int | None = None,
        max_window: int = DEFAULT_MAX_WINDOW,
    ) -> Monitor:
        return Monitor(
            loader=ReferenceLoader(store, max_bytes=10_000_000, tracer=tracer),
            recent=RecentPredictions(recent, per_model=per_model),
            seen=SeenIds(seen),
            tracer=tracer,
            producer="monitoring",
            max_window=max_window,
        )

    return make
