"""Every event documents itself: a class description, and a description or example per field."""

from __future__ import annotations

from typing import Any

import pytest
from millrace_contracts import TOPICS, TopicSpec
from millrace_contracts_dev.schema_export import event_json_schema


def undocumented_fields(schema: dict[str, Any]) -> list[str]:
    """``Model.field`` for every property, in the event and in every nested model ($defs),
    that has neither a description nor an example."""
    objects: list[tuple[str, dict[str, Any]]] = [(schema.get("title", "<root>"), schema)]
    objects += sorted(schema.get("$defs", {}).items())
    return [
        f"{model}.{name}"
        for model, obj in objects
        for name, prop in obj.get("properties", {}).items()
        if not prop.get("description") and not prop.get("examples")
    ]


@pytest.mark.parametrize("spec", TOPICS, ids=lambda s: s.event.event_type)
def test_event_class_has_a_description(spec: TopicSpec) -> None:
    schema = event_json_schema(spec.event)
    assert schema.get("description", "").strip(), f"{spec.event.__name__} has no docstring"


def test_every_field_has_a_description_or_example() -> None:
    missing = sorted(
        {name for spec in TOPICS for name in undocumented_fields(event_json_schema(spec.event))}
    )
    assert not missing, "fields without description or examples:\n  " + "\n  ".join(missing)


def test_the_walk_finds_nested_undocumented_fields() -> None:
    schema = {
        "title": "E",
        "properties": {"a": {"type": "string", "description": "ok"}, "b": {"type": "integer"}},
        "$defs": {
            "Inner": {
                "properties": {"c": {"type": "string", "examples": ["x"]}, "d": {"$ref": "#/x"}}
            }
        },
    }
    assert undocumented_fields(schema) == ["E.b", "Inner.d"]
