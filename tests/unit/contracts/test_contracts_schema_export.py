"""Committed JSON Schemas: generated from the code, deterministic, up to date."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from millrace_contracts import TOPICS, ModelPromoted, TopicSpec
from millrace_contracts_dev.schema_export import (
    build_all,
    check,
    default_schema_dir,
    event_json_schema,
    export_all,
    main,
    render,
)

CONTRACTS_DIR = Path(__file__).resolve().parents[3] / "contracts"
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"


def test_committed_schemas_are_up_to_date() -> None:
    problems = check(SCHEMAS_DIR)
    assert not problems, (
        "\n".join(problems) + "\nrun: .venv/bin/python -m millrace_contracts_dev.schema_export"
    )


def test_default_dir_is_the_committed_one() -> None:
    assert default_schema_dir() == SCHEMAS_DIR


@pytest.mark.parametrize("spec", TOPICS, ids=lambda s: s.event.event_type)
def test_schema_identity(spec: TopicSpec) -> None:
    schema = event_json_schema(spec.event)
    assert schema["$id"] == f"urn:millrace:schema:{spec.event.event_type}:v1"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == spec.event.__name__
    assert schema["x-millrace-topic"] == spec.name
    assert schema["x-millrace-event-type"] == spec.event.event_type
    assert schema["x-millrace-schema-version"] == (
        f"{spec.event.major_version}.{spec.event.minor_version}"
    )
    assert schema["type"] == "object"
    for envelope_field in ("event_id", "occurred_at", "producer", "correlation_id"):
        assert envelope_field in schema["properties"]
    assert {"producer", "correlation_id"} <= set(schema["required"])


def test_schema_version_has_no_misleading_default() -> None:
    prop = event_json_schema(ModelPromoted)["properties"]["schema_version"]
    assert "default" not in prop
    assert prop["type"] == "string"


def test_export_is_deterministic(tmp_path: Path) -> None:
    written = export_all(tmp_path / "a")
    assert len(written) == len(TOPICS)
    assert export_all(tmp_path / "a") == []  # nothing changes the second time
    export_all(tmp_path / "b")
    for path in sorted((tmp_path / "a").iterdir()):
        text = path.read_text(encoding="utf-8")
        assert text == (tmp_path / "b" / path.name).read_text(encoding="utf-8")
        assert text.endswith("}\n") and not text.endswith("\n\n")
        assert text == render(json.loads(text))  # sorted keys, stable layout


def test_one_file_per_topic() -> None:
    assert sorted(build_all()) == sorted(f"{spec.name}.json" for spec in TOPICS)


def test_check_reports_missing_stale_and_orphaned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check", str(tmp_path)]) == 1
    assert "missing:" in capsys.readouterr().err

    assert main([str(tmp_path)]) == 0
    assert main(["--check", str(tmp_path)]) == 0
    capsys.readouterr()

    promoted = tmp_path / "millrace.model.promoted.v1.json"
    promoted.write_text(promoted.read_text().replace("production", "prod"))
    orphan = tmp_path / "millrace.model.retired.v1.json"
    orphan.write_text("{}\n")
    unrelated = tmp_path / "notes.json"
    unrelated.write_text("{}\n")
    assert main(["--check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"stale: {promoted}" in err
    assert f"orphaned (no such event): {orphan}" in err
    assert "notes.json" not in err

    assert main([str(tmp_path)]) == 0
    assert not orphan.exists()
    assert unrelated.exists()  # files it does not own are left alone
    assert check(tmp_path) == []


def test_module_entry_point(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "millrace_contracts_dev.schema_export"]
    result = subprocess.run([*run, "--check", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "missing:" in result.stderr
    assert subprocess.run([*run, str(tmp_path)], capture_output=True).returncode == 0
    assert subprocess.run([*run, "--check", str(tmp_path)], capture_output=True).returncode == 0
