"""``status``: health of the stack and the services, topics with lag, production models."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from millrace_contracts import DLQ_SUFFIX
from rich.console import Group
from rich.markup import escape
from rich.table import Table

from ..console import out, print_json
from ..describe import metrics_text
from ..endpoints import Endpoints, resolve
from ..health import ServiceHealth, StatusReport, gather_status
from ..topics import short_name

_STATE_STYLE = {
    "ready": "green",
    "live": "yellow",
    "exited": "red",
    "down": "red",
    "not started": "dim",
    "not installed": "dim",
}


def endpoints_table(endpoints: Endpoints, only_services: set[str] | None = None) -> Table:
    table = Table(title="endpoints", show_header=False, box=None, title_justify="left")
    s = endpoints.settings
    table.add_row("Kafka bootstrap", s.kafka_bootstrap)
    buckets = ", ".join((s.bucket_landing, s.bucket_datasets, s.bucket_models, *s.state_buckets))
    table.add_row("S3", f"{endpoints.s3_url}  (buckets {buckets})")
    if endpoints.zipkin_url:
        table.add_row("Zipkin", f"{endpoints.zipkin_url}/zipkin/")
    if endpoints.jaeger_url:
        table.add_row("Jaeger", endpoints.jaeger_url)
    for name, url in endpoints.services.items():
        if only_services is None or name in only_services:
            table.add_row(name, url)
    table.add_row("logs", str(endpoints.home / "logs"))
    return table


def _service_state(service: ServiceHealth) -> str:
    text: str = service.state
    if service.name == "deployment" and service.state == "live":
        text = "live (no model loaded yet)"
    return f"[{_STATE_STYLE[service.state]}]{text}[/]"


def render(report: StatusReport) -> Group:
    stack = Table("component", "healthy", "endpoint", "pid", title="stack", title_justify="left")
    for c in report.stack:
        mark = "[green]yes[/]" if c.healthy else "[red]no[/]"
        stack.add_row(c.name, mark, c.endpoint, str(c.pid or "-"))

    services = Table(
        "service", "state", "url", "pid", "log", title="services", title_justify="left"
    )
    for sv in report.services:
        services.add_row(
            sv.name, _service_state(sv), sv.url, str(sv.pid or "-"), escape(sv.log or "-")
        )

    parts: list[Table | str] = [stack, services]
    if report.topics is None:
        parts.append(f"[red]topics:[/] {escape(report.topics_error or '')}")
    else:
        topics = Table(
            "topic", "records", "consumer groups (lag)", title="topics", title_justify="left"
        )
        for t in report.topics:
            dlq = t.topic.endswith(DLQ_SUFFIX)
            if dlq and t.end_offset == 0:
                continue  # empty dead-letter topics are the normal case
            lags = ", ".join(
                f"{escape(g)} [{'red' if n else 'green'}]{n}[/]" for g, n in t.lag.items()
            )
            name = f"[red]{short_name(t.topic)}[/]" if dlq else short_name(t.topic)
            topics.add_row(name, str(t.end_offset), lags or "-")
        parts.append(topics)
    if report.models is None:
        parts.append(f"[yellow]models:[/] {escape(report.models_error or '')}")
    else:
        models = Table(
            "model", "production", "latest", "metrics", title="models", title_justify="left"
        )
        for m in report.models:
            production = f"v{m.production_version}" if m.production_version else "-"
            models.add_row(
                m.name, production, f"v{m.latest_version}", metrics_text(m.metrics) or "-"
            )
        parts.append(models if report.models else "models: none registered yet")
    parts.append(endpoints_table(report.endpoints))
    return Group(*parts)


def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="Everything as JSON, endpoints included (for scripts).")
    ] = False,
) -> None:
    """Health of Kafka, S3, Zipkin and each service; topics with consumer-group lag; the
    production model of each name; every endpoint.

    Exit code 0 when everything that should run is healthy, 5 when Kafka or S3 is not
    reachable, 1 when a started service is not.
    """
    endpoints = resolve(principal="operators")
    report = asyncio.run(gather_status(endpoints))
    if as_json:
        print_json(report.as_dict())
    else:
        out.print(render(report))
    raise typer.Exit(report.exit_code())
