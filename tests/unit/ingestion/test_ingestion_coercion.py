"""Coercion of raw columns to logical types, and type inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from millrace_ingestion.core.coercion import coerce, infer_type


def text(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype=str)


def test_int_from_text_accepts_signs_spaces_and_integral_decimals() -> None:
    coerced = coerce(text("1", " 2 ", "+3", "-4", "5.0", None), "int")
    assert coerced.values.tolist() == [1, 2, 3, -4, 5, pd.NA]
    assert not coerced.bad.any()
    assert str(coerced.values.dtype) == "Int64"


def test_int_from_text_marks_fractions_words_and_overflow_bad() -> None:
    coerced = coerce(text("4.5", "x", "99999999999999999999", "7"), "int")
    assert coerced.bad.tolist() == [True, True, True, False]
    assert coerced.values.iloc[3] == 7


def test_float_from_text_rounds_like_python() -> None:
    values = ["0.1", "1e-3", ".5", "-2.", "123456789.123456789"]
    coerced = coerce(text(*values), "float")
    assert coerced.values.tolist() == [float(v) for v in values]


def test_float_turns_negative_zero_and_nan_into_canonical_values() -> None:
    coerced = coerce(pd.Series([-0.0, np.nan, 1.0]), "float")
    assert str(coerced.values.iloc[0]) == "0.0"
    assert coerced.values.isna().tolist() == [False, True, False]
    assert not coerced.bad.any()


def test_bool_from_words_and_numbers() -> None:
    coerced = coerce(text("true", "No", "1", "F", "maybe", None), "bool")
    assert coerced.values.tolist()[:4] == [True, False, True, False]
    assert coerced.bad.tolist() == [False, False, False, False, True, False]
    assert coerce(pd.Series([0, 1, 2]), "bool").bad.tolist() == [False, False, True]


def test_typed_columns_convert_only_when_lossless() -> None:
    assert coerce(pd.Series([1.0, 2.5, np.nan]), "int").bad.tolist() == [False, True, False]
    assert coerce(pd.Series([True, False]), "int").bad.all()
    assert coerce(pd.Series([True, False]), "float").bad.all()
    assert coerce(pd.Series([1, 2], dtype="int32"), "float").values.tolist() == [1.0, 2.0]
    big = coerce(pd.Series([1, 2**63 + 5], dtype="uint64"), "int")
    assert big.bad.tolist() == [False, True]


def test_string_accepts_anything_and_keeps_text_as_is() -> None:
    coerced = coerce(pd.Series([" 007", 1.5, True, None], dtype=object), "string")
    assert coerced.values.tolist() == [" 007", "1.5", "True", pd.NA]
    assert not coerced.bad.any()


def test_datetime_from_iso_text_and_typed_values_in_utc() -> None:
    coerced = coerce(text("2024-01-01", "2024-01-01T01:00:00+01:00", "soon", None), "datetime")
    assert coerced.bad.tolist() == [False, False, True, False]
    assert coerced.values.iloc[0] == coerced.values.iloc[1] == pd.Timestamp("2024-01-01", tz="UTC")
    typed = coerce(pd.Series(pd.to_datetime(["2024-01-01 00:00"])), "datetime")
    assert typed.values.iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "-2", None], "int"),
        (["1.0", "2"], "float"),
        (["1e3", "2"], "float"),
        (["True", "false"], "bool"),
        (["1", "0"], "int"),  # 0/1 text is an int column, as the same Parquet column would be
        (["yes", "no"], "string"),
        (["a", "1"], "string"),
        ([None, None], "string"),
        (["99999999999999999999"], "float"),
    ],
)
def test_infer_type_of_text(values: list[str | None], expected: str) -> None:
    assert infer_type(text(*values)) == expected


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        (pd.Series([1, 2]), "int"),
        (pd.Series([1, None], dtype="Int64"), "int"),
        (pd.Series([1.0, np.nan]), "float"),
        (pd.Series([True, False]), "bool"),
        (pd.Series(pd.to_datetime(["2024-01-01"])), "datetime"),
        (pd.Series(["a", "b"], dtype="category"), "string"),
        (pd.Series(["1", "2"], dtype="category"), "int"),
    ],
)
def test_infer_type_of_typed_columns(series: pd.Series, expected: str) -> None:
    assert infer_type(series) == expected
