"""Declaration versions: numbered, idempotent on the event id, contract kept across updates."""

from __future__ import annotations

from datetime import UTC, datetime

from millrace_contracts import (
    DataArrived,
    DatasetDeclaration,
    DatasetDeclared,
    DatasetSpec,
    PromotionPolicy,
    first_of_flow,
)
from millrace_contracts.policies import ColumnSpec
from millrace_ingestion.core.declarations import DeclarationStore
from millrace_shared.objectstore import InMemoryObjectStore

SPEC = DatasetSpec(columns=[ColumnSpec(name="a", dtype="float")])
OTHER = DatasetSpec(columns=[ColumnSpec(name="b", dtype="int")])
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def declared(
    spec: DatasetSpec | None, dataset: str = "iris", **policies: object
) -> DatasetDeclared:
    declaration = DatasetDeclaration.model_validate({"dataset": dataset, "spec": spec, **policies})
    return DatasetDeclared(**first_of_flow(producer="test"), declaration=declaration)


def keys(store: InMemoryObjectStore) -> list[str]:
    return store.list_keys("millrace-state-ingestion", "ingestion/iris/declarations/")


def test_each_declaration_is_the_next_version(declarations: DeclarationStore) -> None:
    assert declarations.current("iris") is None
    first = declarations.record(declared(SPEC))
    second = declarations.record(declared(OTHER))
    assert (first.version, second.version) == (1, 2)
    current = declarations.current("iris")
    assert current is not None and current.spec == OTHER
    assert declarations.versions("iris") == [1, 2]


def test_records_live_under_the_dataset_in_the_state_bucket(
    declarations: DeclarationStore, store: InMemoryObjectStore
) -> None:
    declarations.record(declared(SPEC))
    assert keys(store) == ["ingestion/iris/declarations/1.json"]


def test_a_redelivered_declaration_is_not_a_new_version(
    declarations: DeclarationStore, store: InMemoryObjectStore
) -> None:
    event = declared(SPEC)
    first = declarations.record(event)
    again = declarations.record(event)
    assert again == first
    assert declarations.versions("iris") == [1]


def test_redelivery_after_a_crash_before_the_marker_is_not_a_new_version(
    declarations: DeclarationStore, store: InMemoryObjectStore
) -> None:
    event = declared(SPEC)
    declarations.record(event)
    store.delete(
        f"s3://millrace-state-ingestion/ingestion/iris/declaration-events/{event.event_id}.json"
    )
    assert declarations.record(event).version == 1
    assert declarations.versions("iris") == [1]


def test_an_older_redelivery_still_maps_to_its_own_version(declarations: DeclarationStore) -> None:
    first = declared(SPEC)
    declarations.record(first)
    declarations.record(declared(OTHER))
    assert declarations.record(first).version == 1
    assert declarations.versions("iris") == [1, 2]


def test_a_declaration_without_a_spec_keeps_the_contract_in_force(
    declarations: DeclarationStore,
) -> None:
    declarations.record(declared(SPEC))
    policy = PromotionPolicy(primary_metric="accuracy")
    update = declarations.record(declared(None, promotion=policy))
    assert update.version == 2
    assert update.spec == SPEC
    assert update.spec_source == "inherited"
    assert update.declaration.promotion == policy


def test_a_first_declaration_without_a_spec_waits_for_inference(
    declarations: DeclarationStore,
) -> None:
    record = declarations.record(declared(None))
    assert record.spec is None
    assert record.spec_source is None


def test_an_inferred_contract_becomes_version_one_of_an_undeclared_dataset(
    declarations: DeclarationStore,
) -> None:
    arrival = DataArrived(
        **first_of_flow(producer="test"), dataset="iris", uri="s3://millrace-landing/iris/a.csv"
    )
    record = declarations.adopt_inferred("iris", SPEC, cause=arrival.event_id, at=NOW)
    assert (record.version, record.spec, record.spec_source) == (1, SPEC, "inferred")
    assert declarations.current("iris") == record


def test_an_inferred_contract_fills_the_current_declaration(
    declarations: DeclarationStore,
) -> None:
    policy = PromotionPolicy(primary_metric="accuracy")
    declarations.record(declared(None, promotion=policy))
    record = declarations.adopt_inferred("iris", SPEC, cause=declared(None).event_id, at=NOW)
    assert (record.version, record.spec, record.spec_source) == (1, SPEC, "inferred")
    assert record.declaration.promotion == policy
    assert declarations.versions("iris") == [1]


def test_an_inferred_contract_never_replaces_a_declared_one(
    declarations: DeclarationStore,
) -> None:
    declarations.record(declared(SPEC))
    record = declarations.adopt_inferred("iris", OTHER, cause=declared(None).event_id, at=NOW)
    assert record.spec == SPEC


def test_datasets_lists_every_declared_name(declarations: DeclarationStore) -> None:
    declarations.record(declared(SPEC, dataset="wine"))
    declarations.record(declared(SPEC, dataset="iris"))
    declarations.record(declared(OTHER, dataset="iris"))
    assert declarations.datasets() == ["iris", "wine"]
