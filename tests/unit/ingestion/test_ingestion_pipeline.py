"""The use case end to end over in-memory fakes: arrival in, validated or rejected out."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import pandas as pd
import pytest
from millrace_contracts import (
    DataArrived,
    DatasetDeclared,
    DatasetProfile,
    DatasetRejected,
    DatasetSpec,
    DatasetValidated,
    EstimatorSpec,
    TrainingSpec,
    first_of_flow,
    landed_arrival_id,
)
from millrace_contracts.policies import ColumnSpec
from millrace_ingestion.core.declarations import DeclarationStore
from millrace_ingestion.core.pipeline import Ingestion
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.telemetry import Attr
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

Land = Callable[..., DataArrived]
Declare = Callable[..., DatasetDeclared]

SPEC = DatasetSpec(
    columns=[
        ColumnSpec(name="sepal_length", dtype="float", min=0, max=10),
        ColumnSpec(name="species", dtype="category", allowed=["setosa", "virginica"]),
    ],
    target="species",
    min_rows=2,
)
TRAINING = TrainingSpec(
    task="classification", target="species", estimator=EstimatorSpec(name="random_forest")
)
GOOD = "sepal_length,species\n5.1,setosa\n6.3,virginica\n4.9,setosa\n"
BAD = "sepal_length,species,extra\n5.1,setosa,1\n-3,dragon,2\nabc,setosa,3\n"


def validated(outcome: DatasetValidated | DatasetRejected) -> DatasetValidated:
    assert isinstance(outcome, DatasetValidated), outcome
    return outcome


def rejected(outcome: DatasetValidated | DatasetRejected) -> DatasetRejected:
    assert isinstance(outcome, DatasetRejected), outcome
    return outcome


def test_declared_dataset_and_good_csv_is_validated_and_stored(
    ingestion: Ingestion, store: InMemoryObjectStore, land: Land, declare: Declare
) -> None:
    declare(SPEC, training=TRAINING)
    arrived = land("a.csv", GOOD)
    event = validated(ingestion.ingest(arrived))

    assert (event.dataset, event.rows, event.spec, event.spec_version) == ("iris", 3, SPEC, 1)
    assert event.new_version
    assert event.training == TRAINING
    assert (event.causation_id, event.correlation_id) == (arrived.event_id, arrived.event_id)
    assert event.source_uri == arrived.uri
    prefix = f"s3://millrace-datasets/iris/versions/{event.dataset_version}/"
    assert event.data.uri == prefix + "data.parquet"
    assert event.profile.uri == prefix + "profile.json"
    assert event.data.sha256 == event.dataset_version
    signature = {c.name: c for c in event.columns}
    assert signature["sepal_length"].kind == "numeric"
    assert signature["species"].categories == ["setosa", "virginica"]

    stored = pd.read_parquet(io.BytesIO(store.get_bytes(event.data.uri, sha256=event.data.sha256)))
    assert stored["sepal_length"].tolist() == [5.1, 6.3, 4.9]
    profile = DatasetProfile.model_validate_json(store.get_bytes(event.profile.uri))
    assert (profile.dataset_version, profile.rows) == (event.dataset_version, 3)
    assert profile.column("species").categorical is not None  # the target is profiled too


def test_bad_csv_is_rejected_with_every_problem_and_nothing_is_stored(
    ingestion: Ingestion, store: InMemoryObjectStore, land: Land, declare: Declare
) -> None:
    declare(SPEC)
    arrived = land("bad.csv", BAD)
    event = rejected(ingestion.ingest(arrived))
    assert sorted(r.code for r in event.reasons) == [
        "out_of_range",
        "unexpected_column",
        "unseen_category",
        "wrong_type",
    ]
    assert event.causation_id == arrived.event_id
    assert store.list_keys("millrace-datasets") == []
    assert store.list_keys("millrace-state-ingestion", "ingestion/iris/versions/") == []


@pytest.mark.parametrize(
    ("key", "data", "extra", "code"),
    [
        ("a.json", "{}", {}, "unsupported_format"),
        ("a.csv", "a\n" + "1\n" * 600_000, {}, "too_large"),
        ("a.csv", GOOD, {"sha256": "0" * 64}, "checksum_mismatch"),
        ("a.parquet", b"not parquet", {}, "unreadable"),
        ("a.csv", "sepal_length,species\n", {}, "empty"),
        ("a.csv", GOOD.splitlines()[0] + "\n5.1,setosa\n", {}, "too_few_rows"),
    ],
)
def test_unusable_files_are_rejected_with_their_code(
    ingestion: Ingestion,
    land: Land,
    declare: Declare,
    key: str,
    data: str | bytes,
    extra: dict[str, str],
    code: str,
) -> None:
    declare(SPEC)
    event = rejected(ingestion.ingest(land(key, data, **extra)))
    assert [r.code for r in event.reasons] == [code]


def test_a_missing_file_is_rejected_as_not_found(ingestion: Ingestion) -> None:
    arrived = DataArrived(
        **first_of_flow(producer="test"), dataset="iris", uri="s3://millrace-landing/iris/gone.csv"
    )
    assert [r.code for r in rejected(ingestion.ingest(arrived)).reasons] == ["not_found"]


def test_undeclared_dataset_infers_its_contract_then_rejects_arrivals_that_break_it(
    ingestion: Ingestion, declarations: DeclarationStore, land: Land
) -> None:
    first = validated(ingestion.ingest(land("1.csv", "n,x,name\n1,0.5,a\n2,,b\n")))
    record = declarations.current("iris")
    assert record is not None
    assert (record.version, record.spec_source, first.spec_version) == (1, "inferred", 1)
    assert record.spec == first.spec
    assert record.spec is not None
    assert [(c.name, c.dtype, c.nullable) for c in record.spec.columns] == [
        ("n", "int", False),
        ("name", "string", False),
        ("x", "float", True),
    ]
    # New values of the same shape are fine: no ranges or categories were inferred.
    validated(ingestion.ingest(land("2.csv", "n,x,name\n300,-9.5,zz\n")))
    broken = rejected(ingestion.ingest(land("3.csv", "n,x,other\n1.5,0.1,q\n,0.2,r\n")))
    assert sorted(r.code for r in broken.reasons) == [
        "missing_column",
        "null_rate_exceeded",
        "unexpected_column",
        "wrong_type",
    ]


def test_inference_keeps_the_declared_training_target(
    ingestion: Ingestion, land: Land, declare: Declare
) -> None:
    declare(None, training=TRAINING)
    event = rejected(ingestion.ingest(land("a.csv", "sepal_length\n5.1\n")))
    assert [r.code for r in event.reasons] == ["missing_target"]
    accepted = validated(ingestion.ingest(land("b.csv", GOOD)))
    assert accepted.spec.target == "species"
    assert accepted.training == TRAINING


def test_same_content_again_is_the_same_version_and_not_new(
    ingestion: Ingestion, store: InMemoryObjectStore, land: Land, declare: Declare
) -> None:
    declare(SPEC)
    first = validated(ingestion.ingest(land("a.csv", GOOD)))
    reformatted = GOOD.replace("\n", "\r\n").replace("setosa", '"setosa"')
    second = validated(ingestion.ingest(land("b.csv", reformatted)))
    assert second.dataset_version == first.dataset_version
    assert not second.new_version
    assert (second.data, second.profile) == (first.data, first.profile)
    assert len(store.list_keys("millrace-state-ingestion", "ingestion/iris/versions/")) == 1


def test_a_file_announced_by_the_cli_and_the_watcher_is_one_arrival(
    ingestion: Ingestion, store: InMemoryObjectStore, land: Land, declare: Declare
) -> None:
    """``millrace publish`` announces its upload with its digest, the landing watcher the
    same object without one; both under the object's id (bucket, key, ETag): one version,
    one flow, the same outcome whichever comes first."""
    declare(SPEC)
    landed = land("a.csv", GOOD)
    bucket, key = landed.uri.removeprefix("s3://").split("/", 1)
    by_cli = DataArrived(
        **first_of_flow(producer="cli", event_id=landed_arrival_id(bucket, key, '"e1"')),
        dataset="iris",
        uri=landed.uri,
        sha256=hashlib.sha256(GOOD.encode()).hexdigest(),
    )
    by_watcher = DataArrived(
        **first_of_flow(producer="watcher", event_id=landed_arrival_id(bucket, key, "e1")),
        dataset="iris",
        uri=landed.uri,
        submitted_by="landing-watcher",
    )
    first = validated(ingestion.ingest(by_cli))
    second = validated(ingestion.ingest(by_watcher))
    assert by_cli.event_id == by_watcher.event_id
    assert second.event_id == first.event_id
    assert second.new_version and second.dataset_version == first.dataset_version
    assert len(store.list_keys("millrace-state-ingestion", "ingestion/iris/versions/")) == 1


def test_a_redelivered_arrival_gives_the_identical_event(
    ingestion: Ingestion, land: Land, declare: Declare
) -> None:
    declare(SPEC)
    arrived = land("a.csv", GOOD)
    first = validated(ingestion.ingest(arrived))
    again = validated(ingestion.ingest(arrived))
    assert again.event_id == first.event_id
    assert again.new_version
    assert again.model_dump(exclude={"occurred_at"}) == first.model_dump(exclude={"occurred_at"})


def test_a_new_declaration_is_the_spec_version_of_later_arrivals(
    ingestion: Ingestion, land: Land, declare: Declare
) -> None:
    declare(SPEC)
    declare(None, training=TRAINING)
    event = validated(ingestion.ingest(land("a.csv", GOOD)))
    assert (event.spec_version, event.spec, event.training) == (2, SPEC, TRAINING)


def test_spans_cover_read_validate_canonicalize_profile_store(
    ingestion: Ingestion, land: Land, declare: Declare, spans: InMemorySpanExporter
) -> None:
    declare(SPEC)
    with TracerProvider().get_tracer("handler").start_as_current_span("handler") as handler:
        event = validated(ingestion.ingest(land("a.csv", GOOD)))
    by_name = {s.name: s for s in spans.get_finished_spans()}
    assert set(by_name) == {"read", "validate", "canonicalize", "profile", "store"}
    for name in ("read", "validate", "canonicalize", "profile", "store"):
        assert (by_name[name].attributes or {})[Attr.DATASET] == "iris"
    assert (by_name["read"].attributes or {})[Attr.ROWS] == 3
    for name in ("canonicalize", "store"):
        assert (by_name[name].attributes or {})[Attr.DATASET_VERSION] == event.dataset_version
    # Canonicalize runs in another thread: still a child of the handler's span.
    for span in by_name.values():
        assert span.parent is not None
        assert span.parent.span_id == handler.get_span_context().span_id
    assert (by_name["validate"].attributes or {})[Attr.REASON_CODES] == ()


def test_a_rejection_names_its_codes_on_the_validate_span(
    ingestion: Ingestion, land: Land, declare: Declare, spans: InMemorySpanExporter
) -> None:
    declare(SPEC)
    rejected(ingestion.ingest(land("bad.csv", BAD)))
    validate_span = next(s for s in spans.get_finished_spans() if s.name == "validate")
    codes = (validate_span.attributes or {})[Attr.REASON_CODES]
    assert isinstance(codes, tuple)
    assert set(codes) == {"unexpected_column", "wrong_type", "out_of_range", "unseen_category"}
