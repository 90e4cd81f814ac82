from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from millrace_contracts import ESTIMATORS, Preprocessing
from millrace_contracts.common import Task
from millrace_training.core.errors import CannotTrain
from millrace_training.core.estimators import build_estimator, effective_params, supports
from millrace_training.core.pipeline_builder import build_pipeline
from sklearn.datasets import make_classification, make_regression


def tiny(task: Task) -> tuple[pd.DataFrame, np.ndarray]:
    if task == "classification":
        x, y = make_classification(n_samples=60, n_features=4, random_state=0)
    else:
        x, y = make_regression(n_samples=60, n_features=4, random_state=0)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["k"] = np.where(frame["a"] > 0, "p", "q").astype(object)
    frame.loc[0, "b"] = np.nan  # the imputer has work to do
    return frame, y


TASKS: tuple[Task, ...] = ("classification", "regression")
CASES = [(name, task) for name in ESTIMATORS for task in TASKS if supports(name, task)]


@pytest.mark.parametrize(("name", "task"), CASES)
@pytest.mark.parametrize("one_hot", [True, False])
def test_every_allowed_estimator_fits_and_predicts(name: str, task: Task, one_hot: bool) -> None:
    frame, y = tiny(task)
    pipeline = build_pipeline(
        build_estimator(name, task, {}, seed=1),
        Preprocessing(one_hot=one_hot),
        ["a", "b", "c", "d"],
        ["k"],
    )
    pipeline.fit(frame, y)
    assert len(pipeline.predict(frame)) == len(frame)


@pytest.mark.parametrize(
    ("name", "task"),
    [("logistic_regression", "regression"), ("linear_regression", "classification")],
)
def test_estimator_that_does_not_fit_the_task_is_refused(name: str, task: Task) -> None:
    with pytest.raises(CannotTrain, match="cannot be used for"):
        build_estimator(name, task, {}, seed=0)


def test_estimator_outside_the_allow_list_is_refused() -> None:
    with pytest.raises(CannotTrain, match="allow-list"):
        build_estimator("svm", "classification", {}, seed=0)


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(CannotTrain, match="n_trees"):
        build_estimator("random_forest", "classification", {"n_trees": 3}, seed=0)


def test_seed_becomes_random_state_unless_given() -> None:
    params: dict[str, Any] = {"n_estimators": 5}
    assert effective_params("random_forest", "regression", params, 7)["random_state"] == 7
    given = {"random_state": 3}
    assert effective_params("random_forest", "regression", given, 7)["random_state"] == 3
    assert "random_state" not in effective_params("linear_regression", "regression", {}, 7)
