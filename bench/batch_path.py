"""In-process timing of deployment's 1,000-row batch path (bench row #4), without sockets:
the serving route driven through FastAPI by httpx's ASGI transport, with the batch body the
bench sends, prediction logs encoded as the publisher encodes them, and each stage alone.

Not part of the bench run or CI: a tool for working on the batch path on a shared machine,
where in-process minimum/median times over many repetitions say more than a full bench.

Usage: .venv/bin/python -m bench.batch_path [--reps N] [--profile hgb|logreg]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from millrace_deployment.api import ServingStats, is_predict, serving_router
from millrace_deployment.core.catalog import ModelCatalog
from millrace_deployment.core.logbuffer import PredictionLogBuffer
from millrace_deployment.core.logpublisher import encode_logs
from millrace_deployment.core.predicting import Predictor, _validate_and_predict
from millrace_deployment.core.served import ServedModel, serve, warm_up
from opentelemetry.sdk.trace import TracerProvider

from .models import fit, request_rows, serving_frame, version_info

BATCH_ROWS = 1000


def _served(key: str) -> ServedModel:
    model = fit(key, serving_frame(20_000, seed=7))
    info = version_info(model, f"s3://bench/{key}.skops", bucket="bench")
    served = serve(info, model.pipeline, datetime.now(UTC), 0.0)
    warm_up(served)
    return served


def _app(served: ServedModel, buffer: PredictionLogBuffer) -> FastAPI:
    catalog = ModelCatalog()
    catalog.swap(served)
    tracer = TracerProvider().get_tracer("bench")
    predictor = Predictor(buffer, tracer, "bench-replica", BATCH_ROWS)
    stats = ServingStats(
        replica_id="r",
        models=1,
        served=0,
        logged=0,
        dropped=0,
        buffer_depth=0,
        buffer_capacity=0,
        failed_publishes=0,
    )
    app = FastAPI(telemetry={"exclude": is_predict})  # type: ignore[call-arg]
    app.include_router(serving_router(catalog, predictor, lambda: stats, max_body_bytes=1 << 26))
    return app


async def _times(call: Callable[[], Awaitable[Any]], reps: int) -> list[float]:
    for _ in range(3):
        await call()
    out = []
    for _ in range(reps):
        started = time.perf_counter()
        await call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _line(label: str, ms: list[float]) -> str:
    return f"  {label:<26} min {min(ms):7.2f} ms   median {statistics.median(ms):7.2f} ms"


async def run(key: str, reps: int, profile: bool) -> None:
    served = _served(key)
    rows = request_rows(BATCH_ROWS, seed=23)
    body = json.dumps({"rows": rows}, separators=(",", ":")).encode()
    buffer = PredictionLogBuffer(capacity=1_000_000, batch_size=10**9)
    app = _app(served, buffer)
    transport = httpx.ASGITransport(app=app)
    url = f"/models/{served.name}/predict"
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def request() -> None:
            response = await client.post(
                url, content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 200, response.text
            buffer.drain(10**9)

        async def encode() -> None:
            await client.post(url, content=body, headers={"content-type": "application/json"})
            entries = buffer.drain(10**9)
            started = time.perf_counter()
            encode_logs(entries, producer="bench", replica_id="r", dropped_before=0)
            encoded.append((time.perf_counter() - started) * 1000)

        async def validate_predict() -> None:
            _validate_and_predict(served, orjson.loads(body)["rows"])

        async def parse() -> None:
            orjson.loads(body)

        async def scores() -> None:
            assert served.compiled is not None
            served.compiled.scores_many(parsed)

        parsed = orjson.loads(body)["rows"]
        encoded: list[float] = []
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(reps):
                await encode()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            return
        print(f"{key}: runtime {served.runtime}, {BATCH_ROWS} rows, {reps} reps")
        print(_line("request (ASGI, no socket)", await _times(request, reps)))
        await _times(encode, reps)
        print(_line("encode_logs", encoded))
        print(_line("parse+validate+predict", await _times(validate_predict, reps)))
        print(_line("orjson.loads body", await _times(parse, reps)))
        print(_line("fast path scores_many", await _times(scores, reps)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--models", default="hgb,logreg")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for key in args.models.split(","):
        asyncio.run(run(key, args.reps, args.profile))


if __name__ == "__main__":
    main()
