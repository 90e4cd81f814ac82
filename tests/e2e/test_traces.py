"""One data arrival is one trace, across all five services, read back from Zipkin."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from millrace_cli.trace import zipkin_to_jaeger
from millrace_contracts import (
    DatasetDeclaration,
    EstimatorSpec,
    ModelDeployed,
    TrainingSpec,
)
from millrace_shared.messaging import KafkaEventSink, make_broker
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings
from millrace_shared.watch import EventWatcher
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from .conftest import Platform
from .flows import arrive, classification_frame, declare, eventually, upload_csv

pytestmark = pytest.mark.e2e
SERVICES = {"ingestion", "training", "registry", "deployment", "monitoring"}
REAL_WORK = {"validate", "fit", "evaluate", "decide", "load", "swap"}


def spans_by_service(trace: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    services = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for span in trace["spans"]:
        grouped.setdefault(services[span["processID"]], []).append(span)
    return grouped


async def test_a_flow_from_arrival_to_deployment_is_one_trace(
    platform: Platform,
    watcher: EventWatcher,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    local_stack: Any,
    unique: str,
) -> None:
    assert local_stack.zipkin_url, "the e2e stack runs Zipkin"
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-client"}))
    provider.add_span_processor(
        SimpleSpanProcessor(ZipkinExporter(endpoint=f"{local_stack.zipkin_url}/api/v2/spans"))
    )
    broker, _ = make_broker(e2e_settings, tracer_provider=provider)
    await broker.start()
    sink = KafkaEventSink(broker)
    try:
        dataset = unique
        await declare(
            sink,
            platform["ingestion"].url,
            DatasetDeclaration(
                dataset=dataset,
                training=TrainingSpec(
                    task="classification",
                    target="label",
                    estimator=EstimatorSpec(name="logistic_regression"),
                ),
            ),
        )
        uri = upload_csv(store, e2e_settings, dataset, "a.csv", classification_frame(300, seed=11))
        with provider.get_tracer("e2e").start_as_current_span("data team publishes") as root:
            arrival = await arrive(sink, dataset, uri)
            trace_id = format(root.get_span_context().trace_id, "032x")
        await watcher.wait_for(
            ModelDeployed,
            lambda e: e.correlation_id == arrival.event_id and e.replica_id == "deployment",
            within=240,
        )
    finally:
        await broker.stop()
        provider.shutdown()

    found: dict[str, list[dict[str, Any]]] = {}

    async def whole_flow_exported() -> bool:
        nonlocal found
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"{local_stack.zipkin_url}/api/v2/trace/{trace_id}")
        if response.status_code != 200:
            return False
        # Zipkin's v2 spans in the shape `millrace trace` reads (Jaeger's).
        found = spans_by_service(zipkin_to_jaeger(response.json()))
        operations = {s["operationName"] for spans in found.values() for s in spans}
        return set(found) >= SERVICES and operations >= REAL_WORK

    try:
        await eventually(whole_flow_exported, within=90)
    except TimeoutError:
        summary = {k: sorted({s["operationName"] for s in v}) for k, v in found.items()}
        pytest.fail(f"trace {trace_id} is missing services or spans: {summary}")

    tags = {
        t["key"]
        for spans in found.values()
        for s in spans
        if s["operationName"] in REAL_WORK
        for t in s["tags"]
    }
    assert {"millrace.dataset", "millrace.model", "millrace.model.version"} <= tags
