"""``resolve_lineage``: every link followed over the services' REST APIs, and each gap named."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from millrace_contracts import ModelVersionInfo, Reason
from millrace_shared.lineage import LineageSources, resolve_lineage
from millrace_shared.registry.client import RegistryClient
from millrace_shared.registry.models import (
    AliasMove,
    AuditEntry,
    Decision,
    Lineage,
    VersionDetail,
)

SHA = "d" * 64
AT = datetime(2026, 12, 7, 10, tzinfo=UTC)
FLOW = uuid.UUID(int=7)
PID = "0123456789abcdef0123000000000005"
TRACE = "a" * 32
SOURCES = LineageSources(
    monitoring_url="http://monitoring",
    registry_url="http://registry",
    training_url="http://training",
    ingestion_url="http://ingestion",
    zipkin_url="http://zipkin",
)


def ref(name: str) -> dict[str, Any]:
    return {"uri": f"s3://millrace-models/iris/{name}", "sha256": SHA, "size_bytes": 1}


INFO = ModelVersionInfo.model_validate(
    {
        "model_name": "iris",
        "version": 2,
        "run_id": "run2",
        "dataset": "iris",
        "dataset_version": SHA,
        "task": "classification",
        "artifact": ref("model.skops"),
        "model_card": ref("card.json"),
        "reference_profile": ref("profile.json"),
        "signature": [{"name": "x", "kind": "numeric", "dtype": "float"}],
        "metrics": {"values": {"accuracy": 0.97}, "holdout_id": "h1", "holdout_rows": 30},
    }
)
IMPROVED = Reason(code="improved", message="0.97 beats 0.90 on the same holdout")
VERSION = VersionDetail(
    info=INFO,
    registered_at=AT,
    lineage=Lineage(
        dataset="iris",
        dataset_version=SHA,
        run_id="run2",
        trained_event_id=uuid.uuid4(),
        correlation_id=FLOW,
        estimator="random_forest",
        params={"n_estimators": 50},
        target="species",
        trigger="data",
        training_seconds=1.5,
    ),
    champion_version=1,
    champion_metrics=None,
    decision=Decision(
        promote=True,
        reasons=[IMPROVED],
        event_id=uuid.uuid4(),
        decided_at=AT,
        production_version=1,
        compared_with=1,
        primary_metric="accuracy",
        policy=None,
    ),
    aliases=["production"],
)


def audit() -> list[AuditEntry]:
    def move(seq: int, to: int, at: datetime, actor: str, kind: Any) -> AuditEntry:
        return AuditEntry(
            seq=seq,
            at=at,
            kind=kind,
            actor=actor,
            version=to,
            reasons=[IMPROVED],
            alias_move=AliasMove(alias="production", from_version=to - 1 or None, to_version=to),
        )

    return [
        move(1, 1, AT - timedelta(hours=2), "registry", "promoted"),
        move(2, 2, AT - timedelta(hours=1), "registry", "promoted"),
        move(3, 1, AT + timedelta(minutes=5), "alice", "rollback"),
        # Production back on 2 after the prediction: not the move it was served under.
        move(4, 2, AT + timedelta(minutes=10), "bob", "manual_promote"),
    ]


PREDICTION = {
    "prediction_id": PID,
    "model_name": "iris",
    "model_version": 2,
    "replica_id": "deployment-a",
    "features": {"x": 1.5},
    "output": "setosa",
    "timestamp": AT.isoformat(),
    "event_id": str(uuid.uuid4()),
    "correlation_id": str(uuid.uuid4()),
    "trace_id": None,
}
RUN = {
    "trained": {
        "run_id": "run2",
        "trigger": "data",
        "estimator": "random_forest",
        "params": {"n_estimators": 50},
        "leaderboard": [{"estimator": "random_forest", "params": {}, "score": 0.97}],
        "training_seconds": 1.5,
        "occurred_at": AT.isoformat(),
    },
    "card": {
        "training_spec": {"task": "classification", "target": "species"},
        "automl": {"planned": 4, "tried": 3, "stopped_by": "time_budget"},
        "holdout": {"id": "h1", "rows": 30, "fraction": 0.2, "stratified": True},
        "code_version": {"package": "millrace-training", "version": "0.1.0", "git": "abc"},
        "libraries": {"scikit-learn": "1.6"},
    },
}
DATASET = {
    "version": SHA,
    "rows": 150,
    "created_at": AT.isoformat(),
    "spec_version": 1,
    "source_uri": "s3://millrace-landing/iris/a.csv",
    "data": ref("data.parquet"),
    "profile": ref("profile.json"),
    "created_by": str(FLOW),
    "submitted_by": "data-team",
    "validation": {"passed": True, "spec_version": 1, "columns": []},
}


def services(overrides: dict[str, tuple[int, Any]] | None = None) -> httpx.MockTransport:
    routes: dict[str, tuple[int, Any]] = {
        f"monitoring/predictions/{PID}": (200, PREDICTION),
        "registry/models/iris/versions/2": (200, VERSION.model_dump(mode="json")),
        "registry/models/iris/audit": (200, [e.model_dump(mode="json") for e in audit()]),
        "training/runs/iris/run/run2": (200, RUN),
        f"ingestion/datasets/iris/versions/{SHA}": (200, DATASET),
        "zipkin/api/v2/traces": (
            200,
            [[{"traceId": "b" * 32, "timestamp": 20}], [{"traceId": TRACE, "timestamp": 10}]],
        ),
        **(overrides or {}),
    }
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = routes.get(f"{request.url.host}{request.url.path}", (404, {}))
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


async def resolved(transport: httpx.MockTransport, sources: LineageSources = SOURCES) -> Any:
    async with (
        httpx.AsyncClient(transport=transport) as http,
        RegistryClient(sources.registry_url, transport=transport) as registry,
    ):
        return await resolve_lineage(PID, sources, http=http, registry=registry)


async def test_every_link_resolves_from_the_prediction_to_its_flow_trace() -> None:
    found = await resolved(services())
    assert found.complete, found.unresolved
    assert found.prediction.replica_id == "deployment-a" and found.prediction.output == "setosa"
    assert (found.model_version.version, found.model_version.run_id) == (2, "run2")
    assert found.training_run.code_version["git"] == "abc"
    assert found.training_run.automl["tried"] == 3 and len(found.training_run.leaderboard) == 1
    assert found.training_run.holdout["id"] == "h1"
    assert found.dataset.version == SHA and found.dataset.submitted_by == "data-team"
    assert found.dataset.source_uri.endswith("a.csv") and found.dataset.validation["passed"]
    # The move production was under when it was served: seq 2, not the later ones.
    assert (found.promotion.actor, found.promotion.kind) == ("registry", "promoted")
    assert found.promotion.reasons == [IMPROVED]
    # The flow's own trace first: the earliest, not a later trace carrying its correlation id.
    assert found.trace.correlation_id == FLOW and found.trace.trace_ids == [TRACE, "b" * 32]
    assert found.trace.url == f"http://zipkin/zipkin/traces/{TRACE}"


async def test_an_unknown_prediction_names_the_gap_and_follows_nothing_else() -> None:
    found = await resolved(services({f"monitoring/predictions/{PID}": (404, {})}))
    assert found.prediction is None
    assert [g.link for g in found.unresolved] == [
        "prediction",
        "model_version",
        "training_run",
        "dataset",
        "promotion",
        "trace",
    ]
    assert "not in monitoring's archive" in found.unresolved[0].reason


async def test_one_missing_link_leaves_the_others_resolved() -> None:
    found = await resolved(
        services({f"ingestion/datasets/iris/versions/{SHA}": (404, {})}),
        LineageSources(**{**SOURCES.__dict__, "zipkin_url": None}),
    )
    assert [g.link for g in found.unresolved] == ["dataset", "trace"]
    assert "no version" in found.unresolved[0].reason
    assert str(FLOW) in found.unresolved[1].reason  # the correlation id to look it up by hand
    assert found.training_run is not None and found.promotion is not None


async def test_an_unreachable_service_is_a_gap_not_a_crash() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    found = await resolved(httpx.MockTransport(refuse))
    assert found.unresolved[0].link == "prediction"
    assert "not reachable" in found.unresolved[0].reason and found.unresolved[0].unreachable
