"""A contract for a dataset nobody declared one for: the shape of its first accepted arrival.

Only columns, types and nullability are inferred. Ranges and categories are not: the next
arrival's legitimate new values would break them.
"""

from __future__ import annotations

import pandas as pd
from millrace_contracts import DatasetSpec
from millrace_contracts.policies import ColumnSpec

from .coercion import coerce, infer_type


def infer_spec(frame: pd.DataFrame, *, target: str | None = None) -> DatasetSpec:
    """Columns in sorted order, so the column order of the file does not matter."""
    columns: list[ColumnSpec] = []
    for name in sorted(frame.columns):
        dtype = infer_type(frame[name])
        # Nullability after coercion: some text ("NAN") only turns out to be null there.
        nullable = bool(coerce(frame[name], dtype).values.isna().any())
        columns.append(ColumnSpec(name=name, dtype=dtype, nullable=nullable))
    return DatasetSpec(columns=columns, target=target)
