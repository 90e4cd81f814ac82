"""`millrace trace` turns Jaeger's query API JSON into a span tree (no network: canned
responses, served through httpx.MockTransport where the command itself runs)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import httpx
import pytest
import typer
from millrace_cli import trace as trace_module
from millrace_cli.trace import JaegerClient, build_tree, find_flow, normalize_id, render_tree, walk
from rich.console import Console
from typer.testing import CliRunner

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CORRELATION_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
T0 = 1_760_000_000_000_000  # microseconds, as Jaeger reports startTime


def _tag(key: str, value: Any) -> dict[str, Any]:
    kind = {bool: "bool", int: "int64", float: "float64"}.get(type(value), "string")
    return {"key": key, "type": kind, "value": value}


def _span(
    span_id: str,
    operation: str,
    process: str,
    start_ms: float,
    duration_ms: float,
    parent: str | None = None,
    tags: dict[str, Any] | None = None,
) -> dict[str, Any]:
    refs = [{"refType": "CHILD_OF", "traceID": TRACE_ID, "spanID": parent}] if parent else []
    return {
        "traceID": TRACE_ID,
        "spanID": span_id,
        "operationName": operation,
        "references": refs,
        "startTime": T0 + int(start_ms * 1000),
        "duration": int(duration_ms * 1000),
        "tags": [_tag(k, v) for k, v in (tags or {}).items()],
        "logs": [],
        "processID": process,
        "warnings": None,
        "flags": 1,
    }


# The shape of GET /api/traces/<id> from Jaeger v2's query extension: spans in no
# particular order, services through processID -> processes.
CANNED_TRACE: dict[str, Any] = {
    "data": [
        {
            "traceID": TRACE_ID,
            "spans": [
                _span(
                    "00000000000000c3",
                    "fit",
                    "p2",
                    40,
                    120.5,
                    parent="00000000000000c2",
                    tags={
                        "millrace.estimator": "logreg",
                        "millrace.rows": 150,
                        "otel.status_code": "ERROR",
                        "otel.status_description": "estimator diverged",
                        "error": True,
                    },
                ),
                _span(
                    "00000000000000a1",
                    "datasets.arrived publish",
                    "p1",
                    0,
                    3.2,
                    tags={
                        "span.kind": "producer",
                        "millrace.correlation_id": CORRELATION_ID,
                        "millrace.dataset": "iris",
                    },
                ),
                _span(
                    "00000000000000c2",
                    "datasets.validated process",
                    "p2",
                    30,
                    200,
                    parent="00000000000000b1",
                    tags={"millrace.correlation_id": CORRELATION_ID},
                ),
                _span(
                    "00000000000000b1",
                    "datasets.arrived process",
                    "p3",
                    5,
                    20,
                    parent="00000000000000a1",
                    tags={"otel.status_code": "OK", "millrace.dataset.version": 3},
                ),
                _span(
                    "00000000000000b2",
                    "validate",
                    "p3",
                    6,
                    10,
                    parent="00000000000000b1",
                    tags={"millrace.rows": 150},
                ),
                # A child whose parent Jaeger never received still shows (as a root).
                _span("00000000000000d1", "late", "p2", 400, 1, parent="00000000000000ff"),
            ],
            "processes": {
                "p1": {"serviceName": "cli", "tags": []},
                "p2": {"serviceName": "training", "tags": []},
                "p3": {"serviceName": "ingestion", "tags": []},
            },
            "warnings": None,
        }
    ],
    "total": 0,
    "limit": 0,
    "offset": 0,
    "errors": None,
}


def _render(traces: list[dict[str, Any]]) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(render_tree(build_tree(traces), f"trace {TRACE_ID}"))
    return console.export_text()


def test_spans_nest_under_their_parents_sorted_by_start_time() -> None:
    roots = build_tree(CANNED_TRACE["data"])
    shape = [(depth, n.service, n.operation) for depth, n in walk(roots)]
    assert shape == [
        (0, "cli", "datasets.arrived publish"),
        (1, "ingestion", "datasets.arrived process"),
        (2, "ingestion", "validate"),
        (2, "training", "datasets.validated process"),
        (3, "training", "fit"),
        (0, "training", "late"),
    ]
    fit = next(n for _, n in walk(roots) if n.operation == "fit")
    assert (fit.error, fit.status, fit.message) == (True, "ERROR", "estimator diverged")
    assert fit.duration_ms == pytest.approx(120.5)


def test_the_rendered_tree_shows_services_durations_status_and_attributes() -> None:
    text = _render(CANNED_TRACE["data"])
    lines = text.splitlines()
    assert "6 spans, 3 services (cli, ingestion, training), 401.0 ms, 1 with errors" in lines[0]
    assert lines[0].startswith(f"trace {TRACE_ID}") and TRACE_ID not in lines[1]
    fit = next(line for line in lines if " fit " in line)
    assert "training fit  120.5 ms  +40.0 ms  ERROR: estimator diverged" in fit
    assert "estimator=logreg" in fit and "rows=150" in fit
    process = next(line for line in lines if "datasets.arrived process" in line)
    assert "20.0 ms" in process and " ok " in f"{process} " and "dataset.version=3" in process
    publish = next(line for line in lines if "publish" in line)
    # The correlation id is the same on every span: shown only where nothing else is.
    assert "dataset=iris" in publish and "correlation_id" not in publish
    assert "correlation_id=" in next(line for line in lines if "validated" in line)
    late = next(line for line in lines if "late" in line)
    assert "(parent span 00000000000000ff not received)" in late
    # Tree guides: the fit line is indented deeper than its parent.
    validated = next(line for line in lines if "validated" in line)
    assert fit.index("training") > validated.index("training")


def test_spans_repeated_across_traces_count_once() -> None:
    twice = [CANNED_TRACE["data"][0], CANNED_TRACE["data"][0]]
    assert len(list(walk(build_tree(twice)))) == 6


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (TRACE_ID.upper(), TRACE_ID),
        (CORRELATION_ID.upper(), CORRELATION_ID),
        (f"urn:uuid:{CORRELATION_ID}", CORRELATION_ID),
        # 32 hex digits are a trace id, even though they would also parse as a UUID.
        (CORRELATION_ID.replace("-", ""), CORRELATION_ID.replace("-", "")),
    ],
)
def test_ids_are_normalized(given: str, expected: str) -> None:
    assert normalize_id(given) == expected


def test_a_bad_id_is_refused() -> None:
    with pytest.raises(ValueError, match="neither a trace id"):
        normalize_id("not-an-id")


def _fake_jaeger(request: httpx.Request) -> httpx.Response:
    path, params = request.url.path, request.url.params
    if path == "/api/services":
        return httpx.Response(200, json={"data": ["cli", "ingestion", "training"], "total": 3})
    if path == f"/api/traces/{TRACE_ID}":
        return httpx.Response(200, json=CANNED_TRACE)
    if path.startswith("/api/traces/"):
        return httpx.Response(
            404, json={"data": None, "errors": [{"code": 404, "msg": "trace not found"}]}
        )
    if path == "/api/traces":
        tags = json.loads(params["tags"])
        hit = tags == {"millrace.correlation_id": CORRELATION_ID} and params["service"] != "cli"
        return httpx.Response(
            200, json={**CANNED_TRACE, "data": CANNED_TRACE["data"] if hit else []}
        )
    return httpx.Response(404, text="404 page not found")


def _client(url: str, **_: Any) -> JaegerClient:
    return JaegerClient(url, transport=httpx.MockTransport(_fake_jaeger))


def test_a_correlation_id_is_searched_in_every_service_and_deduplicated() -> None:
    with _client("http://jaeger") as client:
        traces = find_flow(client, CORRELATION_ID)
        assert [t["traceID"] for t in traces] == [TRACE_ID]
        assert find_flow(client, TRACE_ID)[0]["traceID"] == TRACE_ID
        assert find_flow(client, "ffffffffffffffffffffffffffffffff") == []


def _invoke(monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setattr(trace_module, "JaegerClient", partial(_client))
    app = typer.Typer()
    app.command()(trace_module.trace)
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_the_command_prints_the_tree_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = _invoke(monkeypatch, CORRELATION_ID, "--jaeger-url", "http://jaeger")
    assert shown.exit_code == 0, shown.output
    assert f"correlation id {CORRELATION_ID}" in shown.output
    assert f"trace {TRACE_ID}" in shown.output  # the trace ids found, under the title
    assert "ERROR: estimator diverged" in shown.output
    as_json = _invoke(monkeypatch, TRACE_ID, "--jaeger-url", "http://jaeger", "--json")
    assert as_json.exit_code == 0, as_json.output
    spans = json.loads(as_json.output)["spans"]
    assert [(s["depth"], s["operation"]) for s in spans][:2] == [
        (0, "datasets.arrived publish"),
        (1, "datasets.arrived process"),
    ]


def test_the_command_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = _invoke(monkeypatch, "f" * 32, "--jaeger-url", "http://jaeger")
    assert (missing.exit_code, "not found" in missing.output) == (1, True)
    bad = _invoke(monkeypatch, "nope", "--jaeger-url", "http://jaeger")
    assert bad.exit_code == 2
    monkeypatch.setenv("MILLRACE_JAEGER_URL", "")
    monkeypatch.setenv("MILLRACE_ZIPKIN_URL", "")
    monkeypatch.setattr(trace_module, "default_zipkin_url", lambda: None)
    nowhere = _invoke(monkeypatch, TRACE_ID)
    assert nowhere.exit_code == 5 and "no trace backend to ask" in nowhere.output
