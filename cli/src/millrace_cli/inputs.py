"""Files users hand the CLI: dataset declarations (YAML/JSON) and rows to predict (CSV/JSONL)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from millrace_contracts import DatasetDeclaration
from millrace_contracts.common import Name
from pydantic import TypeAdapter, ValidationError

from .errors import CliError, ExitCode


def validation_problems(error: ValidationError) -> str:
    return "\n".join(
        f"  - {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
        for e in error.errors()
    )


def load_declaration(path: Path) -> DatasetDeclaration:
    """A DatasetDeclaration from YAML (``.yaml``/``.yml``) or JSON (anything else YAML reads)."""
    try:
        text = path.read_text()
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from error
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise CliError(f"{path} is not valid {_kind(path)}: {error}") from error
    if not isinstance(data, dict):
        raise CliError(
            f"{path}: expected a mapping with at least 'dataset', got {type(data).__name__}"
        )
    try:
        return DatasetDeclaration.model_validate(data)
    except ValidationError as error:
        raise CliError(
            f"{path} is not a valid dataset declaration:\n{validation_problems(error)}"
        ) from error


_NAME = TypeAdapter(Name)


def check_name(name: str) -> str:
    """A dataset or model name as the contracts accept it (lower-case, digits, . _ -)."""
    try:
        return _NAME.validate_python(name)
    except ValidationError as error:
        raise CliError(
            f"{name!r} is not a valid name: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, at most 63 characters",
            ExitCode.USAGE,
        ) from error


def _kind(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "YAML"


def parse_row(text: str) -> dict[str, Any]:
    """``--row '{"x": 1}'``: one JSON object."""
    try:
        row = json.loads(text)
    except ValueError as error:
        raise CliError(f"--row is not valid JSON: {error}") from error
    if not isinstance(row, dict):
        raise CliError("--row must be a JSON object: one row, feature name to value")
    return row


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV (header line, types inferred) or JSON Lines file (one object a line)."""
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        rows: list[dict[str, Any]] = []
        try:
            lines = path.read_text().splitlines()
        except OSError as error:
            raise CliError(f"cannot read {path}: {error.strerror}") from error
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                raise CliError(f"{path}:{number}: not valid JSON: {error}") from error
            if not isinstance(row, dict):
                raise CliError(f"{path}:{number}: expected a JSON object")
            rows.append(row)
        return rows
    if suffix == ".csv":
        import pandas as pd  # imported here: it takes a second or more to load

        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as error:
            raise CliError(f"cannot read {path} as CSV: {error}") from error
        return [
            {str(k): _clean(v) for k, v in record.items()}
            for record in frame.to_dict(orient="records")
        ]
    raise CliError(f"{path}: use a .csv or .jsonl file")
