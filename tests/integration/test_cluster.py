"""A local 3-broker KRaft cluster (`millrace-stack up --brokers 3`): every node secured like
the single broker (SASL_SSL, SCRAM, ACLs), topics kept three times with min.insync.replicas
2, and a broker killed with SIGKILL mid-produce loses no acknowledged record.

One cluster of its own on free ports, without Zipkin (``cluster_stack``), started once for
the session and stopped even when a test fails. Three JVMs on a small machine: the nodes run with a smaller
heap (kafka.py), and the module is marked `cluster` so it can be selected or left out.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
from millrace_contracts.topics import TOPICS
from millrace_infra import StackConfig, kafka_client_env, kill_broker, start_broker
from millrace_infra.kafka import kafka_dir, tls_dir
from millrace_infra.kafka_acls import ADMIN_USER
from millrace_infra.kafka_provision import admin_client
from millrace_infra.kafka_security import read_credentials
from millrace_infra.state import STATE_FILE, StackInfo
from millrace_infra.tls import TlsFiles
from millrace_shared.kafka import kafka_options
from millrace_shared.messaging import ensure_topics
from millrace_shared.settings import MillraceSettings

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

_TIMEOUT = 30.0
_FAILOVER_WITHIN = 90.0
"""A killed broker is fenced after broker.session.timeout.ms (9 s), then its partitions get
new leaders; generous, for a busy 2-core machine. A deadline for waiting, not a timing check."""
_RECORDS = 600


@pytest.fixture
def cluster(cluster_stack: tuple[StackConfig, StackInfo]) -> tuple[StackConfig, StackInfo]:
    """The session's cluster (``cluster_stack``, tests/conftest.py), shared with the e2e
    cluster test."""
    return cluster_stack


def _admin(cluster: tuple[StackConfig, StackInfo]) -> AdminClient:
    """The stack's admin client; made in each test (confluent-kafka's has no close: one held
    past the test, e.g. by a fixture, would log every refused reconnect while the cluster stops)."""
    config, info = cluster
    password = (read_credentials(kafka_dir(config)) or {})[ADMIN_USER]
    return admin_client(info.kafka_bootstrap, TlsFiles(tls_dir(config)).ca_cert, password)


def _settings(config: StackConfig) -> MillraceSettings:
    env = kafka_client_env(config, "admin")
    fields = {k.removeprefix("MILLRACE_").lower(): v for k, v in env.items()}
    return MillraceSettings.model_validate(fields | {"service_name": "cluster-test"})


def _partitions(admin: AdminClient, topic: str) -> dict[int, Any]:
    """Partition id to its metadata (leader, replicas, isrs), as the cluster now says."""
    found = admin.list_topics(topic, timeout=_TIMEOUT).topics[topic]
    return {} if found.error is not None else dict(found.partitions)


def _created(admin: AdminClient, topic: str) -> dict[int, Any]:
    """_partitions of a topic just created, once the broker asked lists it with leaders (its
    metadata reaches each broker a moment after the create returns)."""
    return _wait_for(
        f"{topic} listed with a leader per partition",
        lambda: (
            (found := _partitions(admin, topic))
            and all(p.leader >= 0 for p in found.values())
            and found
        ),
    )


def _min_insync(admin: AdminClient, topic: str) -> str:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=_TIMEOUT)
    return str(configs["min.insync.replicas"].value)


def _wait_for(what: str, check: Any, within: float = _FAILOVER_WITHIN) -> Any:
    """Poll check() until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"not within {within:.0f} s: {what}")
        time.sleep(0.5)


def test_three_brokers_each_with_its_own_process_data_and_log(
    cluster: tuple[StackConfig, StackInfo],
) -> None:
    config, info = cluster
    admin = _admin(cluster)
    assert [n.node_id for n in info.kafka_nodes] == [1, 2, 3]
    assert info.kafka_bootstrap.split(",") == [n.bootstrap for n in info.kafka_nodes]
    assert len({n.pid() for n in info.kafka_nodes}) == 3
    assert len({n.pid_file.parent for n in info.kafka_nodes}) == 3
    brokers = admin.list_topics(timeout=_TIMEOUT).brokers
    assert sorted(brokers) == [1, 2, 3]
    state = json.loads((config.home / STATE_FILE).read_text())
    assert state["brokers"] == 3
    assert [n["bootstrap"] for n in state["kafka_nodes"]] == info.kafka_bootstrap.split(",")


def test_catalogue_topics_have_three_replicas_and_min_insync_two(
    cluster: tuple[StackConfig, StackInfo],
) -> None:
    admin = _admin(cluster)
    for spec in TOPICS:
        for topic in (spec.name, spec.dlq):
            partitions = _partitions(admin, topic)
            assert partitions, topic
            assert all(len(p.replicas) == 3 for p in partitions.values()), topic
            assert _min_insync(admin, topic) == "2", topic


def test_services_create_topics_replicated_for_the_cluster(
    cluster: tuple[StackConfig, StackInfo], unique: str
) -> None:
    config, _ = cluster
    admin = _admin(cluster)
    asyncio.run(ensure_topics(_settings(config), [unique]))
    partitions = _created(admin, unique)
    assert all(len(p.replicas) == 3 for p in partitions.values())
    assert _min_insync(admin, unique) == "2"


def test_killing_a_partition_leader_mid_produce_loses_nothing_and_it_rejoins(
    cluster: tuple[StackConfig, StackInfo], unique: str
) -> None:
    config, _ = cluster
    admin = _admin(cluster)
    settings = _settings(config).model_copy(update={"kafka_partitions": 1})
    asyncio.run(ensure_topics(settings, [unique]))
    leader = _created(admin, unique)[0].leader
    assert leader in {1, 2, 3}

    killed: list[int] = []

    def kill_leader() -> None:
        killed.append(kill_broker(config, leader))

    sent = asyncio.run(_produce(settings, unique, after_first=_RECORDS // 3, then=kill_leader))
    assert killed, "the leader was not killed mid-produce"
    assert sent == list(range(_RECORDS))

    # Another broker leads, the killed one is out of the in-sync replicas (as soon as the
    # broker the admin asks has the controller's latest metadata).
    _wait_for(
        f"a new leader of {unique} without broker {leader} in sync",
        lambda: (
            (now := _partitions(admin, unique)[0]).leader not in {leader, -1}
            and leader not in now.isrs
        ),
    )

    received = asyncio.run(_consume_all(settings, unique))
    assert sorted(received) == list(range(_RECORDS)), "records lost or duplicated"
    assert len(received) == _RECORDS

    start_broker(config, leader)
    _wait_for(
        f"broker {leader} back in the in-sync replicas of {unique}",
        lambda: sorted(_partitions(admin, unique)[0].isrs) == [1, 2, 3],
    )


async def _produce(
    settings: MillraceSettings, topic: str, *, after_first: int, then: Any
) -> list[int]:
    """Send _RECORDS numbered records (acks=all, idempotent), awaiting them in small batches;
    run `then` (in a thread) once `after_first` are acknowledged, while later ones are in
    flight. Return the numbers acknowledged, in order."""
    producer = AIOKafkaProducer(
        **kafka_options(settings), acks="all", enable_idempotence=True, request_timeout_ms=60_000
    )
    acked: list[int] = []
    await producer.start()
    try:
        batch = 20
        for first in range(0, _RECORDS, batch):
            numbers = range(first, min(first + batch, _RECORDS))
            futures = [await producer.send(topic, str(n).encode()) for n in numbers]
            if first == after_first:
                # Kill while this batch is on its way: its records must still arrive.
                await asyncio.to_thread(then)
            for number, future in zip(numbers, futures, strict=True):
                await future
                acked.append(number)
    finally:
        await producer.stop()
    return acked


async def _consume_all(settings: MillraceSettings, topic: str) -> list[int]:
    consumer = AIOKafkaConsumer(**kafka_options(settings), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        received: list[int] = []
        deadline = time.monotonic() + _FAILOVER_WITHIN
        while await consumer.position(partition) < end:
            if time.monotonic() >= deadline:
                pytest.fail(f"read {len(received)} of {end} records of {topic}")
            batches = await consumer.getmany(partition, timeout_ms=5000)
            received += [int(r.value or b"") for r in batches.get(partition, [])]
        return received
    finally:
        await consumer.stop()
