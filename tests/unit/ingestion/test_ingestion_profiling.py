"""The reference profile: quantile bins fixed once, counts, samples, categories."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from millrace_contracts import DatasetProfile
from millrace_contracts.policies import ColumnSpec
from millrace_ingestion.core.profiling import (
    ProfileOptions,
    bin_counts,
    build_profile,
    numeric_profile,
    quantile_edges,
)

VERSION = "0" * 64
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def profile(frame: pd.DataFrame, columns: list[ColumnSpec], **options: int) -> DatasetProfile:
    return build_profile(
        frame,
        columns,
        dataset="iris",
        version=VERSION,
        created_at=NOW,
        options=ProfileOptions(**options),
    )


def test_bin_counts_sum_to_the_non_null_count() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(size=1000)
    values[::10] = np.nan
    frame = pd.DataFrame({"x": pd.array(values, dtype="Float64")})
    column = profile(frame, [ColumnSpec(name="x", dtype="float", nullable=True)]).column("x")
    assert column.count == 900
    assert column.nulls == 100
    assert column.numeric is not None
    assert sum(column.numeric.bin_counts) == column.count
    assert len(column.numeric.bin_counts) == len(column.numeric.bin_edges) + 1
    assert len(column.numeric.bin_edges) == 9  # 10 bins
    assert column.numeric.bin_edges == sorted(set(column.numeric.bin_edges))


def test_bins_are_right_closed() -> None:
    numbers = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    assert bin_counts(numbers, [2.0, 3.0]) == [3, 1, 1]  # (-inf,2], (2,3], (3,+inf)


def test_repeated_values_merge_edges() -> None:
    edges = quantile_edges(np.array([1.0] * 90 + [2.0] * 10), bins=10)
    assert edges == sorted(set(edges))
    assert len(edges) < 9
    assert sum(bin_counts(np.array([1.0] * 90 + [2.0] * 10), edges)) == 100


def test_sample_is_capped_seeded_and_drawn_from_the_values() -> None:
    numbers = np.arange(20_000, dtype=float)
    first = numeric_profile(numbers, ProfileOptions(sample_size=5000, seed=3))
    again = numeric_profile(numbers, ProfileOptions(sample_size=5000, seed=3))
    other = numeric_profile(numbers, ProfileOptions(sample_size=5000, seed=4))
    assert len(first.sample) == 5000
    assert len(set(first.sample)) == 5000
    assert first.sample == again.sample != other.sample
    assert set(first.sample) <= set(numbers.tolist())
    assert numeric_profile(numbers[:10], ProfileOptions()).sample == numbers[:10].tolist()


def test_numeric_statistics() -> None:
    stats = numeric_profile(np.array([1.0, 2.0, 3.0, 4.0]), ProfileOptions())
    assert (stats.mean, stats.min, stats.max) == (2.5, 1.0, 4.0)
    assert stats.std is not None and abs(stats.std - np.std([1, 2, 3, 4], ddof=1)) < 1e-12


def test_an_all_null_numeric_column_has_one_empty_bin() -> None:
    frame = pd.DataFrame({"x": pd.array([None, None], dtype="Float64")})
    column = profile(frame, [ColumnSpec(name="x", dtype="float", nullable=True)]).column("x")
    assert column.numeric is not None
    assert (column.numeric.bin_edges, column.numeric.bin_counts) == ([], [0])
    assert column.numeric.mean is None


def test_categorical_columns_count_categories_as_strings() -> None:
    frame = pd.DataFrame(
        {
            "species": pd.array(["setosa", "virginica", "setosa", None], dtype="string"),
            "ok": pd.array([True, False, True, True], dtype="boolean"),
        }
    )
    result = profile(
        frame,
        [
            ColumnSpec(name="species", dtype="category", nullable=True),
            ColumnSpec(name="ok", dtype="bool"),
        ],
    )
    species = result.column("species")
    assert (species.kind, species.dtype, species.nulls) == ("categorical", "string", 1)
    assert species.categorical is not None
    assert species.categorical.counts == {"setosa": 2, "virginica": 1}
    ok = result.column("ok")
    assert ok.categorical is not None
    assert ok.categorical.counts == {"False": 1, "True": 3}


def test_integers_are_numeric_and_datetimes_are_seconds() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1, 2, 3], dtype="Int64"),
            "t": pd.Series(pd.to_datetime(pd.Series(["1970-01-01", "1970-01-02", None]), utc=True)),
        }
    )
    result = profile(
        frame,
        [ColumnSpec(name="n", dtype="int"), ColumnSpec(name="t", dtype="datetime", nullable=True)],
    )
    assert result.column("n").kind == "numeric"
    t = result.column("t").numeric
    assert t is not None
    assert (t.min, t.max) == (0.0, 86400.0)


def test_datetimes_past_2262_are_profiled_in_seconds() -> None:
    """Found by test_ingestion_properties.py: a Parquet timestamp in 2263 (valid for the
    microsecond dtype ingestion keeps) overflowed nanoseconds and failed the arrival."""
    stamps = pd.Series(["0001-01-01", "1970-01-02", "2263-01-01T00:00:00.5"])
    frame = pd.DataFrame(
        {"t": pd.to_datetime(stamps, utc=True, format="ISO8601").astype("datetime64[us, UTC]")}
    )
    t = profile(frame, [ColumnSpec(name="t", dtype="datetime")]).column("t").numeric
    assert t is not None
    assert t.min == -62135596800.0  # 0001-01-01T00:00:00Z
    assert t.max == 9246182400.5
    assert 86400.0 in t.sample
