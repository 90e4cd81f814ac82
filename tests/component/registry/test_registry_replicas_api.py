"""Two registry apps (the whole service: REST, handlers, commands) over one object store,
each with its own test broker and sink: what two replicas answer when asked at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from millrace_contracts import ModelPromoted
from millrace_registry.core.records import trail_problems
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.registry.models import AuditEntry
from registry_component_support import TOKEN, Service, model_trained, registry_service

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def replicas() -> AsyncIterator[list[Service]]:
    objects = InMemoryObjectStore()
    async with registry_service(objects) as first, registry_service(objects) as second:
        yield [first, second]


def client(service: Service) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=service.app)
    return httpx.AsyncClient(transport=transport, base_url="http://registry", headers=AUTH)


async def test_both_replicas_asked_at_once(replicas: list[Service]) -> None:
    a, b = replicas
    # Every run delivered to both (a rebalance redelivers): one version each, all the same.
    for run, accuracy, champion in (("run-a", 0.9, None), ("run-b", 0.95, 0.9)):
        event = model_trained(
            run, accuracy, champion_version=1 if champion else None, champion_accuracy=champion
        )
        await asyncio.gather(a.deliver(event), b.deliver(event))
    async with client(a) as to_a, client(b) as to_b:
        shown = (await to_b.get("/models/iris")).json()
        assert [(v["version"], v["run_id"]) for v in shown["versions"]] == [
            (1, "run-a"),
            (2, "run-b"),
        ]

        # The same promotion at both: one moves production, the other finds it there.
        body = {"version": 1, "reason": "back to 1"}
        answers = await asyncio.gather(
            to_a.post("/models/iris/promote", json=body),
            to_b.post("/models/iris/promote", json=body),
        )
        assert sorted(r.status_code for r in answers) == [200, 409]

        # A rollback sent to both with one Idempotency-Key: one rollback, one event, twice.
        keyed = {"Idempotency-Key": "undo-1"}
        rolled = await asyncio.gather(
            to_a.post("/models/iris/rollback", json={"reason": "undo"}, headers=keyed),
            to_b.post("/models/iris/rollback", json={"reason": "undo"}, headers=keyed),
        )
        assert [r.status_code for r in rolled] == [200, 200], [r.text for r in rolled]
        first, second = (ModelPromoted.model_validate(r.json()) for r in rolled)
        assert first == second
        assert (first.previous_version, first.model.version) == (1, 2)

        audit = [
            AuditEntry.model_validate(e) for e in (await to_a.get("/models/iris/audit")).json()
        ]
        assert (await to_b.get("/models/iris/audit")).json() == (
            await to_a.get("/models/iris/audit")
        ).json()
    assert trail_problems(audit) == []
    assert [(e.kind, e.version) for e in audit] == [
        ("registered", 1),
        ("promoted", 1),
        ("registered", 2),
        ("promoted", 2),
        ("manual_promote", 1),
        ("rollback", 2),
    ]
    assert audit[-1].seq == first.sequence
