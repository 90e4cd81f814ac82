"""The local stack's Zipkin: spans exported the way services export them (the shared tracing
set-up, Zipkin JSON over HTTP) by two services come back as one trace with intact parent
links, through the API that `millrace trace` reads, and the UI is served."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
import typer
from millrace_cli.trace import ZipkinClient, build_tree, find_flow, trace, walk
from millrace_infra import StackInfo
from millrace_infra.ports import free_port
from millrace_shared.settings import MillraceSettings
from millrace_shared.telemetry import setup_tracing
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode
from typer.testing import CliRunner

pytestmark = pytest.mark.integration

T = TypeVar("T")


def _eventually(fetch: Callable[[], T | None], what: str, within: float = 30.0) -> T:
    """Zipkin stores what it receives asynchronously: poll until it shows."""
    deadline = time.monotonic() + within
    while True:
        found = fetch()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not show up in Zipkin within {within:.0f} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def zipkin(local_stack: StackInfo) -> str:
    if not local_stack.zipkin_url:
        pytest.skip("the stack runs without Zipkin (MILLRACE_STACK_NO_ZIPKIN)")
    return local_stack.zipkin_url


def _provider(local_stack: StackInfo, service: str) -> TracerProvider:
    """A service's tracer provider, from the environment the stack gives services."""
    env = local_stack.env()
    settings = MillraceSettings(
        service_name=service,
        environment="dev",
        zipkin_endpoint=env["MILLRACE_ZIPKIN_ENDPOINT"],
    )
    return setup_tracing(settings)


class Flow:
    """Three spans of one flow from two services, linked through a W3C traceparent carrier
    as over Kafka headers: producer `publish` (service A) -> `consume` -> `fit` (service B,
    failing)."""

    def __init__(self, local_stack: StackInfo) -> None:
        tag = uuid.uuid4().hex[:8]
        self.services = (f"zipkin-test-producer-{tag}", f"zipkin-test-consumer-{tag}")
        self.correlation_id = str(uuid.uuid4())
        producer, consumer = (_provider(local_stack, s) for s in self.services)
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
def flow(zipkin: str, local_stack: StackInfo) -> Flow:
    return Flow(local_stack)


@pytest.fixture(scope="module")
def http(zipkin: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=zipkin, timeout=5) as client:
        yield client


def _full_trace(http: httpx.Client, flow: Flow) -> list[dict[str, Any]]:
    def fetch() -> list[dict[str, Any]] | None:
        response = http.get(f"/api/v2/trace/{flow.trace_id}")
        if response.status_code != 200:
            return None
        spans: list[dict[str, Any]] = response.json()
        return spans if len(spans) == 3 else None

    return _eventually(fetch, f"all 3 spans of trace {flow.trace_id}")


def test_one_trace_holds_both_services_spans_with_parent_links(
    http: httpx.Client, flow: Flow
) -> None:
    spans = {s["name"]: s for s in _full_trace(http, flow)}
    assert {s["traceId"] for s in spans.values()} == {flow.trace_id}
    assert {s["id"] for s in spans.values()} == set(flow.span_ids.values())
    service_of = {name: s["localEndpoint"]["serviceName"] for name, s in spans.items()}
    producer, consumer = flow.services
    assert service_of == {"publish": producer, "consume": consumer, "fit": consumer}
    assert "parentId" not in spans["publish"]
    assert spans["consume"]["parentId"] == flow.span_ids["publish"]
    assert spans["fit"]["parentId"] == flow.span_ids["consume"]
    assert spans["fit"]["tags"]["otel.status_code"] == "ERROR"
    assert spans["fit"]["tags"]["error"] == "estimator diverged"
    assert spans["fit"]["tags"]["millrace.rows"] == "150"


def test_services_and_tag_search_find_the_flow(http: httpx.Client, flow: Flow) -> None:
    _full_trace(http, flow)
    assert set(flow.services) <= set(http.get("/api/v2/services").json())
    query = f"millrace.correlation_id={flow.correlation_id}"
    for service in flow.services:
        response = http.get(
            "/api/v2/traces", params={"serviceName": service, "annotationQuery": query}
        )
        assert response.status_code == 200
        assert [t[0]["traceId"] for t in response.json()] == [flow.trace_id]
    other = f"millrace.correlation_id={uuid.uuid4()}"
    none = http.get(
        "/api/v2/traces", params={"serviceName": flow.services[0], "annotationQuery": other}
    )
    assert none.status_code == 200 and none.json() == []
    assert http.get(f"/api/v2/trace/{uuid.uuid4().hex}").status_code == 404


def test_the_ui_serves_zipkins_page_and_the_trace_link(http: httpx.Client, flow: Flow) -> None:
    _full_trace(http, flow)
    # The page the demo links to: the UI is a single-page app served under /zipkin/.
    for path in ("/zipkin/", f"/zipkin/traces/{flow.trace_id}"):
        page = http.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert "<title>Zipkin</title>" in page.text


def test_the_trace_client_rebuilds_the_tree_from_a_correlation_id(
    zipkin: str, http: httpx.Client, flow: Flow
) -> None:
    _full_trace(http, flow)
    with ZipkinClient(zipkin) as client:
        by_correlation = find_flow(client, flow.correlation_id)
        by_trace_id = find_flow(client, flow.trace_id)
    for traces in (by_correlation, by_trace_id):
        roots = build_tree(traces)
        shape = [(depth, n.service, n.operation) for depth, n in walk(roots)]
        producer, consumer = flow.services
        assert shape == [(0, producer, "publish"), (1, consumer, "consume"), (2, consumer, "fit")]
        fit = next(n for _, n in walk(roots) if n.operation == "fit")
        assert fit.error and fit.message == "estimator diverged"


def _run(*args: str) -> Any:
    app = typer.Typer()
    app.command()(trace)
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_the_trace_command_prints_the_flow_and_reports_misses(
    zipkin: str, http: httpx.Client, flow: Flow
) -> None:
    _full_trace(http, flow)
    shown = _run(flow.correlation_id, "--zipkin-url", zipkin)
    assert shown.exit_code == 0, shown.output
    for text in (*flow.services, "publish", "consume", "fit", "ERROR", "estimator diverged"):
        assert text in shown.output
    as_json = _run(flow.trace_id, "--zipkin-url", zipkin, "--json")
    assert as_json.exit_code == 0, as_json.output
    assert [s["operation"] for s in json.loads(as_json.output)["spans"]] == [
        "publish",
        "consume",
        "fit",
    ]
    missing = _run(uuid.uuid4().hex, "--zipkin-url", zipkin)
    assert missing.exit_code == 1
    assert "not found" in missing.output
    unreachable = _run(flow.trace_id, "--zipkin-url", f"http://127.0.0.1:{free_port()}")
    assert unreachable.exit_code == 5
    assert "not reachable" in unreachable.output
