"""The five services on the 3-broker cluster (``cluster_stack``): the broker leading the
flow's ``model.trained`` partition is killed with SIGKILL mid-flow and stays down; the flow
ends promoted with one model version (nothing lost, nothing duplicated), nothing is
dead-lettered, topics keep 3 replicas with min.insync.replicas 2; started again, the broker
rejoins every in-sync replica set of the flow's partitions.

The broker dies while training holds a finished fit (``held_fit``), so its upload and its
``model.trained`` publish meet the failover. Services and the killed broker are stopped /
started again even when the test fails; the cluster is the session's (shared with
tests/integration/test_cluster.py) and stops at the session's end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
from faststream.kafka import KafkaBroker
from millrace_contracts import DatasetValidated, ModelPromoted, ModelTrained
from millrace_contracts.topics import TOPICS
from millrace_infra import StackConfig, kill_broker, start_broker
from millrace_infra.kafka import kafka_dir, tls_dir
from millrace_infra.kafka_acls import ADMIN_USER
from millrace_infra.kafka_provision import admin_client
from millrace_infra.kafka_security import read_credentials
from millrace_infra.state import StackInfo
from millrace_infra.tls import TlsFiles
from millrace_shared.messaging import KafkaEventSink, ensure_topics, make_broker
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings
from millrace_shared.signing import KeyPair
from millrace_shared.watch import EventWatcher

from . import patched_service
from .conftest import Platform, launch_platform, stack_service_env
from .flows import Flow, classification_frame
from .test_data_to_model import declaration, exactly_one_model_version

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

_TIMEOUT = 30.0
_WITHIN = 120.0
"""A deadline for waiting on the cluster (fencing the killed broker, a new leader, the
rejoin), generous for a busy 2-core machine; not a timing check."""

Cluster = tuple[StackConfig, StackInfo]


def _admin(cluster: Cluster) -> AdminClient:
    config, info = cluster
    password = (read_credentials(kafka_dir(config)) or {})[ADMIN_USER]
    return admin_client(info.kafka_bootstrap, TlsFiles(tls_dir(config)).ca_cert, password)


def _partitions(admin: AdminClient, topic: str) -> dict[int, Any]:
    found = admin.list_topics(topic, timeout=_TIMEOUT).topics[topic]
    return {} if found.error is not None else dict(found.partitions)


def _min_insync(admin: AdminClient, topic: str) -> str:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=_TIMEOUT)
    return str(configs["min.insync.replicas"].value)


def _partition_of(admin: AdminClient, topic: str, key: str) -> int:
    """The partition the producers' default partitioner picks for ``key`` (murmur2)."""
    ids = sorted(_partitions(admin, topic))
    partition: int = DefaultPartitioner()(key.encode(), ids, ids)
    return partition


def _wait_for(what: str, check: Callable[[], object], within: float = _WITHIN) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() >= deadline:
            pytest.fail(f"not within {within:.0f} s: {what}")
        time.sleep(0.5)


@pytest.fixture
async def cluster_flow(
    cluster_stack: Cluster,
    tmp_path: Path,
    registry_actor: str,
    registry_token: str,
    promotion_keys: KeyPair,
    unique: str,
) -> AsyncIterator[tuple[Flow, Path]]:
    """The five services launched against the cluster (training patched with ``held_fit`` on
    the returned folder), and a flow on them; everything stopped even on failure."""
    _, info = cluster_stack
    fields = {k.removeprefix("MILLRACE_").lower(): v for k, v in info.client_env("admin").items()}
    settings = MillraceSettings.model_validate(fields | {"service_name": "e2e-cluster-test"})
    await ensure_topics(settings)
    store = MinioObjectStore.from_settings(settings)
    store.ensure_buckets(settings.buckets)
    held = tmp_path / "held"
    held.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Platform(
        stack_service_env(info, registry_actor, registry_token), logs, promotion_keys
    )
    broker: KafkaBroker
    broker, _ = make_broker(settings)
    try:
        await asyncio.to_thread(
            launch_platform,
            running,
            training_argv=patched_service.command("training", held_fit=held),
        )
        await broker.start()
        async with EventWatcher(settings, [t.event for t in TOPICS]) as watcher:
            # A failing test's report shows the services' logs (conftest's makereport hook).
            yield (
                Flow(running, watcher, KafkaEventSink(broker), store, settings, dataset=unique),
                held,
            )
    finally:
        (held / "release").touch()
        await broker.stop()
        running.stop_all()


async def _dead_lettered(platform: Platform) -> int:
    async with httpx.AsyncClient(timeout=5) as client:
        answers = [await client.get(f"{s.url}/health/ready") for s in platform.services.values()]
    return sum(int(a.json()["dead_lettered"]) for a in answers)


async def test_killing_the_flow_partitions_leader_mid_flow_loses_and_duplicates_nothing(
    cluster_stack: Cluster, cluster_flow: tuple[Flow, Path]
) -> None:
    config, _ = cluster_stack
    flow, held = cluster_flow
    admin = _admin(cluster_stack)
    for spec in TOPICS:
        for topic in (spec.name, spec.dlq):
            assert all(len(p.replicas) == 3 for p in _partitions(admin, topic).values()), topic
            assert _min_insync(admin, topic) == "2", topic

    await flow.declare(declaration(flow.dataset))
    arrival = await flow.arrive("a.csv", classification_frame(300, seed=12))
    await flow.first(DatasetValidated, arrival)
    await asyncio.to_thread(
        _wait_for, "training entered its fit", lambda: (held / "entered").exists()
    )

    # The flow's partition of every topic: each is keyed by the dataset or the model's name,
    # which is the dataset's.
    flow_partitions = {spec.name: _partition_of(admin, spec.name, flow.dataset) for spec in TOPICS}
    trained = ModelTrained.topic()
    leader = _partitions(admin, trained)[flow_partitions[trained]].leader
    assert leader in {1, 2, 3}
    kill_broker(config, leader)
    try:
        (held / "release").touch()
        decision = await flow.decision(arrival)
        assert isinstance(decision, ModelPromoted), decision
        assert decision.model.version == 1
        await exactly_one_model_version(flow)
        assert (held / "fits").read_text().splitlines() == ["fit"], "training fitted again"
        assert await _dead_lettered(flow.platform) == 0, "nothing may be dead-lettered"

        def led_by_others() -> bool:
            now = {t: _partitions(admin, t)[p] for t, p in flow_partitions.items()}
            return all(p.leader not in {leader, -1} and leader not in p.isrs for p in now.values())

        await asyncio.to_thread(
            _wait_for, f"the flow's partitions led without {leader}", led_by_others
        )
        for topic in flow_partitions:
            assert all(len(p.replicas) == 3 for p in _partitions(admin, topic).values()), topic
    finally:
        start_broker(config, leader)

    def rejoined() -> bool:
        now = {t: _partitions(admin, t)[p] for t, p in flow_partitions.items()}
        return all(sorted(p.isrs) == [1, 2, 3] for p in now.values())

    await asyncio.to_thread(
        _wait_for, f"broker {leader} back in the flow's in-sync replicas", rejoined
    )
