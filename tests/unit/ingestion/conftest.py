"""Fixtures for ingestion's unit tests: the core wired to in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from millrace_contracts import (
    DataArrived,
    DatasetDeclaration,
    DatasetDeclared,
    DatasetSpec,
    first_of_flow,
)
from millrace_ingestion.bootstrap import config_from
from millrace_ingestion.core.declarations import DeclarationStore
from millrace_ingestion.core.pipeline import Ingestion
from millrace_ingestion.core.versions import VersionStore
from millrace_ingestion.settings import IngestionSettings
from millrace_shared.objectstore import InMemoryObjectStore
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

LANDING = "millrace-landing"


@pytest.fixture
def settings() -> IngestionSettings:
    return IngestionSettings(max_bytes=1_000_000)


@pytest.fixture
def declarations(store: InMemoryObjectStore, settings: IngestionSettings) -> DeclarationStore:
    return DeclarationStore(store, settings.state_bucket("ingestion"))


@pytest.fixture
def versions(store: InMemoryObjectStore, settings: IngestionSettings) -> VersionStore:
    return VersionStore(
        store,
        bucket_state=settings.state_bucket("ingestion"),
        bucket_datasets=settings.bucket_datasets,
    )


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def ingestion(
    store: InMemoryObjectStore,
    declarations: DeclarationStore,
    versions: VersionStore,
    settings: IngestionSettings,
    spans: InMemorySpanExporter,
) -> Ingestion:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return Ingestion(
        store=store,
        declarations=declarations,
        versions=versions,
        config=config_from(settings),
        tracer=provider.get_tracer("test"),
    )


@pytest.fixture
def land(store: InMemoryObjectStore) -> Callable[..., DataArrived]:
    """Put bytes in the landing bucket and return the DataArrived announcing them."""

    def land(key: str, data: bytes | str, dataset: str = "iris", **event: Any) -> DataArrived:
        raw = data.encode() if isinstance(data, str) else data
        uri = f"s3://{LANDING}/{dataset}/{key}"
        store.put_foreign(uri, raw)
        return DataArrived(**first_of_flow(producer="test"), dataset=dataset, uri=uri, **event)

    return land


@pytest.fixture
def declare(declarations: DeclarationStore) -> Callable[..., DatasetDeclared]:
    """Record a declaration for a dataset, as the DatasetDeclared handler would."""

    def declare(
        spec: DatasetSpec | None, dataset: str = "iris", **policies: Any
    ) -> DatasetDeclared:
        event = DatasetDeclared(
            **first_of_flow(producer="test"),
            declaration=DatasetDeclaration(dataset=dataset, spec=spec, **policies),
        )
        declarations.record(event)
        return event

    return declare
