"""Model I/O in shared: positional pipelines take a numpy array equal to training's DataFrame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from deployment_unit_data import SIGNATURE, frame, rows_of, train
from millrace_contracts import FeatureSignature
from millrace_shared.modelio import (
    UntrustedArtifact,
    dump_model,
    input_builder,
    load_model_file,
    model_input,
    takes_feature_names,
)
from millrace_training.core.data import coerce_features, positional
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder


@pytest.mark.parametrize(
    ("task", "estimator"),
    [
        ("classification", "random_forest"),
        ("classification", "logistic_regression"),
        ("classification", "hist_gradient_boosting"),
        ("regression", "ridge"),
    ],
)
def test_numpy_input_predicts_as_the_training_dataframe(task: str, estimator: str) -> None:
    data = frame()
    model, signature = train(data, task, estimator)  # type: ignore[arg-type]
    assert not takes_feature_names(model)
    assert [f.name for f in signature] == ["x1", "x2", "colour", "flag"]

    rows = rows_of(data, 60)
    array = model_input(rows, signature, model)
    assert isinstance(array, np.ndarray) and array.shape == (60, 4) and array.dtype == object
    expected = positional(coerce_features(data.head(60), signature))
    assert np.array_equal(model.predict(array), model.predict(expected))
    if task == "classification":
        assert np.allclose(model.predict_proba(array), model.predict_proba(expected))


def test_nulls_become_nan_and_the_order_is_the_signature() -> None:
    signature = [
        FeatureSignature(name="b", kind="numeric", dtype="float", nullable=True),
        FeatureSignature(name="a", kind="categorical", dtype="string", nullable=True),
    ]
    build = input_builder(signature, object())
    out = build([{"a": None, "b": None}, {"a": "x", "b": 2}])
    assert np.isnan(out[0, 0]) and np.isnan(out[0, 1])
    assert out[1].tolist() == [2, "x"]
    assert build([]).shape == (0, 2)


def test_datetime_strings_become_epoch_seconds() -> None:
    signature = [FeatureSignature(name="at", kind="numeric", dtype="datetime")]
    out = model_input([{"at": "1970-01-01T00:01:00Z"}, {"at": 5.0}], signature, object())
    assert out[:, 0].tolist() == [60.0, 5.0]


def test_a_model_fitted_on_a_named_dataframe_gets_a_dataframe() -> None:
    """Artifacts from before positional pipelines: names, chosen once at load time."""
    data = frame()
    features = data[["x1", "colour"]].assign(colour=lambda f: f["colour"].fillna(np.nan))
    legacy = Pipeline(
        [
            (
                "preprocess",
                ColumnTransformer(
                    [
                        ("numeric", SimpleImputer(), ["x1"]),
                        (
                            "categorical",
                            Pipeline(
                                [
                                    ("impute", SimpleImputer(strategy="most_frequent")),
                                    ("encode", OneHotEncoder(handle_unknown="ignore")),
                                ]
                            ),
                            ["colour"],
                        ),
                    ]
                ),
            ),
            ("estimator", LogisticRegression()),
        ]
    ).fit(features, data["label"])
    assert takes_feature_names(legacy)
    signature = [SIGNATURE[1], SIGNATURE[0]]
    built = model_input(rows_of(data, 30), signature, legacy)
    assert isinstance(built, pd.DataFrame) and list(built.columns) == ["x1", "colour"]
    assert np.array_equal(legacy.predict(built), legacy.predict(features.head(30)))


def test_load_model_file_round_trips_and_refuses_unexpected_types(tmp_path: Path) -> None:
    model, signature = train(frame())
    path = tmp_path / "model.skops"
    path.write_bytes(dump_model(model))
    loaded = load_model_file(path)
    x = model_input(rows_of(frame(), 5), signature, loaded)
    assert np.array_equal(loaded.predict(x), model.predict(x))

    path.write_bytes(sio.dumps({"f": Path}))
    with pytest.raises(UntrustedArtifact, match="pathlib"):
        load_model_file(path)


def test_all_numeric_signatures_get_a_float_array_with_nan_for_null_and_missing() -> None:
    import numpy as np
    from millrace_shared.modelio import input_builder

    signature = [
        FeatureSignature(name="a", kind="numeric", dtype="float"),
        FeatureSignature(name="b", kind="numeric", dtype="int", nullable=True),
    ]
    build = input_builder(signature, object())
    clean = build([{"b": 2, "a": 1.5}, {"a": 3, "b": None}])
    assert clean.dtype == np.float64
    np.testing.assert_array_equal(clean, [[1.5, 2.0], [3.0, np.nan]])
    np.testing.assert_array_equal(build([{"a": 1.0}]).astype(float), [[1.0, np.nan]])
