"""Golden samples: one per event version, committed as data, and they must keep parsing."""

from __future__ import annotations

import json
import operator
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from millrace_contracts import TOPICS, Event, TopicSpec, cloudevents_headers, envelope_from_headers
from millrace_contracts_dev.schema_export import event_json_schema, schema_filename
from pydantic import BaseModel, ValidationError

CONTRACTS_DIR = Path(__file__).resolve().parents[3] / "contracts"
SAMPLES_DIR = CONTRACTS_DIR / "samples"
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
SAMPLE_NAME = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)\.json$")

# Fields a sample may leave null/empty because filling them would be unrealistic or invalid.
NOT_FILLED: dict[str, set[str]] = {
    # The first event of a flow has no cause.
    "data.arrived": {"causation_id"},
    "labels.observed": {"causation_id"},
    # The first event of a flow, and a training spec has an estimator or an AutoML search.
    "dataset.declared": {"causation_id", "declaration.training.estimator"},
    "dataset.validated": {"training.automl"},
    # Reasons for a registry or deployment decision concern no column (dataset.rejected has one).
    "model.promoted": {"reasons.column"},
    "model.rejected": {"reasons.column"},
    "deployment.failed": {"reason.column"},
}


def sample_paths() -> list[Path]:
    return sorted(SAMPLES_DIR.glob("*/*.json"))


def sample_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def event_class_for(path: Path) -> type[Event]:
    """The class that reads a sample: same event type and major version."""
    match = SAMPLE_NAME.match(path.name)
    assert match, f"{path}: sample files are named <major>.<minor>.json"
    major = int(match["major"])
    for spec in TOPICS:
        if spec.event.event_type == path.parent.name and spec.event.major_version == major:
            return spec.event
    raise AssertionError(f"{path}: no event {path.parent.name!r} with major version {major}")


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


SAMPLES = pytest.mark.parametrize("path", sample_paths(), ids=sample_id)


def test_every_topic_has_a_sample_of_its_current_version() -> None:
    missing = [
        f"{spec.event.event_type}/{spec.event.major_version}.{spec.event.minor_version}.json"
        for spec in TOPICS
        if not (
            SAMPLES_DIR
            / spec.event.event_type
            / f"{spec.event.major_version}.{spec.event.minor_version}.json"
        ).is_file()
    ]
    assert not missing, (
        "no golden sample for: "
        + ", ".join(missing)
        + " (run python -m millrace_contracts_dev.make_samples)"
    )


def test_every_sample_belongs_to_a_known_event() -> None:
    assert sample_paths()
    for path in sample_paths():
        event_class_for(path)


@SAMPLES
def test_sample_round_trips(path: Path) -> None:
    event_cls = event_class_for(path)
    raw = path.read_text(encoding="utf-8")
    event = event_cls.model_validate_json(raw)
    again = event_cls.model_validate_json(event.model_dump_json())
    assert again == event
    assert again.model_dump(mode="json") == event.model_dump(mode="json")


@SAMPLES
def test_sample_keeps_its_schema_version(path: Path) -> None:
    event = event_class_for(path).model_validate(load(path))
    assert event.schema_version == path.stem
    assert load(path)["schema_version"] == path.stem


@SAMPLES
def test_unknown_fields_are_ignored(path: Path) -> None:
    event_cls = event_class_for(path)
    data = load(path)
    expected = event_cls.model_validate(data)
    injected = _inject_unknown_fields(expected, data)
    assert injected >= 1
    event = event_cls.model_validate(data)
    assert event == expected
    assert "field_from_a_newer_minor" not in event.model_dump_json()


def _inject_unknown_fields(model: BaseModel, data: dict[str, Any]) -> int:
    """Add an unknown key to ``data`` and to every nested model's dict in it; return how many."""
    data["field_from_a_newer_minor"] = {"anything": [1, 2, 3]}
    count = 1
    for name in type(model).model_fields:
        if name not in data:  # an older sample lacks the fields added since
            continue
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        raw = data[name] if isinstance(value, list) else [data[name]]
        for item, item_data in zip(items, raw, strict=True):
            if isinstance(item, BaseModel):
                count += _inject_unknown_fields(item, item_data)
    return count


@SAMPLES
def test_events_are_frozen(path: Path) -> None:
    event = event_class_for(path).model_validate(load(path))
    with pytest.raises(ValidationError, match="frozen"):
        event.producer = "someone-else"  # type: ignore[misc]
    nested = next(
        (
            getattr(event, name)
            for name in type(event).model_fields
            if isinstance(getattr(event, name), BaseModel)
        ),
        None,
    )
    if nested is not None:
        field = next(iter(type(nested).model_fields))
        with pytest.raises(ValidationError, match="frozen"):
            setattr(nested, field, getattr(nested, field))


@SAMPLES
def test_cloudevents_headers(path: Path) -> None:
    event = event_class_for(path).model_validate(load(path))
    headers = cloudevents_headers(event)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    for required in ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time"):
        assert headers.get(required), f"missing {required}"
    assert headers["content-type"] == "application/json"
    assert headers["ce_specversion"] == "1.0"
    assert uuid.UUID(headers["ce_id"]) == event.event_id
    assert headers["ce_source"] == f"/millrace/{event.producer}"
    assert headers["ce_type"] == f"dev.millrace.{event.event_type}.v{event.major_version}"
    assert headers["ce_time"].endswith("Z")
    assert datetime.fromisoformat(headers["ce_time"].replace("Z", "+00:00")) == event.occurred_at
    assert headers["ce_subject"] == event.partition_key
    assert uuid.UUID(headers["ce_correlationid"]) == event.correlation_id
    if event.causation_id is None:
        assert "ce_causationid" not in headers
    else:
        assert uuid.UUID(headers["ce_causationid"]) == event.causation_id
    back = envelope_from_headers(headers)
    assert back["event_id"] == str(event.event_id)
    assert back["correlation_id"] == str(event.correlation_id)


# -- samples against the committed JSON Schema ------------------------------------------------


@SAMPLES
def test_sample_conforms_to_the_json_schema(path: Path) -> None:
    """The exported schema describes the wire: real event JSON must validate against it."""
    event_cls = event_class_for(path)
    schema_file = SCHEMAS_DIR / schema_filename(event_cls)
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert validate(schema, load(path)) == []
    # ... and so must what today's code writes when it re-serializes the sample.
    dumped = json.loads(event_cls.model_validate(load(path)).model_dump_json())
    assert validate(event_json_schema(event_cls), dumped) == []


def test_the_schema_validator_is_not_vacuous() -> None:
    path = SAMPLES_DIR / "model.promoted" / "1.0.json"
    schema = json.loads((SCHEMAS_DIR / "millrace.model.promoted.v1.json").read_text())
    data = load(path)
    data["model"]["version"] = "three"
    data["model"]["task"] = "clustering"
    data["model"]["signature"][0].pop("kind")
    del data["producer"]
    errors = validate(schema, data)
    assert any(e.startswith("model.version:") for e in errors), errors
    assert any(e.startswith("model.task:") for e in errors), errors
    assert any(e.startswith("model.signature[0]:") and "kind" in e for e in errors), errors
    assert any("producer" in e for e in errors), errors


def validate(schema: dict[str, Any], instance: Any) -> list[str]:
    """A small JSON Schema (2020-12) validator for the keywords pydantic emits."""
    errors: list[str] = []
    _validate(schema, schema, instance, "", errors)
    return errors


def _validate(root: dict[str, Any], schema: Any, value: Any, path: str, errors: list[str]) -> None:
    where = path or "<root>"
    if schema is True or schema == {}:
        return
    if schema is False:
        errors.append(f"{where}: no value allowed")
        return
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        _validate(root, target, value, path, errors)
    if "anyOf" in schema and not any(_valid(root, s, value) for s in schema["anyOf"]):
        errors.append(f"{where}: matches no anyOf member")
    for sub in schema.get("allOf", []):
        _validate(root, sub, value, path, errors)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, t) for t in types):
            errors.append(f"{where}: {value!r} is not of type {schema['type']}")
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} != {schema['const']!r}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "uuid":
            try:
                uuid.UUID(value)
            except ValueError:
                errors.append(f"{where}: {value!r} is not a uuid")
        if schema.get("format") == "date-time":
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                assert parsed.tzinfo is not None
            except (ValueError, AssertionError):
                errors.append(f"{where}: {value!r} is not an RFC 3339 date-time")
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1e18):
            errors.append(f"{where}: length of {value!r} out of bounds")
    if isinstance(value, int | float) and not isinstance(value, bool):
        checks: tuple[tuple[str, Callable[[Any, Any], bool]], ...] = (
            ("minimum", operator.ge),
            ("maximum", operator.le),
            ("exclusiveMinimum", operator.gt),
            ("exclusiveMaximum", operator.lt),
        )
        for key, ok in checks:
            if key in schema and not ok(value, schema[key]):
                errors.append(f"{where}: {value!r} violates {key} {schema[key]}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1e18):
            errors.append(f"{where}: {len(value)} items out of bounds")
        if "items" in schema:
            for i, item in enumerate(value):
                _validate(root, schema["items"], item, f"{path}[{i}]", errors)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: required property {name!r} missing")
        for name, item in value.items():
            sub_path = f"{path}.{name}" if path else name
            if name in props:
                _validate(root, props[name], item, sub_path, errors)
            elif "additionalProperties" in schema:
                _validate(root, schema["additionalProperties"], item, sub_path, errors)


def _valid(root: dict[str, Any], schema: Any, value: Any) -> bool:
    errors: list[str] = []
    _validate(root, schema, value, "", errors)
    return not errors


def _is_type(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    raise AssertionError(f"unknown JSON type {kind}")


# -- the newest sample exercises every field ------------------------------------------------


def latest_sample(event_cls: type[Event]) -> Path:
    return (
        SAMPLES_DIR
        / event_cls.event_type
        / f"{event_cls.major_version}.{event_cls.minor_version}.json"
    )


@pytest.mark.parametrize("spec", TOPICS, ids=lambda s: s.event.event_type)
def test_latest_sample_fills_every_field(spec: TopicSpec) -> None:
    """Optional fields too: a sample that leaves them null would not prove they parse.

    Fails when a field is added without a new sample: bump ``minor_version`` and add the new
    ``<major>.<minor>.json`` (millrace_contracts_dev.make_samples writes missing samples only).
    """
    event_cls: type[Event] = spec.event
    schema = event_json_schema(event_cls)
    filled: dict[str, bool] = {}
    _walk_filled(schema, schema, load(latest_sample(event_cls)), "", filled)
    empty = sorted(p for p, ok in filled.items() if not ok)
    expected_empty = sorted(NOT_FILLED.get(event_cls.event_type, set()))
    assert empty == expected_empty, (
        f"fields left null/empty in {latest_sample(event_cls).relative_to(CONTRACTS_DIR)}: "
        f"{sorted(set(empty) - set(expected_empty))}; exempted but filled: "
        f"{sorted(set(expected_empty) - set(empty))}"
    )


def _resolve(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def _walk_filled(
    root: dict[str, Any], schema: dict[str, Any], value: Any, path: str, filled: dict[str, bool]
) -> None:
    schema = _resolve(root, schema)
    for member in schema.get("anyOf", []):
        member = _resolve(root, member)
        if (member.get("type") == "object" and isinstance(value, dict)) or (
            member.get("type") == "array" and isinstance(value, list)
        ):
            _walk_filled(root, member, value, path, filled)
    if isinstance(value, list) and "items" in schema:
        for item in value:
            _walk_filled(root, schema["items"], item, f"{path}", filled)
    if isinstance(value, dict) and "properties" in schema:
        for name, prop in schema["properties"].items():
            sub_path = f"{path}.{name}" if path else name
            item = value.get(name)
            is_filled = item is not None and item != [] and item != {}
            filled[sub_path] = filled.get(sub_path, False) or is_filled
            if item is not None:
                _walk_filled(root, prop, item, sub_path, filled)
