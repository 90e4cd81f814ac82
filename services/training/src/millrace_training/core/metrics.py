"""Holdout metrics per task, and the cross-validation scorers AutoML ranks candidates by."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from millrace_contracts.common import Task
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline

CLASSIFICATION_METRICS = ("accuracy", "f1_macro", "roc_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")


def _roc_auc(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float | None:
    """Binary: the positive (second) class's probability; multiclass: one-vs-rest, macro.

    None when it is not defined on these rows (a class absent from the holdout, say).
    """
    try:
        if len(classes) == 2:
            value = roc_auc_score(y_true == classes[1], proba[:, 1])
        else:
            value = roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=classes)
    except ValueError:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _string_label_codes(
    y_true: np.ndarray, y_pred: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """String labels as integers numbered in the labels' sorted order; None for other labels.

    sklearn sorts object arrays of labels with Python comparisons, several times per metric;
    the codes give the very same per-class counts, class order and so the same values.
    """
    if y_true.dtype != object or y_pred.dtype != object:
        return None
    codes, uniques = pd.factorize(np.concatenate([y_true, y_pred]))
    if (codes < 0).any() or not all(isinstance(u, str) for u in uniques):
        return None  # nulls, or mixed types: sklearn's own checks decide what they mean
    rank = np.empty(len(uniques), dtype=np.intp)
    rank[sorted(range(len(uniques)), key=lambda i: uniques[i])] = np.arange(len(uniques))
    ranked = rank[codes]
    return ranked[: len(y_true)], ranked[len(y_true) :]


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None = None,
    classes: np.ndarray | None = None,
) -> dict[str, float]:
    codes = _string_label_codes(y_true, y_pred)
    labels_true, labels_pred = codes if codes is not None else (y_true, y_pred)
    values = {
        "accuracy": float(accuracy_score(labels_true, labels_pred)),
        "f1_macro": float(f1_score(labels_true, labels_pred, average="macro", zero_division=0)),
    }
    if proba is not None and classes is not None:
        auc = _roc_auc(y_true, proba, classes)
        if auc is not None:
            values["roc_auc"] = auc
    return values


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(math.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)),
    }


def evaluate(
    model: Any, features: pd.DataFrame, target: np.ndarray, task: Task
) -> dict[str, float]:
    """Metrics of a fitted pipeline (the candidate's or the champion's) on the given rows."""
    if task == "regression":
        predicted = np.asarray(model.predict(features))
        values = regression_metrics(target.astype("float64"), predicted.astype("float64"))
    else:
        predicted, proba = predict_classes(model, features)
        classes = getattr(model, "classes_", None)
        values = classification_metrics(target, predicted, proba, classes)
    # An undefined value (r2 of one row) is left out: NaN does not survive JSON.
    return {name: value for name, value in values.items() if math.isfinite(value)}


def predict_classes(model: Any, features: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """``model.predict`` and ``model.predict_proba`` (None without it), exactly as those give
    them, but walking an ensemble's trees once where its ``predict`` is defined by the same
    scores: the trees are most of an evaluation's time."""
    estimator = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if isinstance(estimator, HistGradientBoostingClassifier) and hasattr(estimator, "_loss"):
        steps_before = isinstance(model, Pipeline) and len(model.steps) > 1
        inputs = model[:-1].transform(features) if steps_before else features
        raw = np.asarray(estimator.decision_function(inputs))
        # As HistGradientBoostingClassifier.predict and .predict_proba turn the raw scores into
        # labels and probabilities (sklearn keeps the link in the private ``_loss``).
        encoded = (raw > 0).astype(int) if raw.ndim == 1 else np.argmax(raw, axis=1)
        scores = np.asarray(estimator._loss.predict_proba(raw.reshape(len(raw), -1)))
        return np.asarray(estimator.classes_[encoded]), scores
    if isinstance(estimator, RandomForestClassifier) and estimator.n_outputs_ == 1:
        # RandomForestClassifier.predict is the argmax of its own predict_proba.
        votes = np.asarray(model.predict_proba(features))
        return np.asarray(estimator.classes_.take(np.argmax(votes, axis=1), axis=0)), votes
    predicted = np.asarray(model.predict(features))
    if not hasattr(model, "predict_proba"):
        return predicted, None
    return predicted, np.asarray(model.predict_proba(features))


@dataclass(frozen=True)
class Scorer:
    """One metric as sklearn's cross-validation sees it."""

    metric: str
    scoring: str
    negated: bool
    """sklearn maximises; error metrics come negated and are flipped back for reporting."""

    def report(self, sklearn_score: float) -> float:
        return -sklearn_score if self.negated else sklearn_score

    @property
    def higher_is_better(self) -> bool:
        return not self.negated


_SCORERS: dict[str, Scorer] = {
    "accuracy": Scorer("accuracy", "accuracy", negated=False),
    "f1_macro": Scorer("f1_macro", "f1_macro", negated=False),
    "roc_auc": Scorer("roc_auc", "roc_auc_ovr", negated=False),
    "rmse": Scorer("rmse", "neg_root_mean_squared_error", negated=True),
    "mae": Scorer("mae", "neg_mean_absolute_error", negated=True),
    "r2": Scorer("r2", "r2", negated=False),
}


def scorer_for(task: Task, preferred: str | None) -> Scorer:
    """The promotion policy's primary metric when it is one of the task's metrics, so AutoML
    picks by what the registry will judge; otherwise accuracy or r2."""
    allowed = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    if preferred in allowed:
        return _SCORERS[preferred]
    return _SCORERS["accuracy" if task == "classification" else "r2"]
