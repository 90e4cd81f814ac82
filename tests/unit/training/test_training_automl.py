from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from millrace_contracts import AutoMLSpec, Preprocessing
from millrace_training.core.automl import PARAM_SPACES, plan, search
from millrace_training.core.errors import CannotTrain
from millrace_training.core.metrics import scorer_for
from sklearn.datasets import make_classification, make_regression


def classification_data() -> tuple[pd.DataFrame, np.ndarray]:
    x, y = make_classification(n_samples=90, n_features=4, random_state=0)
    return pd.DataFrame(x, columns=["a", "b", "c", "d"]), y


def test_plan_is_round_robin_and_skips_estimators_unusable_for_the_task() -> None:
    points = plan(["linear_regression", "ridge", "random_forest"], "classification")
    assert [name for name, _ in points[:2]] == ["ridge", "random_forest"]
    assert all(name != "linear_regression" for name, _ in points)
    assert len(points) == len(PARAM_SPACES["ridge"]) + len(PARAM_SPACES["random_forest"])


def test_no_usable_candidate_cannot_train() -> None:
    with pytest.raises(CannotTrain):
        plan(["linear_regression"], "classification")


def test_search_produces_a_ranked_leaderboard() -> None:
    x, y = classification_data()
    spec = AutoMLSpec(candidates=["logistic_regression", "ridge"], time_budget_seconds=600)
    result = search(
        spec,
        "classification",
        Preprocessing(),
        x,
        y,
        list(x.columns),
        [],
        scorer_for("classification", "accuracy"),
        seed=3,
    )
    expected = len(PARAM_SPACES["logistic_regression"]) + len(PARAM_SPACES["ridge"])
    assert len(result.leaderboard) == expected
    scores = [c.cv_score for c in result.leaderboard]
    assert scores == sorted(scores, reverse=True)
    assert (result.estimator, result.params) == (
        result.leaderboard[0].estimator,
        result.leaderboard[0].params,
    )


def test_search_stops_starting_candidates_when_the_budget_is_spent() -> None:
    x, y = classification_data()
    ticks = itertools.count()
    # Each clock reading is 10 "seconds" later: the budget of 25 allows starts at 10 and 20.
    clock = lambda: float(next(ticks) * 10)  # noqa: E731
    spec = AutoMLSpec(candidates=["logistic_regression", "ridge"], time_budget_seconds=25)
    result = search(
        spec,
        "classification",
        Preprocessing(),
        x,
        y,
        list(x.columns),
        [],
        scorer_for("classification", None),
        seed=0,
        clock=clock,
    )
    assert len(result.leaderboard) == 3
    # Round robin: both estimators got their first point before the budget ran out.
    assert {c.estimator for c in result.leaderboard} == {"logistic_regression", "ridge"}


def test_at_least_one_candidate_even_with_no_budget_left() -> None:
    x, y = classification_data()
    ticks = itertools.count()
    spec = AutoMLSpec(candidates=["ridge", "random_forest"], time_budget_seconds=0.001)
    result = search(
        spec,
        "classification",
        Preprocessing(),
        x,
        y,
        list(x.columns),
        [],
        scorer_for("classification", None),
        seed=0,
        clock=lambda: float(next(ticks)),
    )
    assert [c.estimator for c in result.leaderboard] == ["ridge"]


def test_error_metric_ranks_lowest_first() -> None:
    x, y = make_regression(n_samples=80, n_features=3, noise=10.0, random_state=1)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    spec = AutoMLSpec(candidates=["linear_regression", "ridge"], time_budget_seconds=600)
    result = search(
        spec,
        "regression",
        Preprocessing(),
        frame,
        y,
        list(frame.columns),
        [],
        scorer_for("regression", "rmse"),
        seed=0,
    )
    scores = [c.cv_score for c in result.leaderboard]
    assert scores == sorted(scores) and scores[0] > 0
