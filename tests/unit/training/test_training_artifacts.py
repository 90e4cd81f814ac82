from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from millrace_contracts import Preprocessing
from millrace_training.core.artifacts import (
    UntrustedArtifact,
    dump_model,
    library_versions,
    load_model,
)
from millrace_training.core.estimators import build_estimator
from millrace_training.core.pipeline_builder import build_pipeline
from sklearn.datasets import make_classification
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer


class Sneaky:
    """A type no artifact of ours contains."""

    def __init__(self) -> None:
        self.payload = "anything"


@pytest.mark.parametrize("name", ["random_forest", "hist_gradient_boosting", "logistic_regression"])
def test_round_trip_predicts_the_same(name: str) -> None:
    x, y = make_classification(n_samples=60, n_features=4, random_state=0)
    frame = pd.DataFrame(x)
    frame[4] = np.where(frame[0] > 0, "p", "q").astype(object)
    model = build_pipeline(
        build_estimator(name, "classification", {}, 0), Preprocessing(), ["a", "b", "c", "d"], ["k"]
    ).fit(frame, y)
    loaded = load_model(dump_model(model))
    assert np.array_equal(loaded.predict(frame), model.predict(frame))
    # Fitted on positional columns: no feature names, so serving may pass a plain object array.
    assert not hasattr(loaded, "feature_names_in_")
    rows = frame.to_numpy(dtype=object)
    assert np.array_equal(loaded.predict(rows), model.predict(frame))


def test_refuses_an_artifact_with_an_unexpected_type() -> None:
    data = sio.dumps({"model": Sneaky()})
    with pytest.raises(UntrustedArtifact, match="Sneaky"):
        load_model(data)


def test_refuses_an_artifact_calling_an_unexpected_function() -> None:
    data = sio.dumps(Pipeline([("f", FunctionTransformer(os.system))]))
    with pytest.raises(UntrustedArtifact, match="system"):
        load_model(data)


def test_library_versions_name_the_stack() -> None:
    versions = library_versions()
    assert {"python", "scikit-learn", "numpy", "pandas", "skops"} <= set(versions)
    assert "unknown" not in {versions["scikit-learn"], versions["skops"]}
