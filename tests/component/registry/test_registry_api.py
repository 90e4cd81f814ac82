"""The REST API through httpx's ASGI transport, over a registry fed by model.trained events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from millrace_contracts import Event, ModelPromoted, ModelVersionInfo
from millrace_shared.registry.client import RegistryClient, RegistryRefused
from millrace_shared.registry.models import AuditEntry
from pydantic import TypeAdapter
from registry_component_support import BOB_TOKEN, TOKEN, Service, model_trained

AUTH = {"Authorization": f"Bearer {TOKEN}"}
BOB = {"Authorization": f"Bearer {BOB_TOKEN}"}


@pytest.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    await service.deliver(model_trained("run-a", 0.9))
    await service.deliver(model_trained("run-b", 0.95, champion_version=1, champion_accuracy=0.9))
    await service.deliver(model_trained("run-c", 0.85, champion_version=2, champion_accuracy=0.95))
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
        yield http


async def audit(client: httpx.AsyncClient) -> list[AuditEntry]:
    response = await client.get("/models/iris/audit")
    assert response.status_code == 200
    return [AuditEntry.model_validate(e) for e in response.json()]


async def production(client: httpx.AsyncClient, **params: str) -> int | None:
    response = await client.get("/models/iris/production", params=params)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return ModelVersionInfo.model_validate(response.json()).version


async def test_list_and_show(client: httpx.AsyncClient) -> None:
    listed = await client.get("/models")
    assert listed.json() == [{"name": "iris", "production_version": 2, "latest_version": 3}]

    shown = (await client.get("/models/iris")).json()
    assert shown["aliases"] == {"production": 2}
    assert [(v["version"], v["policy_decision"], v["aliases"]) for v in shown["versions"]] == [
        (1, "promoted", []),
        (2, "promoted", ["production"]),
        (3, "rejected", []),
    ]
    assert (await client.get("/models/iris/aliases")).json() == {"production": 2}


async def test_a_version_shows_card_metrics_lineage_and_decision(client: httpx.AsyncClient) -> None:
    body = (await client.get("/models/iris/versions/2")).json()
    assert body["info"]["model_card"]["uri"] == "s3://millrace-models/iris/run-b/card.json"
    assert body["info"]["metrics"]["values"] == {"accuracy": 0.95}
    assert body["lineage"]["dataset"] == "iris"
    assert body["lineage"]["dataset_version"].startswith("9f86d081")
    assert body["lineage"]["run_id"] == "run-b"
    assert body["decision"]["promote"] is True
    assert body["decision"]["compared_with"] == 1
    assert [r["code"] for r in body["decision"]["reasons"]] == ["above_floor", "improved"]
    assert body["aliases"] == ["production"]


@pytest.mark.parametrize(
    "path",
    ["/models/wine", "/models/iris/versions/9", "/models/wine/audit", "/models/wine/production"],
)
async def test_unknown_things_are_404(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_the_audit_trail_and_production_at_a_time(client: httpx.AsyncClient) -> None:
    entries = await audit(client)
    assert [(e.kind, e.version) for e in entries] == [
        ("registered", 1),
        ("promoted", 1),
        ("registered", 2),
        ("promoted", 2),
        ("registered", 3),
        ("rejected", 3),
    ]
    first, second = entries[1], entries[3]
    tick = timedelta(microseconds=1)
    assert await production(client, at=(first.at - tick).isoformat()) is None
    assert await production(client, at=first.at.isoformat()) == 1
    assert await production(client, at=(second.at - tick).isoformat()) == 1
    assert await production(client, at=second.at.isoformat()) == 2
    assert await production(client) == 2
    # Without an offset the time is taken as UTC.
    naive = second.at.replace(tzinfo=None).isoformat()
    assert await production(client, at=naive) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},  # no scheme
        {"Authorization": f"Bearer {'z' * 43}"},  # long enough, but no actor's
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
    ],
)
@pytest.mark.parametrize(
    ("path", "body"),
    [("promote", {"version": 1, "reason": "x"}), ("rollback", {"reason": "x"})],
)
async def test_writes_need_the_bearer_token(
    client: httpx.AsyncClient,
    service: Service,
    headers: dict[str, str],
    path: str,
    body: dict[str, object],
) -> None:
    before = len(service.emitted())
    response = await client.post(f"/models/iris/{path}", json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert len(service.emitted()) == before
    assert await production(client) == 2


async def test_manual_promotion(client: httpx.AsyncClient, service: Service) -> None:
    response = await client.post(
        "/models/iris/promote",
        json={"version": 3, "reason": "better on recent data", "actor": "alice"},
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    event = service.emitted()[-1]
    assert isinstance(event, ModelPromoted)
    assert ModelPromoted.model_validate(response.json()) == event
    assert (event.kind, event.actor, event.model.version, event.previous_version) == (
        "manual",
        "alice",
        3,
        2,
    )
    assert event.reasons[0].message == "better on recent data"
    assert await production(client) == 3
    last = (await audit(client))[-1]
    assert (last.kind, last.actor, last.event_id) == ("manual_promote", "alice", event.event_id)
    assert last.alias_move is not None
    assert (last.alias_move.from_version, last.alias_move.to_version) == (2, 3)


async def test_promotion_refusals(client: httpx.AsyncClient, service: Service) -> None:
    before = len(service.emitted())
    current = await client.post(
        "/models/iris/promote", json={"version": 2, "reason": "x"}, headers=AUTH
    )
    assert current.status_code == 409
    missing = await client.post(
        "/models/iris/promote", json={"version": 9, "reason": "x"}, headers=AUTH
    )
    assert missing.status_code == 404
    unknown = await client.post(
        "/models/wine/promote", json={"version": 1, "reason": "x"}, headers=AUTH
    )
    assert unknown.status_code == 404
    invalid = await client.post(
        "/models/iris/promote", json={"version": 0, "reason": ""}, headers=AUTH
    )
    assert invalid.status_code == 422
    assert len(service.emitted()) == before


async def test_rollback_to_the_previous_then_to_a_given_version(
    client: httpx.AsyncClient, service: Service
) -> None:
    response = await client.post(
        "/models/iris/rollback", json={"reason": "v2 misbehaves"}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    event = service.emitted()[-1]
    assert isinstance(event, ModelPromoted)
    assert (event.kind, event.actor, event.model.version, event.previous_version) == (
        "rollback",
        "alice",
        1,
        2,
    )
    assert await production(client) == 1

    again = await client.post(
        "/models/iris/rollback",
        json={"reason": "try 3", "to_version": 3, "actor": "bob"},
        headers=BOB,
    )
    assert again.status_code == 200
    assert await production(client) == 3
    same = await client.post(
        "/models/iris/rollback", json={"reason": "x", "to_version": 3}, headers=AUTH
    )
    assert same.status_code == 409
    assert [e.kind for e in await audit(client)][-2:] == ["rollback", "rollback"]


async def kafka_down(event: Event) -> None:
    raise ConnectionError("kafka is down")


async def test_a_move_that_cannot_be_announced_is_announced_by_the_same_request_again(
    client: httpx.AsyncClient, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded first (the sequence is claimed), then published. The move stands when Kafka
    is down; the request sent again with its Idempotency-Key announces it, and moves nothing."""
    key = {**AUTH, "Idempotency-Key": "rollback-1"}
    body = {"reason": "v2 misbehaves"}
    monkeypatch.setattr(service.sink, "publish", kafka_down)
    with pytest.raises(ConnectionError):
        await client.post("/models/iris/rollback", json=body, headers=key)
    assert await production(client) == 1
    recorded = (await audit(client))[-1]
    assert (recorded.kind, recorded.idempotency_key) == ("rollback", "rollback-1")

    monkeypatch.undo()  # Kafka is back
    retried = await client.post("/models/iris/rollback", json=body, headers=key)
    assert retried.status_code == 200, retried.text
    event = ModelPromoted.model_validate(retried.json())
    assert (event.event_id, event.sequence) == (recorded.event_id, recorded.seq)
    assert (event.model.version, event.previous_version) == (1, 2)
    assert await production(client) == 1, "the retry did not roll back a second time"
    assert (await audit(client))[-1] == recorded
    assert service.sink.events[-1] == event

    # The same key for another kind of request is refused rather than guessed at.
    other = await client.post(
        "/models/iris/promote", json={"version": 3, "reason": "x"}, headers=key
    )
    assert other.status_code == 409


@pytest.fixture
async def registry(client: httpx.AsyncClient, service: Service) -> AsyncIterator[RegistryClient]:
    """The shared client on the same app (``client`` has fed it the three versions)."""
    transport = httpx.ASGITransport(app=service.app)
    async with RegistryClient("http://registry", token=TOKEN, transport=transport) as typed:
        yield typed


async def test_the_shared_client_reads_what_the_routes_answer(
    client: httpx.AsyncClient, registry: RegistryClient
) -> None:
    """Same classes both sides: what the client parses dumps back to the very bytes."""
    paths = ["/models", "/models/iris", "/models/iris/versions/2", "/models/iris/production"]
    raw = [(await client.get(p)).content for p in paths]
    parsed = [
        await registry.models(),
        await registry.model("iris"),
        await registry.version("iris", 2),
        await registry.production("iris"),
    ]
    assert [TypeAdapter(type(p)).dump_json(p) for p in parsed] == raw
    assert await registry.aliases("iris") == {"production": 2}
    assert await registry.audit("iris") == await audit(client)
    assert await registry.model("wine") is None
    assert [(s.name, i and i.version) for s, i in await registry.models_with_production()] == [
        ("iris", 2)
    ]


async def test_the_shared_client_promotes_and_rolls_back(
    registry: RegistryClient, service: Service
) -> None:
    promoted = await registry.promote("iris", 3, reason="better", actor="alice", alias="production")
    assert promoted == service.emitted()[-1]
    rolled = await registry.rollback("iris", reason="v3 misbehaves")
    assert (rolled.kind, rolled.model.version, rolled.previous_version) == ("rollback", 2, 3)
    with pytest.raises(RegistryRefused) as refused:
        await registry.promote("iris", 2, reason="again", actor=None, alias="production")
    assert refused.value.response.status_code == 409


async def test_each_promotion_is_recorded_as_its_tokens_actor(
    client: httpx.AsyncClient, service: Service
) -> None:
    """Two actors: whoever holds the token is who the event and the audit name."""
    first = await client.post(
        "/models/iris/promote", json={"version": 3, "reason": "a"}, headers=AUTH
    )
    second = await client.post("/models/iris/rollback", json={"reason": "b"}, headers=BOB)
    assert (first.status_code, second.status_code) == (200, 200)
    events = [e for e in service.emitted() if isinstance(e, ModelPromoted)][-2:]
    assert [(e.kind, e.actor) for e in events] == [("manual", "alice"), ("rollback", "bob")]
    trail = [(e.kind, e.actor) for e in await audit(client)][-2:]
    assert trail == [("manual_promote", "alice"), ("rollback", "bob")]


@pytest.mark.parametrize("path", ["promote", "rollback"])
async def test_a_body_actor_that_is_not_the_tokens_is_refused(
    client: httpx.AsyncClient, service: Service, path: str
) -> None:
    before = len(service.emitted())
    body = {"version": 3, "reason": "x", "actor": "alice"}
    response = await client.post(f"/models/iris/{path}", json=body, headers=BOB)
    assert response.status_code == 403
    assert "'alice'" in response.json()["detail"] and "'bob'" in response.json()["detail"]
    assert len(service.emitted()) == before
    assert await production(client) == 2
