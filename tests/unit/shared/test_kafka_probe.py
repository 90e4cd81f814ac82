"""The Kafka probe: an idle service reports ``kafka`` down while the cluster does not answer."""

from __future__ import annotations

from millrace_shared.faults import KAFKA
from millrace_shared.health import DependencyHealth
from millrace_shared.messaging import KafkaProbe


class _Cluster:
    def __init__(self) -> None:
        self.up = True
        self.clients = 0
        self.closed = 0

    def connect(self) -> _Client:
        self.clients += 1
        return _Client(self)


class _Client:
    def __init__(self, cluster: _Cluster) -> None:
        self.cluster = cluster

    async def start(self) -> None:
        if not self.cluster.up:
            raise ConnectionRefusedError("no broker")

    async def describe_cluster(self) -> object:
        if not self.cluster.up:
            raise ConnectionResetError("broker gone")
        return {"brokers": [1]}

    async def close(self) -> None:
        self.cluster.closed += 1


def _probe(cluster: _Cluster, health: DependencyHealth) -> KafkaProbe:
    return KafkaProbe(health, cluster.connect, interval=5, timeout=5, failures_to_report=2)


async def test_down_after_two_failed_rounds_and_up_at_the_first_answer() -> None:
    cluster, health = _Cluster(), DependencyHealth()
    probe = _probe(cluster, health)
    assert await probe.check()
    assert health.report() == {}

    cluster.up = False
    assert not await probe.check()
    assert health.report() == {}, "one lost round is no outage yet"
    assert not await probe.check()
    report = health.report()
    assert list(report) == [KAFKA]
    assert report[KAFKA]["waiting_messages"] == 0, "only the probe holds it"

    cluster.up = True
    assert await probe.check()
    assert health.report() == {}
    # Each failure dropped its client: after the outage a fresh one bootstraps again.
    assert cluster.clients == 3
    assert cluster.closed == 2  # the one running when the broker went, the one refused


async def test_the_probe_and_a_waiting_message_hold_the_outage_each() -> None:
    cluster, health = _Cluster(), DependencyHealth()
    probe = _probe(cluster, health)
    message = object()
    cluster.up = False
    await probe.check()
    await probe.check()
    health.failing(KAFKA, TimeoutError("publish timed out"), holder=message)
    assert health.report()[KAFKA]["waiting_messages"] == 1

    cluster.up = True
    await probe.check()
    assert KAFKA in health.report(), "a message still waits on Kafka"
    assert health.report()[KAFKA]["waiting_messages"] == 1
    health.release(message)
    assert health.report() == {}


async def test_stopping_the_probe_withdraws_its_report() -> None:
    cluster, health = _Cluster(), DependencyHealth()
    probe = _probe(cluster, health)
    cluster.up = False
    await probe.check()
    await probe.check()
    assert KAFKA in health.report()
    await probe.stop()
    assert health.report() == {}
