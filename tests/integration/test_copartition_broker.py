"""Monitoring's co-partition check against the real broker's metadata."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from millrace_monitoring.copartition import NotCoPartitioned, check_copartitioned
from millrace_shared.kafka import kafka_options
from millrace_shared.messaging import ensure_topics
from millrace_shared.settings import MillraceSettings

pytestmark = pytest.mark.integration


async def make_topics(settings: MillraceSettings, partitions: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(**kafka_options(settings, client_id="copartition-test"))
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, num_partitions=n, replication_factor=1)
                for name, n in partitions.items()
            ]
        )
    finally:
        await admin.close()


async def test_mismatched_topics_are_refused_and_matched_ones_pass(
    stack_settings: MillraceSettings, unique: str
) -> None:
    predictions, labels, more = f"{unique}.p", f"{unique}.l", f"{unique}.l6"
    await make_topics(stack_settings, {predictions: 6, labels: 6, more: 3})
    key = "model name"

    await check_copartitioned(stack_settings, {predictions: key, labels: key})
    with pytest.raises(
        NotCoPartitioned,
        match=f"{predictions} has 6.*{more} has 3|{more} has 3.*{predictions} has 6",
    ):
        await check_copartitioned(stack_settings, {predictions: key, more: key})
    with pytest.raises(NotCoPartitioned, match="not found"):
        absent = {predictions: key, f"{unique}.none": key}
        await check_copartitioned(stack_settings, absent, settling=1.0)


async def test_the_stacks_own_topics_pass_as_monitorings_principal(
    stack_settings: MillraceSettings, stack_settings_as: Callable[..., MillraceSettings]
) -> None:
    """Monitoring may describe the topics it reads: the check needs no right beyond its ACLs."""
    await ensure_topics(stack_settings)
    await check_copartitioned(stack_settings_as("monitoring", service_name="monitoring"))
