"""Where training runs: the cluster URL, and the in-process session the search uses by default."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from millrace_contracts import AutoMLSpec, Preprocessing
from millrace_training.core.automl import search
from millrace_training.core.compute import ClusterTarget, LocalCompute, parse_cluster
from millrace_training.core.estimators import build_estimator
from millrace_training.core.metrics import scorer_for
from millrace_training.core.pipeline_builder import build_pipeline
from millrace_training.settings import TrainingSettings
from pydantic import ValidationError
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold, cross_val_score


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("dask://scheduler:8786", "tcp://scheduler:8786"),
        ("dask://10.0.0.5", "tcp://10.0.0.5:8786"),
        ("dask://[::1]:9000", "tcp://[::1]:9000"),
    ],
)
def test_a_dask_url_names_the_scheduler_tcp_address(url: str, address: str) -> None:
    assert parse_cluster(url) == ClusterTarget("dask", address)


@pytest.mark.parametrize(
    "url", ["ray://head:10001", "tcp://host:8786", "dask://", "dask://host:8786/x", "host:8786"]
)
def test_other_cluster_urls_are_refused_at_start(url: str) -> None:
    with pytest.raises(ValidationError):
        TrainingSettings.model_validate({"MILLRACE_TRAINING_CLUSTER": url})


def test_no_cluster_trains_in_process() -> None:
    assert TrainingSettings().training_cluster is None
    assert (
        TrainingSettings.model_validate({"MILLRACE_TRAINING_CLUSTER": ""}).training_cluster is None
    )


def test_the_in_process_search_scores_as_cross_val_score_does() -> None:
    """The fold tasks reproduce sklearn's own cross-validation, score for score."""
    x, y = make_classification(n_samples=90, n_features=4, random_state=0)
    features = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    spec = AutoMLSpec(candidates=["logistic_regression"], time_budget_seconds=600, cv_folds=4)
    scorer = scorer_for("classification", "accuracy")
    result = search(
        spec, "classification", Preprocessing(), features, y, ["a", "b", "c", "d"], [], scorer, 5
    )
    for candidate in result.leaderboard:
        pipeline = build_pipeline(
            build_estimator("logistic_regression", "classification", candidate.params, 5),
            Preprocessing(),
            ["a", "b", "c", "d"],
            [],
        )
        folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=5)
        expected = cross_val_score(pipeline, features, y, scoring=scorer.scoring, cv=folds)
        assert candidate.cv_score == pytest.approx(scorer.report(float(np.mean(expected))))


def test_a_local_session_fits_a_clone() -> None:
    x, y = make_classification(n_samples=40, n_features=4, random_state=1)
    features = pd.DataFrame(x)
    pipeline = build_pipeline(
        build_estimator("logistic_regression", "classification", {}, 0),
        Preprocessing(),
        [0, 1, 2],
        [],
    )
    with LocalCompute().session(features, y) as session:
        fitted = session.fit(pipeline)
    assert fitted is not pipeline
    assert fitted.predict(features).shape == (40,)
