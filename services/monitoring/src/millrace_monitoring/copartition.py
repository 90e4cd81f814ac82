"""Monitoring joins ``labels.observed`` to ``predictions.logged`` in memory, per replica.

That join is only right if a model's labels reach the replica that holds its predictions:
both topics keyed alike (the model name) and with the same number of partitions, so the
range assignor gives one replica partition *n* of both. Kafka does not enforce that: an
operator who adds partitions to one topic (or provisions them apart) silently splits the
join, every label then counting as a miss on one replica and its predictions waiting in vain
on another. So monitoring checks it at start and refuses to start otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence

from aiokafka.admin import AIOKafkaAdminClient
from millrace_contracts import LabelsObserved, PredictionsLogged, topic_for
from millrace_shared.kafka import kafka_options
from millrace_shared.settings import MillraceSettings

logger = logging.getLogger("millrace.monitoring")

JOINED = (PredictionsLogged, LabelsObserved)
"""The topics monitoring joins by key, in the order its subscriber lists them."""


class NotCoPartitioned(RuntimeError):
    """The joined topics would send a model's predictions and its labels to different replicas."""


def copartition_problem(
    partitions: Mapping[str, int | None], keys: Mapping[str, str]
) -> str | None:
    """Why ``partitions`` (topic -> partition count, None: the topic is missing) and ``keys``
    (topic -> what it is keyed by) do not make a join by key; None when they do."""
    missing = sorted(topic for topic, count in partitions.items() if not count)
    if missing:
        return f"topic(s) {', '.join(missing)} not found (or not visible to this principal)"
    counts = set(partitions.values())
    if len(counts) > 1:
        found = ", ".join(f"{t} has {n}" for t, n in sorted(partitions.items()))
        return (
            f"the topics monitoring joins by key are not co-partitioned: {found} partitions. "
            "Give them the same partition count (kafka-topics --alter --partitions N on the "
            "smaller one; records already written keep their partition)"
        )
    if len(set(keys.values())) > 1:
        found = ", ".join(f"{t} by {k}" for t, k in sorted(keys.items()))
        return f"the topics monitoring joins are keyed differently: {found}"
    return None


_REFUSED = 29
"""TOPIC_AUTHORIZATION_FAILED: this principal may not see the topic; asking again won't help."""
SETTLING_SECONDS = 30.0
"""How long a topic not (yet) in the metadata, or whose metadata is still settling, is asked
for again before the check gives up on it: a topic just created (by ``ensure_topics`` a
moment before) is unknown to the broker's metadata cache for a little while."""


async def partition_counts(
    settings: MillraceSettings, topics: Sequence[str], settling: float = SETTLING_SECONDS
) -> dict[str, int | None]:
    """Each topic's partition count from the cluster's metadata (None if it has no such topic)."""
    admin = AIOKafkaAdminClient(
        **kafka_options(settings, client_id=f"millrace-{settings.service_name}-admin")
    )
    await admin.start()
    counts: dict[str, int | None] = dict.fromkeys(topics)
    deadline = time.monotonic() + settling
    try:
        while True:
            unsettled = False
            for topic in await admin.describe_topics(list(topics)):
                if topic["topic"] not in counts:
                    continue
                code = topic["error_code"]
                if code == 0:
                    counts[topic["topic"]] = len(topic["partitions"])
                elif code != _REFUSED:
                    unsettled = True
            if not unsettled or time.monotonic() > deadline:
                return counts
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


def joined_topics() -> dict[str, str]:
    """The joined topics' names and what each is keyed by, from the catalogue."""
    return {event.topic(): topic_for(event).key for event in JOINED}


async def check_copartitioned(
    settings: MillraceSettings,
    topics: Mapping[str, str] | None = None,
    *,
    settling: float = SETTLING_SECONDS,
) -> None:
    """Raise ``NotCoPartitioned`` (and log why) unless ``topics`` (name -> key; by default
    the joined topics of the catalogue) are co-partitioned."""
    keys = dict(topics) if topics is not None else joined_topics()
    names = list(keys)
    counts = await partition_counts(settings, names, settling)
    problem = copartition_problem(counts, keys)
    if problem is not None:
        logger.error("refusing to start: %s", problem)
        raise NotCoPartitioned(problem)
    logger.info("%s co-partitioned (%s partitions each)", " and ".join(names), counts[names[0]])
