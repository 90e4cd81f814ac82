"""Reading topics without a consumer group: everything up to now, or follow from a point."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from millrace_shared.records import Record

from . import kafka
from .endpoints import Endpoints
from .errors import CliError

__all__ = ["Record", "Start", "follow", "read_all"]

Start = Literal["beginning", "end"]


async def _assign(
    endpoints: Endpoints, consumer: AIOKafkaConsumer, topics: Sequence[str], *, missing_ok: bool
) -> list[TopicPartition]:
    known = await kafka.partitions_of(endpoints, topics)
    missing = [t for t in topics if t not in known]
    if missing and not missing_ok:
        raise CliError(f"topic {missing[0]!r} does not exist (yet)")
    partitions = [TopicPartition(t, p) for t in topics for p in known.get(t, ())]
    consumer.assign(partitions)
    return partitions


async def read_all(endpoints: Endpoints, topics: Sequence[str]) -> list[Record]:
    """Every record now in ``topics`` (missing topics count as empty), oldest first per
    partition; records published while reading are left for the next call."""
    found: list[Record] = []
    # auto_offset_reset as well as the explicit seek: a reset to the default ("latest") already
    # in flight after assign() would otherwise win over seek_to_beginning().
    async with kafka.consumer(endpoints, auto_offset_reset="earliest") as consumer:
        partitions = await _assign(endpoints, consumer, topics, missing_ok=True)
        if not partitions:
            return found
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        pending = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                found.extend(Record.read(r) for r in records if r.offset < ends[tp])
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    return found


async def follow(
    endpoints: Endpoints,
    topics: Sequence[str],
    *,
    start: Start,
    ready: Callable[[], None] | None = None,
) -> AsyncGenerator[Record, None]:
    """Records of ``topics`` as they come, from the beginning or from now, until cancelled."""
    reset = "earliest" if start == "beginning" else "latest"
    async with kafka.consumer(endpoints, auto_offset_reset=reset) as consumer:
        partitions = await _assign(endpoints, consumer, topics, missing_ok=False)
        seek = consumer.seek_to_beginning if start == "beginning" else consumer.seek_to_end
        await seek(*partitions)
        for tp in partitions:  # pin the position now: nothing published after this is missed
            await consumer.position(tp)
        if ready is not None:
            ready()
        while True:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for raw in records:
                    yield Record.read(raw)
