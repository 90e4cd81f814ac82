"""The local stack's Jaeger: spans exported over OTLP/HTTP by two services come back, as
one trace with intact parent links, through the query API that `millrace trace` reads."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
import typer
from millrace_cli.trace import JaegerClient, build_tree, find_flow, trace, walk
from millrace_infra import StackInfo
from millrace_infra.ports import free_port
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from typer.testing import CliRunner

pytestmark = pytest.mark.integration

T = TypeVar("T")


def _eventually(fetch: Callable[[], T | None], what: str, within: float = 30.0) -> T:
    """Jaeger ingests asynchronously (receiver -> batch -> storage): poll until it shows."""
    deadline = time.monotonic() + within
    while True:
        found = fetch()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not show up in Jaeger within {within:.0f} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def jaeger(local_stack: StackInfo) -> tuple[str, str]:
    if not local_stack.otlp_endpoint or not local_stack.jaeger_url:
        pytest.skip("the stack runs without Jaeger (MILLRACE_STACK_NO_JAEGER)")
    return local_stack.otlp_endpoint, local_stack.jaeger_url


def _provider(otlp_endpoint: str, service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint}/v1/traces", timeout=10)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class Flow:
    """Three spans of one flow from two services, linked through a W3C traceparent carrier
    as over Kafka headers: producer `publish` (service A) -> `consume` -> `fit` (service B,
    failing)."""

    def __init__(self, otlp_endpoint: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.services = (f"jaeger-test-producer-{tag}", f"jaeger-test-consumer-{tag}")
        self.correlation_id = str(uuid.uuid4())
        producer, consumer = (_provider(otlp_endpoint, s) for s in self.services)
        attrs = {"millrace.correlation_id": self.correlation_id, "millrace.dataset": "iris"}
        try:
            carrier: dict[str, str] = {}
            with producer.get_tracer("test").start_as_current_span(
                "publish", kind=SpanKind.PRODUCER, attributes=attrs
            ) as publish:
                inject(carrier)
            tracer = consumer.get_tracer("test")
            with (
                tracer.start_as_current_span(
                    "consume", context=extract(carrier), kind=SpanKind.CONSUMER, attributes=attrs
                ) as consume,
                tracer.start_as_current_span("fit", attributes={"millrace.rows": 150}) as fit,
            ):
                fit.set_status(Status(StatusCode.ERROR, "estimator diverged"))
            assert producer.force_flush(10_000) and consumer.force_flush(10_000)
        finally:
            producer.shutdown()
            consumer.shutdown()
        self.trace_id = format(publish.get_span_context().trace_id, "032x")
        self.span_ids = {
            name: format(span.get_span_context().span_id, "016x")
            for name, span in (("publish", publish), ("consume", consume), ("fit", fit))
        }


@pytest.fixture(scope="module")
def flow(jaeger: tuple[str, str]) -> Flow:
    return Flow(jaeger[0])


@pytest.fixture(scope="module")
def http(jaeger: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=jaeger[1], timeout=5) as client:
        yield client


def _full_trace(http: httpx.Client, flow: Flow) -> dict[str, Any]:
    def fetch() -> dict[str, Any] | None:
        response = http.get(f"/api/traces/{flow.trace_id}")
        if response.status_code != 200:
            return None
        data: dict[str, Any] = response.json()["data"][0]
        return data if len(data["spans"]) == 3 else None

    return _eventually(fetch, f"all 3 spans of trace {flow.trace_id}")


def test_one_trace_holds_both_services_spans_with_parent_links(
    http: httpx.Client, flow: Flow
) -> None:
    found = _full_trace(http, flow)
    assert found["traceID"] == flow.trace_id
    spans = {s["operationName"]: s for s in found["spans"]}
    assert {s["spanID"] for s in spans.values()} == set(flow.span_ids.values())
    service_of = {
        name: found["processes"][s["processID"]]["serviceName"] for name, s in spans.items()
    }
    producer, consumer = flow.services
    assert service_of == {"publish": producer, "consume": consumer, "fit": consumer}

    def parent(name: str) -> str | None:
        refs = [r for r in spans[name]["references"] if r["refType"] == "CHILD_OF"]
        assert all(r["traceID"] == flow.trace_id for r in refs)
        return refs[0]["spanID"] if refs else None

    assert parent("publish") is None
    assert parent("consume") == flow.span_ids["publish"]
    assert parent("fit") == flow.span_ids["consume"]
    fit_tags = {t["key"]: t["value"] for t in spans["fit"]["tags"]}
    assert fit_tags["otel.status_code"] == "ERROR"
    assert fit_tags["millrace.rows"] == 150


def test_services_and_tag_search_find_the_flow(http: httpx.Client, flow: Flow) -> None:
    _full_trace(http, flow)
    services = http.get("/api/services").json()["data"]
    assert set(flow.services) <= set(services)
    for service in flow.services:
        response = http.get(
            "/api/traces",
            params={
                "service": service,
                "tags": json.dumps({"millrace.correlation_id": flow.correlation_id}),
            },
        )
        assert response.status_code == 200
        assert [t["traceID"] for t in response.json()["data"]] == [flow.trace_id]
    unknown = {"millrace.correlation_id": str(uuid.uuid4())}
    none = http.get(
        "/api/traces", params={"service": flow.services[0], "tags": json.dumps(unknown)}
    )
    assert none.status_code == 200 and not none.json()["data"]
    assert http.get(f"/api/traces/{uuid.uuid4().hex}").status_code == 404


def test_the_trace_client_rebuilds_the_tree_from_a_correlation_id(
    jaeger: tuple[str, str], http: httpx.Client, flow: Flow
) -> None:
    _full_trace(http, flow)
    with JaegerClient(jaeger[1]) as client:
        by_correlation = find_flow(client, flow.correlation_id)
        by_trace_id = find_flow(client, flow.trace_id)
    for traces in (by_correlation, by_trace_id):
        shape = [(depth, n.service, n.operation) for depth, n in walk(build_tree(traces))]
        producer, consumer = flow.services
        assert shape == [(0, producer, "publish"), (1, consumer, "consume"), (2, consumer, "fit")]


def _run(*args: str) -> Any:
    app = typer.Typer()
    app.command()(trace)
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_the_trace_command_prints_the_flow_and_reports_misses(
    jaeger: tuple[str, str], http: httpx.Client, flow: Flow
) -> None:
    _full_trace(http, flow)
    url = jaeger[1]
    shown = _run(flow.correlation_id, "--jaeger-url", url)
    assert shown.exit_code == 0, shown.output
    for text in (*flow.services, "publish", "consume", "fit", "ERROR", "estimator diverged"):
        assert text in shown.output
    as_json = _run(flow.trace_id, "--jaeger-url", url, "--json")
    assert as_json.exit_code == 0, as_json.output
    assert [s["operation"] for s in json.loads(as_json.output)["spans"]] == [
        "publish",
        "consume",
        "fit",
    ]
    missing = _run(uuid.uuid4().hex, "--jaeger-url", url)
    assert missing.exit_code == 1
    assert "not found" in missing.output
    unreachable = _run(flow.trace_id, "--jaeger-url", f"http://127.0.0.1:{free_port()}")
    assert unreachable.exit_code == 5
    assert "not reachable" in unreachable.output
