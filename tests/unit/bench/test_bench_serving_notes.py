"""The notes a missed row carries say why, from what the run measured (no stack needed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

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
