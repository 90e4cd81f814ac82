"""Request rows checked against the model's signature, every problem named by row and field.

Built once per loaded model (``SignatureValidator``), so a request only runs one small check
per feature. Strict on purpose: a missing, unexpected or mistyped feature is refused rather
than imputed or ignored, because a client sending the wrong shape would otherwise get
confident predictions for inputs the model never saw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
from millrace_contracts import FeatureSignature
from millrace_shared.modelio import epoch_seconds

from .rows import Matrix, NumberRows

MAX_ERRORS = 100
"""Errors reported per request; a batch of garbage needs no 10,000-line answer."""
MAX_MAGNITUDE = 1e150
"""Largest absolute number a feature takes. JSON numbers are unbounded and float64 ends near
1.8e308, so a finite value such as -1.7e308 can overflow a model's scaling (a 500 before);
1e150 leaves room for a square or a scale, and is beyond any real feature."""


class Code:
    """``code`` values of input errors."""

    MISSING = "missing_feature"
    UNEXPECTED = "unexpected_feature"
    WRONG_TYPE = "wrong_type"
    NULL = "null_not_allowed"
    NOT_AN_OBJECT = "not_an_object"
    INVALID_JSON = "invalid_json"
    EMPTY_BATCH = "empty_batch"
    OUT_OF_RANGE = "out_of_range"
    UNPREDICTABLE = "unpredictable"


@dataclass(frozen=True, slots=True)
class InputError:
    row: int | None
    """Index of the row in the request (0 for a single row); None for the request itself."""
    field: str | None
    code: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message}


class InvalidInput(ValueError):
    def __init__(self, errors: list[InputError], truncated: bool = False) -> None:
        super().__init__(f"{len(errors)} input error(s)")
        self.errors, self.truncated = errors, truncated


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# A check returns None when the value fits, else (code, message).
Check = Callable[[Any], tuple[str, str] | None]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _in_range(value: Any) -> bool:
    """A number (any other value is not this check's) within ``MAX_MAGNITUDE``."""
    return not _is_number(value) or -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE


def _is_timestamp(value: Any) -> bool:
    if _is_number(value):
        return True
    if not isinstance(value, str):
        return False
    try:
        epoch_seconds(value)
    except ValueError:
        return False
    return True


def _check_for(feature: FeatureSignature) -> Check:
    accepts: Callable[[Any], bool]
    if feature.dtype == "datetime":
        accepts, expected = _is_timestamp, "a number (epoch seconds) or an ISO-8601 string"
    elif feature.dtype == "bool":
        accepts, expected = (lambda v: isinstance(v, bool)), "a boolean"
    elif feature.kind == "numeric" or feature.dtype in ("int", "float"):
        accepts, expected = _is_number, "a number"
    else:
        accepts, expected = (lambda v: isinstance(v, str)), "a string"
    nullable = feature.nullable

    def check(value: Any) -> tuple[str, str] | None:
        if value is None:
            return None if nullable else (Code.NULL, "null is not allowed for this feature")
        if not accepts(value):
            return Code.WRONG_TYPE, f"expected {expected}, got {json_type(value)}"
        if not _in_range(value):
            return Code.OUT_OF_RANGE, f"a number's magnitude is at most {MAX_MAGNITUDE:g}"
        return None

    return check


def _clean_types(feature: FeatureSignature) -> frozenset[type]:
    """Exact value types that certainly fit ``feature`` with nothing to convert (an ISO
    string for a datetime needs parsing, so it takes the per-field path). Exact types: bool
    is an int subclass, and a JSON true is not a number here."""
    allowed: set[type]
    if feature.dtype == "bool":
        allowed = {bool}
    elif (
        feature.dtype == "datetime"
        or feature.kind == "numeric"
        or feature.dtype in ("int", "float")
    ):
        allowed = {int, float}  # as ``_check_for`` decides, in its order
    else:
        allowed = {str}
    if feature.nullable:
        allowed.add(type(None))
    return frozenset(allowed)


_NUMERIC = frozenset({int, float, type(None)})
_BULK = 256
"""Values from which numpy's magnitude check beats Python's (its set-up costs a single row)."""


def _numbers(values: list[Any]) -> Matrix | None:
    """Every number of ``values`` (ints, floats, None) as float64 (None as NaN), if all are
    within ``MAX_MAGNITUDE``; None otherwise. Strictly below: float64 rounding of an int is
    monotone, so ``float(v) < MAX`` implies ``v < MAX``; a value at the bound (or an int past
    float64) takes the exact check."""
    try:
        numbers = np.fromiter(values, dtype=np.float64, count=len(values))
    except (OverflowError, TypeError, ValueError):
        return None
    # NaN (a null) compares False: nulls are not this check's.
    if bool((np.abs(numbers) >= MAX_MAGNITUDE).any()):
        return None
    return numbers


class SignatureValidator:
    def __init__(self, signature: Sequence[FeatureSignature]) -> None:
        self._checks = tuple((f.name, _check_for(f)) for f in signature)
        self._names = frozenset(f.name for f in signature)
        self._order = tuple(f.name for f in signature)
        self._dates = tuple(f.name for f in signature if f.dtype == "datetime")
        self._clean = tuple((itemgetter(f.name), _clean_types(f)) for f in signature)
        # All features take exactly the same types: one set over every value of every row.
        same = {types for _, types in self._clean}
        self._uniform = same.pop() if len(same) == 1 else None

    def _in_order(self, rows: Sequence[dict[str, Any]]) -> bool:
        """Every row (each of the signature's width) lists exactly the features, in the
        signature's order. orjson reuses one key string per name, so comparing with the
        first row's keys repeated mostly compares a string with itself."""
        first = list(rows[0])
        if tuple(first) != self._order:
            return False
        return list(chain.from_iterable(rows)) == first * len(rows)

    def _all_clean(self, rows: Sequence[Any]) -> Sequence[Any] | None:
        """The common case checked in bulk, column by column: every row an object with exactly
        the features, every value of a type its feature takes as it is. None sends the rows
        through the per-field check, which names each problem; otherwise the rows to
        predict, as ``NumberRows`` when their values made the batch's matrix on the way."""
        if not rows:
            return None
        width = len(self._order)
        # Only a batch big enough for the bulk magnitude check can give a matrix: single rows
        # keep the one loop below.
        ordered = False
        if len(rows) * width > _BULK:
            if set(map(type, rows)) != {dict} or set(map(len, rows)) != {width}:
                return None
            ordered = self._in_order(rows)
        if not ordered:
            names = self._names
            for row in rows:
                if type(row) is not dict or row.keys() != names:
                    return None
        # Every value of every row, flattened in C (dict.values, chain).
        values = list(chain.from_iterable(map(dict.values, rows)))
        present = set(map(type, values))
        if self._uniform is not None:
            if not present <= self._uniform:
                return None
        elif not all(set(map(type, map(pick, rows))) <= types for pick, types in self._clean):
            return None
        # Numbers beyond the magnitude the model's arithmetic takes go the per-field way too.
        if len(values) > _BULK and present <= _NUMERIC:
            numbers = _numbers(values)
            if numbers is None:
                return None
            if not ordered:
                return rows
            # Row-major: row after row, each in signature order, which is the input matrix.
            return NumberRows(rows, self._order, numbers.reshape(len(rows), width))
        clean = all(
            -MAX_MAGNITUDE <= v <= MAX_MAGNITUDE
            for v in values
            if type(v) is float or type(v) is int
        )
        return rows if clean else None

    def row_errors(self, row: Any, index: int) -> list[InputError]:
        if not isinstance(row, Mapping):
            return [
                InputError(
                    index, None, Code.NOT_AN_OBJECT, f"expected an object, got {json_type(row)}"
                )
            ]
        errors: list[InputError] = []
        present = 0
        for name, check in self._checks:
            if name not in row:
                errors.append(InputError(index, name, Code.MISSING, "required feature is missing"))
                continue
            present += 1
            problem = check(row[name])
            if problem is not None:
                errors.append(InputError(index, name, *problem))
        if len(row) > present:  # cheaper than a set difference on the common, clean path
            errors.extend(
                InputError(index, str(key), Code.UNEXPECTED, "not a feature of this model")
                for key in row
                if key not in self._names
            )
        return errors

    def validate(self, rows: Sequence[Any]) -> Sequence[Any]:
        """Raise ``InvalidInput`` with every problem (up to ``MAX_ERRORS``) of every row;
        return the rows to predict: ``rows``, or the same rows as ``NumberRows``.

        Datetime features given as ISO strings are replaced by epoch seconds in the rows, so
        the prediction logs carry what the model saw.
        """
        clean = self._all_clean(rows)
        if clean:  # no rows (nothing to check) take the per-field loop: none of it runs
            return clean
        errors: list[InputError] = []
        for index, row in enumerate(rows):
            errors.extend(self.row_errors(row, index))
            if len(errors) > MAX_ERRORS:
                raise InvalidInput(errors[:MAX_ERRORS], truncated=True)
        if errors:
            raise InvalidInput(errors)
        for name in self._dates:
            for row in rows:
                row[name] = epoch_seconds(row[name])
        return rows
