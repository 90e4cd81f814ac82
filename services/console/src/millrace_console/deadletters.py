"""Dead letters: what each ``<topic>.dlq`` holds, and putting one back on its topic.

The console reads as ``millrace-console``, without a consumer group (it assigns partitions and
seeks), so looking commits nothing; it may write only the topics a dead letter can be replayed
to (the catalogue's ``replayable`` topics). A replay publishes the letter's value, key and
original headers, plus ``x-millrace-replayed-by`` naming the logged-in person.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from millrace_contracts.topics import BY_TOPIC, DLQ_SUFFIX, TOPICS
from millrace_shared.kafka import kafka_options, partitions_of
from millrace_shared.messaging import DLQ_HEADER_PREFIX
from millrace_shared.settings import MillraceSettings

REPLAYED_BY = "x-millrace-replayed-by"
DLQ_TOPICS: tuple[str, ...] = tuple(spec.dlq for spec in TOPICS)


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def _dlq(self, name: str) -> str | None:
        wanted = f"{DLQ_HEADER_PREFIX}{name}"
        for key, value in self.headers:
            if key == wanted:
                return value.decode("utf-8", errors="replace")
        return None

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    @property
    def original_topic(self) -> str:
        return self._dlq("original-topic") or self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def reason(self) -> str:
        return self._dlq("reason") or ""

    @property
    def kind(self) -> str:
        return self._dlq("kind") or "?"

    @property
    def service(self) -> str:
        return self._dlq("service") or "?"

    @property
    def attempts(self) -> str:
        return self._dlq("attempts") or "?"

    @property
    def key_text(self) -> str:
        return "" if self.key is None else self.key.decode("utf-8", errors="replace")

    @property
    def text(self) -> str:
        return (self.value or b"").decode("utf-8", errors="replace")

    @property
    def correlation_id(self) -> str | None:
        """The flow the letter belongs to (its event's envelope), for the trace link."""
        try:
            body = json.loads(self.value or b"")
        except ValueError:
            return None
        found = body.get("correlation_id") if isinstance(body, dict) else None
        return str(found) if found else None

    @property
    def replayable(self) -> bool:
        spec = BY_TOPIC.get(self.original_topic)
        return spec is not None and spec.replayable

    def replay_headers(self, actor: str) -> list[tuple[str, bytes]]:
        kept = [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX)]
        return [*kept, (REPLAYED_BY, actor.encode())]


def _letter(r: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers = tuple((k, bytes(v or b"")) for k, v in (r.headers or ()))
    return DeadLetter(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, headers)


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

    async def latest(self, topic: str, limit: int = 100) -> list[DeadLetter]:
        """The newest ``limit`` letters of each partition of ``topic``, newest first."""
        if topic not in DLQ_TOPICS:
            return []
        partitions = await self._partitions([topic])
        found: list[DeadLetter] = []
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
                    found.extend(_letter(r) for r in records if r.offset < ends[tp])
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        return sorted(found, key=lambda d: (d.timestamp_ms, d.offset), reverse=True)

    async def one(self, topic: str, partition: int, offset: int) -> DeadLetter | None:
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
                        return _letter(record)
                    if record.offset > offset:
                        return None

    async def replay(self, letter: DeadLetter, actor: str) -> tuple[str, int, int]:
        """Publish the letter to its original topic; (topic, partition, offset) it got."""
        producer = AIOKafkaProducer(**self._options(), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            sent = await producer.send_and_wait(
                letter.original_topic,
                value=letter.value,
                key=letter.key,
                headers=letter.replay_headers(actor),
            )
        finally:
            await producer.stop()
        return sent.topic, sent.partition, sent.offset
