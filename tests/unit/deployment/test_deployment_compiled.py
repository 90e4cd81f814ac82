"""The compiled single-row path against the model itself, on models fitted by training's code."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from deployment_unit_data import frame, rows_of, store_version, train
from millrace_contracts.common import Task
from millrace_deployment.core.compiled import (
    SINGLE_ROWS_CHECKED,
    UNKNOWN_CATEGORY,
    CompiledModel,
    agreement_rows,
    compile_pipeline,
    disagreeing_rows,
    threshold_rows,
)
from millrace_deployment.core.onnx_runtime import to_onnx
from millrace_deployment.core.served import check_rows, serve
from millrace_shared.modelio import (
    REFERENCE_ROWS,
    dump_model,
    input_builder,
    load_model,
    reference_rows,
    with_reference_rows,
)
from millrace_shared.objectstore import InMemoryObjectStore

COMPILED = [
    ("classification", "logistic_regression"),
    ("regression", "ridge"),
    ("regression", "linear_regression"),
]
FAST = [
    *COMPILED,
    ("classification", "hist_gradient_boosting"),
    ("regression", "hist_gradient_boosting"),
]


def three_classes(data: pd.DataFrame) -> pd.DataFrame:
    out = data.copy()
    out["label"] = np.select([out["x1"] < -0.4, out["x1"] < 0.4], ["low", "mid"], "high")
    return out


def expected(model: Any, rows: list[dict[str, Any]], signature: Any, task: Task) -> Any:
    x = input_builder(signature, model)(rows)
    if task == "classification":
        return model.predict_proba(x)
    return np.asarray(model.predict(x), dtype=np.float64).reshape(len(rows), 1)


def request_rows(signature: Any) -> list[dict[str, Any]]:
    """Rows as clients send them, plus nulls and a category the model never saw."""
    rows = rows_of(frame(60, seed=7), 60)
    rows[0]["colour"], rows[1]["colour"], rows[2]["x2"] = None, UNKNOWN_CATEGORY, None
    return rows


@pytest.mark.parametrize(("task", "estimator"), COMPILED)
def test_compiled_model_gives_the_models_own_answers(task: Task, estimator: str) -> None:
    pipeline, signature = train(frame(200), task, estimator)
    compiled = compile_pipeline(pipeline, signature)
    assert compiled is not None
    assert compiled.classifier == (task == "classification")
    for rows in (request_rows(signature), agreement_rows(signature, pipeline)):
        got = np.stack([compiled.scores(row) for row in rows])
        np.testing.assert_allclose(got, expected(pipeline, rows, signature, task), rtol=1e-9)
        # Batches: the same answers from matrix operations.
        many = compiled.scores_many(rows)
        np.testing.assert_allclose(many, expected(pipeline, rows, signature, task), rtol=1e-9)


@pytest.mark.parametrize("estimator", ["logistic_regression"])
def test_compiled_multiclass_models_agree(estimator: str) -> None:
    pipeline, signature = train(three_classes(frame(300)), "classification", estimator)
    compiled = compile_pipeline(pipeline, signature)
    assert compiled is not None and len(pipeline.classes_) == 3
    rows = request_rows(signature)
    got = np.stack([compiled.scores(row) for row in rows])
    np.testing.assert_allclose(got, expected(pipeline, rows, signature, "classification"))
    many = compiled.scores_many(rows)
    np.testing.assert_allclose(many, expected(pipeline, rows, signature, "classification"))


def test_an_estimator_it_does_not_know_is_served_by_the_model(
    store: InMemoryObjectStore, trained: tuple[Any, Any]
) -> None:
    pipeline, signature = trained  # a random forest
    assert compile_pipeline(pipeline, signature) is None and to_onnx(pipeline, signature) is None
    served = serve(store_version(store, pipeline, signature), pipeline, datetime.now(UTC), 0.1)
    assert served.compiled is None and served.fallback is None  # nothing to be loud about
    [row] = rows_of(frame(), 1)
    label, _ = served.predict_one(row)
    assert label == pipeline.predict(served.build_input([row]))[0]


@pytest.mark.parametrize(
    ("estimator", "runtime", "rel"),
    [("logistic_regression", "compiled", 1e-9), ("hist_gradient_boosting", "onnxruntime", 1e-6)],
)
def test_served_model_uses_its_fast_path_and_answers_as_the_model(
    store: InMemoryObjectStore, estimator: str, runtime: str, rel: float
) -> None:
    pipeline, signature = train(frame(200), "classification", estimator)
    served = serve(store_version(store, pipeline, signature), pipeline, datetime.now(UTC), 0.1)
    assert served.runtime == runtime and served.fallback is None
    slow = dataclasses.replace(served, compiled=None)
    for row in request_rows(signature):
        fast_label, fast_proba = served.predict_one(row)
        slow_label, slow_proba = slow.predict_one(row)
        assert fast_label == slow_label
        assert fast_proba is not None and slow_proba is not None
        assert fast_proba == pytest.approx(slow_proba, rel=rel, abs=1e-7)
    # Batches go through the fast path too, with the model's own labels.
    rows = request_rows(signature)
    assert served.predict_many(rows) == slow.predict_many(rows)
    assert served.predict_many(rows) == pipeline.predict(served.build_input(rows)).tolist()


@pytest.mark.parametrize("estimator", ["ridge", "hist_gradient_boosting"])
def test_regressor_batches_through_the_fast_path_agree_with_the_model(
    store: InMemoryObjectStore, estimator: str
) -> None:
    pipeline, signature = train(frame(200), "regression", estimator)
    served = serve(store_version(store, pipeline, signature), pipeline, datetime.now(UTC), 0.1)
    assert served.compiled is not None
    rows = request_rows(signature)
    got = served.predict_many(rows)
    assert got == pytest.approx(pipeline.predict(served.build_input(rows)).tolist(), rel=1e-6)
    assert got == pytest.approx([served.predict_one(row)[0] for row in rows], rel=1e-9)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_gradient_boosting_through_onnx_runtime_agrees_on_every_kind_of_row(
    store: InMemoryObjectStore, task: Task
) -> None:
    data = three_classes(frame(300)) if task == "classification" else frame(300)
    pipeline, signature = train(data, task, "hist_gradient_boosting")
    runtime = to_onnx(pipeline, signature)
    assert runtime is not None
    rows = [*request_rows(signature), *check_rows(signature, pipeline)]
    got = runtime.scores_many(rows)
    np.testing.assert_allclose(got, expected(pipeline, rows, signature, task), rtol=1e-6, atol=1e-7)


def float32_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX Runtime given float32 tree thresholds, as skl2onnx's stock graph has them."""
    from millrace_deployment.core import onnx_runtime
    from onnx import numpy_helper

    exact = onnx_runtime._float64_trees

    def rounded(graph: Any, estimator: Any, classifier: bool, **options: Any) -> None:
        exact(graph, estimator, classifier, **options)
        for node in graph.graph.node:
            for attr in node.attribute:
                if attr.name == "nodes_values_as_tensor":
                    values = numpy_helper.to_array(attr.t).astype(np.float32).astype(np.float64)
                    attr.t.CopyFrom(numpy_helper.from_array(values, attr.t.name))

    monkeypatch.setattr(onnx_runtime, "_float64_trees", rounded)


def test_onnx_runtime_wrong_only_next_to_the_splits_is_refused_loudly(
    store: InMemoryObjectStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    float32_trees(monkeypatch)
    data = frame(300)
    pipeline, signature = train(data, "regression", "hist_gradient_boosting")
    build = input_builder(signature, pipeline)
    rounded = to_onnx(pipeline, signature)
    assert rounded is not None
    # On fresh rows it passes: a check on those alone would let it serve. (Rows the model was
    # fitted on can sit right on its split thresholds: HGB bins at their quantiles.)
    assert disagreeing_rows(rounded, pipeline, rows_of(frame(100, seed=9), 100), build) == 0
    assert disagreeing_rows(rounded, pipeline, check_rows(signature, pipeline), build) > 0
    with caplog.at_level("WARNING", logger="millrace.deployment"):
        served = serve(store_version(store, pipeline, signature), pipeline, datetime.now(UTC), 0.1)
    assert served.runtime == "sklearn"
    assert served.fallback is not None
    assert served.fallback.startswith("ONNX Runtime disagrees with the model on")
    assert any("not serving through it" in r.message for r in caplog.records)
    assert any("serving every row through the model itself" in r.message for r in caplog.records)
    [row] = rows_of(data, 1)
    assert served.predict_one(row)[0] == pytest.approx(pipeline.predict(build([row]))[0])


def test_a_compiled_model_that_disagrees_is_not_used(
    store: InMemoryObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, signature = train(frame(200), "classification", "logistic_regression")
    import millrace_deployment.core.served as served_module

    def off_by_a_little(model: Any, sig: Any) -> CompiledModel | None:
        good = compile_pipeline(model, sig)
        assert good is not None
        return dataclasses.replace(good, estimate=lambda x: good.estimate(x)[::-1])

    monkeypatch.setattr(served_module, "compile_pipeline", off_by_a_little)
    served = serve(store_version(store, pipeline, signature), pipeline, datetime.now(UTC), 0.1)
    assert served.compiled is None and served.fallback is not None


# -- the check at load: the dataset's own rows, thresholds, and a loud fallback ---------------


def test_training_keeps_real_rows_in_the_artifact_and_they_are_checked() -> None:
    data = frame(200)
    pipeline, signature = train(data, "classification", "hist_gradient_boosting")
    features = data[[f.name for f in signature]]
    features.columns = range(len(signature))
    with_reference_rows(pipeline, features, signature, seed=3)
    loaded = load_model(dump_model(pipeline))  # no new trusted type: the allow-list holds
    kept = reference_rows(loaded)
    assert len(kept) == REFERENCE_ROWS
    assert all(set(row) == {f.name for f in signature} for row in kept)
    assert any(row["colour"] is None for row in kept) or data["colour"].notna().all()
    assert all(type(row["flag"]) is bool for row in kept)  # JSON's types, not numpy's
    rows = check_rows(signature, loaded)
    assert rows[: len(kept)] == kept
    assert len(rows) > len(kept) + len(agreement_rows(signature, loaded))  # thresholds too


def test_threshold_rows_sit_on_the_splits() -> None:
    pipeline, signature = train(frame(200), "regression", "hist_gradient_boosting")
    base = rows_of(frame(1), 1)[0]
    rows = threshold_rows(signature, pipeline, base)
    assert rows and len(rows) % 3 == 0
    for below, at, above in zip(rows[::3], rows[1::3], rows[2::3], strict=True):
        [name] = [k for k in at if not below[k] == at[k] == above[k]]  # one numeric feature
        assert name in ("x1", "x2") and below[name] < at[name] < above[name]
        assert np.nextafter(below[name], np.inf) == at[name]
    assert threshold_rows(signature, train(frame(200), "regression", "ridge")[0], base) == []


def test_the_real_fast_paths_pass_the_whole_check(store: InMemoryObjectStore) -> None:
    for task, estimator in FAST:
        pipeline, signature = train(frame(200), task, estimator)
        served = serve(store_version(store, pipeline, signature), pipeline, datetime.now(UTC), 0.1)
        runtime = "onnxruntime" if estimator == "hist_gradient_boosting" else "compiled"
        assert served.runtime == runtime and served.fallback is None, estimator


def test_a_gradient_boosting_model_that_cannot_be_converted_is_a_loud_fallback(
    store: InMemoryObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from millrace_deployment.core import onnx_runtime

    def broken(graph: Any, estimator: Any, classifier: bool) -> None:
        raise ValueError("skl2onnx's tree ids do not map to the model's trees")

    monkeypatch.setattr(onnx_runtime, "_float64_trees", broken)
    pipeline, signature = train(frame(200), "classification", "hist_gradient_boosting")
    served = serve(store_version(store, pipeline, signature), pipeline, datetime.now(UTC), 0.1)
    assert served.runtime == "sklearn"
    assert served.fallback is not None and "could not convert it" in served.fallback


@dataclasses.dataclass(frozen=True)
class Answers:
    """A fast path answering from a table (the model's own answers, some perhaps spoiled)."""

    rows: list[dict[str, Any]]
    single: Any
    batch: Any
    classifier: bool = True
    rtol: float = 1e-6
    atol: float = 1e-7
    one_kernel: bool = True

    def scores(self, row: dict[str, Any]) -> Any:
        return self.single[self.rows.index(row)]

    def scores_many(self, rows: list[dict[str, Any]]) -> Any:
        assert rows == self.rows
        return self.batch


def test_a_path_answering_many_rows_is_checked_in_one_batch_and_its_first_rows_singly() -> None:
    pipeline, signature = train(frame(300), "classification", "hist_gradient_boosting")
    build = input_builder(signature, pipeline)
    rows = check_rows(signature, pipeline)
    assert len(rows) > SINGLE_ROWS_CHECKED
    right = expected(pipeline, rows, signature, "classification")
    assert disagreeing_rows(Answers(rows, right, right), pipeline, rows, build) == 0
    # ONNX Runtime's own path is checked this way and agrees.
    onnx = to_onnx(pipeline, signature)
    assert onnx is not None and disagreeing_rows(onnx, pipeline, rows, build) == 0

    first_single_wrong = right.copy()
    first_single_wrong[0] = first_single_wrong[0][::-1]
    spoiled = Answers(rows, first_single_wrong, right)
    assert disagreeing_rows(spoiled, pipeline, rows, build) == 1

    last_batch_wrong = right.copy()
    last_batch_wrong[-1] = last_batch_wrong[-1][::-1]
    spoiled = Answers(rows, right, last_batch_wrong)
    assert disagreeing_rows(spoiled, pipeline, rows, build) == 1

    # A row past the singly checked ones is answered singly only through the batch check.
    # (the last row whose first occurrence it is: check rows may repeat, and a table answers
    # a repeated row from its first occurrence)
    late = max(i for i in range(SINGLE_ROWS_CHECKED, len(rows)) if rows.index(rows[i]) == i)
    past_single_wrong = right.copy()
    past_single_wrong[late] = past_single_wrong[late][::-1]
    assert disagreeing_rows(Answers(rows, past_single_wrong, right), pipeline, rows, build) == 0
    # Unless its single-row code is not its batch code (the compiled path): every row both ways.
    separate = Answers(rows, past_single_wrong, right, one_kernel=False)
    assert disagreeing_rows(separate, pipeline, rows, build) == rows.count(rows[late])
