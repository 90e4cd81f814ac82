from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from millrace_training.core.metrics import (
    classification_metrics,
    evaluate,
    predict_classes,
    regression_metrics,
    scorer_for,
)
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def test_binary_classification_keys() -> None:
    x, y = make_classification(n_samples=80, n_features=4, random_state=0)
    model = LogisticRegression().fit(x, y)
    values = evaluate(model, pd.DataFrame(x), y, "classification")
    assert set(values) == {"accuracy", "f1_macro", "roc_auc"}
    assert all(0 <= v <= 1 for v in values.values())


def test_multiclass_roc_auc_is_one_vs_rest() -> None:
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    values = evaluate(model, pd.DataFrame(x), y, "classification")
    assert set(values) == {"accuracy", "f1_macro", "roc_auc"}
    assert values["roc_auc"] > 0.9


def test_roc_auc_omitted_without_probabilities() -> None:
    x, y = make_classification(n_samples=60, n_features=4, random_state=0)
    values = evaluate(RidgeClassifier().fit(x, y), pd.DataFrame(x), y, "classification")
    assert set(values) == {"accuracy", "f1_macro"}


def test_roc_auc_omitted_when_the_rows_hold_one_class() -> None:
    y = np.array(["a", "a", "a"], dtype=object)
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4]])
    values = classification_metrics(y, y, proba, np.array(["a", "b"], dtype=object))
    assert "roc_auc" not in values and values["accuracy"] == 1.0


def test_regression_keys() -> None:
    x, y = make_regression(n_samples=50, n_features=3, noise=1.0, random_state=0)
    values = evaluate(LinearRegression().fit(x, y), pd.DataFrame(x), y, "regression")
    assert set(values) == {"rmse", "mae", "r2"}
    assert values["r2"] > 0.9


def test_undefined_metric_is_left_out() -> None:
    # r2 of a single row is undefined (NaN), which would not survive JSON.
    assert set(regression_metrics(np.array([1.0]), np.array([2.0]))) >= {"rmse", "mae"}
    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    assert "r2" not in evaluate(model, pd.DataFrame([[3.0]]), np.array([2.0]), "regression")


@pytest.mark.parametrize(
    ("task", "preferred", "metric", "higher"),
    [
        ("classification", "f1_macro", "f1_macro", True),
        ("classification", "rmse", "accuracy", True),
        ("classification", None, "accuracy", True),
        ("regression", "rmse", "rmse", False),
        ("regression", None, "r2", True),
    ],
)
def test_scorer_follows_the_promotion_metric_when_it_can(
    task: str, preferred: str | None, metric: str, higher: bool
) -> None:
    scorer = scorer_for(task, preferred)  # type: ignore[arg-type]
    assert scorer.metric == metric and scorer.higher_is_better is higher


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("estimator", ["hgb", "forest", "logistic"])
def test_predict_classes_gives_what_predict_and_predict_proba_give(
    classes: int, estimator: str
) -> None:
    x, y = make_classification(
        n_samples=400, n_features=6, n_informative=4, n_classes=classes, random_state=0
    )
    labels = np.array(["a", "b", "c"], dtype=object)[y]
    final = {
        "hgb": HistGradientBoostingClassifier(max_iter=20, random_state=0),
        "forest": RandomForestClassifier(n_estimators=10, random_state=0),
        "logistic": LogisticRegression(),
    }[estimator]
    for model in (
        make_pipeline(StandardScaler(), clone(final)).fit(x, labels),
        make_pipeline(clone(final)).fit(x, labels),
        clone(final).fit(x, labels),
    ):
        predicted, proba = predict_classes(model, x)
        assert np.array_equal(predicted, model.predict(x))
        assert proba is not None and np.array_equal(proba, model.predict_proba(x))


def test_string_labels_score_as_sklearn_scores_them() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.choice(np.array(["b", "a", "c", "d"], dtype=object), size=500)
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.choice(["c", "a", "e"], size=500))
    values = classification_metrics(y_true, y_pred.astype(object))
    assert values["accuracy"] == accuracy_score(y_true, y_pred)
    assert values["f1_macro"] == f1_score(y_true, y_pred, average="macro", zero_division=0)


def test_mixed_label_types_are_left_to_sklearn() -> None:
    y_true = np.array(["a", "b", "a"], dtype=object)
    with pytest.raises(ValueError, match=r"[Mm]ix"):
        classification_metrics(y_true, np.array([1, 0, 1], dtype=object))
