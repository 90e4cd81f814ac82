"""Turning one feature's live values into what the drift checks compare.

Numbers go through one numpy conversion for the whole batch; only a batch holding something
numpy cannot read (an ISO timestamp for a datetime feature, a stray string) takes the slow path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

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
