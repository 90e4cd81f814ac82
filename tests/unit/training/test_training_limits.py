"""Training's per-job limits: AutoML's budget cuts the search, declared estimator sizes are
bounded, and a model too big to serve is not uploaded."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from millrace_contracts import AutoMLSpec, DatasetValidated, Preprocessing, TrainingSpec
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_training.core.automl import PARAM_SPACES, SearchResult, search
from millrace_training.core.candidate import fit_candidate
from millrace_training.core.errors import CannotTrain
from millrace_training.core.fit import Trainer, TrainerConfig
from millrace_training.core.jobs import TrainingJob
from millrace_training.core.limits import TrainingLimits
from millrace_training.core.metrics import scorer_for
from millrace_training.core.runs import RunStore
from millrace_training.settings import TrainingSettings
from opentelemetry.sdk.trace import TracerProvider
from sklearn.datasets import make_classification
from training_unit_data import iris_frame

StoreVersion = Callable[..., DatasetValidated]
CANDIDATES = ["logistic_regression", "ridge", "random_forest"]


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    x, y = make_classification(n_samples=90, n_features=4, random_state=0)
    return pd.DataFrame(x, columns=["a", "b", "c", "d"]), y


def _search(
    spec: AutoMLSpec, limits: TrainingLimits, clock: Callable[[], float] | None = None
) -> SearchResult:
    x, y = _data()
    ticks = itertools.count()
    return search(
        spec,
        "classification",
        Preprocessing(),
        x,
        y,
        list(x.columns),
        [],
        scorer_for("classification", None),
        seed=0,
        clock=clock or (lambda: float(next(ticks))),
        limits=limits,
    )


def test_the_number_of_candidates_cuts_the_search_and_the_best_so_far_wins() -> None:
    spec = AutoMLSpec(candidates=CANDIDATES, time_budget_seconds=3600)
    result = _search(spec, TrainingLimits(automl_max_candidates=2))
    assert (result.tried, result.stopped_by) == (2, "max_candidates")
    assert result.planned == sum(len(PARAM_SPACES[c]) for c in CANDIDATES) > 2
    assert len(result.leaderboard) == 2
    assert result.estimator == result.leaderboard[0].estimator


def test_a_budget_above_the_services_ceiling_is_clamped() -> None:
    ticks = itertools.count()
    # Every reading is 10 s later; the spec asks an hour, the service allows 25 s: the first
    # start, then starts at 10 s and 20 s.
    spec = AutoMLSpec(candidates=CANDIDATES, time_budget_seconds=3600)
    result = _search(
        spec, TrainingLimits(automl_max_seconds=25), clock=lambda: float(next(ticks) * 10)
    )
    assert (result.tried, result.stopped_by) == (3, "time_budget")
    assert len(result.leaderboard) == 3


def test_a_search_within_its_limits_is_not_cut() -> None:
    spec = AutoMLSpec(candidates=["ridge"], time_budget_seconds=3600)
    result = _search(spec, TrainingLimits())
    assert (result.tried, result.stopped_by) == (len(PARAM_SPACES["ridge"]), None)


def test_automls_own_points_are_clamped_to_the_bounds() -> None:
    spec = AutoMLSpec(candidates=["random_forest"], time_budget_seconds=3600)
    result = _search(spec, TrainingLimits(max_n_estimators=7, max_depth=3))
    assert {c.params["n_estimators"] for c in result.leaderboard} == {7}
    assert all(c.params.get("max_depth", 3) <= 3 for c in result.leaderboard)


@pytest.mark.parametrize(
    ("estimator", "params"),
    [
        ("random_forest", {"n_estimators": 501}),
        ("random_forest", {"n_estimators": 10, "max_depth": 33}),
        ("hist_gradient_boosting", {"max_iter": 10_001}),
        ("logistic_regression", {"max_iter": 10**9}),
    ],
)
def test_a_declared_parameter_above_its_bound_is_refused_with_a_reason(
    estimator: str, params: dict[str, int]
) -> None:
    spec = TrainingSpec.model_validate(
        {
            "task": "classification",
            "target": "y",
            "estimator": {"name": estimator, "params": params},
        }
    )
    x, y = _data()
    with pytest.raises(CannotTrain, match="above the service's bounds") as raised:
        fit_candidate(
            spec,
            x,
            y,
            list(x.columns),
            [],
            scorer_for("classification", None),
            limits=TrainingLimits(),
        )
    assert raised.value.code == "parameter_out_of_bounds"


def test_a_declared_parameter_at_its_bound_is_fitted() -> None:
    spec = TrainingSpec.model_validate(
        {
            "task": "classification",
            "target": "y",
            "estimator": {"name": "random_forest", "params": {"n_estimators": 5, "max_depth": 2}},
        }
    )
    x, y = _data()
    limits = TrainingLimits(max_n_estimators=5, max_depth=2)
    fitted = fit_candidate(
        spec, x, y, list(x.columns), [], scorer_for("classification", None), limits=limits
    )
    assert fitted.params["n_estimators"] == 5


def test_a_model_above_the_artifact_limit_is_not_uploaded(
    store: InMemoryObjectStore, store_version: StoreVersion
) -> None:
    spec = TrainingSpec.model_validate(
        {
            "task": "classification",
            "target": "species",
            "estimator": {"name": "random_forest", "params": {"n_estimators": 20}},
        }
    )
    version = store_version(iris_frame(), training=spec)
    runs = RunStore(store, "millrace-models")
    trainer = Trainer(
        store,
        runs,
        TracerProvider().get_tracer("t"),
        TrainerConfig(producer="training", limits=TrainingLimits(max_artifact_bytes=1000)),
    )
    job = TrainingJob(
        version=version,
        spec=spec,
        promotion=None,
        monitoring=version.monitoring,
        trigger="data",
        cause=version,
    )
    with pytest.raises(CannotTrain, match="MILLRACE_TRAINING_MAX_ARTIFACT_BYTES") as raised:
        trainer.train(job)
    assert raised.value.code == "artifact_too_large"
    assert store.list_keys("millrace-models", f"{job.model_name}/runs/") == []


def test_the_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AUTOML_MAX_SECONDS": "30",
        "AUTOML_MAX_CANDIDATES": "4",
        "MAX_N_ESTIMATORS": "50",
        "MAX_DEPTH": "6",
        "MAX_ITER": "200",
        "MAX_ARTIFACT_BYTES": "4096",
    }.items():
        monkeypatch.setenv(f"MILLRACE_TRAINING_{name}", value)
    assert TrainingSettings(environment="dev").limits() == TrainingLimits(
        automl_max_seconds=30,
        automl_max_candidates=4,
        max_n_estimators=50,
        max_depth=6,
        max_iter=200,
        max_artifact_bytes=4096,
    )


def test_the_model_card_says_which_limit_cut_the_search(
    store: InMemoryObjectStore, store_version: StoreVersion
) -> None:
    spec = TrainingSpec.model_validate(
        {
            "task": "classification",
            "target": "species",
            "automl": {"candidates": ["ridge", "logistic_regression"], "time_budget_seconds": 600},
        }
    )
    version = store_version(iris_frame(), training=spec)
    trainer = Trainer(
        store,
        RunStore(store, "millrace-models"),
        TracerProvider().get_tracer("t"),
        TrainerConfig(producer="training", limits=TrainingLimits(automl_max_candidates=2)),
    )
    job = TrainingJob(
        version=version,
        spec=spec,
        promotion=None,
        monitoring=version.monitoring,
        trigger="data",
        cause=version,
    )
    trained = trainer.train(job)
    assert len(trained.leaderboard) == 2
    card = json.loads(store.get_bytes(trained.model_card.uri))
    assert card["automl"] == {"planned": 6, "tried": 2, "stopped_by": "max_candidates"}
