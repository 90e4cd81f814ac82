"""Small generated data sets for the training unit tests (no downloads)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from millrace_contracts import FeatureSignature
from sklearn.datasets import load_iris, make_regression

BUCKETS = ("millrace-landing", "millrace-datasets", "millrace-models", "millrace-state")


def iris_frame() -> pd.DataFrame:
    iris = load_iris(as_frame=True)
    frame: pd.DataFrame = iris.frame.rename(
        columns=lambda c: c.replace(" (cm)", "").replace(" ", "_")
    )
    frame["species"] = [str(iris.target_names[t]) for t in iris.target]
    frame = frame.drop(columns=["target"])
    # A categorical feature, so one-hot encoding is exercised.
    frame["size"] = np.where(frame["petal_length"] > 4, "big", "small")
    return frame


def regression_frame(rows: int = 120) -> pd.DataFrame:
    x, y = make_regression(n_samples=rows, n_features=4, noise=5.0, random_state=0)
    frame = pd.DataFrame(x, columns=["x1", "x2", "x3", "x4"])
    frame["colour"] = np.where(frame["x1"] > 0, "red", "blue")
    frame["y"] = y
    return frame


def signature_of(frame: pd.DataFrame) -> list[FeatureSignature]:
    out = []
    for name in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[name])
        out.append(
            FeatureSignature(
                name=name,
                kind="numeric" if numeric else "categorical",
                dtype="float" if numeric else "string",
            )
        )
    return out
