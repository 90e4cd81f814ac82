"""Rows checked against the signature: every error kind, named by row index and field."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from deployment_unit_data import SIGNATURE
from millrace_contracts import FeatureSignature
from millrace_deployment.core.compiled import number_matrix
from millrace_deployment.core.rows import NumberRows
from millrace_deployment.core.validation import (
    MAX_ERRORS,
    Code,
    InvalidInput,
    SignatureValidator,
)

GOOD: dict[str, Any] = {"colour": "red", "x1": 0.5, "flag": True, "x2": 3}


def errors_of(rows: list[Any]) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(InvalidInput) as raised:
        SignatureValidator(SIGNATURE).validate(rows)
    return [(e.row, e.field, e.code) for e in raised.value.errors]


def test_a_good_row_passes_and_nullable_features_take_null() -> None:
    SignatureValidator(SIGNATURE).validate([GOOD, {**GOOD, "colour": None, "x2": None}])


def test_missing_feature() -> None:
    row = {k: v for k, v in GOOD.items() if k != "x1"}
    assert errors_of([row]) == [(0, "x1", Code.MISSING)]


def test_unexpected_feature() -> None:
    assert errors_of([{**GOOD, "x9": 1}]) == [(0, "x9", Code.UNEXPECTED)]


@pytest.mark.parametrize(
    ("field", "value"),
    [("x1", "0.5"), ("x1", True), ("x2", [1]), ("colour", 3), ("flag", "true"), ("flag", 1)],
)
def test_mistyped_feature(field: str, value: Any) -> None:
    assert errors_of([{**GOOD, field: value}]) == [(0, field, Code.WRONG_TYPE)]


def test_null_where_the_signature_forbids_it() -> None:
    assert errors_of([{**GOOD, "x1": None}]) == [(0, "x1", Code.NULL)]


def test_a_row_that_is_not_an_object() -> None:
    assert errors_of([GOOD, [1, 2]]) == [(1, None, Code.NOT_AN_OBJECT)]


def test_errors_name_the_row_of_a_batch_and_every_problem() -> None:
    bad = {"colour": "red", "x1": "high", "flag": True, "extra": 1}
    assert errors_of([GOOD, GOOD, bad]) == [
        (2, "x1", Code.WRONG_TYPE),
        (2, "x2", Code.MISSING),
        (2, "extra", Code.UNEXPECTED),
    ]


def test_errors_are_capped() -> None:
    with pytest.raises(InvalidInput) as raised:
        SignatureValidator(SIGNATURE).validate([{}] * 100)
    assert len(raised.value.errors) == MAX_ERRORS and raised.value.truncated


def test_datetime_accepts_iso_strings_and_numbers_and_normalises_them() -> None:
    validator = SignatureValidator([FeatureSignature(name="at", kind="numeric", dtype="datetime")])
    rows: list[Any] = [{"at": "1970-01-01T00:01:00+00:00"}, {"at": 7}]
    validator.validate(rows)
    assert rows == [{"at": 60.0}, {"at": 7}]
    with pytest.raises(InvalidInput) as raised:
        validator.validate([{"at": "yesterday"}])
    assert raised.value.errors[0].code == Code.WRONG_TYPE


def test_error_messages_say_what_was_expected() -> None:
    with pytest.raises(InvalidInput) as raised:
        SignatureValidator(SIGNATURE).validate([{**GOOD, "x1": "a"}])
    assert raised.value.errors[0].as_json() == {
        "row": 0,
        "field": "x1",
        "code": "wrong_type",
        "message": "expected a number, got string",
    }


NUMERIC = [
    FeatureSignature(name="a", kind="numeric", dtype="float"),
    FeatureSignature(name="b", kind="numeric", dtype="int", nullable=True),
]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"a": True, "b": 1}, ("a", Code.WRONG_TYPE)),  # bool is an int subclass, not a number
        ({"a": "1.5", "b": 1}, ("a", Code.WRONG_TYPE)),
        ({"a": None, "b": 1}, ("a", Code.NULL)),
        ({"a": 1.0}, ("b", Code.MISSING)),
        ({"a": 1.0, "b": 2, "c": 3}, ("c", Code.UNEXPECTED)),
    ],
)
def test_numeric_signatures_checked_in_bulk_still_name_each_problem(
    row: dict[str, Any], problem: tuple[str, str]
) -> None:
    validator = SignatureValidator(NUMERIC)
    good = [{"a": 0.5, "b": None}, {"a": 1, "b": 2}]
    validator.validate(good)  # the bulk check lets clean rows through
    with pytest.raises(InvalidInput) as raised:
        validator.validate([*good, row])
    assert [(e.row, e.field, e.code) for e in raised.value.errors] == [(2, *problem)]


def test_mixed_signatures_are_checked_column_by_column_and_agree_with_the_per_field_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    validator = SignatureValidator(SIGNATURE)
    clean = [dict(GOOD), {**GOOD, "colour": None, "x2": None}, {**GOOD, "x1": 2}] * 300
    assert validator._all_clean(clean)  # no per-field pass for a clean batch
    validator.validate(clean)
    # Anything the bulk check is unsure of goes field by field, with the same answers.
    for wrong in ({**GOOD, "flag": 1}, {**GOOD, "x1": True}, {**GOOD, "colour": 3}):
        rows = [*clean[:5], wrong]
        assert not validator._all_clean(rows)
        bulk = errors_of(rows)
        monkeypatch.setattr(SignatureValidator, "_all_clean", lambda self, rows: False)
        assert errors_of(rows) == bulk and bulk and bulk[0][0] == 5
        monkeypatch.undo()


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        (1e150, True),  # at the bound: allowed (the exact check decides it)
        (-1e150, True),
        (10**150 + 1, False),  # an int a float64 rounds onto the bound is still over it
        (-1.0000001e150, False),
        (10**400, False),  # an int past float64
        (None, True),
    ],
)
def test_large_batches_check_magnitudes_in_bulk_exactly_as_row_by_row(
    value: Any, clean: bool
) -> None:
    validator = SignatureValidator(NUMERIC)
    rows: list[dict[str, Any]] = [{"a": 0.5, "b": n} for n in range(300)]
    rows[150]["b"] = value
    if clean:
        validator.validate(rows)
        return
    with pytest.raises(InvalidInput) as raised:
        validator.validate(rows)
    assert [(e.row, e.field, e.code) for e in raised.value.errors] == [
        (150, "b", Code.OUT_OF_RANGE)
    ]


def test_clean_number_batches_carry_their_matrix_exactly_as_picked_row_by_row() -> None:
    validator = SignatureValidator(NUMERIC)
    rows: list[dict[str, Any]] = [{"a": n / 7, "b": None if n % 5 else n} for n in range(300)]
    checked = validator.validate(rows)
    assert isinstance(checked, NumberRows) and checked == rows
    picked = np.array([[r["a"], np.nan if r["b"] is None else r["b"]] for r in rows])
    np.testing.assert_array_equal(number_matrix(checked, ("a", "b")), picked)
    np.testing.assert_array_equal(number_matrix(checked, ("b",)), picked[:, [1]])
    # Keys in another order are as valid, but their values are not the matrix's order.
    swapped = [{"b": r["b"], "a": r["a"]} for r in rows]
    plain = validator.validate(swapped)
    assert not isinstance(plain, NumberRows)
    np.testing.assert_array_equal(number_matrix(plain, ("a", "b")), picked)


def test_rows_whose_keys_only_add_up_to_the_signature_are_refused_by_row() -> None:
    validator = SignatureValidator(NUMERIC)
    rows: list[dict[str, Any]] = [{"a": 1.0, "b": 2} for _ in range(300)]
    # Flattened, the keys are still a, b, a, b, ...: two rows miss a feature each.
    rows[:3] = [{"a": 1.0}, {"b": 2, "a": 1.0}, {"b": 2}]
    with pytest.raises(InvalidInput) as raised:
        validator.validate(rows)
    assert [(e.row, e.field, e.code) for e in raised.value.errors] == [
        (0, "b", Code.MISSING),
        (2, "a", Code.MISSING),
    ]
