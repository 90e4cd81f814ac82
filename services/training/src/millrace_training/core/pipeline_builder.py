"""Preprocessing plus estimator as one sklearn ``Pipeline``: serving loads a single object.

The pipeline selects its columns by position, not by name: fitted on positional input (a
DataFrame with integer column labels, or a 2-D array) it records no feature names, so serving
feeds it a plain numpy object array built straight from the request, with no DataFrame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from millrace_contracts import Preprocessing
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

ESTIMATOR_STEP = "estimator"


def build_pipeline(
    estimator: Any,
    preprocessing: Preprocessing,
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> Pipeline:
    """The input's columns are ``numeric`` then ``categorical``, in the order given: the
    model signature's order (``data.input_order``). Only the counts matter here; the names
    say which features the positions stand for."""
    numeric_at = list(range(len(numeric)))
    categorical_at = list(range(len(numeric), len(numeric) + len(categorical)))
    transformers: list[tuple[str, Any, list[int]]] = []
    if numeric:
        steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy=preprocessing.impute))]
        if preprocessing.scale:
            steps.append(("scale", StandardScaler()))
        transformers.append(("numeric", Pipeline(steps), numeric_at))
    if categorical:
        # Dense output: hist_gradient_boosting refuses sparse input, and the data sets
        # training handles are small enough for dense one-hot columns.
        encoder: Any = (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            if preprocessing.one_hot
            else OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        )
        transformers.append(
            (
                "categorical",
                Pipeline(
                    [("impute", SimpleImputer(strategy="most_frequent")), ("encode", encoder)]
                ),
                categorical_at,
            )
        )
    columns = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("preprocess", columns), (ESTIMATOR_STEP, estimator)])
