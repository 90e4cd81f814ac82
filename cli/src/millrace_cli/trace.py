"""`millrace trace`: one flow's spans across all services, from Zipkin's (or Jaeger's) API.

Takes a trace id (32 hex digits) or a Millrace correlation id (a UUID, carried by spans as
the `millrace.correlation_id` attribute) and prints the span tree, sorted by start time.
The local stack runs Zipkin: its v2 API `/api/v2/trace/<id>`, `/api/v2/services` and
`/api/v2/traces?serviceName=...&annotationQuery=k=v`, whose spans are turned into the shape
Jaeger's v1-compatible JSON API serves (`/api/traces/<id>`, `/api/services`,
`/api/traces?service=...&tags={...}`), still read when MILLRACE_JAEGER_URL names a Jaeger.
"""

from __future__ import annotations

import json as jsonlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import httpx
import typer
from millrace_infra import StackConfig, StackInfo, read_state
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

CORRELATION_TAG = "millrace.correlation_id"
EXIT_NOT_FOUND = 1
EXIT_UNREACHABLE = 5  # the CLI-wide "not reachable" code
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_SHOWN_ATTRIBUTES = 4
_SEARCH_LIMIT = 50

JsonDict = dict[str, Any]


class JaegerError(Exception):
    """The trace backend (Zipkin or Jaeger) is unreachable, or did not answer like its API."""


TraceBackendError = JaegerError


class TraceClient(Protocol):
    """What `find_flow` needs of a trace backend; traces in Jaeger's JSON shape."""

    def services(self) -> list[str]: ...

    def trace(self, trace_id: str) -> JsonDict | None: ...

    def find_traces(
        self, service: str, tags: Mapping[str, str], *, limit: int = _SEARCH_LIMIT
    ) -> list[JsonDict]: ...

    def close(self) -> None: ...


class JaegerClient:
    """The few calls of Jaeger's v1-compatible HTTP query API that `trace` needs."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> JaegerClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> httpx.Response:
        try:
            return self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise JaegerError(f"Jaeger at {self.base_url} is not reachable: {exc}") from exc

    def _data(self, response: httpx.Response) -> Any:
        if response.status_code != 200:
            raise JaegerError(
                f"Jaeger answered {response.status_code} to {response.request.url}: "
                f"{response.text[:300]}"
            )
        try:
            return response.json()["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise JaegerError(
                f"not a Jaeger query API response from {response.request.url}"
            ) from exc

    def services(self) -> list[str]:
        data = self._data(self._get("/api/services"))
        return sorted(str(s) for s in data or [])

    def trace(self, trace_id: str) -> JsonDict | None:
        """The whole trace, or None if Jaeger holds no span of it."""
        response = self._get(f"/api/traces/{trace_id}")
        if response.status_code == 404:
            return None
        data = self._data(response)
        return data[0] if data else None

    def find_traces(
        self, service: str, tags: Mapping[str, str], *, limit: int = _SEARCH_LIMIT
    ) -> list[JsonDict]:
        """Traces with a span of `service` carrying all `tags` (each trace complete)."""
        params: dict[str, str | int] = {
            "service": service,
            "tags": jsonlib.dumps(dict(tags)),
            "limit": limit,
        }
        return list(self._data(self._get("/api/traces", params)) or [])


class ZipkinClient:
    """The few calls of Zipkin's v2 HTTP API that `trace` needs, in Jaeger's JSON shape."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> ZipkinClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise JaegerError(f"Zipkin at {self.base_url} is not reachable: {exc}") from exc
        if response.status_code == 404 and path.startswith("/api/v2/trace/"):
            return None
        if response.status_code != 200:
            raise JaegerError(
                f"Zipkin answered {response.status_code} to {response.request.url}: "
                f"{response.text[:300]}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise JaegerError(f"not a Zipkin API response from {response.request.url}") from exc

    def services(self) -> list[str]:
        return sorted(str(s) for s in self._get("/api/v2/services") or [])

    def trace(self, trace_id: str) -> JsonDict | None:
        """The whole trace, or None if Zipkin holds no span of it."""
        spans = self._get(f"/api/v2/trace/{trace_id}")
        return zipkin_to_jaeger(spans) if spans else None

    def find_traces(
        self, service: str, tags: Mapping[str, str], *, limit: int = _SEARCH_LIMIT
    ) -> list[JsonDict]:
        """Traces with a span of `service` carrying all `tags` (each trace complete)."""
        params: dict[str, str | int] = {
            "serviceName": service,
            "annotationQuery": " and ".join(f"{k}={v}" for k, v in tags.items()),
            "limit": limit,
        }
        return [zipkin_to_jaeger(spans) for spans in self._get("/api/v2/traces", params) or []]


def zipkin_to_jaeger(spans: Sequence[Mapping[str, Any]]) -> JsonDict:
    """One trace of Zipkin v2 spans as Jaeger's JSON shape (what build_tree reads).

    OpenTelemetry's Zipkin exporter writes a span's status as the tags `otel.status_code`
    and, for errors, `error` (the description)."""
    converted: list[JsonDict] = []
    processes: dict[str, JsonDict] = {}
    for span in spans:
        service = str((span.get("localEndpoint") or {}).get("serviceName", "?"))
        processes.setdefault(service, {"serviceName": service})
        tags = dict(span.get("tags") or {})
        if "error" in tags:
            tags.setdefault("otel.status_code", "ERROR")
            tags.setdefault("otel.status_description", tags["error"])
        parent = span.get("parentId")
        converted.append(
            {
                "traceID": str(span.get("traceId", "")),
                "spanID": str(span.get("id", "")),
                "references": [{"refType": "CHILD_OF", "spanID": parent}] if parent else [],
                "operationName": str(span.get("name", "")),
                "startTime": int(span.get("timestamp", 0)),
                "duration": int(span.get("duration", 0)),
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
                "processID": service,
            }
        )
    trace_id = converted[0]["traceID"] if converted else ""
    return {"traceID": trace_id, "spans": converted, "processes": processes}


def zipkin_trace_link(zipkin_url: str, trace_id: str) -> str:
    """The Zipkin UI page of one trace."""
    return f"{zipkin_url.rstrip('/')}/zipkin/traces/{trace_id}"


def find_flow(client: TraceClient, ident: str) -> list[JsonDict]:
    """The traces of one flow: the trace with that id, or every trace whose spans carry
    `millrace.correlation_id` = ident (searched service by service)."""
    if _TRACE_ID.match(ident):
        found = client.trace(ident)
        return [found] if found else []
    traces: dict[str, JsonDict] = {}
    for service in client.services():
        for found in client.find_traces(service, {CORRELATION_TAG: ident}):
            traces.setdefault(str(found.get("traceID")), found)
    return list(traces.values())


def normalize_id(ident: str) -> str:
    """A lower-case 32-hex trace id, or a canonical UUID; ValueError for anything else."""
    text = ident.strip().lower()
    if _TRACE_ID.match(text):
        return text
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ValueError(
            f"{ident!r} is neither a trace id (32 hex digits) nor a correlation id (a UUID)"
        ) from None


@dataclass
class SpanNode:
    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    operation: str
    start_us: int
    duration_us: int
    error: bool
    status: str
    """"ERROR", "OK" or "" (unset), from the OTel status stored as tags."""
    message: str
    attributes: dict[str, Any]
    children: list[SpanNode] = field(default_factory=list)
    parent_missing: bool = False
    """It has a parent span that the backend does not hold (not received, or not yet)."""

    @property
    def duration_ms(self) -> float:
        return self.duration_us / 1000

    def as_dict(self, depth: int) -> JsonDict:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "depth": depth,
            "service": self.service,
            "operation": self.operation,
            "start_us": self.start_us,
            "duration_ms": self.duration_ms,
            "status": self.status,
            "error": self.error,
            "message": self.message,
            "attributes": self.attributes,
        }


def _tags(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {str(t["key"]): t.get("value") for t in items or () if "key" in t}


def _parent(span: Mapping[str, Any]) -> str | None:
    refs = span.get("references") or []
    for kind in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in refs:
            if ref.get("refType") == kind and ref.get("spanID"):
                return str(ref["spanID"])
    return None


def _node(span: Mapping[str, Any], processes: Mapping[str, Any]) -> SpanNode:
    tags = _tags(span.get("tags"))
    process = processes.get(str(span.get("processID")), {})
    otel_status = str(tags.get("otel.status_code", "")).upper()
    error = otel_status == "ERROR" or tags.get("error") in (True, "true")
    return SpanNode(
        trace_id=str(span.get("traceID", "")),
        span_id=str(span.get("spanID", "")),
        parent_id=_parent(span),
        service=str(process.get("serviceName", "?")),
        operation=str(span.get("operationName", "")),
        start_us=int(span.get("startTime", 0)),
        duration_us=int(span.get("duration", 0)),
        error=error,
        status="ERROR" if error else otel_status,
        message=str(tags.get("otel.status_description", "")),
        attributes=tags,
    )


def build_tree(traces: Sequence[Mapping[str, Any]]) -> list[SpanNode]:
    """Root spans (and spans whose parent the backend does not hold), children nested, every
    level sorted by start time. Spans repeated across traces count once."""
    nodes: dict[tuple[str, str], SpanNode] = {}
    for found in traces:
        processes = found.get("processes") or {}
        for span in found.get("spans") or []:
            node = _node(span, processes)
            nodes.setdefault((node.trace_id, node.span_id), node)
    roots: list[SpanNode] = []
    for node in nodes.values():
        parent = nodes.get((node.trace_id, node.parent_id)) if node.parent_id else None
        node.parent_missing = node.parent_id is not None and parent is None
        (parent.children if parent is not None else roots).append(node)
    for node in nodes.values():
        node.children.sort(key=_order)
    return sorted(roots, key=_order)


def _order(node: SpanNode) -> tuple[int, str]:
    return (node.start_us, node.span_id)


def walk(roots: Iterable[SpanNode], depth: int = 0) -> Iterable[tuple[int, SpanNode]]:
    for node in roots:
        yield depth, node
        yield from walk(node.children, depth + 1)


def _label(node: SpanNode, origin_us: int) -> Text:
    text = Text.assemble(
        (node.service, "bold cyan"),
        " ",
        (node.operation, "bold"),
        "  ",
        (f"{node.duration_ms:.1f} ms", "yellow"),
        (f"  +{(node.start_us - origin_us) / 1000:.1f} ms", "dim"),
    )
    if node.error:
        text.append("  ERROR", style="bold red")
        if node.message:
            text.append(f": {node.message}", style="red")
    elif node.status == "OK":
        text.append("  ok", style="green")
    shown = [(k, v) for k, v in node.attributes.items() if k.startswith("millrace.")]
    shown = [(k, v) for k, v in shown if k != CORRELATION_TAG] or shown
    for key, value in shown[:_SHOWN_ATTRIBUTES]:
        text.append(f"  {key.removeprefix('millrace.')}=", style="dim")
        text.append(str(value))
    if len(shown) > _SHOWN_ATTRIBUTES:
        text.append(f"  (+{len(shown) - _SHOWN_ATTRIBUTES} more)", style="dim")
    if node.parent_missing:
        text.append(f"  (parent span {node.parent_id} not received)", style="dim")
    return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def render_tree(roots: Sequence[SpanNode], title: str) -> Tree:
    """A rich tree: one line per span (service, operation, duration, offset from the first
    span, status, a few `millrace.*` attributes)."""
    spans = list(walk(roots))
    services = sorted({n.service for _, n in spans})
    trace_ids = sorted({n.trace_id for _, n in spans})
    origin = min((n.start_us for _, n in spans), default=0)
    end = max((n.start_us + n.duration_us for _, n in spans), default=0)
    errors = sum(1 for _, n in spans if n.error)
    header = Text.assemble(
        (title, "bold"),
        f"  {_count(len(spans), 'span')}, {_count(len(services), 'service')} "
        f"({', '.join(services)}), ",
        f"{(end - origin) / 1000:.1f} ms",
    )
    if errors:
        header.append(f", {errors} with errors", style="bold red")
    if trace_ids != [title.split()[-1]]:
        header.append(f"\ntrace {', '.join(trace_ids)}", style="dim")
    tree = Tree(header)

    def add(branch: Tree, nodes: Sequence[SpanNode]) -> None:
        for node in nodes:
            add(branch.add(_label(node, origin)), node.children)

    add(tree, roots)
    return tree


def default_zipkin_url() -> str | None:
    """The Zipkin of the local stack in $MILLRACE_HOME (default .millrace/), if recorded."""
    config = read_state(StackConfig.from_env().home)
    return StackInfo.for_config(config).zipkin_url if config is not None else None


def trace(
    id: Annotated[
        str, typer.Argument(help="Trace id (32 hex digits) or Millrace correlation id (UUID).")
    ],
    zipkin_url: Annotated[
        str | None,
        typer.Option(
            envvar="MILLRACE_ZIPKIN_URL",
            help="Zipkin base URL (default: the local stack's, from its state file).",
        ),
    ] = None,
    jaeger_url: Annotated[
        str | None,
        typer.Option(
            envvar="MILLRACE_JAEGER_URL",
            help="Jaeger query API base URL, read instead of Zipkin when no Zipkin is given.",
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the spans as JSON.")] = False,
) -> None:
    """Show one flow's spans across all services as a tree, sorted by start time.

    Exit codes: 0 found, 1 no such trace, 2 bad arguments, 5 trace backend not reachable.
    """
    out, err = Console(), Console(stderr=True)
    try:
        ident = normalize_id(id)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="ID") from None
    client: TraceClient
    if zipkin_url or not jaeger_url:
        url = zipkin_url or default_zipkin_url()
        backend = "Zipkin"
    else:
        url, backend = jaeger_url, "Jaeger"
    if not url:
        err.print(
            "[red]error:[/red] no trace backend to ask: pass --zipkin-url (or --jaeger-url), "
            "set MILLRACE_ZIPKIN_URL, or start the local stack with Zipkin (millrace-stack up)"
        )
        raise typer.Exit(EXIT_UNREACHABLE)
    client = ZipkinClient(url) if backend == "Zipkin" else JaegerClient(url)
    try:
        traces = find_flow(client, ident)
    except JaegerError as exc:  # unreachable, or not answering like its API
        err.print(Text.assemble(("error: ", "red"), str(exc)), soft_wrap=True)
        raise typer.Exit(EXIT_UNREACHABLE) from None
    finally:
        client.close()
    kind = "trace" if _TRACE_ID.match(ident) else "correlation id"
    if not traces:
        err.print(f"[red]not found:[/red] {backend} at {url} holds no span for {kind} {ident}")
        raise typer.Exit(EXIT_NOT_FOUND)
    roots = build_tree(traces)
    if json:
        spans = [node.as_dict(depth) for depth, node in walk(roots)]
        typer.echo(jsonlib.dumps({"id": ident, "spans": spans}, indent=2, default=str))
        return
    out.print(render_tree(roots, f"{kind} {ident}"))
