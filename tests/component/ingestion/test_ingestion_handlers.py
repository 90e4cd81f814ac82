"""The Kafka handlers through FastStream's in-memory broker, and the REST API over their state."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from faststream.kafka import KafkaBroker
from millrace_contracts import (
    DataArrived,
    DatasetDeclaration,
    DatasetDeclared,
    DatasetRejected,
    DatasetSpec,
    DatasetValidated,
    Event,
    first_of_flow,
)
from millrace_contracts.policies import ColumnSpec
from millrace_ingestion.core.pipeline import Ingestion
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime

SPEC = DatasetSpec(
    columns=[
        ColumnSpec(name="sepal_length", dtype="float", min=0),
        ColumnSpec(name="species", dtype="category", allowed=["setosa", "virginica"]),
    ],
    target="species",
)
GOOD = "sepal_length,species\n5.1,setosa\n6.3,virginica\n"
BAD = "sepal_length,species\n-1,setosa\nx,dragon\n"


async def send(broker: KafkaBroker, event: Event) -> None:
    await broker.publish(
        event.model_dump(mode="json"), topic=event.topic(), key=event.partition_key.encode()
    )


def declared(spec: DatasetSpec | None = SPEC) -> DatasetDeclared:
    return DatasetDeclared(
        **first_of_flow(producer="cli"), declaration=DatasetDeclaration(dataset="iris", spec=spec)
    )


def arrival(store: InMemoryObjectStore, key: str, csv: str) -> DataArrived:
    uri = f"s3://millrace-landing/iris/{key}"
    store.put_foreign(uri, csv.encode())
    return DataArrived(**first_of_flow(producer="cli"), dataset="iris", uri=uri)


async def test_declared_dataset_and_good_csv_give_dataset_validated(
    broker: KafkaBroker, store: InMemoryObjectStore, sink: RecordingEventSink
) -> None:
    await send(broker, declared())
    arrived = arrival(store, "a.csv", GOOD)
    await send(broker, arrived)
    [event] = sink.events
    assert isinstance(event, DatasetValidated)
    assert (event.causation_id, event.spec, event.spec_version) == (arrived.event_id, SPEC, 1)
    assert event.new_version
    assert store.exists(event.data.uri) and store.exists(event.profile.uri)


async def test_bad_csv_gives_dataset_rejected_with_codes(
    broker: KafkaBroker, store: InMemoryObjectStore, sink: RecordingEventSink
) -> None:
    await send(broker, declared())
    await send(broker, arrival(store, "bad.csv", BAD))
    [event] = sink.events
    assert isinstance(event, DatasetRejected)
    assert sorted(r.code for r in event.reasons) == [
        "out_of_range",
        "unseen_category",
        "wrong_type",
    ]


async def test_duplicate_arrival_is_validated_again_as_the_same_version_not_new(
    broker: KafkaBroker, store: InMemoryObjectStore, sink: RecordingEventSink
) -> None:
    await send(broker, declared())
    await send(broker, arrival(store, "a.csv", GOOD))
    await send(broker, arrival(store, "copy.csv", GOOD))
    first, second = sink.of_type(DatasetValidated)
    assert second.dataset_version == first.dataset_version
    assert (first.new_version, second.new_version) == (True, False)


async def test_a_redelivered_declaration_stays_one_version(
    broker: KafkaBroker, runtime: ServiceRuntime, routers: list[APIRouter]
) -> None:
    event = declared()
    await send(broker, event)
    await send(broker, event)
    await send(broker, declared(None))
    client = TestClient(_app(routers))
    body = client.get("/datasets/iris").json()
    assert body["declaration_version"] == 2
    assert body["spec_source"] == "inherited"
    assert DatasetSpec.model_validate(body["spec"]) == SPEC


async def test_an_undecodable_message_is_dead_lettered_and_the_consumer_goes_on(
    broker: KafkaBroker,
    runtime: ServiceRuntime,
    store: InMemoryObjectStore,
    sink: RecordingEventSink,
) -> None:
    await broker.publish({"dataset": "iris"}, topic=DataArrived.topic())
    assert runtime.dead_letters.dead_lettered == 1
    await send(broker, arrival(store, "a.csv", GOOD))
    assert len(sink.of_type(DatasetValidated)) == 1


async def test_rest_api_lists_datasets_declarations_and_versions(
    broker: KafkaBroker,
    store: InMemoryObjectStore,
    sink: RecordingEventSink,
    routers: list[APIRouter],
) -> None:
    client = TestClient(_app(routers))
    assert client.get("/datasets").json() == []
    assert client.get("/datasets/iris").status_code == 404
    assert client.get("/datasets/iris/versions").status_code == 404

    declaration = declared()
    await send(broker, declaration)
    assert client.get("/datasets").json() == ["iris"]
    body = client.get("/datasets/iris").json()
    assert body["event_id"] == str(declaration.event_id)
    assert (body["dataset"], body["declaration_version"], body["spec_source"]) == (
        "iris",
        1,
        "declared",
    )
    assert client.get("/datasets/iris/versions").json() == []

    arrived = arrival(store, "a.csv", GOOD).model_copy(update={"submitted_by": "data-team-a"})
    await send(broker, arrived)
    [event] = sink.of_type(DatasetValidated)
    [version] = client.get("/datasets/iris/versions").json()
    assert (version["version"], version["rows"], version["spec_version"]) == (
        event.dataset_version,
        2,
        1,
    )
    assert version["created_at"]
    assert version["data"]["uri"] == event.data.uri
    # The lineage of a version: who submitted it, the flow, what it passed.
    one = client.get(f"/datasets/iris/versions/{event.dataset_version}").json()
    assert one == version
    assert one["submitted_by"] == "data-team-a"
    assert one["created_by"] == str(arrived.event_id)
    report = one["validation"]
    assert report["passed"] and report["spec_version"] == 1 and report["rows_read"] == 2
    assert [c["name"] for c in report["columns"]] == [c.name for c in event.columns]
    assert client.get(f"/datasets/iris/versions/{'0' * 64}").status_code == 404
    assert client.get("/datasets/iris/versions/not-a-sha").status_code == 422


def _app(routers: list[APIRouter]) -> FastAPI:
    app = FastAPI()
    for router in routers:
        app.include_router(router)
    return app


async def test_an_oversize_outcome_is_dead_lettered_once_not_retried(
    broker: KafkaBroker,
    runtime: ServiceRuntime,
    store: InMemoryObjectStore,
    sink: RecordingEventSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Whatever slips past ingestion's own cutting, the sink refuses it, and the arrival is a
    # poison message: no re-reading and re-validating the file on every retry.
    calls: list[DataArrived] = []
    ingest = Ingestion.ingest

    def counting(self: Ingestion, arrived: DataArrived) -> DatasetValidated | DatasetRejected:
        calls.append(arrived)
        return ingest(self, arrived)

    monkeypatch.setattr(Ingestion, "ingest", counting)
    runtime.dead_letters.max_attempts = 3
    sink.max_event_bytes = 1024
    await send(broker, declared())
    await send(broker, arrival(store, "bad.csv", BAD))
    assert len(calls) == 1
    assert runtime.dead_letters.dead_lettered == 1
    assert sink.events == []
    sink.max_event_bytes = 1_000_000
    await send(broker, arrival(store, "a.csv", GOOD))
    assert len(sink.of_type(DatasetValidated)) == 1


async def test_rejected_arrivals_are_kept_per_dataset_and_listed_newest_first(
    broker: KafkaBroker,
    store: InMemoryObjectStore,
    sink: RecordingEventSink,
    routers: list[APIRouter],
) -> None:
    client = TestClient(_app(routers))
    assert client.get("/datasets/iris/rejections").status_code == 404  # unknown dataset
    await send(broker, declared())
    assert client.get("/datasets/iris/rejections").json() == []

    first = arrival(store, "bad.csv", BAD).model_copy(update={"submitted_by": "data-team-a"})
    await send(broker, first)
    await send(broker, first)  # redelivered: still one record
    second = arrival(store, "empty.csv", "sepal_length,species\n")
    await send(broker, second)
    await send(broker, arrival(store, "a.csv", GOOD))  # accepted: not listed

    newest, oldest = client.get("/datasets/iris/rejections").json()
    assert newest["arrival_id"] == str(second.event_id)
    assert oldest["arrival_id"] == str(first.event_id)
    assert oldest["source_uri"] == first.uri and oldest["submitted_by"] == "data-team-a"
    assert sorted(r["code"] for r in oldest["reasons"]) == [
        "out_of_range",
        "unseen_category",
        "wrong_type",
    ]
    [event, *_] = sink.of_type(DatasetRejected)
    assert oldest["rejection_event_id"] == str(event.event_id)
    assert oldest["arrived_at"] and oldest["rejected_at"]
    assert newest["submitted_by"] is None and newest["reasons"]
    spec = client.app.openapi()  # type: ignore[attr-defined]
    assert "RejectionView" in spec["components"]["schemas"]
