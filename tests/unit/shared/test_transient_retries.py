"""The dead-letter middleware on FastStream's in-memory broker: outages are waited out (capped
backoff, no DLQ, the dependency reported), poison goes to the DLQ once, bugs after a few tries;
and ``/health/ready`` follows the outages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from faststream.kafka import TestKafkaBroker
from millrace_contracts import DataArrived, first_of_flow
from millrace_shared.faults import PoisonMessage
from millrace_shared.messaging import KafkaProbe, transient_delay
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime, build_runtime, health_router
from millrace_shared.settings import MillraceSettings
from urllib3.exceptions import MaxRetryError, NewConnectionError

TOPIC = DataArrived.topic()


def s3_down() -> Exception:
    return MaxRetryError(None, "/b/k", NewConnectionError(None, "refused"))  # type: ignore[arg-type]


def test_backoff_doubles_up_to_its_cap_and_jitters_below_it() -> None:
    def top(n: int) -> float:
        return transient_delay(n, base=0.5, cap=30, jitter=lambda: 1.0)

    assert [top(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert top(10_000) == 30  # however long the outage, no overflow and no longer wait
    assert transient_delay(7, base=0.5, cap=30, jitter=lambda: 0.0) == 15


@dataclass
class Harness:
    runtime: ServiceRuntime
    broker: Any
    delays: list[float] = field(default_factory=list)
    dead: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    calls: int = 0
    seen_degraded: list[dict[str, dict[str, object]]] = field(default_factory=list)

    async def deliver(self) -> None:
        event = DataArrived(
            **first_of_flow(producer="test"), dataset="d", uri="s3://landing/d/a.csv"
        )
        await self.broker.publish(event.model_dump(mode="json"), topic=TOPIC)


@pytest.fixture
def settings() -> MillraceSettings:
    return MillraceSettings(
        service_name="unit",
        kafka_max_attempts=3,
        kafka_retry_backoff_seconds=0.5,
        kafka_transient_backoff_max_seconds=4,
    )


def harness_for(settings: MillraceSettings, failures: Callable[[int], Exception | None]) -> Harness:
    """A runtime whose one handler fails with ``failures(call number)`` (None: succeeds)."""
    runtime = build_runtime(settings, store=InMemoryObjectStore())
    harness = Harness(runtime, runtime.broker)

    async def no_wait(seconds: float) -> None:
        harness.delays.append(seconds)
        harness.seen_degraded.append(runtime.dependencies.report())

    async def dead_letter(value: bytes, topic: str, _: bytes | None, h: dict[str, str]) -> None:
        harness.dead.append((topic, h))

    runtime.dead_letters.sleep = no_wait
    runtime.dead_letters.bind(dead_letter)

    @runtime.broker.subscriber(TOPIC, group_id="unit")
    async def handle(event: DataArrived) -> None:
        harness.calls += 1
        error = failures(harness.calls)
        if error is not None:
            raise error

    return harness


@pytest.fixture
async def outage(settings: MillraceSettings) -> AsyncIterator[Harness]:
    """S3 down for the first 12 tries: far more than ``max_attempts``."""
    harness = harness_for(settings, lambda call: s3_down() if call <= 12 else None)
    async with TestKafkaBroker(harness.runtime.broker) as broker:
        harness.broker = broker
        yield harness


async def test_an_outage_is_waited_out_with_capped_backoff_and_never_dead_lettered(
    outage: Harness,
) -> None:
    await outage.deliver()

    assert outage.calls == 13, "tried until S3 answered, not max_attempts times"
    assert outage.dead == [] and outage.runtime.dead_letters.dead_lettered == 0
    assert len(outage.delays) == 12
    assert all(0 < d <= 4 for d in outage.delays), "capped at 4 s"
    assert max(outage.delays[:3]) <= 2 < min(outage.delays[-3:]) * 2
    # Reported down while it waited, cleared once the message was handled.
    assert all(list(seen) == ["s3"] for seen in outage.seen_degraded)
    assert outage.seen_degraded[-1]["s3"]["failures"] == 12
    assert outage.runtime.dependencies.report() == {}


async def test_poison_is_dead_lettered_once_without_retries(settings: MillraceSettings) -> None:
    harness = harness_for(settings, lambda _: PoisonMessage("cannot be made to fit"))
    async with TestKafkaBroker(harness.runtime.broker) as broker:
        harness.broker = broker
        await harness.deliver()

    assert harness.calls == 1 and harness.delays == []
    [(topic, headers)] = harness.dead
    assert topic == f"{TOPIC}.dlq"
    assert headers["x-millrace-dlq-kind"] == "poison"
    assert headers["x-millrace-dlq-attempts"] == "1"


async def test_a_bug_is_tried_max_attempts_times_then_dead_lettered(
    settings: MillraceSettings,
) -> None:
    harness = harness_for(settings, lambda _: KeyError("a bug"))
    async with TestKafkaBroker(harness.runtime.broker) as broker:
        harness.broker = broker
        await harness.deliver()

    assert harness.calls == 3 and harness.delays == [0.5, 1.0]
    [(_, headers)] = harness.dead
    assert headers["x-millrace-dlq-kind"] == "exhausted"
    assert harness.runtime.dependencies.report() == {}


async def test_an_outage_does_not_use_up_the_tries_of_a_later_bug(
    settings: MillraceSettings,
) -> None:
    def failures(call: int) -> Exception:
        return s3_down() if call <= 5 else RuntimeError("then a bug")

    harness = harness_for(settings, failures)
    async with TestKafkaBroker(harness.runtime.broker) as broker:
        harness.broker = broker
        await harness.deliver()

    assert harness.calls == 8  # five outage tries, then three for the bug
    [(_, headers)] = harness.dead
    assert headers["x-millrace-dlq-attempts"] == "8"
    assert harness.runtime.dependencies.report() == {}


async def ready(runtime: ServiceRuntime) -> httpx.Response:
    app = FastAPI()
    app.include_router(health_router(runtime))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.get("/health/ready")


async def test_readiness_is_503_while_a_message_waits_on_a_dependency(
    settings: MillraceSettings,
) -> None:
    runtime = build_runtime(settings, store=InMemoryObjectStore())
    runtime.ready = True
    assert (await ready(runtime)).status_code == 200

    waiter, other = object(), object()
    runtime.dependencies.failing("s3", s3_down(), holder=waiter)
    runtime.dependencies.failing("s3", s3_down(), holder=other)
    answer = await ready(runtime)
    assert answer.status_code == 503
    body = answer.json()
    assert body["ready"] is False
    assert body["degraded"]["s3"]["failures"] == 2
    assert "MaxRetryError" in body["degraded"]["s3"]["last_error"]

    runtime.dependencies.release(waiter)
    assert (await ready(runtime)).status_code == 503, "another message still waits on S3"
    runtime.dependencies.release(other)
    answer = await ready(runtime)
    assert answer.status_code == 200 and answer.json()["degraded"] == {}


async def test_a_service_serving_from_memory_stays_ready_but_lists_the_outage(
    settings: MillraceSettings,
) -> None:
    runtime = build_runtime(settings, store=InMemoryObjectStore())
    runtime.ready, runtime.ready_while_degraded = True, True
    runtime.dependencies.failing("registry", ConnectionRefusedError(), holder=object())

    answer = await ready(runtime)
    assert answer.status_code == 200
    assert list(answer.json()["degraded"]) == ["registry"]


@pytest.mark.parametrize(("serves_from_memory", "status"), [(False, 503), (True, 200)])
async def test_an_idle_service_reports_kafka_down_from_its_probe(
    settings: MillraceSettings, serves_from_memory: bool, status: int
) -> None:
    """Nothing in flight, the probe finds the cluster gone: a consumer 503, deployment 200;
    both name kafka, with no message waiting on it."""
    runtime = build_runtime(settings, store=InMemoryObjectStore())
    runtime.ready, runtime.ready_while_degraded = True, serves_from_memory

    class _Gone:
        async def start(self) -> None:
            raise ConnectionRefusedError("no broker")

        async def describe_cluster(self) -> object:
            raise AssertionError("never started")

        async def close(self) -> None:
            pass

    probe = KafkaProbe(runtime.dependencies, _Gone, interval=1, timeout=1, failures_to_report=1)
    assert not await probe.check()
    answer = await ready(runtime)
    assert answer.status_code == status
    assert answer.json()["degraded"]["kafka"]["waiting_messages"] == 0
    await probe.stop()
    assert (await ready(runtime)).status_code == 200
