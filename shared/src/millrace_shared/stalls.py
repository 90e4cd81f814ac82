"""Notice when the event loop stalls, and say where it was stuck.

Everything a service does (requests, messages, heartbeats) waits while one callback holds the
loop: a computation that never yields, a blocking call, a full garbage collection over a large
heap. Such a stall shows up outside as a latency spike with no cause in sight. The watchdog
makes it visible from inside: a loop task stamps a heartbeat every ``interval``; a thread looks
at the stamp and, once it is older than ``threshold``, takes the loop thread's stack. When the
loop runs again, the heartbeat knows how long it was held, and the stall is counted and logged
with that stack. A thread cannot look while the GIL is held by C code; the watchdog then says
so, and whether a full garbage collection ran during the stall. The process's CPU time over
the stall tells a busy process (CPU time close to the stall's length: the stack is the
culprit) from a starved one (little CPU time: other processes had the core, and the stack is
just where the scheduler left it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("millrace.stalls")

NO_FRAME = "no Python frame seen (the GIL was held: C code or the interpreter itself)"
FRAMES_KEPT = 4
"""Innermost frames of the loop thread's stack kept in a report."""


@dataclass(frozen=True)
class Stall:
    seconds: float
    where: str
    """The loop thread's innermost frames during the stall (innermost last)."""
    full_collection_seconds: float
    """Time spent in full (generation 2) garbage collections during the stall."""
    cpu_seconds: float
    """CPU time the whole process (every thread) got during the stall."""


class LoopWatchdog:
    """Counts and logs event-loop stalls longer than ``threshold`` seconds."""

    def __init__(
        self,
        *,
        threshold: float = 0.1,
        interval: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self.threshold, self.interval, self._clock = threshold, interval, clock
        self._cpu_clock = cpu_clock
        self.count = 0
        self.max_seconds = 0.0
        self.last: Stall | None = None
        self._beat_at = clock()
        self._where: str | None = None
        self._gc_seconds = 0.0
        self._gc_started: float | None = None
        self._loop_thread: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    async def start(self) -> None:
        self._loop_thread = threading.get_ident()
        self._beat_at = self._clock()
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="loop-watchdog")
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._thread is not None:
            self._thread.join(timeout=1)
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)

    def stats(self) -> dict[str, Any]:
        return {
            "loop_stalls": self.count,
            "loop_stall_max_ms": round(self.max_seconds * 1000, 1),
            "loop_stall_last": None
            if self.last is None
            else {
                "ms": round(self.last.seconds * 1000, 1),
                "where": self.last.where,
                "full_collection_ms": round(self.last.full_collection_seconds * 1000, 1),
                "cpu_ms": round(self.last.cpu_seconds * 1000, 1),
            },
        }

    async def _beat(self) -> None:
        while True:
            before, cpu_before = self._clock(), self._cpu_clock()
            self._beat_at = before
            await asyncio.sleep(self.interval)
            self.observe(self._clock() - before - self.interval, self._cpu_clock() - cpu_before)

    def observe(self, late: float, cpu: float = 0.0) -> None:
        """One heartbeat came ``late`` seconds after it was due, the process having had ``cpu``
        seconds of CPU since the previous one (on the loop)."""
        where, self._where = self._where, None
        gc_seconds, self._gc_seconds = self._gc_seconds, 0.0
        if late < self.threshold:
            return
        stall = Stall(late, where or NO_FRAME, gc_seconds, cpu)
        self.count += 1
        self.max_seconds = max(self.max_seconds, late)
        self.last = stall
        logger.warning(
            "event loop held for %.0f ms (process CPU time meanwhile: %.0f ms, full garbage "
            "collection: %.0f ms); loop thread in: %s",
            late * 1000,
            cpu * 1000,
            gc_seconds * 1000,
            stall.where,
        )

    def _watch(self) -> None:
        while not self._stopping.wait(self.interval):
            if self._where is None and self._clock() - self._beat_at > self.threshold:
                self._where = self._stack()

    def _stack(self) -> str | None:
        frame = sys._current_frames().get(self._loop_thread or -1)
        if frame is None:
            return None
        frames = traceback.extract_stack(frame)[-FRAMES_KEPT:]
        return " > ".join(f"{f.name} ({_short(f.filename)}:{f.lineno})" for f in frames)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started is not None:
            self._gc_seconds += time.perf_counter() - self._gc_started
            self._gc_started = None


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.rsplit("/", 2)[-1] if "/" in path else path
