"""EventWatcher.stop survives aiokafka re-raising its own cancelled fetch at close."""

from __future__ import annotations

import asyncio

import pytest
from millrace_shared.settings import MillraceSettings
from millrace_shared.watch import EventWatcher


class ConsumerCancelledAtClose:
    """What aiokafka's consumer does when a fetch task was asleep after a failed fetch."""

    def __init__(self) -> None:
        self.stopped = False

    async def stop(self) -> None:
        self.stopped = True
        raise asyncio.CancelledError


def watcher_with(consumer: object) -> EventWatcher:
    watcher = EventWatcher(MillraceSettings(service_name="test"), [])
    watcher._consumer = consumer  # type: ignore[assignment]
    return watcher


async def test_the_consumers_own_cancellation_is_not_ours() -> None:
    consumer = ConsumerCancelledAtClose()
    await watcher_with(consumer).stop()
    assert consumer.stopped


class ConsumerSlowToClose:
    def __init__(self) -> None:
        self.closing = asyncio.Event()

    async def stop(self) -> None:
        self.closing.set()
        await asyncio.Event().wait()


async def test_a_cancellation_of_the_stopping_task_still_propagates() -> None:
    consumer = ConsumerSlowToClose()
    task = asyncio.create_task(watcher_with(consumer).stop())
    await consumer.closing.wait()
    task.cancel()  # lands inside the consumer's stop: this task's own, not to be swallowed
    with pytest.raises(asyncio.CancelledError):
        await task
