from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from millrace_contracts import (
    DatasetValidated,
    ModelTrained,
    ModelVersionInfo,
    MonitoringPolicy,
    PromotionPolicy,
    TrainingSpec,
)
from millrace_shared.modelio import model_input, reference_rows
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.telemetry import Attr
from millrace_training.core import fit
from millrace_training.core.artifacts import load_model
from millrace_training.core.data import read_parquet
from millrace_training.core.errors import CannotTrain
from millrace_training.core.fit import Trainer, TrainerConfig
from millrace_training.core.jobs import TrainingJob
from millrace_training.core.runs import RunStore
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from training_unit_data import iris_frame, regression_frame

StoreVersion = Callable[..., DatasetValidated]
RF = {"name": "random_forest", "params": {"n_estimators": 20}}


def spec(**overrides: object) -> TrainingSpec:
    base: dict[str, object] = {"task": "classification", "target": "species", "estimator": RF}
    return TrainingSpec.model_validate({**base, **overrides})


class Harness:
    def __init__(self, store: InMemoryObjectStore, **config: object) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.runs = RunStore(store, "millrace-models")
        self.trainer = Trainer(
            store,
            self.runs,
            provider.get_tracer("test"),
            TrainerConfig(producer="training", **config),  # type: ignore[arg-type]
        )

    def train(self, version: DatasetValidated, **job: object) -> ModelTrained:
        assert version.training is not None
        args: dict[str, object] = {
            "version": version,
            "spec": version.training,
            "promotion": version.promotion,
            "monitoring": version.monitoring,
            "trigger": "data",
            "cause": version,
        }
        args.update(job)
        return self.trainer.train(TrainingJob(**args))  # type: ignore[arg-type]

    def span_names(self) -> list[str]:
        return [s.name for s in self.exporter.get_finished_spans()]


def as_production(trained: ModelTrained, version: int = 1) -> ModelVersionInfo:
    return ModelVersionInfo.from_trained(trained, version)


def test_trains_evaluates_and_stores(
    store: InMemoryObjectStore, store_version: StoreVersion
) -> None:
    version = store_version(
        iris_frame(),
        training=spec(),
        promotion=PromotionPolicy(primary_metric="accuracy"),
        monitoring=MonitoringPolicy(window_size=100),
    )
    harness = Harness(store)
    trained = harness.train(version)

    assert trained.causation_id == version.event_id
    assert trained.correlation_id == version.correlation_id
    assert trained.model_name == "iris" and trained.estimator == "random_forest"
    assert trained.params == {"n_estimators": 20, "random_state": 42}
    assert set(trained.metrics.values) == {"accuracy", "f1_macro", "roc_auc"}
    assert trained.metrics.values["accuracy"] > 0.8
    assert trained.metrics.holdout_id == f"{version.dataset_version[:16]}:seed=42:frac=0.2"
    assert trained.metrics.holdout_rows == 30
    assert trained.reference_profile == version.profile
    assert [f.name for f in trained.signature] == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
        "size",
    ]
    assert trained.promotion == version.promotion and trained.monitoring == version.monitoring
    assert trained.champion_version is None and trained.champion_metrics is None
    run = f"s3://millrace-models/iris/runs/{trained.run_id}"
    assert trained.artifact.uri == f"{run}/model.skops"
    assert trained.model_card.uri == f"{run}/model_card.json"

    model = load_model(store.get_bytes(trained.artifact.uri, sha256=trained.artifact.sha256))
    frame = read_parquet(store.get_bytes(version.data.uri))
    rows = frame.head(5).to_dict("records")
    predicted = model.predict(model_input(rows, trained.signature, model))
    assert set(predicted) <= {"setosa", "versicolor", "virginica"}
    # Rows of the dataset itself travel in the artifact, for deployment's check at load.
    kept = reference_rows(model)
    assert 0 < len(kept) <= 64
    assert all(list(row) == [f.name for f in trained.signature] for row in kept)
    assert model.predict(model_input(kept, trained.signature, model)).shape == (len(kept),)

    card = json.loads(store.get_bytes(trained.model_card.uri, sha256=trained.model_card.sha256))
    assert card["dataset"]["version"] == version.dataset_version
    assert card["metrics"] == trained.metrics.values
    assert card["estimator"] == "random_forest" and card["seed"] == 42
    assert card["params"] == trained.params
    assert {"python", "scikit-learn", "numpy", "pandas", "skops"} <= set(card["libraries"])
    assert [s["name"] for s in card["signature"]] == [f.name for f in trained.signature]
    assert card["holdout"]["id"] == trained.metrics.holdout_id
    assert card["code_version"]["package"] == "millrace-training"
    assert card["code_version"]["version"] and "git" in card["code_version"]

    assert harness.span_names() == ["load_data", "fit", "evaluate", "upload"]
    fit_span = harness.exporter.get_finished_spans()[1]
    assert fit_span.attributes is not None
    assert fit_span.attributes[Attr.RUN_ID] == trained.run_id
    assert fit_span.attributes[Attr.ESTIMATOR] == "random_forest"
    assert fit_span.attributes[Attr.ROWS] == 120


def test_regression(store: InMemoryObjectStore, store_version: StoreVersion) -> None:
    training = spec(task="regression", target="y", estimator={"name": "ridge"})
    trained = Harness(store).train(
        store_version(regression_frame(), dataset="reg", training=training)
    )
    assert set(trained.metrics.values) == {"rmse", "mae", "r2"}
    assert trained.metrics.values["r2"] > 0.9
    assert trained.signature[-1].name == "colour"


def test_automl_leaderboard_in_event_and_card(
    store: InMemoryObjectStore, store_version: StoreVersion
) -> None:
    training = spec(
        estimator=None,
        automl={"candidates": ["logistic_regression", "ridge"], "time_budget_seconds": 600},
    )
    trained = Harness(store).train(store_version(iris_frame(), training=training))
    assert len(trained.leaderboard) == 6
    assert (trained.estimator, trained.params) == (
        trained.leaderboard[0].estimator,
        trained.leaderboard[0].params,
    )
    card = json.loads(store.get_bytes(trained.model_card.uri))
    assert [c["cv_score"] for c in card["leaderboard"]] == [c.cv_score for c in trained.leaderboard]


def test_champion_is_judged_on_the_same_holdout(
    store: InMemoryObjectStore, store_version: StoreVersion
) -> None:
    harness = Harness(store)
    first = harness.train(
        store_version(iris_frame(), training=spec(estimator={"name": "logistic_regression"}))
    )
    version = store_version(iris_frame(), training=spec())
    trained = harness.train(version, champion=as_production(first, version=3))
    assert trained.champion_version == 3
    assert trained.champion_metrics is not None
    assert trained.champion_metrics.holdout_id == trained.metrics.holdout_id
    assert trained.champion_metrics.holdout_rows == trained.metrics.holdout_rows
    assert set(trained.champion_metrics.values) == set(trained.metrics.values)
    assert "evaluate_champion" in harness.span_names()


def test_champion_with_features_missing_from_the_new_data(
    store: InMemoryObjectStore, store_version: StoreVersion
) -> None:
    harness = Harness(store)
    first = harness.train(store_version(iris_frame(), training=spec()))
    narrower = iris_frame().drop(columns=["size"])
    trained = harness.train(store_version(narrower, training=spec()), champion=as_production(first))
    assert trained.champion_version == 1 and trained.champion_metrics is None
    card = json.loads(store.get_bytes(trained.model_card.uri))
    assert "size" in card["champion"]["note"]


def test_champion_artifact_that_fails_its_checksum_is_not_used(
    store: InMemoryObjectStore, store_version: StoreVersion
) -> None:
    harness = Harness(store)
    first = harness.train(store_version(iris_frame().head(140), training=spec()))
    store.corrupt(first.artifact.uri, b"tampered")
    trained = harness.train(
        store_version(iris_frame(), training=spec()), champion=as_production(first)
    )
    assert trained.champion_version == 1 and trained.champion_metrics is None


def test_retrying_a_run_keeps_the_first_upload(
    store: InMemoryObjectStore, store_version: StoreVersion
) -> None:
    harness = Harness(store)
    version = store_version(iris_frame(), training=spec())
    first = harness.train(version)
    again = harness.train(version)
    assert again.run_id == first.run_id
    assert again.artifact == first.artifact and again.model_card == first.model_card
    assert again.metrics == first.metrics  # seeded: the same model


def test_row_cap(store: InMemoryObjectStore, store_version: StoreVersion) -> None:
    harness = Harness(store, max_training_rows=50)
    trained = harness.train(store_version(iris_frame(), training=spec()))
    assert trained.metrics.holdout_rows == 30  # the holdout is never capped
    card = json.loads(store.get_bytes(trained.model_card.uri))
    assert card["training_rows"] == 50


def test_bad_parameter_value_cannot_be_trained(
    store: InMemoryObjectStore, store_version: StoreVersion
) -> None:
    training = spec(estimator={"name": "random_forest", "params": {"n_estimators": -1}})
    with pytest.raises(CannotTrain, match="n_estimators"):
        Harness(store).train(store_version(iris_frame(), training=training))
    assert store.list_keys("millrace-models") == []


def test_the_model_a_run_stored_is_judged_as_champion_without_loading_it_again(
    store: InMemoryObjectStore, store_version: StoreVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = Harness(store)
    first = harness.train(store_version(iris_frame().head(140), training=spec()))
    remembered = harness.trainer._models.get(first.artifact.sha256)
    assert remembered is not None
    loaded: list[bytes] = []
    monkeypatch.setattr(fit, "load_model", lambda data: loaded.append(data))
    version = store_version(iris_frame(), training=spec())
    trained = harness.train(version, champion=as_production(first))
    assert loaded == []
    assert trained.champion_metrics is not None

    # What is remembered predicts as what was stored.
    stored = load_model(store.get_bytes(first.artifact.uri, sha256=first.artifact.sha256))
    rows = read_parquet(store.get_bytes(version.data.uri)).to_dict("records")
    features = model_input(rows, first.signature, stored)
    assert np.array_equal(stored.predict_proba(features), remembered.predict_proba(features))


def test_no_model_is_kept_when_the_cache_is_off(
    store: InMemoryObjectStore, store_version: StoreVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = Harness(store, model_cache_max_bytes=0)
    first = harness.train(store_version(iris_frame().head(140), training=spec()))
    loaded: list[bytes] = []
    real = fit.load_model
    monkeypatch.setattr(fit, "load_model", lambda data: loaded.append(data) or real(data))
    trained = harness.train(
        store_version(iris_frame(), training=spec()), champion=as_production(first)
    )
    assert len(loaded) == 1 and trained.champion_metrics is not None
