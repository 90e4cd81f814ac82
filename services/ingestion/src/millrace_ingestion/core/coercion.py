"""Turning a raw column into a logical type, and telling which values would not go.

A CSV column arrives as text, a Parquet column typed; both go through here so that the same
values give the same normalised column whatever the file format. Text is parsed with Arrow,
whose float parser rounds correctly (pandas' default CSV parser does not always), so "0.1" in
a CSV and 0.1 in a Parquet file become the same double.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from millrace_contracts.policies import ColumnType

Mask = npt.NDArray[np.bool_]

DATETIME_DTYPE: Final = "datetime64[us, UTC]"

_INT = r"^[+-]?[0-9]+$"
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^[+-]?(inf|infinity|nan)$"
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_INT64_LIMIT = 2.0**63


@dataclass(frozen=True)
class Coerced:
    values: pd.Series
    """The column in its normalised dtype; null where the input was null or not of the type."""
    bad: Mask
    """Rows whose input was not null but could not be read as the type."""


def is_textual(series: pd.Series) -> bool:
    """Text, or something that is only meaningful through its text (objects, categoricals)."""
    dtype = series.dtype
    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)


def _is_bool(series: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(series.dtype) and not is_textual(series)


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not _is_bool(series)


def to_text(series: pd.Series) -> pa.Array:
    """Non-null values as Arrow strings (``str()`` of anything that is not text already)."""
    if isinstance(series.dtype, pd.StringDtype):
        # Arrow-backed already (what the CSV reader gives): no trip through Python objects.
        text = pa.array(series.array)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        return pc.cast(text, pa.string())
    objects = series.to_numpy(dtype=object)
    nulls = series.isna().to_numpy(dtype=bool)
    try:
        return pa.array(objects, type=pa.string(), mask=nulls, from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array(
            [None if null else str(v) for v, null in zip(objects, nulls, strict=True)],
            type=pa.string(),
        )


def _matches(text: pa.Array, pattern: str) -> Mask:
    matched = pc.match_substring_regex(text, pattern, ignore_case=True)
    return np.asarray(matched.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _cast(
    text: pa.Array, ok: Mask, target: pa.DataType, parse: Callable[[str], object]
) -> tuple[npt.NDArray[Any], Mask]:
    """``text`` cast to ``target`` where ``ok`` (0 elsewhere), and where that really worked."""
    ok = ok.copy()
    try:
        values = pc.cast(pc.if_else(pa.array(ok), text, pa.scalar("0")), target)
    except (pa.ArrowInvalid, OverflowError):
        # Rare (an integer beyond int64): find the culprits one by one, then cast the rest.
        for i in np.flatnonzero(ok):
            try:
                parse(text[int(i)].as_py())
            except (ValueError, OverflowError):
                ok[i] = False
        values = pc.cast(pc.if_else(pa.array(ok), text, pa.scalar("0")), target)
    return np.asarray(values.to_numpy(zero_copy_only=False)), ok


def _int64(value: str) -> int:
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise OverflowError(value)
    return number


def _floats_from_text(text: pa.Array) -> tuple[npt.NDArray[np.float64], Mask]:
    values, ok = _cast(text, _matches(text, _NUMBER), pa.float64(), float)
    return values.astype(float), ok


def _ints_from_text(text: pa.Array) -> tuple[npt.NDArray[np.int64], Mask]:
    unsigned = pc.replace_substring_regex(text, r"^\+", "")  # Arrow's int parser refuses "+1"
    literals, literal = _cast(unsigned, _matches(text, _INT), pa.int64(), _int64)
    floats, numeric = _floats_from_text(text)
    # "3.0" is a fine int (pandas writes the ints of a column with nulls that way); 3.5 is not.
    integral = numeric & ~literal & _integral(floats)
    ints = np.where(literal, literals, np.where(integral, floats, 0).astype(np.int64))
    return ints.astype(np.int64), literal | integral


def _integral(floats: npt.NDArray[np.float64]) -> Mask:
    finite = np.isfinite(floats)
    safe = np.where(finite, floats, 0.0)
    integral: Mask = finite & (np.floor(safe) == safe) & (np.abs(safe) < _INT64_LIMIT)
    return integral


def _result(values: pd.api.extensions.ExtensionArray, series: pd.Series, ok: Mask) -> Coerced:
    nonnull = series.notna().to_numpy(dtype=bool)
    return Coerced(values=pd.Series(values, index=series.index), bad=nonnull & ~ok)


def _floats(values: npt.NDArray[np.float64], ok: Mask) -> pd.arrays.FloatingArray:
    # NaN never survives as a value: a float column's missing values are nulls. (+0.0 turns
    # -0.0 into 0.0, so the two do not make different versions.)
    keep = ok & ~np.isnan(values)
    return pd.arrays.FloatingArray(np.where(keep, values, 0.0) + 0.0, ~keep)


def _ints(values: npt.NDArray[np.int64], ok: Mask) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.where(ok, values, 0).astype(np.int64), ~ok)


def _bools(values: npt.NDArray[np.bool_], ok: Mask) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.where(ok, values, False), ~ok)


def _none(series: pd.Series) -> Mask:
    return np.zeros(len(series), dtype=bool)


def coerce_float(series: pd.Series) -> Coerced:
    if _is_number(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        ok = series.notna().to_numpy(dtype=bool)
        return _result(_floats(values, ok), series, ok)
    if _is_bool(series) or not is_textual(series):
        return _result(_floats(np.zeros(len(series)), _none(series)), series, _none(series))
    values, ok = _floats_from_text(pc.utf8_trim_whitespace(to_text(series)))
    return _result(_floats(values, ok), series, ok)


def coerce_int(series: pd.Series) -> Coerced:
    if _is_number(series):
        floats = series.to_numpy(dtype=float, na_value=np.nan)
        ok = _integral(floats)
        if pd.api.types.is_integer_dtype(series.dtype):
            nonnull = series.notna().to_numpy(dtype=bool)
            try:
                return _result(series.astype("Int64").array, series, nonnull)
            except (OverflowError, TypeError, ValueError):
                pass  # uint64 beyond int64: sort out value by value, exactly
            exact = series.astype(object).where(series.notna(), None).to_numpy()
            ok &= np.array([v is None or -(2**63) <= int(v) < 2**63 for v in exact])
            ints = np.array([int(v) if k else 0 for v, k in zip(exact, ok, strict=True)])
            return _result(_ints(ints.astype(np.int64), ok), series, ok)
        return _result(_ints(np.where(ok, floats, 0).astype(np.int64), ok), series, ok)
    if _is_bool(series) or not is_textual(series):
        return _result(_ints(np.zeros(len(series), np.int64), _none(series)), series, _none(series))
    ints, ok = _ints_from_text(pc.utf8_trim_whitespace(to_text(series)))
    return _result(_ints(ints, ok), series, ok)


def coerce_bool(series: pd.Series) -> Coerced:
    nonnull = series.notna().to_numpy(dtype=bool)
    if _is_bool(series):
        values = series.to_numpy(dtype=bool, na_value=False)
        return _result(_bools(values, nonnull), series, nonnull)
    if _is_number(series):
        floats = series.to_numpy(dtype=float, na_value=np.nan)
        ok = nonnull & np.isin(floats, [0.0, 1.0])
        return _result(_bools(floats == 1.0, ok), series, ok)
    words = pc.utf8_lower(pc.utf8_trim_whitespace(to_text(series)))
    truth = _is_in(words, _TRUE)
    ok = truth | _is_in(words, _FALSE)
    return _result(_bools(truth, ok), series, ok)


def _is_in(words: pa.Array, vocabulary: frozenset[str]) -> Mask:
    found = pc.is_in(words, value_set=pa.array(sorted(vocabulary))).fill_null(False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def coerce_string(series: pd.Series) -> Coerced:
    # Everything has a text form, and a CSV holds nothing else, so nothing is the wrong type.
    values = pd.array(to_text(series).to_pylist(), dtype="string")
    return _result(values, series, series.notna().to_numpy(dtype=bool))


def coerce_datetime(series: pd.Series) -> Coerced:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        parsed = pd.to_datetime(series, utc=True)
    elif is_textual(series):
        text = pd.Series(to_text(series).to_pylist(), dtype=object, index=series.index)
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    else:
        parsed = pd.Series(pd.NaT, index=series.index, dtype=DATETIME_DTYPE)
    values = parsed.astype(DATETIME_DTYPE)
    ok = values.notna().to_numpy(dtype=bool)
    return _result(values.array, series, ok)


_COERCERS: dict[str, Callable[[pd.Series], Coerced]] = {
    "int": coerce_int,
    "float": coerce_float,
    "bool": coerce_bool,
    "string": coerce_string,
    "category": coerce_string,
    "datetime": coerce_datetime,
}


def coerce(series: pd.Series, dtype: ColumnType) -> Coerced:
    """``series`` as ``dtype``; ``bad`` marks the values that are not of that type.

    Blank text is null for every type but string (a CSV's empty field is null anyway).
    """
    series = series.reset_index(drop=True)
    if dtype not in ("string", "category"):
        series = blank_to_null(series)
    return _COERCERS[dtype](series)


def blank_to_null(series: pd.Series) -> pd.Series:
    if not is_textual(series):
        return series
    trimmed = pc.utf8_trim_whitespace(to_text(series))
    blank = np.asarray(pc.equal(trimmed, "").fill_null(False).to_numpy(zero_copy_only=False))
    return series.mask(pd.Series(blank, index=series.index)) if blank.any() else series


def infer_type(series: pd.Series) -> ColumnType:
    """The narrowest logical type every non-null value fits: int, float, bool, else string.

    Typed columns keep their type; text is tried as int, then float, then true/false, so a CSV
    and a Parquet file of the same frame infer the same types.
    """
    if _is_bool(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "int"
    if pd.api.types.is_float_dtype(series.dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    series = blank_to_null(series)
    if series.notna().sum() == 0:
        return "string"
    trimmed = pc.utf8_trim_whitespace(to_text(series))
    nonnull = series.notna().to_numpy(dtype=bool)
    if bool(_matches(trimmed, _INT)[nonnull].all()) and not coerce_int(series).bad.any():
        return "int"
    if bool(_matches(trimmed, _NUMBER)[nonnull].all()):
        return "float"
    if bool(_matches(trimmed, r"^(true|false)$")[nonnull].all()):
        return "bool"
    return "string"
