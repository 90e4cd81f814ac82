"""What the platform downstream sees of a column: its kind, logical type and signature."""

from __future__ import annotations

import pandas as pd
from millrace_contracts import DatasetSpec, FeatureSignature
from millrace_contracts.common import FeatureKind
from millrace_contracts.policies import ColumnSpec, ColumnType

from .coercion import infer_type


def is_numeric_type(dtype: ColumnType) -> bool:
    """Whether min/max apply."""
    return dtype in ("int", "float")


def kind_of(dtype: ColumnType) -> FeatureKind:
    """Datetimes are profiled as numbers (seconds since the epoch); a timestamp is no category."""
    return "numeric" if dtype in ("int", "float", "datetime") else "categorical"


def logical_dtype(dtype: ColumnType) -> str:
    """The contracts' logical type names: a category is a string with few values."""
    return "string" if dtype == "category" else dtype


def effective_columns(spec: DatasetSpec, frame: pd.DataFrame) -> list[ColumnSpec]:
    """The declared columns, plus the target if the spec names one it does not declare.

    An undeclared target takes its type from the data and must have no nulls: rows without a
    target are of no use to supervised training.
    """
    columns = list(spec.columns)
    if spec.target is not None and all(c.name != spec.target for c in columns):
        dtype = infer_type(frame[spec.target]) if spec.target in frame.columns else "string"
        columns.append(ColumnSpec(name=spec.target, dtype=dtype, nullable=False))
    return columns


def category_labels(values: pd.Series, dtype: ColumnType) -> pd.Series:
    """Non-null values as the strings categories are counted and compared by.

    Booleans are "True"/"False", what ``str()`` gives a Python consumer of a JSON ``true``.
    """
    values = values.dropna()
    if dtype in ("string", "category"):
        return values.astype(object)
    return pd.Series([str(v) for v in values.to_numpy(dtype=object)], index=values.index)


def signatures(
    frame: pd.DataFrame, columns: list[ColumnSpec], *, max_categories: int
) -> list[FeatureSignature]:
    return [_signature(frame[c.name], c, max_categories) for c in columns]


def _signature(values: pd.Series, column: ColumnSpec, max_categories: int) -> FeatureSignature:
    kind = kind_of(column.dtype)
    categories: list[str] | None = None
    if kind == "categorical":
        if column.dtype == "bool":
            categories = ["False", "True"]
        elif column.allowed is not None:
            categories = list(column.allowed)
        else:
            distinct = sorted(category_labels(values, column.dtype).unique())
            categories = distinct if len(distinct) <= max_categories else None
    return FeatureSignature(
        name=column.name,
        kind=kind,
        dtype=logical_dtype(column.dtype),
        nullable=column.nullable,
        categories=categories,
    )
