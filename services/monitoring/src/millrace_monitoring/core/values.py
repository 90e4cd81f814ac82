"""Turning one feature's live values into what the drift checks compare.

Numbers go through one numpy conversion for the whole batch; only a batch holding something
numpy cannot read (an ISO timestamp for a datetime feature, a stray string) takes the slow path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
from millrace_contracts.common import ScalarValue

from .stats import FloatArray


def as_floats(values: Sequence[ScalarValue]) -> FloatArray:
    """Floats with NaN for missing or unreadable values; datetimes become epoch seconds.

    Epoch seconds is how ingestion profiles a datetime column, so live timestamps land in the
    reference's bins.
    """
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return np.fromiter((_one_float(v) for v in values), dtype=np.float64, count=len(values))


def _one_float(value: ScalarValue) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return math.nan
        # A naive timestamp is taken as UTC, as ingestion takes it.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return float(value)


def as_labels(values: Sequence[ScalarValue]) -> list[str | None]:
    """Category labels as ingestion counts them: ``str(value)``; None stays missing."""
    return [None if v is None else str(v) for v in values]


def numeric_columns(rows: Sequence[dict[str, Any]], names: list[str]) -> dict[str, FloatArray]:
    """``as_floats`` of each named feature over ``rows``, read as one matrix when it can be.

    One numpy conversion of every row's values converts each element as ``as_floats`` would
    (where it converts at all), so a matrix that converts equals the columns converted one by
    one; a row missing a feature, or a value it cannot read (None included), sends the batch to
    the column-wise path.
    """
    if not names or not rows:
        return {name: as_floats([r.get(name) for r in rows]) for name in names}
    pick = itemgetter(*names)
    # itemgetter of one name gives the value itself, not a 1-tuple
    values = chain.from_iterable(map(pick, rows)) if len(names) > 1 else map(pick, rows)
    try:
        flat = np.fromiter(values, dtype=np.float64, count=len(rows) * len(names))
    except (KeyError, TypeError, ValueError):
        return {name: as_floats([r.get(name) for r in rows]) for name in names}
    matrix = flat.reshape(len(rows), len(names))
    return {name: np.ascontiguousarray(matrix[:, j]) for j, name in enumerate(names)}
