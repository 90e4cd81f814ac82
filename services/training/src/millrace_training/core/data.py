"""From a dataset version's Parquet bytes to the features and target a pipeline is fitted on."""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from millrace_contracts import FeatureSignature, TrainingSpec

from .errors import CannotTrain


@dataclass(frozen=True)
class PreparedData:
    raw: pd.DataFrame
    """The columns read (``needed_columns``) of the rows kept (null targets dropped), index
    0..n-1: the champion's features are taken from here, so it is judged on exactly the same
    rows."""
    features: pd.DataFrame
    """The model's input: the signature's features in signature order, with positional (integer)
    column labels, so the fitted pipeline records no feature names (see ``positional``)."""
    target: np.ndarray
    signature: list[FeatureSignature]
    """Numeric features first, then categorical ones (``input_order``)."""
    dropped_null_targets: int

    @property
    def numeric(self) -> list[str]:
        return [f.name for f in self.signature if f.kind == "numeric"]

    @property
    def categorical(self) -> list[str]:
        return [f.name for f in self.signature if f.kind == "categorical"]

    @property
    def rows(self) -> int:
        return len(self.target)


def read_parquet(data: bytes, columns: Collection[str] | None = None) -> pd.DataFrame:
    """The Parquet's rows; with ``columns``, only those of them the file has, in file order.

    Parquet stores each column apart, so the others are never decoded: a wide dataset costs
    the memory of the columns a model uses, not of all of them.
    """
    source = io.BytesIO(data)
    if columns is None:
        return pd.read_parquet(source)
    wanted = set(columns)
    names = [name for name in pq.read_schema(source).names if name in wanted]
    source.seek(0)
    return pd.read_parquet(source, columns=names)


def needed_columns(
    columns: Sequence[FeatureSignature],
    spec: TrainingSpec,
    champion: Sequence[FeatureSignature] = (),
) -> set[str]:
    """The columns a run reads: the target, the model's features and the champion's."""
    signature = select_signature(columns, spec)
    return {spec.target, *(f.name for f in signature), *(f.name for f in champion)}


def select_signature(
    columns: Sequence[FeatureSignature], spec: TrainingSpec
) -> list[FeatureSignature]:
    """The model's input features: the spec's list, or every declared column but the target."""
    by_name = {c.name: c for c in columns}
    if spec.target not in by_name:
        raise CannotTrain(f"target column {spec.target!r} is not in the dataset")
    if spec.features is None:
        return [c for c in columns if c.name != spec.target]
    missing = [f for f in spec.features if f not in by_name]
    if missing:
        raise CannotTrain(f"feature column(s) not in the dataset: {', '.join(missing)}")
    if spec.target in spec.features:
        raise CannotTrain(f"the target {spec.target!r} cannot also be a feature")
    return [by_name[f] for f in spec.features]


def input_order(signature: Sequence[FeatureSignature]) -> list[FeatureSignature]:
    """Numeric features, then categorical ones, each group in its given order.

    The column order of the model's input, and so of the signature it is published with:
    ``build_pipeline`` selects the two groups by position.
    """
    return [f for f in signature if f.kind == "numeric"] + [
        f for f in signature if f.kind != "numeric"
    ]


def positional(features: pd.DataFrame) -> pd.DataFrame:
    """The same columns labelled 0..n-1.

    sklearn records feature names only when every column label is a string, so a pipeline
    fitted on this takes a plain 2-D array at serving time (``millrace_shared.modelio``).
    """
    return features.set_axis(range(features.shape[1]), axis="columns")


def coerce_features(frame: pd.DataFrame, signature: Sequence[FeatureSignature]) -> pd.DataFrame:
    """Numeric columns as float (NaN for null), categoricals as Python objects (NaN for null).

    This is the shape serving produces from JSON, so the fitted pipeline sees the same types
    at training and at prediction time. Datetimes (numeric kind) become seconds since the
    epoch, UTC, as ingestion profiles them.
    """
    missing = [f.name for f in signature if f.name not in frame.columns]
    if missing:
        raise CannotTrain(f"column(s) missing from the data: {', '.join(missing)}")
    out: dict[str, pd.Series] = {}
    for feature in signature:
        column = frame[feature.name]
        if feature.kind == "numeric" and pd.api.types.is_datetime64_any_dtype(column):
            out[feature.name] = epoch_seconds(pd.to_datetime(column, utc=True))
        elif feature.kind == "numeric":
            try:
                out[feature.name] = pd.to_numeric(column).astype("float64")
            except (TypeError, ValueError) as error:
                raise CannotTrain(f"numeric column {feature.name!r}: {error}") from error
        else:
            values = column.astype(object)
            out[feature.name] = values.where(column.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index)


def epoch_seconds(stamps: pd.Series) -> pd.Series:
    """Seconds since the epoch of UTC datetimes (NaN for NaT), computed in their own unit.

    Not ``stamps - Timestamp(0)``: that computes in nanoseconds, which end in 2262, while
    ingestion keeps microseconds (any year to 9999), so a later date failed the training.
    """
    raw = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    unit, count = np.datetime_data(raw.dtype)
    seconds: np.ndarray = raw.view(np.int64).astype(np.float64) * (count / _TICKS_PER_SECOND[unit])
    seconds[np.isnat(raw)] = np.nan
    return pd.Series(seconds, index=stamps.index)


_TICKS_PER_SECOND: dict[str, float] = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
"""The units pandas keeps datetimes in."""


def _target(column: pd.Series, spec: TrainingSpec) -> np.ndarray:
    if spec.task == "regression":
        try:
            return pd.to_numeric(column).to_numpy(dtype="float64")
        except (TypeError, ValueError) as error:
            raise CannotTrain(f"regression target {spec.target!r}: {error}") from error
    labels = column.infer_objects().to_numpy()
    distinct = pd.unique(labels)
    if len(distinct) < 2:
        raise CannotTrain(f"classification target {spec.target!r} has fewer than two classes")
    if labels.dtype.kind not in "biuf":
        # A uniform Python type keeps sklearn from mixing str and other label types. Labels
        # that all are str already are kept as they are: converting each of them is slow.
        if labels.dtype == object and all(type(label) is str for label in distinct):
            return labels
        labels = labels.astype(str).astype(object)
    return labels


def prepare(
    frame: pd.DataFrame, columns: Sequence[FeatureSignature], spec: TrainingSpec
) -> PreparedData:
    signature = input_order(select_signature(columns, spec))
    if spec.target not in frame.columns:
        raise CannotTrain(f"target column {spec.target!r} is missing from the data")
    keep = frame[spec.target].notna()
    raw = frame.loc[keep].reset_index(drop=True)
    if len(raw) < 4:
        raise CannotTrain(f"only {len(raw)} row(s) with a target: too few to split and fit")
    return PreparedData(
        raw=raw,
        features=positional(coerce_features(raw, signature)),
        target=_target(raw[spec.target], spec),
        signature=signature,
        dropped_null_targets=int((~keep).sum()),
    )
