"""The prediction use case with a model trained by training's code."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from deployment_unit_data import frame, rows_of, store_version
from millrace_contracts import FeatureSignature
from millrace_deployment.core.logbuffer import PredictionLogBuffer
from millrace_deployment.core.predicting import Predictor, TooManyRows, is_batch
from millrace_deployment.core.served import ServedModel, serve
from millrace_deployment.core.validation import Code, InvalidInput
from millrace_shared.objectstore import InMemoryObjectStore
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

Trained = tuple[Any, list[FeatureSignature]]


@pytest.fixture
def model(store: InMemoryObjectStore, trained: Trained) -> ServedModel:
    pipeline, signature = trained
    return serve(store_version(store, pipeline, signature), pipeline, datetime.now(UTC), 0.1)


def make(buffer: PredictionLogBuffer) -> tuple[Predictor, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Predictor(buffer, provider.get_tracer("t"), "r1", max_batch_rows=5), exporter


def test_one_row_gives_label_probabilities_and_an_id_and_is_logged(
    model: ServedModel, trained: Trained
) -> None:
    buffer = PredictionLogBuffer(capacity=10, batch_size=5)
    predict, exporter = make(buffer)
    [row] = rows_of(frame(), 1)
    body = predict.one(model, row)
    assert body["model"] == "churn" and body["version"] == 1
    assert len(body["prediction_id"]) == 32 and body["prediction"] in ("yes", "no")
    assert set(body["probabilities"]) == {"no", "yes"}
    assert body["prediction"] == max(body["probabilities"], key=body["probabilities"].get)
    assert body["prediction"] == trained[0].predict(model.build_input([row]))[0]
    [logged] = buffer.drain(10)
    assert (logged.prediction_id, logged.features, logged.output) == (
        body["prediction_id"],
        row,
        body["prediction"],
    )
    assert exporter.get_finished_spans() == ()  # no span per single-row request


async def test_a_batch_predicts_every_row_under_one_span(model: ServedModel) -> None:
    buffer = PredictionLogBuffer(capacity=10, batch_size=5)
    predict, exporter = make(buffer)
    rows = rows_of(frame(), 4)
    body = await predict.batch(model, rows)
    ids = [p["prediction_id"] for p in body["predictions"]]
    assert len(set(ids)) == 4 and body["version"] == 1
    assert [e.prediction_id for e in buffer.drain(10)] == ids
    [span] = exporter.get_finished_spans()
    assert span.name == "predict_batch" and span.attributes is not None
    assert span.attributes["millrace.batch.size"] == 4
    assert span.attributes["millrace.model"] == "churn"


async def test_batch_limits_and_errors(model: ServedModel) -> None:
    predict, _ = make(PredictionLogBuffer(capacity=10, batch_size=5))
    with pytest.raises(TooManyRows):
        await predict.batch(model, rows_of(frame(), 6))
    with pytest.raises(InvalidInput) as raised:
        await predict.batch(model, [])
    assert raised.value.errors[0].code == Code.EMPTY_BATCH
    rows = rows_of(frame(), 3)
    rows[1]["x1"] = "oops"
    with pytest.raises(InvalidInput) as raised:
        await predict.batch(model, rows)
    assert [(e.row, e.field) for e in raised.value.errors] == [(1, "x1")]


def test_what_counts_as_a_batch() -> None:
    assert is_batch({"rows": []})
    assert not is_batch({"rows": 3}) and not is_batch({"rows": [], "x": 1}) and not is_batch([])


def test_prediction_ids_are_unique_hex_like_a_uuid_and_differ_between_processes() -> None:
    from millrace_deployment.core.predicting import prediction_ids

    first, second = prediction_ids(), prediction_ids()
    ids = [first() for _ in range(1000)] + [second() for _ in range(1000)]
    # A batch's ids at once, between single ones: none taken twice.
    ids += [*first.many(500), first(), *first.many(1), *first.many(0), first()]
    assert len(set(ids)) == len(ids) == 2503
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


class _Refusing:
    """A model that refuses what it is given, as scikit-learn refuses a transform gone
    infinite: ``ValueError``."""

    def predict(self, x: Any) -> Any:
        raise ValueError("Input X contains infinity")

    predict_proba = predict


async def test_a_row_the_model_refuses_is_an_input_error_not_a_crash(model: ServedModel) -> None:
    refusing = dataclasses.replace(model, model=_Refusing(), compiled=None)
    predict, _ = make(PredictionLogBuffer(capacity=10, batch_size=5))
    rows = rows_of(frame(), 2)
    with pytest.raises(InvalidInput) as one:
        predict.one(refusing, rows[0])
    with pytest.raises(InvalidInput) as batch:
        await predict.batch(refusing, rows)
    for raised in (one, batch):
        [error] = raised.value.errors
        assert error.code == Code.UNPREDICTABLE and "infinity" in error.message
