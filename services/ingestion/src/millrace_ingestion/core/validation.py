"""Checking a frame against its data contract: every problem found, not only the first.

Pure: a DataFrame and a ``DatasetSpec`` in, the reasons (and the typed frame) out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from millrace_contracts import DatasetSpec, Reason, RejectionCode
from millrace_contracts.common import ScalarValue
from millrace_contracts.policies import ColumnSpec

from .coercion import Coerced, coerce, infer_type
from .columns import category_labels, effective_columns, is_numeric_type
from .reasons import MAX_PER_CODE, reason, sample_text


@dataclass(frozen=True)
class Checked:
    reasons: list[Reason]
    frame: pd.DataFrame
    """The contract's columns in contract order, normalised to their types (extras dropped)."""
    columns: list[ColumnSpec]
    """The columns in force: the declared ones, plus the target if it was not declared."""

    @property
    def accepted(self) -> bool:
        return not self.reasons


def validate(frame: pd.DataFrame, spec: DatasetSpec) -> Checked:
    columns = effective_columns(spec, frame)
    reasons = _shape(frame, spec, columns)
    typed: dict[str, pd.Series] = {}
    for column in columns:
        if column.name not in frame.columns:
            continue
        raw = frame[column.name].reset_index(drop=True)
        coerced = coerce(raw, column.dtype)
        typed[column.name] = coerced.values
        if len(frame):
            reasons += check_column(column, raw, coerced, is_target=column.name == spec.target)
    ordered = {c.name: typed[c.name] for c in columns if c.name in typed}
    return Checked(reasons, pd.DataFrame(ordered), columns)


def _shape(frame: pd.DataFrame, spec: DatasetSpec, columns: list[ColumnSpec]) -> list[Reason]:
    reasons: list[Reason] = []
    rows = len(frame)
    if rows == 0:
        reasons.append(reason(RejectionCode.EMPTY, "the file holds no data rows", observed=0))
    elif rows < spec.min_rows:
        reasons.append(
            reason(
                RejectionCode.TOO_FEW_ROWS,
                f"{rows} rows, fewer than the {spec.min_rows} required",
                observed=rows,
                limit=spec.min_rows,
            )
        )
    present = set(frame.columns)
    for column in columns:
        if column.name in present:
            continue
        if column.name == spec.target:
            reasons.append(
                reason(
                    RejectionCode.MISSING_TARGET,
                    f"target column {column.name!r} is missing",
                    column.name,
                )
            )
        else:
            reasons.append(
                reason(
                    RejectionCode.MISSING_COLUMN,
                    f"column {column.name!r} is missing",
                    column.name,
                    expected_dtype=column.dtype,
                )
            )
    if not spec.allow_extra_columns:
        expected = {c.name for c in columns}
        extra = [name for name in frame.columns if name not in expected]
        # Past MAX_PER_CODE they are summed up in one reason without per-column details, so
        # each column's type (a pass over its values) is worked out only when it is shown.
        typed = len(extra) <= MAX_PER_CODE
        for name in extra:
            details: dict[str, ScalarValue] = (
                {"observed_dtype": infer_type(frame[name])} if typed else {}
            )
            reasons.append(
                reason(
                    RejectionCode.UNEXPECTED_COLUMN,
                    f"column {name!r} is not in the contract (and extra columns are not allowed)",
                    str(name),
                    **details,
                )
            )
    return reasons


def allowed_null_fraction(column: ColumnSpec) -> float:
    """Share of nulls a column accepts.

    ``nullable`` with the default ``max_null_fraction`` of 0 means "no cap": a data team that
    writes only ``nullable: true`` means nulls are fine, and "nullable but none allowed" would be
    the same as not nullable.
    """
    if not column.nullable:
        return 0.0
    return column.max_null_fraction or 1.0


def check_column(
    column: ColumnSpec, raw: pd.Series, coerced: Coerced, *, is_target: bool = False
) -> list[Reason]:
    reasons: list[Reason] = []
    rows = len(raw)
    bad = coerced.bad
    if bad.any():
        reasons.append(_wrong_type(column, raw, bad))
    nulls = int(coerced.values.isna().sum()) - int(bad.sum())
    if is_target and nulls == rows:
        reasons.append(
            reason(
                RejectionCode.MISSING_TARGET,
                f"target column {column.name!r} holds no values",
                column.name,
                nulls=nulls,
                rows=rows,
            )
        )
    elif nulls / rows > allowed_null_fraction(column):
        reasons.append(_null_rate(column, nulls, rows))
    if is_numeric_type(column.dtype):
        reasons += _range(column, coerced.values)
    if column.allowed is not None:
        reasons += _categories(column, coerced.values)
    return reasons


def _wrong_type(column: ColumnSpec, raw: pd.Series, bad: np.ndarray) -> Reason:
    count = int(bad.sum())
    return reason(
        RejectionCode.WRONG_TYPE,
        f"{count} value(s) of column {column.name!r} are not {column.dtype}",
        column.name,
        expected=column.dtype,
        observed=infer_type(raw),
        count=count,
        fraction=count / len(raw),
        sample=sample_text(raw[bad]),
    )


def _null_rate(column: ColumnSpec, nulls: int, rows: int) -> Reason:
    limit = allowed_null_fraction(column)
    what = "is not nullable" if limit == 0 else f"accepts at most {limit:.2%} nulls"
    return reason(
        RejectionCode.NULL_RATE_EXCEEDED,
        f"column {column.name!r} has {nulls} null(s) of {rows} rows ({nulls / rows:.2%}) and "
        f"{what}",
        column.name,
        observed=nulls / rows,
        limit=limit,
        nulls=nulls,
        rows=rows,
    )


def _range(column: ColumnSpec, values: pd.Series) -> list[Reason]:
    numbers = values.dropna().to_numpy(dtype=float)
    finite = np.isfinite(numbers)
    outside = ~finite
    if column.min is not None:
        outside |= numbers < column.min
    if column.max is not None:
        outside |= numbers > column.max
    if not outside.any():
        return []
    count = int(outside.sum())
    bounds = f"[{'-inf' if column.min is None else column.min}, "
    bounds += f"{'+inf' if column.max is None else column.max}]"
    return [
        reason(
            RejectionCode.OUT_OF_RANGE,
            f"{count} value(s) of column {column.name!r} are outside {bounds} (or not finite)",
            column.name,
            count=count,
            non_finite=int((~finite).sum()),
            min=column.min,
            max=column.max,
            observed_min=float(numbers.min()),
            observed_max=float(numbers.max()),
            sample=sample_text(numbers[outside]),
        )
    ]


def _categories(column: ColumnSpec, values: pd.Series) -> list[Reason]:
    labels = category_labels(values.dropna(), column.dtype)
    allowed = {_fold(a, column.dtype) for a in column.allowed or []}
    # Folded once per distinct label, not once per row.
    known = [v for v in labels.unique() if _fold(v, column.dtype) in allowed]
    unseen = labels[~labels.isin(known)]
    if unseen.empty:
        return []
    distinct = sorted(unseen.unique())
    return [
        reason(
            RejectionCode.UNSEEN_CATEGORY,
            f"{len(unseen)} value(s) of column {column.name!r} are not among its "
            f"{len(allowed)} allowed categories",
            column.name,
            count=len(unseen),
            distinct=len(distinct),
            sample=sample_text(distinct),
        )
    ]


def _fold(label: str, dtype: str) -> str:
    # For a bool column "True", "true" and "TRUE" in the contract all mean the one value.
    return label.lower() if dtype == "bool" else label
