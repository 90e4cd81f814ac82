"""The predict request's JSON Schema agrees with the service's own check of the rows."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from deployment_unit_data import SIGNATURE
from hypothesis import given, settings
from hypothesis import strategies as st
from millrace_contracts import FeatureSignature
from millrace_deployment.core.predicting import is_batch
from millrace_deployment.core.schema import DIALECT, json_schema_document
from millrace_deployment.core.validation import (
    MAX_MAGNITUDE,
    Code,
    InvalidInput,
    SignatureValidator,
)

MAX_ROWS = 3
WITH_DATES = [*SIGNATURE, FeatureSignature(name="seen", kind="numeric", dtype="datetime")]


def schema_of(signature: list[FeatureSignature]) -> dict[str, Any]:
    return json_schema_document("churn", 2, signature, MAX_ROWS)


def service_accepts(signature: list[FeatureSignature], body: Any) -> bool:
    """What the service decides of the body, short of predicting (413 is a refusal too)."""
    rows = body["rows"] if is_batch(body) else [body]
    if not rows or len(rows) > MAX_ROWS:
        return False
    try:
        SignatureValidator(signature).validate(rows)
    except InvalidInput:
        return False
    return True


def schema_accepts(signature: list[FeatureSignature], body: Any) -> bool:
    # With `format` asserted: an RFC 3339 date-time string is one the service parses.
    validator = jsonschema.Draft202012Validator(
        schema_of(signature), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return validator.is_valid(body)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = schema_of(WITH_DATES)
    assert schema["$schema"] == DIALECT
    jsonschema.Draft202012Validator.check_schema(schema)
    row, batch = schema["anyOf"]
    assert row["required"] == ["colour", "x1", "flag", "x2", "seen"]
    assert row["properties"]["x2"]["type"] == ["number", "null"]
    assert row["properties"]["flag"]["type"] == "boolean"
    assert row["properties"]["colour"]["examples"] == ["blue", "green", "red"]
    assert batch["properties"]["rows"]["maxItems"] == MAX_ROWS


def test_an_empty_object_is_refused_by_both() -> None:
    assert not schema_accepts(SIGNATURE, {})
    assert not service_accepts(SIGNATURE, {})


# Values of every JSON type, and the signature's own, so rows are often valid and often not.
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=True),  # JSON has no NaN (orjson refuses it)
    st.sampled_from(["red", "blue", "", "RED", "2024-05-01T12:00:00+00:00"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
_good = {
    "colour": st.sampled_from(["red", "green", "blue", None]),
    "x1": st.floats(allow_nan=False),
    "flag": st.booleans(),
    "x2": st.one_of(st.none(), st.integers()),
    "seen": st.one_of(st.floats(allow_nan=False), st.just("2024-05-01T12:00:00Z")),
}


def _feature(name: str) -> st.SearchStrategy[Any]:
    return st.sampled_from([True] * 4 + [False]).flatmap(lambda ok: _good[name] if ok else _values)


_rows = st.fixed_dictionaries(
    {f.name: _feature(f.name) for f in WITH_DATES},
    optional={"extra": _values},
)
_bodies = st.one_of(
    _rows,
    st.fixed_dictionaries({"rows": st.lists(_rows, max_size=MAX_ROWS + 1)}),
    # Rows missing features; and bodies that are not objects at all.
    st.dictionaries(st.sampled_from([f.name for f in WITH_DATES]), _values, max_size=3),
    _values,
)


@settings(max_examples=300, deadline=None)
@given(body=_bodies)
def test_the_schema_and_the_service_agree_on_generated_bodies(body: Any) -> None:
    # Datetime strings: RFC 3339 ones (which the service parses) or none at all; the service
    # takes more ISO-8601 forms than RFC 3339 (a date alone), which the schema leaves out.
    assert schema_accepts(WITH_DATES, body) == service_accepts(WITH_DATES, body), body


@pytest.mark.parametrize(
    "body",
    [
        {"colour": "red", "x1": 0.5, "flag": True, "x2": 3, "seen": 0},
        {"rows": [{"colour": None, "x1": 1, "flag": False, "x2": None, "seen": 1.5}]},
    ],
)
def test_a_valid_row_and_batch_are_taken_by_both(body: dict[str, Any]) -> None:
    assert schema_accepts(WITH_DATES, body) and service_accepts(WITH_DATES, body)


def test_numbers_beyond_the_models_range_are_refused_by_both() -> None:
    """A finite float such as -1.7e308 overflows a model's scaling; both refuse it, on the
    all-numeric fast path too."""
    numeric = [
        FeatureSignature(name="a", kind="numeric", dtype="float"),
        FeatureSignature(name="b", kind="numeric", dtype="int"),
    ]
    for value in (-1.7976931348623157e308, 10**200, MAX_MAGNITUDE * 10):
        body = {"a": value, "b": 1}
        assert not schema_accepts(numeric, body) and not service_accepts(numeric, body)
    with pytest.raises(InvalidInput) as raised:
        SignatureValidator(numeric).validate([{"a": 1.0, "b": -(10**200)}])
    assert [(e.field, e.code) for e in raised.value.errors] == [("b", Code.OUT_OF_RANGE)]
    edge = {"a": MAX_MAGNITUDE, "b": -MAX_MAGNITUDE}
    assert schema_accepts(numeric, edge) and service_accepts(numeric, edge)
