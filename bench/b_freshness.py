"""#8 (and #9 for every service): data arrival → first prediction served by the new version,
all five services as processes on the real stack, tracing on; against the fit time alone.

Each round lands a new 100k-row Parquet file, publishes ``data.arrived`` and polls the
deployment's predict endpoint until an answer comes from the newly promoted version. The
floor is the fit itself (``training_seconds`` of that very ``model.trained``). Stages come
from the events' own timestamps and, in detail, from the flow's trace in Zipkin.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import httpx
from millrace_cli.flow import FLOW_EVENTS
from millrace_contracts import (
    DataArrived,
    DatasetDeclared,
    DatasetRejected,
    DatasetValidated,
    DeploymentFailed,
    Event,
    ModelDeployed,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
    first_of_flow,
)
from millrace_infra.launcher import Process

from . import rss_profile
from .context import Context
from .harness import Stack, platform, wait_platform
from .models import declaration, request_rows, serving_frame
from .results import compared
from .stats import at_most, median

DATASET = "bench-fresh"
JOB_SERVICES = ("ingestion", "training")
"""The services that run #8's large jobs in their own process: #9 profiles their RSS."""


async def _declare(sink: Any, ingestion_url: str) -> None:
    declared = declaration(DATASET, "hist_gradient_boosting")  # promoted every round
    url = f"{ingestion_url}/datasets/{DATASET}"
    async with httpx.AsyncClient(timeout=5) as client:
        before = await client.get(url)
        known = before.json().get("declaration_version", 0) if before.status_code == 200 else 0
        event = DatasetDeclared(**first_of_flow(producer="bench"), declaration=declared)
        await sink.publish(event)
        async with asyncio.timeout(60):
            while True:
                response = await client.get(url)
                if (
                    response.status_code == 200
                    and response.json().get("declaration_version", 0) > known
                ):
                    return
                await asyncio.sleep(0.2)


def _parquet(rows: int, seed: int) -> bytes:
    buffer = io.BytesIO()
    serving_frame(rows, seed).to_parquet(buffer, index=False)
    return buffer.getvalue()


async def _round(
    stack: Stack,
    sink: Any,
    tracer: Any,
    watcher: Any,
    store: Any,
    deploy_url: str,
    rows: int,
    seed: int,
) -> dict[str, Any]:
    bucket = stack.settings().bucket_landing
    uri = f"s3://{bucket}/{DATASET}/arrival-{seed}.parquet"
    store.put_bytes(uri, _parquet(rows, seed))
    body = json.dumps(request_rows(1, seed)[0])
    event = DataArrived(**first_of_flow(producer="bench"), dataset=DATASET, uri=uri)
    ours = lambda e: e.correlation_id == event.correlation_id  # noqa: E731
    started = time.perf_counter()
    # The bench is the data team here: its span is the root of the flow's trace.
    with tracer.start_as_current_span("data_arrival") as span:
        await sink.publish(event)
    trace_id = format(span.get_span_context().trace_id, "032x")
    promoted: ModelPromoted | None = None
    served_at: float | None = None
    polls = 0
    async with httpx.AsyncClient(timeout=10) as client:
        deadline = started + 900
        while time.perf_counter() < deadline:
            failed = (
                watcher.of_type(DatasetRejected, ours)
                + watcher.of_type(ModelRejected, ours)
                + watcher.of_type(DeploymentFailed, ours)
            )
            if failed:
                raise RuntimeError(f"flow failed: {failed[0]!r}")
            if promoted is None:
                found = watcher.of_type(ModelPromoted, ours)
                promoted = found[0] if found else None
            if promoted is not None:
                polls += 1
                response = await client.post(
                    f"{deploy_url}/models/{DATASET}/predict",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                if (
                    response.status_code == 200
                    and response.json().get("version") == promoted.model.version
                ):
                    served_at = time.perf_counter()
                    break
            await asyncio.sleep(0.01)
    if served_at is None or promoted is None:
        raise TimeoutError("the new version was never served")
    await watcher.wait_for(ModelDeployed, ours, within=30)
    arrived = event.occurred_at
    stamps = {
        "validated": watcher.of_type(DatasetValidated, ours)[0].occurred_at,
        "trained": watcher.of_type(ModelTrained, ours)[0].occurred_at,
        "promoted": promoted.occurred_at,
        "deployed": watcher.of_type(ModelDeployed, ours)[0].occurred_at,
    }
    trained = watcher.of_type(ModelTrained, ours)[0]
    deployed = watcher.of_type(ModelDeployed, ours)[0]
    freshness = served_at - started
    previous = 0.0
    stages: dict[str, float] = {}
    for name, at in stamps.items():
        offset = (at - arrived).total_seconds()
        stages[f"until_{name}"] = offset
        stages[f"stage_{name}"] = offset - previous
        previous = offset
    stages["deployed_to_first_answer"] = freshness - previous
    return {
        "freshness_seconds": freshness,
        "fit_seconds": trained.training_seconds,
        "overhead_seconds": freshness - trained.training_seconds,
        "version": promoted.model.version,
        "load_seconds": deployed.load_seconds,
        "stages": stages,
        "correlation_id": str(event.correlation_id),
        "trace_id": trace_id,
        "polls": polls,
    }


def _trace(zipkin_url: str | None, trace_id: str) -> dict[str, Any] | None:
    if not zipkin_url:
        return None
    from millrace_cli.trace import ZipkinClient

    spans: list[dict[str, Any]] = []
    with ZipkinClient(zipkin_url, timeout=10) as client:
        time.sleep(6)  # services export spans in batches (every 5 s at most)
        found = client.trace(trace_id)
        traces = [found] if found else []
    origin = None
    for t in traces:
        processes = t.get("processes", {})
        for s in t.get("spans", []):
            service = processes.get(s.get("processID"), {}).get("serviceName", "?")
            spans.append(
                {
                    "service": service,
                    "name": s["operationName"],
                    "start_us": s["startTime"],
                    "ms": s["duration"] / 1000,
                }
            )
            origin = s["startTime"] if origin is None else min(origin, s["startTime"])
    for s in spans:
        s["at_ms"] = round((s.pop("start_us") - (origin or 0)) / 1000, 1)
        s["ms"] = round(s["ms"], 1)
    spans.sort(key=lambda s: s["at_ms"])
    return {"traces": len(traces), "spans": spans}


def _summary(trace: dict[str, Any] | None) -> str:
    if not trace or not trace["spans"]:
        return "no trace found in Zipkin"
    keep = [s for s in trace["spans"] if not s["name"].endswith((" publish", " create"))]
    return "; ".join(
        f"{s['service']}.{s['name']} @{s['at_ms'] / 1000:.2f}s {s['ms'] / 1000:.2f}s"
        for s in keep[:40]
    )


async def _flow(ctx: Context, stack: Stack, procs: dict[str, Process]) -> list[dict[str, Any]]:
    from millrace_shared.messaging import KafkaEventSink, make_broker
    from millrace_shared.telemetry import setup_tracing
    from millrace_shared.watch import EventWatcher

    settings = stack.settings("bench-data-team").model_copy(
        update={"zipkin_endpoint": stack.zipkin_endpoint}
    )
    provider = setup_tracing(settings)
    broker, _ = make_broker(settings, tracer_provider=provider)
    tracer = provider.get_tracer("bench")
    await broker.start()
    store = stack.store()
    events: list[type[Event]] = [DataArrived, *FLOW_EVENTS]
    try:
        sink = KafkaEventSink(broker)
        await _declare(sink, f"http://127.0.0.1:{procs['ingestion'].port}")
        async with EventWatcher(settings, events, start="latest") as watcher:
            deploy_url = f"http://127.0.0.1:{procs['deployment'].port}"
            runs = []
            for r in range(ctx.sizes.rounds + 1):  # round 0 warms up (the first version)
                result = await _round(
                    stack,
                    sink,
                    tracer,
                    watcher,
                    store,
                    deploy_url,
                    ctx.sizes.freshness_rows,
                    5000 + r,
                )
                result["warm_up"] = r == 0
                # #9's profile: what each job left behind (the jobs run in the services).
                result["rss_mb"] = {n: procs[n].rss_mb() for n in JOB_SERVICES}
                runs.append(result)
            return runs
    finally:
        await broker.stop()
        provider.shutdown()


def run(ctx: Context, which: set[str]) -> None:
    stack = ctx.stack()
    env = {
        **stack.env(),
        "MILLRACE_TRACE_SAMPLE_RATIO": "1.0",
        "MILLRACE_KAFKA_RETRY_BACKOFF_SECONDS": "0.2",
    }
    if stack.zipkin_endpoint:
        env["MILLRACE_ZIPKIN_ENDPOINT"] = stack.zipkin_endpoint
    procs: dict[str, Process] = {}
    # Fresh interpreters importing what the services import: read once the services are up.
    running = rss_profile.probes(JOB_SERVICES) if "9" in which else {}
    try:
        procs.update(platform(stack, ctx.logs, env, "fresh"))
        wait_platform(procs, within=180)
        imports = rss_profile.read_probes(running)
        time.sleep(3)
        idle = {name: proc.rss_mb() for name, proc in procs.items()}
        idle_maps = {n: rss_profile.by_backing(procs[n].pid) for n in JOB_SERVICES}
        runs = asyncio.run(_flow(ctx, stack, procs))
        after = {name: proc.rss_mb() for name, proc in procs.items()}
        if "9" in which:
            rss = ctx.results.facts.setdefault("rss_mb", {})
            rss["idle_each_service_no_model"] = idle
            rss["after_freshness_rounds"] = after
            profiles = rss.setdefault("profile", {})
            for n in JOB_SERVICES:
                jobs = {f"after job {i + 1}": x["rss_mb"][n] for i, x in enumerate(runs)}
                profiles[f"idle {n}"] = {
                    "by_backing": idle_maps[n],
                    "import_only": imports.get(n),
                    "timeline": {"idle": round(idle[n], 1)},
                }
                profiles[f"after jobs {n}"] = rss_profile.profile(
                    procs[n].pid, imports.get(n), {"idle": idle[n], **jobs}
                )
        if "8" in which:
            measured = [x for x in runs if not x["warm_up"]] or runs
            trace = _trace(stack.zipkin_url, measured[-1]["trace_id"])
            overhead = [x["overhead_seconds"] for x in measured]
            stage_names = [
                k
                for k in measured[0]["stages"]
                if k.startswith("stage_") or k == "deployed_to_first_answer"
            ]
            breakdown = ", ".join(
                f"{k.removeprefix('stage_')} {median([x['stages'][k] for x in measured]):.2f}s"
                for k in stage_names
            )
            ctx.results.add(
                compared(
                    bench="8",
                    what=f"freshness: data arrival → first prediction by the new version ({ctx.sizes.freshness_rows:,} rows, HGB)",
                    baseline="fit time alone",
                    millrace=[x["freshness_seconds"] for x in measured],
                    base=[x["fit_seconds"] for x in measured],
                    unit="s",
                    ratio_meaning="freshness/fit",
                    goal="≤ fit + 3 s",
                    met=at_most(overhead, 3.0),
                    notes=f"overhead beyond the fit: median {median(overhead):.2f} s, worst round {max(overhead):.2f} s. Stages (event timestamps, median): {breakdown}. Trace of the last round: {_summary(trace)}",
                    details={"rounds": runs, "trace": trace},
                )
            )
    finally:
        for probe in running.values():
            probe.stop()
        for proc in reversed(list(procs.values())):
            proc.stop()
