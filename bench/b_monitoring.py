"""#5 and #6 (monitoring side), #9 for monitoring: prediction logs consumed and drift-checked
per second by the monitoring service (a real process on the real stack), against a raw
aiokafka + ``json.loads`` loop over the same topic and broker.

The topic is pre-filled once per message shape; each round restarts the consumer from the
start of the topic (raw: seek to the beginning; monitoring: its group's offsets set to 0 AND
its durable state, the per-partition checkpoints and the prediction archive, deleted, since a
checkpoint would otherwise be restored and the consumer seeked past what it covers, ADR 0008).
A rate counts only the logs consumed in its own round, and a round that did not consume the
whole topic exactly once from a fresh state raises instead of printing a rate.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from millrace_contracts import (
    ArtifactRef,
    Metrics,
    ModelPromoted,
    ModelVersionInfo,
    PredictionRecord,
    PredictionsLogged,
    cloudevents_headers,
    first_of_flow,
)
from millrace_infra.launcher import pinned

from . import profiler
from .context import Context
from .drift_data import frame, reference
from .harness import (
    BASELINES,
    Stack,
    client_cpus,
    get_json,
    millrace_service,
    server_cpu,
    stack_on_client_cpus,
)
from .results import compared
from .stats import median

MODEL = "bench-monitored"
GROUP = "millrace-monitoring"
TOPIC = PredictionsLogged.topic()


def _version(stack: Stack) -> ModelVersionInfo:
    """Upload the reference profile (built by ingestion's profiling) and describe the version."""
    # Imported here: the drift core is heavy, and only this benchmark needs it.
    from .drift_millrace import SIGNATURE, reference_profile

    profile = reference_profile(reference(), "bench-monitored", "1" * 64)
    data = profile.model_dump_json().encode()
    store = stack.store()
    bucket = stack.settings().bucket_datasets  # where ingestion keeps reference profiles
    uri = f"s3://{bucket}/bench/monitored/reference.json"
    ref = store.put_bytes(uri, data, content_type="application/json")
    placeholder = ArtifactRef(
        uri=f"s3://{bucket}/bench/monitored/none",
        sha256=hashlib.sha256(b"").hexdigest(),
        size_bytes=0,
    )
    return ModelVersionInfo(
        model_name=MODEL,
        version=1,
        run_id="benchmonitored",
        dataset="bench-monitored",
        dataset_version="1" * 64,
        task="classification",
        artifact=placeholder,
        model_card=placeholder,
        reference_profile=ref,
        signature=SIGNATURE,
        metrics=Metrics(values={"accuracy": 0.9}, holdout_id="bench", holdout_rows=1),
    )


async def _promote(stack: Stack, info: ModelVersionInfo) -> None:
    from millrace_shared.messaging import KafkaEventSink, ensure_topics, make_broker

    settings = stack.settings("bench")
    await ensure_topics(settings)
    broker, _ = make_broker(settings)
    await broker.start()
    try:
        await KafkaEventSink(broker).publish(
            ModelPromoted(**first_of_flow(producer="bench"), model=info)
        )
    finally:
        await broker.stop()


async def _recreate_topic(stack: Stack) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from millrace_shared.kafka import kafka_options

    admin = AIOKafkaAdminClient(**kafka_options(stack.settings()))
    await admin.start()
    try:
        if TOPIC in set(await admin.list_topics()):
            await admin.delete_topics([TOPIC])
            for _ in range(100):
                if TOPIC not in set(await admin.list_topics()):
                    break
                await asyncio.sleep(0.2)
        for _ in range(50):
            try:
                await admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])
                break
            except Exception:  # still being deleted
                await asyncio.sleep(0.3)
    finally:
        await admin.close()


async def _prefill(stack: Stack, total: int, per_event: int) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer
    from millrace_deployment.core.predicting import prediction_ids
    from millrace_shared.kafka import kafka_options

    rows = frame(total, seed=77).to_dict("records")
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(
        # As the deployment, which writes prediction logs in production.
        **kafka_options(stack.settings(principal="deployment")),
        acks=1,
        linger_ms=20,
        max_batch_size=1024 * 1024,
        max_request_size=8 * 1024 * 1024,
    )
    # Ids as deployment mints them (``prediction_ids``: one replica's random prefix and a
    # counter), so the prediction archive indexes them as it does in production: one marker
    # per file and replica. Ids of another shape get a marker each (one S3 PUT a prediction),
    # which made monitoring look 50x slower than it is with the real producer.
    new_id = prediction_ids()
    await producer.start()
    started = time.perf_counter()
    size = 0
    records = 0
    try:
        pending = []
        for start in range(0, total, per_event):
            event = PredictionsLogged(
                **first_of_flow(producer="deployment"),
                model_name=MODEL,
                model_version=1,
                replica_id="bench",
                predictions=[
                    PredictionRecord(
                        prediction_id=new_id(), features=rows[i], output="yes", timestamp=now
                    )
                    for i in range(start, min(total, start + per_event))
                ],
            )
            value = event.model_dump_json().encode()
            size += len(value)
            headers = [(k, v.encode()) for k, v in cloudevents_headers(event).items()]
            pending.append(await producer.send(TOPIC, value, key=MODEL.encode(), headers=headers))
            records += 1
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    seconds = time.perf_counter() - started
    return {"logs": total, "records": records, "bytes": size, "seconds": seconds}


async def _rewind_group(stack: Stack) -> None:
    """Commit offset 0 for monitoring's group on every partition it reads (it is stopped)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient
    from millrace_contracts import LabelsObserved
    from millrace_shared.kafka import kafka_options, partitions_of

    options = kafka_options(stack.settings())
    admin = AIOKafkaAdminClient(**options)
    consumer = AIOKafkaConsumer(**options, group_id=GROUP, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        known = await partitions_of(admin, [TOPIC, LabelsObserved.topic()])
        partitions = [TopicPartition(t, p) for t, numbers in known.items() for p in numbers]
        consumer.assign(partitions)
        await consumer.commit({tp: 0 for tp in partitions})
    finally:
        await consumer.stop()
        await admin.close()


def _forget_state(stack: Stack) -> int:
    """Delete monitoring's checkpoints and prediction archive (it is stopped), keeping the
    known versions: the next start restores the promoted version and nothing else, so it
    consumes from the rewound offsets with empty windows and counters. Returns keys deleted."""
    from millrace_monitoring.archive import DATA_PREFIX, INDEX_PREFIX
    from millrace_monitoring.checkpoints import PREFIX as CHECKPOINTS
    from millrace_shared.objectstore import make_uri

    store = stack.store()
    bucket = stack.settings().state_bucket("monitoring")
    deleted = 0
    for prefix in (CHECKPOINTS, INDEX_PREFIX, DATA_PREFIX):
        for key in store.list_keys(bucket, prefix):
            store.delete(make_uri(bucket, key))
            deleted += 1
    for prefix in (CHECKPOINTS, INDEX_PREFIX, DATA_PREFIX):
        if left := store.list_keys(bucket, prefix):
            raise RuntimeError(f"monitoring state not deleted: {left[:5]}")
    return deleted


def round_rate(total: int, first: tuple[float, int], last: tuple[float, int]) -> float:
    """Logs per second over one round, from (time, predictions_seen) at the first poll that
    saw any and at the one that saw them all: the logs counted are this round's only.

    Raises unless the round consumed exactly ``total`` logs from a fresh state: a count that
    starts at or beyond ``total``, or ends past it, means restored state or double counting,
    and a rate from it would be meaningless (it printed negative rates once)."""
    (t0, seen0), (t1, seen1) = first, last
    if not 0 < seen0 <= seen1 == total:
        raise RuntimeError(
            f"not one full consumption from the start: predictions_seen went {seen0} -> "
            f"{seen1}, expected 0 < first <= last == {total}"
        )
    if seen0 == total or t1 <= t0:
        raise RuntimeError(
            f"every log was consumed before the first poll ({total} logs): nothing to time; "
            "the load is too small for this measurement"
        )
    rate = (seen1 - seen0) / (t1 - t0)
    if not rate > 0:
        raise RuntimeError(f"non-positive rate {rate} from {first} -> {last}")
    return rate


def _models(port: int) -> dict[str, Any] | None:
    try:
        body: dict[str, Any] = get_json(port, "/models")
    except OSError:
        return None
    found: dict[str, Any] | None = next(
        (v for v in body.get("versions", []) if v["model_name"] == MODEL), None
    )
    return found


def _monitoring(
    ctx: Context,
    stack: Stack,
    *,
    traced: bool,
    total: int,
    label: str,
    profile: bool = False,
) -> dict[str, Any]:
    env = {**stack.env("monitoring"), "MILLRACE_TRACE_SAMPLE_RATIO": "1.0" if traced else "0"}
    if traced and stack.zipkin_endpoint:
        env["MILLRACE_ZIPKIN_ENDPOINT"] = stack.zipkin_endpoint
    asyncio.run(_rewind_group(stack))
    forgotten = _forget_state(stack)
    proc = millrace_service("monitoring", ctx.logs, env, cpu=[server_cpu()], label=label)
    port = proc.port
    try:
        proc.wait_ready(within=120)
        idle_rss = proc.rss_mb()
        spy_out = ctx.work / f"profile-{label}.txt"
        spy = profiler.start(proc.pid, 20, spy_out) if profile else None
        first: tuple[float, int] | None = None
        rss_max = idle_rss
        deadline = time.monotonic() + max(120, total / 200)
        seen = 0
        view: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            view = _models(port)
            at = time.perf_counter()
            seen = view["predictions_seen"] if view else 0
            if first is None and seen > 0:
                first = (at, seen)
            rss_max = max(rss_max, proc.rss_mb())
            if seen >= total:
                break
            if not proc.running():
                raise RuntimeError(f"monitoring died:\n{proc.log_tail()}")
            time.sleep(0.2)
        if first is None or seen < total:
            # Reported, not fatal: the other rounds still count.
            return {"stalled": True, "seen": seen, "log": str(proc.log), "rate": float("nan")}
        rate = round_rate(total, first, (at, seen))
        if spy is not None:
            return {"rate": rate, "profile": profiler.finish(spy, spy_out)}
        return {
            "rate": rate,
            "logs": total,
            "seen": seen,
            "windows_checked": view["windows_checked"] if view else None,
            "windows_drifted": view["windows_drifted"] if view else None,
            "unmonitored": view["unmonitored_predictions"] if view else None,
            "rss_idle_mb": idle_rss,
            "rss_max_mb": rss_max,
            "cpu_seconds": proc.cpu_seconds(),
            "pid": proc.pid,
            "state_keys_deleted_before": forgotten,
        }
    finally:
        proc.stop()


_OWN = re.compile(r"millrace_monitoring/")
_TRACING = re.compile(r"opentelemetry|zipkin")
_FETCH = "AIOKafkaConsumer.getmany (aiokafka/consumer/consumer.py)"
_IMPORTS = "_find_and_load (<frozen importlib._bootstrap>)"
_PANDAS = "<module> (pandas/__init__.py)"  # pyarrow imports it on first use where installed
_CHECKPOINT = "Checkpointer._write (millrace_monitoring/checkpoints.py)"
_FLUSH = "PredictionArchive.flush (millrace_monitoring/archive.py)"
_WORK: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    # (what monitoring does per log that the raw floor does not, the frame holding it, parts)
    (
        "decoding with pydantic validation and dead-letter checks",
        "_decode (millrace_monitoring/handlers.py)",
        (
            ("model_validate_json", "BaseModel.model_validate_json (pydantic/main.py)"),
            ("archive columns chunk_of", "chunk_of (millrace_monitoring/archive.py)"),
        ),
    ),
    (
        "windowed drift checks",
        "_observe (millrace_monitoring/handlers.py)",
        (
            ("Monitor._window", "Monitor._window (millrace_monitoring/core/monitor.py)"),
            ("judge_window", "judge_window (millrace_monitoring/core/checks.py)"),
        ),
    ),
    (
        "the prediction archive's Parquet writes to S3",
        _FLUSH,
        (
            ("table_of", "table_of (millrace_monitoring/archive.py)"),
            ("Parquet encoding", "parquet_bytes (millrace_monitoring/archive.py)"),
            ("S3 PUTs", "PredictionArchive._write_file (millrace_monitoring/archive.py)"),
        ),
    ),
)
"""The three are disjoint stacks (decoder thread, handler thread, checkpoint thread); the
checkpoints' own writes are ``Checkpointer._write`` less the archive flush it starts with."""


def work_shares(profile: dict[str, Any]) -> list[tuple[str, float, str]]:
    """(what, inclusive % of all samples, its parts) of monitoring's own per-log work, largest
    first: the shares do not overlap, so they add up."""
    found = []
    for what, held, parts in _WORK:
        detail = ", ".join(f"{name} {profiler.share(profile, f)}%" for name, f in parts)
        found.append((what, profiler.share(profile, held), detail))
    whole = profiler.share(profile, _CHECKPOINT)
    state = round(whole - profiler.share(profile, _FLUSH), 1)
    found.append(
        (
            "checkpoint state writes to S3",
            state,
            f"Checkpointer._write {whole}% with the archive flush",
        )
    )
    return sorted(found, key=lambda x: -x[1])


def profile_note(
    traced: dict[str, Any] | None, untraced: dict[str, Any] | None = None, *, tracing: bool = False
) -> str:
    """A missed row's profile summary and the reason it gives. ``tracing``: the row compares
    tracing on with off (6), so the reason is tracing's own share; else the raw floor (5)."""
    if not traced:
        return profiler.MISSING
    work = work_shares(traced)
    fetch = profiler.share(traced, _FETCH)
    imports = profiler.share(traced, _IMPORTS)
    largest_self = profiler.frames_text(
        [(n, p) for n, p in traced["self_percent"][:5] if not profiler.ENTRY.match(n)]
    )
    text = (
        f"py-spy of the traced Millrace run ({traced['samples']} samples; every thread of the "
        "process, which is pinned to one core, so each % is a share of ALL threads' samples, "
        "inclusive): "
        + "; ".join(f"{what} {p}% ({detail})" for what, p, detail in work)
        + f"; Kafka fetch (aiokafka getmany) {fetch}%"
        + f"; module imports during the run {imports}% (pandas's "
        f"{profiler.share(traced, _PANDAS)}%)"
        + f"; largest self time (native code they call included): {largest_self}"
    )
    if tracing:
        on = profiler.self_share(traced, _TRACING)
        off = profiler.self_share(untraced, _TRACING) if untraced else None
        reason = "Why: tracing on adds OpenTelemetry spans and their Zipkin export; " + (
            "that code's own time was not in the profile"
            if on is None
            else f"that code's own time is {on}% of the traced run's samples"
            + (f" and {off}% of the untraced run's" if off is not None else "")
        )
    else:
        total = round(sum(p for _, p, _ in work), 1)
        reason = (
            "Why: per log, Millrace does work the raw floor (aiokafka + json.loads) does not; "
            + ", ".join(f"{what} ({p}%)" for what, p, _ in work if p > 0)
            + f" hold {total}% of the samples, against {fetch}% in the Kafka fetch both do"
            + (
                f"; {imports}% are one-time module imports during the run (counted above in the "
                "frame that first needed them)"
                if imports >= 1
                else ""
            )
        )
    return f"{text}. {reason}"


def _rates(runs: list[dict[str, Any]]) -> list[float]:
    return [x["rate"] for x in runs]


def _raw(ctx: Context, stack: Stack, total: int) -> dict[str, Any]:
    command = pinned(
        [
            sys.executable,
            str(BASELINES / "raw_consume.py"),
            stack.info.kafka_bootstrap,
            TOPIC,
            str(total),
        ],
        [server_cpu()],
    )
    # The floor reads as monitoring would: same listener, same principal.
    env = {**os.environ, **stack.kafka_env("monitoring")}
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=900, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"raw consumer failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rate"] is None:  # everything came in the first batch: nothing left to time
        result["rate"] = float("nan")
    return result


def run(ctx: Context, which: set[str]) -> None:
    stack = ctx.stack()
    # As for the serving rows: the server CPU runs only monitoring or the raw floor, and both
    # read from a broker on the client CPU.
    with stack_on_client_cpus(stack) as moved:
        ctx.results.facts["monitoring_stack_cpus"] = {"moved": moved, "cpus": client_cpus()}
        _run(ctx, stack, which)


def _run(ctx: Context, stack: Stack, which: set[str]) -> None:
    info = _version(stack)
    asyncio.run(_promote(stack, info))
    asyncio.run(_recreate_topic(stack))
    # A first start learns the version from model.promoted and stores it in the state
    # bucket; the measured starts restore it before they consume a single log.
    env = {**stack.env("monitoring"), "MILLRACE_TRACE_SAMPLE_RATIO": "0"}
    warm = millrace_service(
        "monitoring", ctx.logs, env, cpu=[server_cpu()], label="monitoring-warmup"
    )
    try:
        warm.wait_ready(within=120)
        deadline = time.monotonic() + 60
        while _models(warm.port) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if _models(warm.port) is None:
            raise RuntimeError(f"monitoring never learned the promoted version:\n{warm.log_tail()}")
    finally:
        warm.stop()

    shapes = [
        (1, "5", ctx.sizes.monitoring_logs),
        (500, "5/500", ctx.sizes.monitoring_logs_batched),
    ]
    facts: dict[str, Any] = {
        "zipkin": stack.zipkin_endpoint or "none",
        "window_size": info.monitoring.window_size,
    }
    for per_event, bench, total in shapes:
        asyncio.run(_recreate_topic(stack))
        fill = asyncio.run(_prefill(stack, total, per_event))
        facts[f"prefill_{per_event}"] = fill
        steps = (["raw"] if "5" in which else []) + ["traced"]
        steps += ["untraced"] if "6" in which else []
        runs: dict[str, list[dict[str, Any]]] = {"raw": [], "traced": [], "untraced": []}
        for r in range(ctx.sizes.rounds):
            for step in steps[r % len(steps) :] + steps[: r % len(steps)]:
                runs[step].append(
                    _raw(ctx, stack, total)
                    if step == "raw"
                    else _monitoring(
                        ctx,
                        stack,
                        traced=step == "traced",
                        total=total,
                        label=f"monitoring-{step}-{per_event}",
                    )
                )
        raw, traced, untraced = runs["raw"], runs["traced"], runs["untraced"]
        shape = (
            f"{fill['records']:,} messages of {per_event} log"
            + ("s" if per_event > 1 else "")
            + f", {fill['bytes'] / 1e6:.0f} MB"
        )
        rows = []
        if "5" in which:
            windows = {x.get("windows_checked") for x in traced}
            stalls = [x for x in traced if x.get("stalled")]
            rows.append(
                compared(
                    bench=bench,
                    what=f"prediction logs consumed + drift-checked per second, tracing on ({shape})",
                    baseline="raw aiokafka + json.loads",
                    millrace=_rates(traced),
                    base=_rates(raw),
                    unit="logs/s",
                    ratio_meaning="Millrace/raw",
                    goal="≥ 0.7x",
                    least=0.7,
                    notes=f"windows checked per run: {sorted(w for w in windows if w is not None)} "
                    f"(window {info.monitoring.window_size})"
                    + (
                        f"; {len(stalls)} run(s) STALLED before the end: {stalls}" if stalls else ""
                    ),
                    details={"raw": raw, "millrace": traced},
                )
            )
        if "6" in which:
            rows.append(
                compared(
                    bench=f"6/monitoring{'' if per_event == 1 else '/500'}",
                    what=f"monitoring throughput, 100% sampling + Zipkin export vs tracing off ({shape})",
                    baseline="Millrace, tracing off",
                    millrace=_rates(traced),
                    base=_rates(untraced),
                    unit="logs/s",
                    ratio_meaning="on/off",
                    goal="≥ 0.85x",
                    least=0.85,
                    details={"off": untraced, "on": traced},
                )
            )
        missed = [row for row in rows if row.met is False]
        if missed and ctx.profile and not ctx.quick:
            # Where the time goes, before the rows are added: a missed row carries it.
            profiles: dict[str, dict[str, Any] | None] = {}
            for on, name in ((True, "traced"), (False, "untraced")):
                if on or any(row.bench.startswith("6/") for row in missed):
                    label = f"monitoring-profiled{'' if on else '-off'}-{per_event}"
                    spied = _monitoring(
                        ctx, stack, traced=on, total=total, label=label, profile=True
                    )
                    profiles[name] = spied.get("profile")
                    facts[f"profile_{name}_{per_event}"] = profiles[name]
            for row in missed:
                tracing = row.bench.startswith("6/")
                note = profile_note(profiles["traced"], profiles.get("untraced"), tracing=tracing)
                row.notes = f"{row.notes}. {note}" if row.notes else note
                row.details["profile_millrace"] = profiles["traced"]
        for row in rows:
            ctx.results.add(row)
        if "9" in which:
            rss = ctx.results.facts.setdefault("rss_mb", {})
            key = "monitoring" if per_event == 1 else "monitoring_500"
            rss[key] = {
                "idle_after_start": median(
                    [x["rss_idle_mb"] for x in traced if "rss_idle_mb" in x]
                ),
                "under_load_max": max(
                    (x["rss_max_mb"] for x in traced if "rss_max_mb" in x), default=None
                ),
            }
    ctx.results.facts["monitoring"] = facts
