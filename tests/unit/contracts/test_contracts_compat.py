"""The compatibility checker: the committed baseline passes, and real breaks are caught."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from millrace_contracts import DataArrived, ModelPromoted, ModelVersionInfo
from millrace_contracts.common import Sha256
from millrace_contracts_dev.compat import (
    CLOSED_OBJECT,
    CONSTRAINT_TIGHTENED,
    DEFAULT_CHANGED,
    ENUM_VALUES_REMOVED,
    FORMAT_CHANGED,
    IDENTITY_CHANGED,
    NEW_REQUIRED,
    PATTERN_CHANGED,
    REMOVED_PROPERTY,
    RESTRICTED_TO_ENUM,
    SCHEMA_REMOVED,
    TYPE_CHANGED,
    UNION_NARROWED,
    Change,
    compare_all,
    compare_dirs,
    compare_schemas,
    main,
)
from millrace_contracts_dev.schema_export import build_all, event_json_schema
from pydantic import Field

CONTRACTS_DIR = Path(__file__).resolve().parents[3] / "contracts"
BASELINE_DIR = CONTRACTS_DIR / "schemas" / "baseline" / "v1"
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"

Schema = dict[str, Any]


def promoted() -> Schema:
    return copy.deepcopy(event_json_schema(ModelPromoted))


def found(changes: list[Change]) -> set[tuple[str, str, str]]:
    return {(c.severity, c.kind, c.path) for c in changes}


# -- the committed baseline ------------------------------------------------------------------


def test_baseline_exists_and_is_v1() -> None:
    files = sorted(BASELINE_DIR.glob("*.json"))
    assert files
    for path in files:
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$id"].endswith(":v1"), path
        assert path.name == f"{schema['x-millrace-topic']}.json"


def test_code_is_compatible_with_the_baseline() -> None:
    report = compare_dirs(BASELINE_DIR)
    assert report.compared
    assert not report.breaking, "\n".join(map(str, report.breaking))


def test_committed_schemas_are_compatible_with_the_baseline() -> None:
    report = compare_dirs(BASELINE_DIR, SCHEMAS_DIR)
    assert not report.breaking, "\n".join(map(str, report.breaking))


def test_identical_schemas_have_no_changes() -> None:
    for name, schema in build_all().items():
        assert compare_schemas(schema, copy.deepcopy(schema), name=name) == []


# -- breaks it must catch (schema variants) --------------------------------------------------


def remove_top_level_field(s: Schema) -> None:
    del s["properties"]["actor"]


def remove_nested_field(s: Schema) -> None:
    del s["$defs"]["Metrics"]["properties"]["holdout_rows"]
    s["$defs"]["Metrics"]["required"].remove("holdout_rows")


def retype_str_to_int(s: Schema) -> None:
    s["properties"]["producer"] = {"type": "integer", "description": "oops"}


def retype_nested_int_to_str(s: Schema) -> None:
    s["$defs"]["ModelVersionInfo"]["properties"]["version"] = {"type": "string"}


def optional_becomes_required(s: Schema) -> None:
    s["required"].append("previous_version")


def new_required_field(s: Schema) -> None:
    s["properties"]["ticket"] = {"type": "string"}
    s["required"].append("ticket")


def remove_literal_value_nested(s: Schema) -> None:
    s["$defs"]["ModelVersionInfo"]["properties"]["task"]["enum"] = ["classification"]


def remove_literal_value_in_list_item(s: Schema) -> None:
    s["$defs"]["FeatureSignature"]["properties"]["kind"]["enum"].remove("categorical")


def literal_becomes_const(s: Schema) -> None:
    prop = s["properties"]["kind"]
    del prop["enum"]
    prop["const"] = "policy"


def free_string_becomes_enum(s: Schema) -> None:
    s["properties"]["alias"]["enum"] = ["production", "staging"]


def narrow_union(s: Schema) -> None:
    s["properties"]["previous_version"] = {"type": "integer", "default": None}


def retype_dict_values(s: Schema) -> None:
    s["$defs"]["Metrics"]["properties"]["values"]["additionalProperties"] = {"type": "string"}


def narrow_scalar_union(s: Schema) -> None:
    details = s["$defs"]["Reason"]["properties"]["details"]["additionalProperties"]
    details["anyOf"] = [{"type": "number"}]


def close_the_object(s: Schema) -> None:
    s["$defs"]["ArtifactRef"]["additionalProperties"] = False


def retype_array_items(s: Schema) -> None:
    s["$defs"]["FeatureSignature"]["properties"]["categories"]["anyOf"][0]["items"] = {
        "type": "integer"
    }


BREAKS: list[tuple[Callable[[Schema], None], set[tuple[str, str, str]]]] = [
    (remove_top_level_field, {("break", REMOVED_PROPERTY, "actor")}),
    (remove_nested_field, {("break", REMOVED_PROPERTY, "model.metrics.holdout_rows")}),
    (retype_str_to_int, {("break", TYPE_CHANGED, "producer")}),
    (retype_nested_int_to_str, {("break", TYPE_CHANGED, "model.version")}),
    (optional_becomes_required, {("break", NEW_REQUIRED, "previous_version")}),
    (new_required_field, {("break", NEW_REQUIRED, "ticket")}),
    (remove_literal_value_nested, {("break", ENUM_VALUES_REMOVED, "model.task")}),
    (remove_literal_value_in_list_item, {("break", ENUM_VALUES_REMOVED, "model.signature[].kind")}),
    (literal_becomes_const, {("break", ENUM_VALUES_REMOVED, "kind")}),
    (free_string_becomes_enum, {("break", RESTRICTED_TO_ENUM, "alias")}),
    (narrow_union, {("break", UNION_NARROWED, "previous_version")}),
    (retype_dict_values, {("break", TYPE_CHANGED, "model.metrics.values{}")}),
    (narrow_scalar_union, {("break", UNION_NARROWED, "reasons[].details{}")}),
    (
        close_the_object,
        {
            ("break", CLOSED_OBJECT, "model.artifact"),
            ("break", CLOSED_OBJECT, "model.model_card"),
            ("break", CLOSED_OBJECT, "model.reference_profile"),
        },
    ),
    (
        retype_array_items,
        {("break", TYPE_CHANGED, "model.signature[].categories[]")},
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), BREAKS, ids=[m.__name__ for m, _ in BREAKS])
def test_breaking_change_is_reported(
    mutate: Callable[[Schema], None], expected: set[tuple[str, str, str]]
) -> None:
    new = promoted()
    mutate(new)
    changes = compare_schemas(promoted(), new, name="millrace.model.promoted.v1.json")
    assert found(changes) == expected, "\n".join(map(str, changes))
    assert all(c.schema == "millrace.model.promoted.v1.json" for c in changes)


def test_a_removed_field_of_a_shared_model_is_reported_at_every_path() -> None:
    new = promoted()
    del new["$defs"]["ArtifactRef"]["properties"]["sha256"]
    paths = {c.path for c in compare_schemas(promoted(), new)}
    assert paths == {
        "model.artifact.sha256",
        "model.model_card.sha256",
        "model.reference_profile.sha256",
    }


# -- warnings only --------------------------------------------------------------------------


def change_pattern(s: Schema) -> None:
    s["$defs"]["ArtifactRef"]["properties"]["sha256"]["pattern"] = "^[0-9a-f]{40}$"


def add_format(s: Schema) -> None:
    s["properties"]["producer"]["format"] = "hostname"


def tighten_minimum(s: Schema) -> None:
    s["$defs"]["ModelVersionInfo"]["properties"]["version"]["minimum"] = 2


def tighten_max_length(s: Schema) -> None:
    s["properties"]["actor"]["maxLength"] = 8


def change_default(s: Schema) -> None:
    s["properties"]["alias"]["default"] = "staging"


WARNINGS: list[tuple[Callable[[Schema], None], set[tuple[str, str, str]]]] = [
    (
        change_pattern,
        {
            ("warn", PATTERN_CHANGED, "model.artifact.sha256"),
            ("warn", PATTERN_CHANGED, "model.model_card.sha256"),
            ("warn", PATTERN_CHANGED, "model.reference_profile.sha256"),
        },
    ),
    (add_format, {("warn", FORMAT_CHANGED, "producer")}),
    (tighten_minimum, {("warn", CONSTRAINT_TIGHTENED, "model.version")}),
    (tighten_max_length, {("warn", CONSTRAINT_TIGHTENED, "actor")}),
    (change_default, {("warn", DEFAULT_CHANGED, "alias")}),
]


@pytest.mark.parametrize(("mutate", "expected"), WARNINGS, ids=[m.__name__ for m, _ in WARNINGS])
def test_doubtful_change_is_a_warning(
    mutate: Callable[[Schema], None], expected: set[tuple[str, str, str]]
) -> None:
    new = promoted()
    mutate(new)
    changes = compare_schemas(promoted(), new)
    assert found(changes) == expected, "\n".join(map(str, changes))
    assert not any(c.breaking for c in changes)


# -- compatible changes: nothing reported -----------------------------------------------------


def add_optional_field(s: Schema) -> None:
    s["properties"]["canary_percent"] = {"type": "integer", "default": 0, "description": "new"}


def add_optional_nested_field(s: Schema) -> None:
    s["$defs"]["ModelVersionInfo"]["properties"]["framework"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }


def widen_int_to_number(s: Schema) -> None:
    s["$defs"]["ModelVersionInfo"]["properties"]["version"]["type"] = "number"


def add_union_member(s: Schema) -> None:
    alias = s["properties"]["alias"]
    s["properties"]["alias"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": alias["default"],
    }


def add_enum_value(s: Schema) -> None:
    s["properties"]["kind"]["enum"].append("canary")


def relax_constraints(s: Schema) -> None:
    del s["$defs"]["ArtifactRef"]["properties"]["sha256"]["pattern"]
    del s["$defs"]["ModelVersionInfo"]["properties"]["version"]["minimum"]


def required_becomes_optional(s: Schema) -> None:
    s["$defs"]["Metrics"]["required"].remove("holdout_rows")


def edit_docs(s: Schema) -> None:
    s["description"] = "Reworded."
    s["properties"]["alias"]["description"] = "Alias, reworded."
    s["properties"]["alias"]["examples"] = ["staging"]
    s["$defs"]["Metrics"]["title"] = "Renamed"


def rename_a_def(s: Schema) -> None:
    s["$defs"]["ModelVersion"] = s["$defs"].pop("ModelVersionInfo")
    s["properties"]["model"]["$ref"] = "#/$defs/ModelVersion"


COMPATIBLE = [
    add_optional_field,
    add_optional_nested_field,
    widen_int_to_number,
    add_union_member,
    add_enum_value,
    relax_constraints,
    required_becomes_optional,
    edit_docs,
    rename_a_def,
]


@pytest.mark.parametrize("mutate", COMPATIBLE, ids=[m.__name__ for m in COMPATIBLE])
def test_compatible_change_is_not_reported(mutate: Callable[[Schema], None]) -> None:
    new = promoted()
    mutate(new)
    assert compare_schemas(promoted(), new) == []


# -- variants as real pydantic models ---------------------------------------------------------


class DataArrivedWithPriority(DataArrived):
    """A 1.1 that adds an optional field."""

    priority: int | None = Field(default=None, description="Scheduling hint.", examples=[5])


class DataArrivedShaRequired(DataArrived):
    """The optional digest made required."""

    sha256: Sha256 = Field(description="Digest of the file.")


class DataArrivedDatasetAsNumber(DataArrived):
    """The dataset name retyped."""

    dataset: int = Field(description="Dataset number.")  # type: ignore[assignment]


class ModelVersionInfoClassificationOnly(ModelVersionInfo):
    task: Literal["classification"] = Field(description="Only classification.")


class ModelPromotedNarrowTask(ModelPromoted):
    """A Literal value removed in a nested model."""

    model: ModelVersionInfoClassificationOnly = Field(description="The version.")


def baseline(name: str) -> Schema:
    data = json.loads((BASELINE_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_model_with_an_added_optional_field_is_compatible() -> None:
    new = event_json_schema(DataArrivedWithPriority)
    assert "priority" in new["properties"]
    assert compare_schemas(baseline("millrace.data.arrived.v1.json"), new) == []


def test_model_with_an_optional_field_made_required_breaks() -> None:
    changes = compare_schemas(
        baseline("millrace.data.arrived.v1.json"), event_json_schema(DataArrivedShaRequired)
    )
    assert found(changes) == {
        ("break", NEW_REQUIRED, "sha256"),
        ("break", UNION_NARROWED, "sha256"),
    }


def test_model_with_a_retyped_field_breaks() -> None:
    changes = compare_schemas(
        baseline("millrace.data.arrived.v1.json"), event_json_schema(DataArrivedDatasetAsNumber)
    )
    assert ("break", TYPE_CHANGED, "dataset") in found(changes)
    assert all(c.path == "dataset" for c in changes)


def test_model_with_a_literal_value_removed_in_a_nested_model_breaks() -> None:
    changes = compare_schemas(
        baseline("millrace.model.promoted.v1.json"), event_json_schema(ModelPromotedNarrowTask)
    )
    assert found(changes) == {("break", ENUM_VALUES_REMOVED, "model.task")}
    assert '"regression"' in changes[0].message


# -- directories and the CLI ------------------------------------------------------------------


def test_removed_schema_and_changed_identity_break() -> None:
    schemas = build_all()
    new = dict(schemas)
    del new["millrace.model.promoted.v1.json"]
    renamed = copy.deepcopy(new["millrace.data.arrived.v1.json"])
    renamed["$id"] = "urn:millrace:schema:data.arrived:v2"
    new["millrace.data.arrived.v1.json"] = renamed
    new["millrace.model.promoted.v2.json"] = schemas["millrace.model.promoted.v1.json"]
    report = compare_all(schemas, new)
    assert found(report.breaking) == {
        ("break", SCHEMA_REMOVED, ""),
        ("break", IDENTITY_CHANGED, ""),
    }
    assert report.without_baseline == ["millrace.model.promoted.v2.json"]


def write_dir(path: Path, schemas: dict[str, Schema]) -> Path:
    path.mkdir()
    for name, schema in schemas.items():
        (path / name).write_text(json.dumps(schema), encoding="utf-8")
    return path


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write_dir(tmp_path / "base", {"millrace.model.promoted.v1.json": promoted()})

    assert main([str(base)]) == 0  # against the code
    same = write_dir(tmp_path / "same", {"millrace.model.promoted.v1.json": promoted()})
    assert main([str(base), str(same)]) == 0

    warned = promoted()
    tighten_max_length(warned)
    warn_dir = write_dir(tmp_path / "warn", {"millrace.model.promoted.v1.json": warned})
    assert main([str(base), str(warn_dir)]) == 0
    assert main([str(base), str(warn_dir), "--strict"]) == 1

    broken = promoted()
    remove_literal_value_nested(broken)
    broken_dir = write_dir(tmp_path / "broken", {"millrace.model.promoted.v1.json": broken})
    capsys.readouterr()
    assert main([str(base), str(broken_dir)]) == 1
    out = capsys.readouterr().out
    assert "millrace.model.promoted.v1.json: model.task: enum_values_removed" in out
    assert "1 breaking" in out


def test_cli_refuses_an_empty_baseline(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path)])
    assert exc.value.code == 2


def test_module_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "millrace_contracts_dev.compat", str(BASELINE_DIR)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 breaking" in result.stdout
