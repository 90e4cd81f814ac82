"""The console's dead letters on the secured local stack, as ``millrace-console``: it lists a
letter with its reason, replays it to its topic marked with the person, and may write no
topic a dead letter cannot be replayed to."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import TopicAuthorizationFailedError
from millrace_console.deadletters import REPLAYED_BY, DeadLetters
from millrace_console.settings import ConsoleSettings
from millrace_shared.kafka import kafka_options
from millrace_shared.messaging import DLQ_HEADER_PREFIX
from millrace_shared.settings import MillraceSettings

pytestmark = pytest.mark.integration

LABELS = "millrace.labels.observed.v1"
REJECTED = "millrace.dataset.rejected.v1"


def console_settings(local_stack: Any) -> ConsoleSettings:
    env = {k: v for k, v in local_stack.env().items() if not k.startswith("MILLRACE_S3_")}
    env |= local_stack.kafka_env("console")
    fields = {k.removeprefix("MILLRACE_").lower(): v for k, v in env.items()}
    return ConsoleSettings.model_validate(fields)


async def test_the_console_lists_and_replays_a_dead_letter_as_the_person(
    local_stack: Any, stack_settings_as: Any, unique: str
) -> None:
    admin: MillraceSettings = stack_settings_as("admin")
    producer = AIOKafkaProducer(**kafka_options(admin), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            f"{LABELS}.dlq",
            value=b'{"correlation_id": "6f1c0f3e-8d5e-4a53-9a52-0c7c4d7f9b11"}',
            key=unique.encode(),
            headers=[
                ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
                (f"{DLQ_HEADER_PREFIX}reason", b"ValidationError: label missing"),
                (f"{DLQ_HEADER_PREFIX}kind", b"poison"),
                (f"{DLQ_HEADER_PREFIX}original-topic", LABELS.encode()),
                (f"{DLQ_HEADER_PREFIX}service", b"monitoring"),
            ],
        )
    finally:
        await producer.stop()

    letters = DeadLetters(console_settings(local_stack))
    # ACLs made at the stack's start reach the broker's authorizer shortly after: wait.
    for _ in range(120):
        if (await letters.counts())[f"{LABELS}.dlq"] >= 1:
            break
        await asyncio.sleep(0.5)
    else:
        pytest.fail("the console never saw the dead letter")
    [mine] = [d for d in await letters.latest(f"{LABELS}.dlq") if d.key_text == unique]
    assert (mine.reason, mine.kind, mine.service) == (
        "ValidationError: label missing",
        "poison",
        "monitoring",
    )
    assert mine.correlation_id == "6f1c0f3e-8d5e-4a53-9a52-0c7c4d7f9b11"
    assert await letters.one(mine.topic, mine.partition, mine.offset) == mine

    topic, partition, offset = await letters.replay(mine, "alice")
    assert topic == LABELS
    consumer = AIOKafkaConsumer(**kafka_options(admin), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        batch = await consumer.getmany(tp, timeout_ms=10_000)
        [record] = [r for r in batch[tp] if r.offset == offset]
    finally:
        await consumer.stop()
    headers = dict(record.headers)
    assert headers[REPLAYED_BY] == b"alice"
    assert b"00-0af7651916cd43dd8448eb211c80319c" in headers["traceparent"]
    assert not [k for k in headers if k.startswith(DLQ_HEADER_PREFIX)]
    assert record.key == unique.encode()


async def test_the_console_may_not_write_a_topic_no_replay_goes_to(local_stack: Any) -> None:
    settings = console_settings(local_stack)
    producer = AIOKafkaProducer(**kafka_options(settings), acks="all")
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(REJECTED, b"forged")
    finally:
        await producer.stop()
