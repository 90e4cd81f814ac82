"""The loop watchdog counts stalls over its threshold and says where the loop was held."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import pytest
from millrace_shared.stalls import NO_FRAME, LoopWatchdog


def _hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # what a blocking call inside a coroutine does to every other task


async def _watched(hold: float, *, collect: bool = False) -> LoopWatchdog:
    watchdog = LoopWatchdog(threshold=0.1, interval=0.01)
    await watchdog.start()
    try:
        await asyncio.sleep(0.05)
        if collect:
            gc.collect()
        _hold_the_loop(hold)
        await asyncio.sleep(0.05)  # the heartbeat runs again and reports
    finally:
        await watchdog.stop()
    return watchdog


def test_a_blocking_call_is_counted_with_its_frame(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="millrace.stalls")
    watchdog = asyncio.run(_watched(0.4))
    assert watchdog.count >= 1
    assert watchdog.max_seconds >= 0.3  # it held the loop at least that long
    assert watchdog.last is not None
    assert "_hold_the_loop" in watchdog.last.where
    assert any("event loop held for" in r.getMessage() for r in caplog.records)
    stats = watchdog.stats()
    assert stats["loop_stalls"] == watchdog.count
    assert stats["loop_stall_last"]["where"] == watchdog.last.where


def test_full_collections_inside_a_stall_are_measured() -> None:
    watchdog = LoopWatchdog(threshold=0.1)
    watchdog._on_gc("start", {"generation": 2})
    watchdog._on_gc("stop", {"generation": 2})
    watchdog._on_gc("start", {"generation": 0})  # young collections are not counted
    watchdog._on_gc("stop", {"generation": 0})
    watchdog.observe(0.5, 0.45)
    assert watchdog.last is not None
    assert watchdog.last.full_collection_seconds > 0
    assert watchdog.last.cpu_seconds == 0.45
    assert watchdog.stats()["loop_stall_last"]["cpu_ms"] == 450.0
    assert watchdog.last.where == NO_FRAME  # the thread never saw a Python frame


def test_late_heartbeats_under_the_threshold_are_not_stalls() -> None:
    watchdog = LoopWatchdog(threshold=0.1)
    for late in (0.0, 0.02, 0.099):
        watchdog.observe(late)
    assert watchdog.count == 0
    assert watchdog.stats()["loop_stall_last"] is None
    watchdog.observe(0.25)
    watchdog.observe(0.15)
    assert watchdog.count == 2
    assert watchdog.max_seconds == 0.25
    assert watchdog.last is not None and watchdog.last.seconds == 0.15


def test_stop_removes_its_collector_callback() -> None:
    before = list(gc.callbacks)
    asyncio.run(_watched(0.0))
    assert gc.callbacks == before
