"""The notes a missed row carries say why, from what the run measured (no stack needed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bench import profiler
from bench.b_serving import stall_note


def _round(p99: float, connections: int, stalls: dict[str, Any] | None) -> dict[str, Any]:
    return {"p99_ms": p99, "max_ms": p99 * 1.3, "connections_used": connections,
            "server_stalls": stalls}  # fmt: skip


def test_a_missed_round_names_the_stall_inside_deployment() -> None:
    held = {"ms": 480.0, "full_collection_ms": 0.0, "cpu_ms": 460.0, "where": "encode (x.py:3)"}
    runs = [
        _round(4.0, 32, {"count": 0, "last": None}),
        _round(384.0, 320, {"count": 1, "last": held}),
    ]
    note = stall_note(runs, 10)
    assert "round 0" not in note  # met: not a reason
    assert "round 1: p99 384 ms" in note
    assert "stalled 1 time(s), the last for 480 ms" in note
    assert "encode (x.py:3)" in note
    assert "busy: the frames are where the time went" in note  # 460 of 480 ms on CPU
    assert "opened 320 connections" in note


def test_a_missed_round_without_a_stall_says_the_delay_was_outside() -> None:
    note = stall_note([_round(50.0, 90, {"count": 0, "last": None})], 10)
    assert "never stalled" in note
    assert "opened 90 connections" in note


def test_a_stall_with_little_cpu_is_not_blamed_on_its_frames() -> None:
    held = {"ms": 400.0, "full_collection_ms": 0.0, "cpu_ms": 30.0, "where": "run (o.py:1)"}
    note = stall_note([_round(300.0, 60, {"count": 2, "last": held})], 10)
    assert "not computing" in note


DEP = 'process 1:"python -m millrace_deployment";thread (0x2);main (millrace_deployment/__main__.py:3)'
BARE = 'process 2:"python onnx_server.py";thread (0x3);main (bench/baselines/onnx_server.py:50)'
# py-spy's raw (collapsed) format; 100 samples for each server.
DEPLOYMENT_STACKS = f"""\
{DEP};Server.run (uvicorn/server.py:60);predict (millrace_deployment/api.py:210) 10
{DEP};predict (millrace_deployment/api.py:220);SignatureValidator.validate (millrace_deployment/core/validation.py:90) 15
{DEP};predict (millrace_deployment/api.py:220);OnnxModel.scores (millrace_deployment/core/onnx_runtime.py:94);run (onnxruntime/capi/onnxruntime_inference_collection.py:406) 25
{DEP};LogPublisher._run (millrace_deployment/core/logpublisher.py:80);AIOKafkaProducer.send (aiokafka/producer/producer.py:500) 12
{DEP};LogPublisher._run (millrace_deployment/core/logpublisher.py:80);Span.end (opentelemetry/sdk/trace/__init__.py:900) 3
{DEP};Server.run (uvicorn/server.py:60);HttpToolsProtocol.data_received (uvicorn/protocols/http/httptools_impl.py:100) 20
{DEP};Runner.run (asyncio/runners.py:118);select (selectors.py:468) 15
"""
BARE_STACKS = f"""\
{BARE};build.<locals>.predict (bench/baselines/onnx_server.py:33);run (onnxruntime/capi/onnxruntime_inference_collection.py:406) 40
{BARE};Server.run (uvicorn/server.py:60);HttpToolsProtocol.data_received (uvicorn/protocols/http/httptools_impl.py:100) 35
{BARE};Runner.run (asyncio/runners.py:118);select (selectors.py:468) 25
"""


def test_a_missed_serving_row_gives_its_reason_from_the_profile() -> None:
    reason = profiler.serving_reason(
        profiler.summarise(DEPLOYMENT_STACKS), profiler.summarise(BARE_STACKS)
    )
    assert "signature validation 15.0%" in reason
    assert "model runtime and its input matrix 25.0%" in reason
    assert "prediction logs (buffer, encoding, Kafka publish) 12.0%" in reason
    assert "tracing 3.0%" in reason
    assert "request handling (body, JSON, ids, answer) 10.0%" in reason
    assert "HTTP stack (uvicorn, Starlette, FastAPI) 20.0%" in reason
    assert "the bare endpoint does not do, take 15.0%" in reason  # logs 12 + tracing 3
    assert "its handler (JSON, runtime) 40.0%, HTTP stack 35.0%" in reason
    assert "idle 15.0%" in reason


def test_no_profile_no_reason() -> None:
    assert profiler.serving_reason(None, None) == ""
