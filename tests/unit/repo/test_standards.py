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
    # No skip: CI has Node.js, and scripts/setup --test installs the parser (npm ci).
    assert node is not None, "Node.js is needed to check the AsyncAPI documents"
    assert (PARSER / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the AsyncAPI parser is not installed: run scripts/setup --test (npm ci in tools/asyncapi)"
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


def broken_document() -> dict[str, Any]:
    """A committed document with a dangling server reference: the bug the parser found."""
    doc: dict[str, Any] = json.loads((ASYNCAPI / "training.json").read_text())
    channel = next(iter(doc["channels"].values()))
    channel["servers"] = [{"$ref": "#/servers/development"}]
    return doc


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The parser's verdict line per document: the committed ones, the served ones and a broken
    one, in one run (Node.js starts slowly)."""
    served = tmp_path_factory.mktemp("served")
    files = committed_asyncapi()
    for service in Service:
        path = served / f"{service}.json"
        path.write_text(json.dumps(generate.served(service)))
        files.append(path)
    broken = served / "broken.json"
    broken.write_text(json.dumps(broken_document()))
    files.append(broken)
    result = parse_asyncapi(files)
    print(result.stdout, result.stderr)  # the diagnostics, warnings included, for a failure
    assert result.returncode == 1, "the broken document must fail the run"
    found = {}
    for line in result.stdout.splitlines():
        name, _, verdict = line.rpartition(": ")
        if verdict.startswith(("valid AsyncAPI", "INVALID")):
            found[name] = verdict
    assert len(found) == len(files), result.stdout
    return found


def test_every_service_has_a_committed_asyncapi_document() -> None:
    assert {p.stem for p in committed_asyncapi()} == {str(s) for s in Service}


def test_committed_asyncapi_documents_parse_with_the_official_parser(
    verdicts: dict[str, str],
) -> None:
    committed = {str(p): verdicts[str(p)] for p in committed_asyncapi()}
    assert all(v.startswith("valid AsyncAPI 3.") for v in committed.values()), committed


def test_served_asyncapi_documents_parse_with_the_official_parser(
    verdicts: dict[str, str],
) -> None:
    served = {k: v for k, v in verdicts.items() if not k.startswith(str(ROOT))}
    served.pop(next(k for k in served if k.endswith("broken.json")))
    assert len(served) == len(Service)
    assert all(v.startswith("valid AsyncAPI 3.") for v in served.values()), served


def test_the_parser_check_catches_an_invalid_document(verdicts: dict[str, str]) -> None:
    """The check is not vacuous: a dangling server reference fails it."""
    broken = next(v for k, v in verdicts.items() if k.endswith("broken.json"))
    assert broken.startswith("INVALID")


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
