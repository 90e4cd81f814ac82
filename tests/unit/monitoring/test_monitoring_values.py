"""Live values into arrays: numbers, nulls, timestamps, categories."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
from millrace_contracts.common import ScalarValue
from millrace_monitoring.core.values import as_floats, as_labels, numeric_columns


def test_numbers_and_nulls_take_the_fast_path() -> None:
    values = as_floats([1, 2.5, None, True])
    assert values[:2].tolist() == [1.0, 2.5]
    assert math.isnan(values[2]) and values[3] == 1.0


def test_timestamps_become_epoch_seconds_and_junk_becomes_missing() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    values = as_floats(["2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "n/a", 3.0, "4"])
    assert values[0] == values[1] == moment.timestamp()
    assert math.isnan(values[2])
    assert values[3:].tolist() == [3.0, 4.0]


def test_categories_are_counted_as_str_like_ingestion_counts_them() -> None:
    assert as_labels(["red", True, 3, None]) == ["red", "True", "3", None]


def test_numeric_columns_equal_each_column_read_alone() -> None:
    rows: list[dict[str, ScalarValue]] = [
        {"a": 1, "b": "2.5", "c": True, "d": "2026-01-01T00:00:00Z"},
        {"a": None, "b": 3.0, "c": False, "d": 5.0},
        {"a": 2.0, "b": 4, "c": 1},  # no "d": the column-wise path
    ]
    for names in (["a", "b", "c"], ["b"], ["a", "b", "c", "d"], []):
        for part in (rows[:2], rows[:1], rows, []):
            columns = numeric_columns(part, names)
            assert list(columns) == names
            for name in names:
                expected = as_floats([r.get(name) for r in part])
                np.testing.assert_array_equal(columns[name], expected)
