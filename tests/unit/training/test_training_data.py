from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from millrace_contracts import FeatureSignature, TrainingSpec
from millrace_training.core.data import needed_columns, prepare, read_parquet
from millrace_training.core.errors import CannotTrain
from training_unit_data import iris_frame, signature_of


def spec(**overrides: object) -> TrainingSpec:
    base: dict[str, object] = {
        "task": "classification",
        "target": "species",
        "estimator": {"name": "random_forest"},
    }
    return TrainingSpec.model_validate({**base, **overrides})


def test_features_default_to_all_but_the_target() -> None:
    frame = iris_frame()
    data = prepare(frame, signature_of(frame), spec())
    assert [f.name for f in data.signature] == [c for c in frame.columns if c != "species"]
    assert data.categorical == ["size"]
    assert list(data.features.columns) == list(range(len(data.signature)))


def test_features_restrict_the_signature() -> None:
    frame = iris_frame()
    data = prepare(frame, signature_of(frame), spec(features=["petal_length", "size"]))
    assert [f.name for f in data.signature] == ["petal_length", "size"]
    assert list(data.features.columns) == [0, 1]
    assert data.features[0].tolist() == data.raw["petal_length"].tolist()


def test_numeric_features_come_first_in_the_signature_and_the_input() -> None:
    frame = iris_frame()
    data = prepare(frame, signature_of(frame), spec(features=["size", "petal_length"]))
    assert [f.name for f in data.signature] == ["petal_length", "size"]
    assert data.features[0].tolist() == data.raw["petal_length"].tolist()
    assert data.features[1].tolist() == data.raw["size"].tolist()


def test_rows_without_a_target_are_dropped() -> None:
    frame = iris_frame()
    frame.loc[[0, 5], "species"] = None
    data = prepare(frame, signature_of(iris_frame()), spec())
    assert data.rows == 148 and data.dropped_null_targets == 2
    assert len(data.raw) == 148 and data.raw.index.tolist() == list(range(148))


def test_categorical_nulls_become_nan_objects() -> None:
    frame = iris_frame()
    frame.loc[3, "size"] = None
    data = prepare(frame, signature_of(iris_frame()), spec())
    size = data.features[len(data.signature) - 1]
    assert data.signature[-1].name == "size" and size.dtype == object
    value = size.iloc[3]
    assert isinstance(value, float) and math.isnan(value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target": "colour"}, "target"),
        ({"features": ["petal_length", "nope"]}, "nope"),
        ({"features": ["species"]}, "cannot also be a feature"),
    ],
)
def test_spec_that_does_not_fit_the_data(overrides: dict[str, object], message: str) -> None:
    frame = iris_frame()
    with pytest.raises(CannotTrain, match=message):
        prepare(frame, signature_of(frame), spec(**overrides))


def test_single_class_target_cannot_be_trained() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": ["a"] * 5})
    with pytest.raises(CannotTrain, match="two classes"):
        prepare(frame, signature_of(frame), spec(target="y"))


def test_datetime_features_become_epoch_seconds() -> None:
    frame = pd.DataFrame(
        {
            "at": pd.to_datetime(
                pd.Series(["1970-01-01T00:01:00Z", None, "2024-01-01T00:00:00Z"] * 2)
            ),
            "y": ["a", "b", "a", "b", "a", "b"],
        }
    )
    columns = [
        FeatureSignature(name="at", kind="numeric", dtype="datetime"),
        FeatureSignature(name="y", kind="categorical", dtype="string"),
    ]
    data = prepare(frame, columns, spec(target="y"))
    seconds = data.features[0].tolist()
    assert seconds[0] == 60.0 and math.isnan(seconds[1]) and seconds[2] == 1704067200.0


def test_datetimes_past_2262_become_epoch_seconds() -> None:
    """Ingestion keeps microseconds (years 1 to 9999); nanoseconds end in 2262."""
    stamps = pd.Series(["2263-01-01T00:00:00.5Z", None, "0001-01-01T00:00:00Z"] * 2)
    frame = pd.DataFrame(
        {
            "at": pd.to_datetime(stamps, utc=True, format="ISO8601").astype("datetime64[us, UTC]"),
            "y": ["a", "b", "a", "b", "a", "b"],
        }
    )
    columns = [
        FeatureSignature(name="at", kind="numeric", dtype="datetime"),
        FeatureSignature(name="y", kind="categorical", dtype="string"),
    ]
    seconds = prepare(frame, columns, spec(target="y")).features[0].tolist()
    assert seconds[0] == 9246182400.5 and math.isnan(seconds[1])
    assert seconds[2] == -62135596800.0


@pytest.mark.parametrize(
    "labels",
    [
        ["a", "b", "a", "b"],
        pd.array(["a", "b", "a", "b"], dtype="string"),
        ["a", 1, "a", 1],
        [True, "b", True, "b"],
    ],
)
def test_non_numeric_class_labels_are_python_strings(labels: object) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": labels})
    data = prepare(frame, signature_of(frame), spec(target="y"))
    assert data.target.dtype == object
    assert all(type(label) is str for label in data.target)
    assert list(data.target) == [str(v) for v in frame["y"]]


def test_only_the_needed_columns_are_read_from_the_parquet() -> None:
    frame = iris_frame()
    frame["unused_blob"] = ["x" * 100] * len(frame)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    champion = [FeatureSignature(name="sepal_width", kind="numeric", dtype="float")]
    needed = needed_columns(signature_of(frame), spec(features=["petal_length", "size"]), champion)
    assert needed == {"species", "petal_length", "size", "sepal_width"}

    read = read_parquet(buffer.getvalue(), needed | {"not_in_the_file"})
    assert list(read.columns) == [c for c in frame.columns if c in needed]  # file order
    pd.testing.assert_frame_equal(read, frame[list(read.columns)])
    assert list(read_parquet(buffer.getvalue()).columns) == list(frame.columns)
