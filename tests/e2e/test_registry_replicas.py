"""Two registry replicas as real processes, one consumer group, one state bucket: promotions
and rollbacks sent to both at once while model.trained events arrive (ADR 0007).

Whatever the interleaving, the registry stays one registry: every run one version and every
version one run, a gap-free audit trail whose every alias move starts where the one before
left production, one production version, and a retried rollback that rolls back once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from millrace_contracts import (
    ArtifactRef,
    FeatureSignature,
    Metrics,
    ModelPromoted,
    ModelTrained,
    PromotionPolicy,
    first_of_flow,
)
from millrace_infra.launcher import Process, launch_service
from millrace_registry.core.records import trail_problems
from millrace_shared.messaging import KafkaEventSink
from millrace_shared.registry.models import AuditEntry, ModelDetail
from millrace_shared.signing import KeyPair

from .conftest import ServiceEnv

pytestmark = pytest.mark.e2e

RUNS = 8
"""model.trained events sent during the race."""
SEEDS = 2
"""Versions made before it (v1, then v2 promoted over it): there is something to roll back."""
ALL = SEEDS + RUNS
POLICY = PromotionPolicy(primary_metric="accuracy", floor=0.8, min_improvement=0.01)
T = TypeVar("T")


@pytest.fixture(scope="module")
def replicas(
    service_env: ServiceEnv, service_logs: Path, promotion_keys: KeyPair
) -> Iterator[tuple[Process, Process]]:
    env = {**service_env("registry"), "MILLRACE_REGISTRY_SIGNING_KEY": promotion_keys.private}
    started: list[Process] = []
    try:
        for label in ("registry-a", "registry-b"):
            started.append(launch_service("registry", env, service_logs, label=label))
        for process in started:
            process.wait_ready()
        yield started[0], started[1]
    finally:
        for process in started:
            process.stop()


def trained(model: str, run_id: str, accuracy: float) -> ModelTrained:
    def ref(name: str) -> ArtifactRef:
        return ArtifactRef(
            uri=f"s3://millrace-models/{model}/{run_id}/{name}", sha256="a" * 64, size_bytes=10
        )

    holdout = "h1"
    return ModelTrained(
        **first_of_flow(producer="training"),
        model_name=model,
        run_id=run_id,
        dataset=model,
        dataset_version="0" * 64,
        task="classification",
        estimator="random_forest",
        artifact=ref("model.skops"),
        model_card=ref("card.json"),
        reference_profile=ref("profile.json"),
        signature=[FeatureSignature(name="x", kind="numeric", dtype="float")],
        target="y",
        metrics=Metrics(values={"accuracy": accuracy}, holdout_id=holdout, holdout_rows=30),
        training_seconds=1.0,
        promotion=POLICY,
    )


async def eventually(read: Callable[[], Awaitable[T | None]], within: float = 90.0) -> T:
    """Poll until ``read`` answers something: the registries consume asynchronously."""
    deadline = time.monotonic() + within
    while True:
        found = await read()
        if found is not None:
            return found
        assert time.monotonic() < deadline, "the registries did not get there in time"
        await asyncio.sleep(0.2)


async def test_two_replicas_promoting_and_rolling_back_at_once(
    replicas: tuple[Process, Process],
    producer: KafkaEventSink,
    registry_token: str,
    unique: str,
) -> None:
    model = unique
    auth = {"Authorization": f"Bearer {registry_token}"}
    async with httpx.AsyncClient(timeout=30, headers=auth) as http:
        urls = [r.url for r in replicas]

        async def detail(url: str) -> ModelDetail | None:
            answer = await http.get(f"{url}/models/{model}")
            return ModelDetail.model_validate(answer.json()) if answer.status_code == 200 else None

        async def trail(url: str) -> list[AuditEntry]:
            answer = await http.get(f"{url}/models/{model}/audit")
            if answer.status_code == 404:
                return []
            return [AuditEntry.model_validate(e) for e in answer.json()]

        async def registered(count: int) -> ModelDetail | None:
            found = await detail(urls[1])
            return found if found is not None and len(found.versions) >= count else None

        async def settled() -> list[list[AuditEntry]] | None:
            """Both replicas' trails, once every run sent so far has its decision in them."""
            audits = [await trail(url) for url in urls]
            decided = [sum(e.kind in {"promoted", "rejected"} for e in a) for a in audits]
            return audits if decided == [sent] * 2 else None

        sent = 0
        for accuracy in (0.9, 0.95):  # production: v2, after v1
            await producer.publish(trained(model, f"run-{sent}", accuracy))
            sent += 1
            await eventually(settled)

        async def move(n: int, url: str) -> httpx.Response:
            if n % 2:
                body = {"version": 1, "reason": f"operator {n}"}
                return await http.post(f"{url}/models/{model}/promote", json=body)
            return await http.post(f"{url}/models/{model}/rollback", json={"reason": f"op {n}"})

        # Each request to both replicas at once, while the runs arrive.
        accuracies = [0.91, 0.97, 0.85, 0.99, 0.5, 0.995, 0.92, 0.999]
        arrivals = [
            producer.publish(trained(model, f"run-{SEEDS + n}", a))
            for n, a in enumerate(accuracies)
        ]
        sent += len(arrivals)
        moves = [move(n, url) for n in range(8) for url in urls]
        answers = await asyncio.gather(*arrivals, *moves)
        statuses = []
        for answer in answers[len(arrivals) :]:
            assert isinstance(answer, httpx.Response)
            assert answer.status_code in {200, 409}, answer.text  # 409: already there
            statuses.append(answer.status_code)
        print("move answers:", statuses)  # with -s: how the race went

        await eventually(settled)

        # One rollback retried (its answer lost, say) at both replicas at once: one move.
        again = {**auth, "Idempotency-Key": f"rollback-{uuid.uuid4()}"}
        rolled = await asyncio.gather(
            *(
                http.post(f"{url}/models/{model}/rollback", json={"reason": "x"}, headers=again)
                for url in urls
            )
        )
        assert [r.status_code for r in rolled] == [200, 200], [r.text for r in rolled]
        first, second = (ModelPromoted.model_validate(r.json()) for r in rolled)
        assert (first.event_id, first.sequence) == (second.event_id, second.sequence)

        audits = [await trail(url) for url in urls]
        productions = [(await http.get(f"{url}/models/{model}/production")).json() for url in urls]
        final = await eventually(lambda: registered(ALL))

    # Every run one version, every version one run: 1..ALL without a gap or a duplicate.
    assert sorted(v.version for v in final.versions) == list(range(1, ALL + 1))
    assert sorted(v.run_id for v in final.versions) == sorted(f"run-{n}" for n in range(ALL))
    audit = audits[0]
    assert audits[1] == audit, "both replicas read the one trail"
    assert [e.kind for e in audit].count("promoted") + [e.kind for e in audit].count(
        "rejected"
    ) == ALL
    assert trail_problems(audit) == []
    assert [e.kind for e in audit].count("registered") == ALL
    keyed = [e for e in audit if e.idempotency_key == again["Idempotency-Key"]]
    assert [(e.kind, e.seq) for e in keyed] == [("rollback", first.sequence)]
    assert keyed[0] == audit[-1], "rolled back once, as the last move"
    # One production version, the same from both, and it is where the last move put it.
    last_move = [e for e in audit if e.alias_move is not None][-1]
    assert last_move.alias_move is not None
    assert {p["version"] for p in productions} == {last_move.alias_move.to_version}
    assert final.aliases["production"] == last_move.alias_move.to_version
