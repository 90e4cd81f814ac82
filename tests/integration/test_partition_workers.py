"""A message waiting out its dependency holds back its own partition, not its neighbours'.

With ``kafka_partition_workers`` > 1 a subscriber runs one consumer per share of the topic's
partitions (FastStream's concurrent-between-partitions subscriber), each committing what it
handled. Partition A's message waits on a dependency that is down for it alone; partition B's
is handled and committed meanwhile, and A's follows once its dependency is back.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from millrace_shared.faults import DependencyUnavailable
from millrace_shared.health import DependencyHealth
from millrace_shared.kafka import kafka_options
from millrace_shared.messaging import ensure_topics, make_broker
from millrace_shared.settings import MillraceSettings

pytestmark = pytest.mark.integration
WAIT = 90  # seconds: a generous bound for a busy machine, not a timing assertion


async def committed(settings: MillraceSettings, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def test_partition_b_flows_while_partition_a_waits_on_its_dependency(
    stack_settings: MillraceSettings, unique: str
) -> None:
    topic, group = f"{unique}-partitions", f"{unique}-group"
    settings = stack_settings.model_copy(
        update={
            "service_name": "partition-workers",
            "kafka_partitions": 2,
            "kafka_partition_workers": 2,
            "kafka_transient_backoff_max_seconds": 0.5,
        }
    )
    await ensure_topics(settings, names=[topic])
    health = DependencyHealth()
    broker, dead_letters = make_broker(settings, health=health)
    a_down = True
    a_tries = 0
    a_waiting, a_done, b_done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    @broker.subscriber(
        topic,
        group_id=group,
        auto_offset_reset="earliest",
        max_workers=settings.kafka_partition_workers,
    )
    async def handle(body: str) -> None:
        nonlocal a_tries
        if body == "A":
            a_tries += 1
            if a_down:
                a_waiting.set()
                raise DependencyUnavailable("registry", "down for A's model only")
            a_done.set()
        else:
            b_done.set()

    await broker.start()
    try:
        await broker.publish("A", topic=topic, partition=0)
        await asyncio.wait_for(a_waiting.wait(), WAIT)
        await broker.publish("B", topic=topic, partition=1)
        await asyncio.wait_for(b_done.wait(), WAIT)

        # B was handled while A still waits: A is neither handled nor given up.
        assert not a_done.is_set()
        assert "registry" in health.report()
        tries_while_b = a_tries
        assert await wait_for_commit(settings, group, topic, partition=1) == 1
        assert (await committed(settings, group, topic)).get(0, -1) <= 0

        a_down = False
        await asyncio.wait_for(a_done.wait(), WAIT)
        assert a_tries > tries_while_b
        assert await wait_for_commit(settings, group, topic, partition=0) == 1
        assert health.report() == {}
        assert dead_letters.dead_lettered == 0
    finally:
        await broker.stop()


async def wait_for_commit(
    settings: MillraceSettings, group: str, topic: str, *, partition: int
) -> int:
    """The group's committed offset of ``partition`` once it is past 0."""
    async with asyncio.timeout(WAIT):
        while True:
            offset = (await committed(settings, group, topic)).get(partition, -1)
            if offset > 0:
                return offset
            await asyncio.sleep(0.2)
