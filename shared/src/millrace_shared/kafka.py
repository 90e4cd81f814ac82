"""Plain aiokafka clients: how every Kafka client connects (security included), and per topic
how many records it holds and how far each consumer group is behind (``millrace status`` and
the tests that wait for a service to catch up).

Free of FastStream, which takes seconds to import, for the CLI's sake.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from .settings import MillraceSettings


def bootstrap_servers(settings: MillraceSettings) -> list[str]:
    """The brokers of ``MILLRACE_KAFKA_BOOTSTRAP`` ("host:port,host:port"), one per item.

    A list, not the string: FastStream's KafkaBroker takes a string for one server and would
    hand aiokafka a cluster's whole list as a single host."""
    return [host.strip() for host in settings.kafka_bootstrap.split(",") if host.strip()]


def kafka_options(settings: MillraceSettings, *, client_id: str | None = None) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client: the brokers, TLS and SASL."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "security_protocol": protocol,
        "client_id": client_id or f"millrace-{settings.service_name}",
    }
    if "SSL" in protocol:
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_tls_cafile)
    if protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism or "PLAIN",
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    return options


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


async def partitions_of(admin: AIOKafkaAdminClient, topics: Sequence[str]) -> dict[str, list[int]]:
    """Partition numbers of each existing topic (missing topics are left out, not created)."""
    if not topics:
        return {}
    described = await admin.describe_topics(list(topics))
    return {
        str(d["topic"]): sorted(int(p["partition"]) for p in d["partitions"])
        for d in described
        if d.get("error_code", 0) == 0 and d.get("partitions")
    }


async def _committed(admin: AIOKafkaAdminClient) -> dict[str, dict[TopicPartition, int]]:
    groups = [str(g[0]) for g in await admin.list_consumer_groups()]
    result: dict[str, dict[TopicPartition, int]] = {}
    for group in groups:
        offsets = await admin.list_consumer_group_offsets(group)
        result[group] = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    return result


async def topic_lags(settings: MillraceSettings, topics: Sequence[str]) -> list[TopicLag]:
    """Records and consumer-group lag of the given topics (missing ones are left out)."""
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    consumer = AIOKafkaConsumer(**kafka_options(settings), enable_auto_commit=False)
    async with AsyncExitStack() as stack:
        # Closed even when start() fails half-way, so no connection is left behind.
        stack.push_async_callback(admin.close)
        await admin.start()
        stack.push_async_callback(consumer.stop)
        await consumer.start()
        known = await partitions_of(admin, topics)
        present = [t for t in topics if t in known]
        partitions = [TopicPartition(t, p) for t in present for p in known[t]]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        committed = await _committed(admin)
    return compute_lag(ends, committed, present)
