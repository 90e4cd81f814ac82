"""Per topic: how many records it holds and how far each consumer group is behind."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from . import kafka
from .endpoints import Endpoints


@dataclass(frozen=True)
class TopicLag:
    topic: str
    end_offset: int
    """Sum over partitions of the next offset to be written (records ever written)."""
    lag: dict[str, int] = field(default_factory=dict)
    """Consumer group to records not yet committed."""

    def as_dict(self) -> dict[str, object]:
        return {"topic": self.topic, "end_offset": self.end_offset, "lag": dict(self.lag)}


def compute_lag(
    ends: Mapping[TopicPartition, int],
    committed: Mapping[str, Mapping[TopicPartition, int]],
    topics: Iterable[str],
) -> list[TopicLag]:
    """Pure: ``ends`` per partition, ``committed`` offsets per group -> one row per topic.

    A group that committed on some partitions of a topic is behind by the whole of the others.
    """
    rows = []
    for topic in topics:
        partitions = [tp for tp in ends if tp.topic == topic]
        lag: dict[str, int] = {}
        for group, offsets in sorted(committed.items()):
            if not any(tp.topic == topic for tp in offsets):
                continue
            lag[group] = sum(max(ends[tp] - max(offsets.get(tp, 0), 0), 0) for tp in partitions)
        rows.append(TopicLag(topic, sum(ends[tp] for tp in partitions), lag))
    return rows


async def _committed(admin: AIOKafkaAdminClient) -> dict[str, dict[TopicPartition, int]]:
    groups = [str(g[0]) for g in await admin.list_consumer_groups()]
    result: dict[str, dict[TopicPartition, int]] = {}
    for group in groups:
        offsets = await admin.list_consumer_group_offsets(group)
        result[group] = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    return result


async def topic_lags(endpoints: Endpoints, topics: Sequence[str]) -> list[TopicLag]:
    """Records and consumer-group lag of the given topics (missing ones are left out)."""
    known = await kafka.partitions_of(endpoints, topics)
    present = [t for t in topics if t in known]
    partitions = [TopicPartition(t, p) for t in present for p in known[t]]
    async with kafka.admin(endpoints) as admin, kafka.consumer(endpoints) as consumer:
        ends = await consumer.end_offsets(partitions) if partitions else {}
        committed = await _committed(admin)
    return compute_lag(ends, committed, present)
