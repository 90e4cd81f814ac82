"""One data arrival is one trace, across all five services, read back from Zipkin and shown in
Zipkin's UI in a real browser; and the lineage of a prediction of the model it made leads back
to it, after restarts.

The tests share one flow (a module fixture): a flow is the slow part."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from millrace_browser import VIEWPORT, AsyncScreenshot
from millrace_cli.main import app
from millrace_cli.trace import zipkin_to_jaeger
from millrace_contracts import (
    DataArrived,
    DatasetDeclaration,
    DatasetValidated,
    EstimatorSpec,
    ModelDeployed,
    ModelPromoted,
    ModelTrained,
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
from typer.testing import CliRunner

from .conftest import Platform
from .flows import arrive, classification_frame, declare, eventually, upload_csv

pytestmark = pytest.mark.e2e
SERVICES = {"ingestion", "training", "registry", "deployment", "monitoring"}
REAL_WORK = {"validate", "fit", "evaluate", "decide", "load", "swap"}
SUBMITTER = "e2e-data-team"


def spans_by_service(trace: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    services = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for span in trace["spans"]:
        grouped.setdefault(services[span["processID"]], []).append(span)
    return grouped


@dataclass(frozen=True)
class TracedFlow:
    dataset: str
    uri: str
    frame_row: dict[str, Any]
    arrival: DataArrived
    trace_id: str
    events: list[Any]
    """DatasetValidated, ModelTrained, ModelPromoted of the flow."""
    spans: dict[str, list[dict[str, Any]]]
    """The flow's spans in Zipkin, grouped by service."""


@pytest.fixture(scope="module")
async def traced_flow(
    platform: Platform,
    watcher: EventWatcher,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    local_stack: Any,
) -> TracedFlow:
    """A dataset declared and published under a client span of its own, until deployed."""
    assert local_stack.zipkin_url, "the e2e stack runs Zipkin"
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-client"}))
    provider.add_span_processor(
        SimpleSpanProcessor(ZipkinExporter(endpoint=f"{local_stack.zipkin_url}/api/v2/spans"))
    )
    broker, _ = make_broker(e2e_settings, tracer_provider=provider)
    await broker.start()
    sink = KafkaEventSink(broker)
    dataset = f"t{uuid.uuid4().hex[:12]}"
    try:
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
        frame = classification_frame(300, seed=11)
        uri = upload_csv(store, e2e_settings, dataset, "a.csv", frame)
        with provider.get_tracer("e2e").start_as_current_span("data team publishes") as root:
            arrival = await arrive(sink, dataset, uri, submitted_by=SUBMITTER)
            trace_id = format(root.get_span_context().trace_id, "032x")
        await watcher.wait_for(
            ModelDeployed,
            lambda e: e.correlation_id == arrival.event_id and e.replica_id == "deployment",
            within=240,
        )
    finally:
        await broker.stop()
        provider.shutdown()
    events = [
        watcher.of_type(kind, lambda e: e.correlation_id == arrival.event_id)[0]
        for kind in (DatasetValidated, ModelTrained, ModelPromoted)
    ]
    row = {k: (float(v) if k.startswith("x") else v) for k, v in frame.iloc[0].items()}
    del row["label"]

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
    return TracedFlow(dataset, uri, row, arrival, trace_id, events, found)


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


def lineage_cli(env: dict[str, str], prediction_id: str) -> tuple[int, dict[str, Any], str]:
    """``millrace lineage ID --json`` as a user runs it (in a thread: it runs its own loop)."""
    result = CliRunner().invoke(app, ["lineage", prediction_id, "--json"], env=env)
    body = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, body, result.stderr


async def test_the_lineage_of_a_served_prediction_resolves_every_link_after_restarts(
    traced_flow: TracedFlow, platform: Platform, local_stack: Any
) -> None:
    flow = traced_flow
    validated, trained, promoted = flow.events
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{platform['deployment'].url}/models/{flow.dataset}/predict", json=flow.frame_row
        )
        response.raise_for_status()
        served = response.json()
        prediction_id = served["prediction_id"]

        async def archived() -> bool:
            url = f"{platform['monitoring'].url}/predictions/{prediction_id}"
            return (await client.get(url)).status_code == 200

        # Logged within the deployment's flush interval, archived at monitoring's next
        # checkpoint (every 5 s by default).
        await eventually(archived, within=60)

    # Both processes restarted: the answer comes from durable state, not their memory.
    platform["deployment"].stop()
    platform["monitoring"].stop()
    deployment = platform.start_deployment("deployment")
    platform.start("monitoring").wait_ready()
    deployment.wait_ready("/health/ready")

    env = {
        "MILLRACE_MONITORING_URL": platform["monitoring"].url,
        "MILLRACE_REGISTRY_URL": platform["registry"].url,
        "MILLRACE_TRAINING_URL": platform["training"].url,
        "MILLRACE_INGESTION_URL": platform["ingestion"].url,
        "MILLRACE_ZIPKIN_URL": local_stack.zipkin_url,
    }
    body: dict[str, Any] = {}
    stderr = ""

    async def resolved() -> bool:
        # The trace link waits for the services' spans to reach Zipkin (exported in batches).
        nonlocal body, stderr
        code, body, stderr = await asyncio.to_thread(lineage_cli, env, prediction_id)
        return code == 0

    try:
        await eventually(resolved, within=60)
    except TimeoutError:
        pytest.fail(f"lineage never resolved: {stderr} {body.get('unresolved')}")

    assert body["unresolved"] == []
    prediction = body["prediction"]
    assert prediction["replica_id"] == "deployment"
    assert prediction["output"] == served["prediction"]
    assert prediction["features"] == flow.frame_row
    assert (prediction["model_name"], prediction["model_version"]) == (flow.dataset, 1)

    version = body["model_version"]
    assert (version["version"], version["run_id"]) == (1, trained.run_id)
    assert version["artifact"]["sha256"] == promoted.model.artifact.sha256

    run = body["training_run"]
    assert run["estimator"] == "logistic_regression" and run["params"] == trained.params
    assert run["training_spec"]["estimator"]["name"] == "logistic_regression"
    assert run["holdout"]["id"] == trained.metrics.holdout_id
    assert run["code_version"]["package"] == "millrace-training"

    dataset = body["dataset"]
    assert dataset["version"] == validated.dataset_version  # the ingested content's sha256
    assert dataset["source_uri"] == flow.uri and dataset["submitted_by"] == SUBMITTER
    assert dataset["validation"]["passed"] and dataset["rows"] == 300

    promotion = body["promotion"]
    assert (promotion["actor"], promotion["kind"], promotion["version"]) == (
        "registry-policy",
        "promoted",
        1,
    )
    assert promotion["event_id"] == str(promoted.event_id)

    trace = body["trace"]
    assert trace["correlation_id"] == str(flow.arrival.event_id)
    assert trace["trace_ids"][0] == flow.trace_id  # the flow's trace, from the client's span
    assert trace["url"] == f"{local_stack.zipkin_url}/zipkin/traces/{flow.trace_id}"
