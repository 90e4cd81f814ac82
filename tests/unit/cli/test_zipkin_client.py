"""`millrace trace` reads Zipkin's v2 API (canned answers, no network) into the same span
tree as Jaeger's."""

from __future__ import annotations

import httpx
from millrace_cli.trace import ZipkinClient, build_tree, find_flow, walk, zipkin_trace_link

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CORRELATION_ID = "7d1c2a36-3c4e-4c8e-9d7a-0b5c8f1e2a10"
SPANS = [
    {
        "traceId": TRACE_ID,
        "id": "00000000000000b2",
        "parentId": "00000000000000a1",
        "name": "fit",
        "timestamp": 1_760_000_000_200_000,
        "duration": 5_000,
        "localEndpoint": {"serviceName": "training"},
        "tags": {"otel.status_code": "ERROR", "error": "estimator diverged"},
    },
    {
        "traceId": TRACE_ID,
        "id": "00000000000000a1",
        "name": "datasets.arrived publish",
        "timestamp": 1_760_000_000_000_000,
        "duration": 1_000,
        "kind": "PRODUCER",
        "localEndpoint": {"serviceName": "cli"},
        "tags": {"millrace.correlation_id": CORRELATION_ID},
    },
]


def _fake_zipkin(request: httpx.Request) -> httpx.Response:
    path, params = request.url.path, request.url.params
    if path == "/api/v2/services":
        return httpx.Response(200, json=["cli", "training"])
    if path == f"/api/v2/trace/{TRACE_ID}":
        return httpx.Response(200, json=SPANS)
    if path.startswith("/api/v2/trace/"):
        return httpx.Response(404, text="trace not found")
    if path == "/api/v2/traces":
        hit = params["annotationQuery"] == f"millrace.correlation_id={CORRELATION_ID}"
        return httpx.Response(200, json=[SPANS] if hit else [])
    return httpx.Response(404)


def test_a_flow_is_found_by_trace_or_correlation_id_and_nested() -> None:
    with ZipkinClient("http://zipkin", transport=httpx.MockTransport(_fake_zipkin)) as client:
        assert find_flow(client, "f" * 32) == []
        for ident in (TRACE_ID, CORRELATION_ID):
            traces = find_flow(client, ident)
            assert [t["traceID"] for t in traces] == [TRACE_ID]
            shape = [(d, n.service, n.operation, n.error) for d, n in walk(build_tree(traces))]
            assert shape == [
                (0, "cli", "datasets.arrived publish", False),
                (1, "training", "fit", True),
            ]
            fit = next(n for _, n in walk(build_tree(traces)) if n.operation == "fit")
            assert fit.message == "estimator diverged"


def test_the_ui_link_of_a_trace() -> None:
    assert (
        zipkin_trace_link("http://127.0.0.1:19103/", TRACE_ID)
        == f"http://127.0.0.1:19103/zipkin/traces/{TRACE_ID}"
    )
