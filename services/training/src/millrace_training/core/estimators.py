"""The estimator allow-list: a name from ``ESTIMATORS`` plus the task picks one sklearn class."""

from __future__ import annotations

from typing import Any

from millrace_contracts import ESTIMATORS
from millrace_contracts.common import Task
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, RidgeClassifier

from .errors import CannotTrain

_CLASSES: dict[tuple[str, Task], type[Any]] = {
    ("logistic_regression", "classification"): LogisticRegression,
    ("linear_regression", "regression"): LinearRegression,
    ("ridge", "classification"): RidgeClassifier,
    ("ridge", "regression"): Ridge,
    ("random_forest", "classification"): RandomForestClassifier,
    ("random_forest", "regression"): RandomForestRegressor,
    ("hist_gradient_boosting", "classification"): HistGradientBoostingClassifier,
    ("hist_gradient_boosting", "regression"): HistGradientBoostingRegressor,
}


def supports(name: str, task: Task) -> bool:
    return (name, task) in _CLASSES


def estimator_class(name: str, task: Task) -> type[Any]:
    if name not in ESTIMATORS:
        raise CannotTrain(f"estimator {name!r} is not in the allow-list {list(ESTIMATORS)}")
    try:
        return _CLASSES[(name, task)]
    except KeyError:
        raise CannotTrain(f"estimator {name!r} cannot be used for {task}") from None


def effective_params(name: str, task: Task, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """The parameters the estimator is built with: the spec's, plus the seed where it applies.

    Unknown names are refused here rather than by a ``TypeError`` deep inside the fit.
    """
    known = estimator_class(name, task)().get_params()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise CannotTrain(f"unknown parameter(s) for {name} ({task}): {', '.join(unknown)}")
    result = dict(params)
    if "random_state" in known and "random_state" not in result:
        result["random_state"] = seed
    return result


def build_estimator(name: str, task: Task, params: dict[str, Any], seed: int) -> Any:
    """An unfitted estimator; parameter *values* are checked by sklearn when it is fitted."""
    return estimator_class(name, task)(**effective_params(name, task, params, seed))
