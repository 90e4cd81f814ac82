"""One data arrival is one trace, across all five services, read back from Zipkin."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from millrace_browser import VIEWPORT, AsyncScreenshot
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
from playwright.async_api import Page, expect

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


@dataclass(frozen=True)
class TracedFlow:
    """One flow's trace, found whole in Zipkin: its id and its spans grouped by service."""

    trace_id: str
    dataset: str
    spans: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
async def traced_flow(
    platform: Platform,
    watcher: EventWatcher,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    local_stack: Any,
) -> TracedFlow:
    """One data arrival carried to a deployed model, once for the module's tests (a flow is
    the slow part: the API and the browser tests read the same trace)."""
    assert local_stack.zipkin_url, "the e2e stack runs Zipkin"
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-client"}))
    provider.add_span_processor(
        SimpleSpanProcessor(ZipkinExporter(endpoint=f"{local_stack.zipkin_url}/api/v2/spans"))
    )
    broker, _ = make_broker(e2e_settings, tracer_provider=provider)
    await broker.start()
    sink = KafkaEventSink(broker)
    try:
        dataset = f"t{uuid.uuid4().hex[:12]}"
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
    return TracedFlow(trace_id, dataset, found)


async def test_a_flow_from_arrival_to_deployment_is_one_trace(traced_flow: TracedFlow) -> None:
    assert set(traced_flow.spans) >= SERVICES
    tags = {
        t["key"]
        for spans in traced_flow.spans.values()
        for s in spans
        if s["operationName"] in REAL_WORK
        for t in s["tags"]
    }
    assert {"millrace.dataset", "millrace.model", "millrace.model.version"} <= tags


async def test_the_trace_ui_shows_the_flow_across_the_five_services(
    traced_flow: TracedFlow,
    local_stack: Any,
    browser_page: Page,
    screenshot: AsyncScreenshot,
) -> None:
    """What operations open: the flow's trace in Zipkin's UI, in a real browser."""
    page = browser_page
    # The waterfall renders only the rows in view: a viewport tall enough for every span's
    # row (30 px each, below a ~300 px header) shows the whole flow at once.
    spans = sum(len(s) for s in traced_flow.spans.values())
    await page.set_viewport_size({"width": 1280, "height": 340 + 30 * spans})
    await page.goto(f"{local_stack.zipkin_url}/zipkin/traces/{traced_flow.trace_id}")
    # The header names the trace once Zipkin's UI has loaded and laid it out.
    await expect(page.get_by_text(traced_flow.trace_id, exact=True)).to_be_visible()
    # Each span is one row of the waterfall, labelled "<service>: <span name>".
    for service in sorted(SERVICES):
        rows = page.get_by_text(re.compile(rf"^{service}: "))
        await expect(rows.first).to_be_visible()
    for service, operation in (("training", "fit"), ("registry", "decide")):
        row = page.get_by_text(f"{service}: {operation}", exact=True)
        await expect(row.first).to_be_visible()
    await screenshot("zipkin-trace")

    # A span's details: training's fit, tagged with the dataset and the model it trained
    # (its row is within the first 800 px: the screenshot is the usual window's size).
    await page.set_viewport_size(VIEWPORT)
    await page.get_by_text("training: fit", exact=True).first.click()
    for tag in ("millrace.dataset", "millrace.model"):
        await expect(page.get_by_text(tag, exact=True)).to_be_visible()
    await expect(page.get_by_text(traced_flow.dataset, exact=True).first).to_be_visible()
    await screenshot("zipkin-span")
