"""Millrace's interface documents conform to their standards, as the standards' own validators
judge them: every AsyncAPI document (committed and served) parses with the official AsyncAPI
parser, every service's OpenAPI document passes openapi-spec-validator, and every contract's
JSON Schema is a valid Draft 2020-12 schema (its metaschema). The README's "Interoperability"
section lists these checks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from millrace_contracts.topics import Service
from openapi_spec_validator import validate as validate_openapi

ROOT = Path(__file__).resolve().parents[3]
ASYNCAPI = ROOT / "docs" / "asyncapi"
PARSER = ROOT / "tools" / "asyncapi"
SCHEMAS = ROOT / "contracts" / "schemas"
sys.path.insert(0, str(ASYNCAPI))

import generate  # noqa: E402


def parse_asyncapi(files: list[Path]) -> subprocess.CompletedProcess[str]:
    """Runs the official parser (tools/asyncapi/validate.mjs) over ``files``; exit 0 = valid."""
    node = shutil.which("node")
    # No skip: CI has Node.js, and scripts/setup installs the parser (npm ci).
    assert node is not None, "Node.js is needed to check the AsyncAPI documents"
    assert (PARSER / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the AsyncAPI parser is not installed: run scripts/setup (npm ci in tools/asyncapi)"
    )
    return subprocess.run(
        [node, str(PARSER / "validate.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def committed_asyncapi() -> list[Path]:
    return sorted(ASYNCAPI.glob("*.json"))


def test_every_service_has_a_committed_asyncapi_document() -> None:
    assert {p.stem for p in committed_asyncapi()} == {str(s) for s in Service}


def test_committed_asyncapi_documents_parse_with_the_official_parser() -> None:
    files = committed_asyncapi()
    result = parse_asyncapi(files)
    assert result.returncode == 0, result.stdout + result.stderr
    # Each file was judged, and valid (warnings are printed, but only errors fail).
    assert result.stdout.count(": valid AsyncAPI 3.") == len(files), result.stdout


def test_served_asyncapi_documents_parse_with_the_official_parser(tmp_path: Path) -> None:
    files = []
    for service in Service:
        path = tmp_path / f"{service}.json"
        path.write_text(json.dumps(generate.served(service)))
        files.append(path)
    result = parse_asyncapi(files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": valid AsyncAPI 3.") == len(files), result.stdout


def test_the_parser_check_catches_an_invalid_document(tmp_path: Path) -> None:
    """The check is not vacuous: a dangling server reference (the bug it found) fails it."""
    doc: dict[str, Any] = json.loads((ASYNCAPI / "training.json").read_text())
    channel = next(iter(doc["channels"].values()))
    channel["servers"] = [{"$ref": "#/servers/development"}]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    result = parse_asyncapi([path])
    assert result.returncode == 1
    assert "INVALID" in result.stdout and "servers/development" in result.stdout


@pytest.mark.parametrize("service", list(Service))
def test_openapi_document_is_valid(service: Service) -> None:
    spec = generate.app(service).openapi()
    assert spec["openapi"].startswith("3.")
    validate_openapi(spec)  # raises OpenAPIValidationError when it is not valid OpenAPI 3.x


def contract_schemas() -> list[Path]:
    schemas = sorted(SCHEMAS.rglob("*.json"))
    assert schemas, f"no JSON Schemas under {SCHEMAS}"
    return schemas


@pytest.mark.parametrize("path", contract_schemas(), ids=lambda p: str(p.relative_to(SCHEMAS)))
def test_contract_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
