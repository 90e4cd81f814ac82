"""Dead letters: what each ``<topic>.dlq`` holds, and putting one back on its topic.

The console reads as ``millrace-console``, without a consumer group (it assigns partitions and
seeks), so looking commits nothing; it may write only the topics a dead letter can be replayed
to (the catalogue's ``replayable`` topics). A replay publishes the letter's value, key and
original headers, plus ``x-millrace-replayed-by`` naming the logged-in person.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from millrace_contracts.topics import TOPICS
from millrace_shared.kafka import kafka_options, partitions_of
from millrace_shared.records import Record
from millrace_shared.settings import MillraceSettings

REPLAYED_BY = "x-millrace-replayed-by"
DLQ_TOPICS: tuple[str, ...] = tuple(spec.dlq for spec in TOPICS)


class DeadLetters:
    def __init__(self, settings: MillraceSettings) -> None:
        self._settings = settings

    def _options(self) -> dict[str, object]:
        return kafka_options(self._settings, client_id="millrace-console")

    @asynccontextmanager
    async def _consumer(self) -> AsyncIterator[AIOKafkaConsumer]:
        consumer = AIOKafkaConsumer(
            **self._options(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            yield consumer
        finally:
            await consumer.stop()

    async def _partitions(self, topics: list[str]) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(**self._options())
        await admin.start()
        try:
            known = await partitions_of(admin, topics)
        finally:
            await admin.close()
        return [TopicPartition(t, p) for t in topics for p in known.get(t, ())]

    async def counts(self) -> dict[str, int]:
        """Letters held per dead-letter topic (what is still retained)."""
        partitions = await self._partitions(list(DLQ_TOPICS))
        counts = dict.fromkeys(DLQ_TOPICS, 0)
        if not partitions:
            return counts
        async with self._consumer() as consumer:
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            counts[tp.topic] += ends[tp] - starts[tp]
        return counts

    async def latest(self, topic: str, limit: int = 100) -> list[Record]:
        """The newest ``limit`` letters of each partition of ``topic``, newest first."""
        if topic not in DLQ_TOPICS:
            return []
        partitions = await self._partitions([topic])
        found: list[Record] = []
        if not partitions:
            return found
        async with self._consumer() as consumer:
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            pending = set()
            for tp in partitions:
                if ends[tp] > starts[tp]:
                    consumer.seek(tp, max(starts[tp], ends[tp] - limit))
                    pending.add(tp)
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=1000)
                for tp, records in batch.items():
                    found.extend(Record.read(r) for r in records if r.offset < ends[tp])
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        return sorted(found, key=lambda d: (d.timestamp_ms, d.offset), reverse=True)

    async def one(self, topic: str, partition: int, offset: int) -> Record | None:
        if topic not in DLQ_TOPICS:
            return None
        tp = TopicPartition(topic, partition)
        if tp not in await self._partitions([topic]):
            return None
        async with self._consumer() as consumer:
            consumer.assign([tp])
            end = (await consumer.end_offsets([tp]))[tp]
            start = (await consumer.beginning_offsets([tp]))[tp]
            if not start <= offset < end:
                return None
            consumer.seek(tp, offset)
            while True:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for record in batch.get(tp, []):
                    if record.offset == offset:
                        return Record.read(record)
                    if record.offset > offset:
                        return None

    async def replay(self, letter: Record, actor: str) -> tuple[str, int, int]:
        """Publish the letter to its original topic; (topic, partition, offset) it got."""
        producer = AIOKafkaProducer(**self._options(), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            sent = await producer.send_and_wait(
                letter.original_topic,
                value=letter.value,
                key=letter.key,
                headers=[*letter.replay_headers(), (REPLAYED_BY, actor.encode())],
            )
        finally:
            await producer.stop()
        return sent.topic, sent.partition, sent.offset
