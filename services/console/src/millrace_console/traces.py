"""Links to the trace UI (Zipkin): a flow's correlation id is looked up when followed.

Pages link to ``/trace/<correlation id>`` (cheap to render); following it asks Zipkin for the
trace whose spans carry ``millrace.correlation_id`` and redirects to its page, as
``millrace trace`` does.
"""

from __future__ import annotations

from typing import Any

import httpx

CORRELATION_TAG = "millrace.correlation_id"


def trace_page(zipkin_url: str, trace_id: str) -> str:
    return f"{zipkin_url.rstrip('/')}/zipkin/traces/{trace_id}"


def search_page(zipkin_url: str, correlation_id: str) -> str:
    query = httpx.QueryParams({"annotationQuery": f"{CORRELATION_TAG}={correlation_id}"})
    return f"{zipkin_url.rstrip('/')}/zipkin/?{query}"


async def find_trace(zipkin_url: str, correlation_id: str, *, wait: float) -> str | None:
    """The id of the (oldest) trace of the flow, or None if Zipkin holds none."""
    params = {"annotationQuery": f"{CORRELATION_TAG}={correlation_id}", "limit": "10"}
    async with httpx.AsyncClient(base_url=zipkin_url.rstrip("/"), timeout=wait) as http:
        response = await http.get("/api/v2/traces", params=params)
    response.raise_for_status()
    traces: list[list[dict[str, Any]]] = response.json() or []
    found = [
        (min(int(s.get("timestamp", 0)) for s in spans), str(spans[0].get("traceId")))
        for spans in traces
        if spans
    ]
    return min(found)[1] if found else None
