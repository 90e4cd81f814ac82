"""Property tests: every event the exported JSON Schema admits reads back the same, and what
a contract writes is what its schema says.

For each event on the topic catalogue, JSON drawn from its committed schema in
``contracts/schemas`` (with unknown fields, as from a newer producer) is read by the model;
then model -> JSON -> model -> JSON must be stable and the JSON valid against the schema. The
model may refuse schema-valid JSON only as a ``ValidationError`` of a rule no JSON Schema can
state (a cross-field or allow-list validator), never with another exception: a consumer
dead-letters a ValidationError at once, anything else it retries as if it were transient.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st
from millrace_contracts import ESTIMATORS, TOPICS, Event, TopicSpec
from pydantic import ValidationError
from schema_strategies import from_json_schema

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "contracts" / "schemas"

# Allow-listed estimator names, mostly, so that most training specs pass the validator.
HINTS = {("EstimatorSpec", "name"): st.sampled_from(sorted(ESTIMATORS)) | st.text(max_size=8)}


def with_model_rules(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` narrowed by the rules the models add, so few drawn examples are refused.

    TrainingSpec takes exactly one of ``estimator`` and ``automl`` (a model validator); the
    exported schema cannot say so. Drawn values are still checked against the exported one.
    """
    spec = schema.get("$defs", {}).get("TrainingSpec")
    if spec is None:
        return schema
    properties = spec["properties"]

    def only(kept: str, dropped: str) -> dict[str, Any]:
        kept_schema = next(b for b in properties[kept]["anyOf"] if "$ref" in b)
        narrowed = {k: v for k, v in properties.items() if k != dropped} | {kept: kept_schema}
        return spec | {"properties": narrowed, "required": [*spec["required"], kept]}

    one_of = {"anyOf": [only("estimator", "automl"), only("automl", "estimator")]}
    return schema | {"$defs": schema["$defs"] | {"TrainingSpec": one_of}}


@cache
def wire_json(event: type[Event]) -> st.SearchStrategy[Any]:
    return from_json_schema(with_model_rules(schema_of(event)), HINTS)


@cache
def schema_of(event: type[Event]) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS_DIR / f"{event.topic()}.json").read_text())
    return schema


@cache
def validator_of(event: type[Event]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema_of(event), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def read(event: type[Event], raw: str) -> Event:
    """The model's reading of ``raw``; a refusal must be one of its own validators' rules."""
    try:
        return event.model_validate_json(raw)
    except ValidationError as err:
        kinds = {e["type"] for e in err.errors()}
        assert kinds == {"value_error"}, err  # else the schema admits what the model does not
        reject()


@pytest.mark.parametrize("spec", TOPICS, ids=lambda s: s.event.event_type)
@given(data=st.data())
def test_schema_valid_json_round_trips_and_stays_schema_valid(
    spec: TopicSpec, data: st.DataObject
) -> None:
    event = spec.event
    wire = data.draw(wire_json(event), label="wire")
    validator_of(event).validate(wire)  # the generator's own check: it draws valid JSON

    parsed = read(event, json.dumps(wire))
    written = parsed.model_dump_json()
    validator_of(event).validate(json.loads(written))
    again = event.model_validate_json(written)
    assert again == parsed
    assert again.model_dump_json() == written
