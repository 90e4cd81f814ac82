"""Validation against a declared contract: one test per rejection code, and all problems at once."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from millrace_contracts import DatasetSpec, Reason
from millrace_contracts.policies import ColumnSpec
from millrace_ingestion.core.validation import validate


def spec(*columns: ColumnSpec, **options: object) -> DatasetSpec:
    return DatasetSpec.model_validate({"columns": [c.model_dump() for c in columns], **options})


def col(name: str, dtype: str = "float", **options: object) -> ColumnSpec:
    return ColumnSpec.model_validate({"name": name, "dtype": dtype, **options})


def csv_frame(data: dict[str, list[str | None]]) -> pd.DataFrame:
    """A frame as the CSV reader makes it: every column text."""
    return pd.DataFrame({k: pd.Series(v, dtype=str) for k, v in data.items()})


def only(reasons: list[Reason], code: str) -> Reason:
    matching = [r for r in reasons if r.code == code]
    assert len(matching) == 1, reasons
    return matching[0]


def test_a_conforming_frame_passes_and_is_typed_in_contract_order() -> None:
    frame = csv_frame({"b": ["x", "y"], "a": ["1.5", "2"]})
    checked = validate(frame, spec(col("a"), col("b", "string")))
    assert checked.accepted
    assert list(checked.frame.columns) == ["a", "b"]
    assert checked.frame["a"].tolist() == [1.5, 2.0]


def test_empty() -> None:
    checked = validate(csv_frame({"a": []}), spec(col("a")))
    assert [r.code for r in checked.reasons] == ["empty"]


def test_too_few_rows() -> None:
    checked = validate(csv_frame({"a": ["1", "2"]}), spec(col("a"), min_rows=3))
    reason = only(checked.reasons, "too_few_rows")
    assert (reason.details["observed"], reason.details["limit"]) == (2, 3)


def test_missing_column() -> None:
    checked = validate(csv_frame({"a": ["1"]}), spec(col("a"), col("b", "int")))
    reason = only(checked.reasons, "missing_column")
    assert reason.column == "b"
    assert reason.details["expected_dtype"] == "int"


def test_unexpected_column() -> None:
    checked = validate(csv_frame({"a": ["1"], "zzz": ["q"]}), spec(col("a")))
    reason = only(checked.reasons, "unexpected_column")
    assert reason.column == "zzz"


def test_extra_columns_are_dropped_when_allowed() -> None:
    checked = validate(
        csv_frame({"a": ["1"], "zzz": ["q"]}), spec(col("a"), allow_extra_columns=True)
    )
    assert checked.accepted
    assert list(checked.frame.columns) == ["a"]


def test_wrong_type_counts_and_samples_the_offending_values() -> None:
    checked = validate(csv_frame({"n": ["1", "two", "3", "four", "two"]}), spec(col("n", "int")))
    reason = only(checked.reasons, "wrong_type")
    assert reason.column == "n"
    assert reason.details["count"] == 3
    assert reason.details["expected"] == "int"
    assert reason.details["observed"] == "string"
    assert json.loads(str(reason.details["sample"])) == ["two", "four"]


def test_null_rate_exceeded_for_a_non_nullable_column() -> None:
    checked = validate(csv_frame({"a": ["1", None, "3", ""]}), spec(col("a")))
    reason = only(checked.reasons, "null_rate_exceeded")
    assert reason.details["nulls"] == 2
    assert reason.details["limit"] == 0.0
    assert reason.details["observed"] == 0.5


def test_null_rate_exceeded_over_the_declared_fraction() -> None:
    frame = csv_frame({"a": ["1", None, None, "4"]})
    over = validate(frame, spec(col("a", nullable=True, max_null_fraction=0.25)))
    assert only(over.reasons, "null_rate_exceeded").details["limit"] == 0.25
    assert validate(frame, spec(col("a", nullable=True, max_null_fraction=0.5))).accepted


def test_nullable_without_a_fraction_accepts_any_share_of_nulls() -> None:
    frame = csv_frame({"a": ["1", None, None, None]})
    assert validate(frame, spec(col("a", nullable=True))).accepted


def test_out_of_range() -> None:
    frame = csv_frame({"a": ["-1", "5", "11", "12"]})
    reason = only(validate(frame, spec(col("a", min=0, max=10))).reasons, "out_of_range")
    assert reason.details["count"] == 3
    assert (reason.details["observed_min"], reason.details["observed_max"]) == (-1.0, 12.0)
    assert (reason.details["min"], reason.details["max"]) == (0.0, 10.0)


def test_non_finite_numbers_are_out_of_range_even_without_bounds() -> None:
    frame = pd.DataFrame({"a": [1.0, np.inf, -np.inf]})
    reason = only(validate(frame, spec(col("a"))).reasons, "out_of_range")
    assert reason.details["non_finite"] == 2
    # Found by test_ingestion_properties.py: as floats, JSON would publish them as null.
    assert (reason.details["observed_min"], reason.details["observed_max"]) == ("-inf", "inf")
    assert Reason.model_validate_json(reason.model_dump_json()) == reason


def test_unseen_category() -> None:
    frame = csv_frame({"species": ["setosa", "virginica", "dragon", "dragon", "unicorn"]})
    declared = spec(col("species", "category", allowed=["setosa", "virginica"]))
    reason = only(validate(frame, declared).reasons, "unseen_category")
    assert reason.details["count"] == 3
    assert reason.details["distinct"] == 2
    assert json.loads(str(reason.details["sample"])) == ["dragon", "unicorn"]


def test_allowed_booleans_compare_without_case() -> None:
    frame = csv_frame({"flag": ["True", "false"]})
    assert validate(frame, spec(col("flag", "bool", allowed=["true", "false"]))).accepted
    rejected = validate(frame, spec(col("flag", "bool", allowed=["true"])))
    assert only(rejected.reasons, "unseen_category").details["count"] == 1


def test_missing_target_when_the_column_is_absent() -> None:
    checked = validate(csv_frame({"a": ["1"]}), spec(col("a"), target="label"))
    reason = only(checked.reasons, "missing_target")
    assert reason.column == "label"
    assert not any(r.code == "missing_column" for r in checked.reasons)


def test_missing_target_when_a_declared_target_holds_no_values() -> None:
    frame = csv_frame({"a": ["1", "2"], "label": [None, None]})
    declared = spec(col("a"), col("label", "string", nullable=True), target="label")
    assert only(validate(frame, declared).reasons, "missing_target").details["nulls"] == 2


def test_an_undeclared_target_is_typed_from_the_data_and_kept() -> None:
    checked = validate(csv_frame({"a": ["1"], "label": ["x"]}), spec(col("a"), target="label"))
    assert checked.accepted
    assert [c.name for c in checked.columns] == ["a", "label"]
    assert checked.columns[1].dtype == "string"


def test_every_problem_is_reported_together() -> None:
    frame = csv_frame(
        {
            "age": ["30", "abc", "-5", None],
            "color": ["red", "blue", "mauve", "red"],
            "extra": ["1", "2", "3", "4"],
        }
    )
    declared = spec(
        col("age", "int", min=0),
        col("color", "category", allowed=["red", "blue"]),
        col("height"),
        col("width"),
        target="label",
        min_rows=10,
    )
    reasons = validate(frame, declared).reasons
    assert sorted(r.code for r in reasons) == sorted(
        [
            "too_few_rows",
            "missing_target",
            "missing_column",
            "missing_column",
            "unexpected_column",
            "wrong_type",
            "null_rate_exceeded",
            "out_of_range",
            "unseen_category",
        ]
    )
    assert {r.column for r in reasons if r.code == "missing_column"} == {"height", "width"}
    assert all(r.message for r in reasons)
