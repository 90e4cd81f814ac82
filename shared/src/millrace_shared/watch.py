"""Follow Millrace topics from outside the services: the CLI's ``--wait`` and the e2e suite.

Reads without a consumer group, so watching never steals partitions from a service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

from aiokafka import AIOKafkaConsumer
from millrace_contracts import BY_TOPIC, Event
from pydantic import ValidationError

from .kafka import kafka_options
from .settings import MillraceSettings

E = TypeVar("E", bound=Event)
logger = logging.getLogger("millrace.watch")


class EventWatcher:
    def __init__(
        self,
        settings: MillraceSettings,
        events: Iterable[type[Event]],
        *,
        start: Literal["earliest", "latest"] = "earliest",
    ) -> None:
        self._settings = settings
        self._topics = sorted({e.topic() for e in events})
        self._start = start
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.events: list[Event] = []

    async def __aenter__(self) -> EventWatcher:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            *self._topics,
            **kafka_options(self._settings),
            auto_offset_reset=self._start,
            enable_auto_commit=False,
            group_id=None,
        )
        await self._consumer.start()
        if self._start == "latest":
            # Pin the position now, so events published right after start() are not missed.
            await self._consumer.seek_to_end()
            for partition in self._consumer.assignment():
                await self._consumer.position(partition)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            try:
                await self._consumer.stop()
            except asyncio.CancelledError:
                # aiokafka's fetcher awaits a fetch it has just cancelled; one caught sleeping
                # after a failed fetch re-raises that at close. Only ours to swallow when this
                # task itself is not being cancelled; the consumer is closed either way.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise

    async def _run(self) -> None:
        assert self._consumer is not None
        async for record in self._consumer:
            spec = BY_TOPIC.get(record.topic)
            if spec is None or record.value is None:
                continue
            try:
                event = spec.event.model_validate_json(record.value)
            except ValidationError:
                logger.debug("ignoring an unparseable record on %s", record.topic)
                continue
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    def of_type(self, event_type: type[E], where: Callable[[E], bool] = lambda _: True) -> list[E]:
        return [e for e in self.events if isinstance(e, event_type) and where(e)]

    async def wait_for(
        self,
        event_type: type[E],
        where: Callable[[E], bool] = lambda _: True,
        *,
        count: int = 1,
        within: float = 60.0,
    ) -> list[E]:
        """The first ``count`` matching events, waiting up to ``within`` seconds for them."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.of_type(event_type, where)) >= count)
        return self.of_type(event_type, where)[:count]

    async def wait_for_any(
        self, predicates: dict[type[Event], Callable[[Event], bool]], *, within: float = 60.0
    ) -> Event:
        """The first event matching any of several (type, predicate) pairs, e.g. promoted or rejected."""

        def first() -> Event | None:
            for event in self.events:
                for event_type, where in predicates.items():
                    if isinstance(event, event_type) and where(event):
                        return event
            return None

        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: first() is not None)
        found = first()
        assert found is not None
        return found
