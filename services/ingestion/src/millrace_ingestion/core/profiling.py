"""The reference profile of a version: what drift detection compares live inputs against.

Bins are fixed here, once, from the data's quantiles; monitoring reuses them for every window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
from millrace_contracts import CategoricalProfile, ColumnProfile, DatasetProfile, NumericProfile
from millrace_contracts.policies import ColumnSpec

from .columns import category_labels, kind_of, logical_dtype


@dataclass(frozen=True)
class ProfileOptions:
    bins: int = 10
    """Quantile bins wanted; repeated values can merge some, never add any."""
    sample_size: int = 5000
    seed: int = 0


def build_profile(
    frame: pd.DataFrame,
    columns: list[ColumnSpec],
    *,
    dataset: str,
    version: str,
    created_at: datetime,
    options: ProfileOptions,
) -> DatasetProfile:
    return DatasetProfile(
        dataset=dataset,
        dataset_version=version,
        rows=len(frame),
        columns=profile_columns(frame, columns, options),
        created_at=created_at,
    )


def profile_columns(
    frame: pd.DataFrame, columns: list[ColumnSpec], options: ProfileOptions
) -> list[ColumnProfile]:
    """The columns' profiles: all of a profile that does not depend on the version's name."""
    return [_column(frame[c.name], c, options) for c in columns]


def _column(values: pd.Series, column: ColumnSpec, options: ProfileOptions) -> ColumnProfile:
    nulls = int(values.isna().sum())
    kind = kind_of(column.dtype)
    profile = ColumnProfile(
        name=column.name,
        kind=kind,
        dtype=logical_dtype(column.dtype),
        count=len(values) - nulls,
        nulls=nulls,
    )
    if kind == "numeric":
        return profile.model_copy(update={"numeric": numeric_profile(_numbers(values), options)})
    counts = category_labels(values, column.dtype).value_counts()
    categorical = CategoricalProfile(counts={str(k): int(v) for k, v in sorted(counts.items())})
    return profile.model_copy(update={"categorical": categorical})


def _numbers(values: pd.Series) -> npt.NDArray[np.float64]:
    values = values.dropna()
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return epoch_seconds(values)
    return values.to_numpy(dtype=float)


def epoch_seconds(stamps: pd.Series) -> npt.NDArray[np.float64]:
    """Seconds since the epoch, UTC, of non-null datetimes, in their own unit.

    Not ``stamps - Timestamp(0)``: that computes in nanoseconds, which end in 2262, and the
    data keeps microseconds (years 1 to 9999 and beyond).
    """
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    raw = stamps.to_numpy()
    unit, count = np.datetime_data(raw.dtype)
    ticks: npt.NDArray[np.float64] = raw.view(np.int64).astype(np.float64)
    return ticks * (count / _TICKS_PER_SECOND[unit])


_TICKS_PER_SECOND: dict[str, float] = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
"""The units pandas keeps datetimes in."""


def quantile_edges(numbers: npt.NDArray[np.float64], bins: int) -> list[float]:
    """Inner edges at the 1/bins, 2/bins, ... quantiles, repeats merged."""
    if numbers.size == 0:
        return []
    probabilities = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    return [float(e) for e in np.unique(np.quantile(numbers, probabilities))]


def bin_counts(numbers: npt.NDArray[np.float64], edges: list[float]) -> list[int]:
    """Counts in (-inf, e0], (e0, e1], ..., (ek, +inf): right-closed, as the contract says."""
    index = np.searchsorted(np.asarray(edges, dtype=float), numbers, side="left")
    return [int(c) for c in np.bincount(index, minlength=len(edges) + 1)]


def _sorted_bin_counts(ordered: npt.NDArray[np.float64], edges: list[float]) -> list[int]:
    """``bin_counts`` of sorted numbers: a search per edge instead of one per number."""
    ends = np.searchsorted(ordered, np.asarray(edges, dtype=float), side="right")
    return [int(c) for c in np.diff(ends, prepend=0, append=ordered.size)]


def numeric_profile(numbers: npt.NDArray[np.float64], options: ProfileOptions) -> NumericProfile:
    # Quantiles of sorted numbers are the same numbers, found without a selection per call.
    ordered = np.sort(numbers)
    edges = quantile_edges(ordered, options.bins)
    if numbers.size > options.sample_size:
        rng = np.random.default_rng(options.seed)
        sample = rng.choice(numbers, size=options.sample_size, replace=False)
    else:
        sample = numbers
    empty = numbers.size == 0
    return NumericProfile(
        mean=None if empty else float(numbers.mean()),
        std=None if empty else float(numbers.std(ddof=1)) if numbers.size > 1 else 0.0,
        min=None if empty else float(numbers.min()),
        max=None if empty else float(numbers.max()),
        bin_edges=edges,
        bin_counts=_sorted_bin_counts(ordered, edges),
        sample=np.asarray(sample, dtype=np.float64).tolist(),
    )
