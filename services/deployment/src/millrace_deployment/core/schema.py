"""A served model's predict request as JSON Schema (Draft 2020-12), from its signature.

The schema says what ``SignatureValidator`` checks, so that a client (or a fuzzer) can know
before sending which bodies the model takes: a row is an object with every feature present,
each of its type (null only where the feature is nullable) and no other key; a batch is
``{"rows": [row, ...]}`` with one row at least. Categories are listed as examples, not as an
``enum``: the service takes an unseen category (the model's encoder ignores it).

Self-contained (no ``$ref``): the same schema is embedded in the OpenAPI document, where a
local ``$ref`` would resolve against the document, not the schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from millrace_contracts import FeatureSignature

from .validation import MAX_MAGNITUDE

DIALECT = "https://json-schema.org/draft/2020-12/schema"


_NUMBER: dict[str, Any] = {
    "type": "number",
    "minimum": -MAX_MAGNITUDE,
    "maximum": MAX_MAGNITUDE,
}


def feature_schema(feature: FeatureSignature) -> dict[str, Any]:
    """The values one feature takes (``validation._check_for``'s rules)."""
    schema: dict[str, Any]
    if feature.dtype == "datetime":
        schema = {
            "anyOf": [
                {**_NUMBER, "description": "epoch seconds"},
                # RFC 3339; the service takes any ISO-8601 form Python parses (a date alone).
                {"type": "string", "format": "date-time"},
            ]
        }
        if feature.nullable:
            schema["anyOf"].append({"type": "null"})
        return {**schema, "description": f"{feature.name}: a timestamp"}
    if feature.dtype == "bool":
        kind = "boolean"
    elif feature.kind == "numeric" or feature.dtype in ("int", "float"):
        kind = "number"
    else:
        kind = "string"
    schema = {"type": [kind, "null"] if feature.nullable else kind}
    if kind == "number":
        schema.update({k: v for k, v in _NUMBER.items() if k != "type"})
    if feature.categories:
        schema["examples"] = list(feature.categories)
    schema["description"] = f"{feature.name}: {feature.kind} ({feature.dtype})"
    return schema


def row_schema(signature: Sequence[FeatureSignature]) -> dict[str, Any]:
    """One row: every feature required, no other key."""
    return {
        "type": "object",
        "properties": {f.name: feature_schema(f) for f in signature},
        "required": [f.name for f in signature],
        "additionalProperties": False,
    }


def request_schema(
    name: str, version: int, signature: Sequence[FeatureSignature], max_batch_rows: int
) -> dict[str, Any]:
    """The body of ``POST /models/{name}/predict`` for this model version.

    ``anyOf`` rather than ``oneOf``: a model with a single feature named ``rows`` would have
    bodies of both forms (the service takes ``{"rows": [...]}`` as a batch).
    """
    row = row_schema(signature)
    batch = {
        "type": "object",
        "properties": {
            "rows": {
                "type": "array",
                "items": row,
                "minItems": 1,
                "maxItems": max_batch_rows,
                "description": f"At most {max_batch_rows} rows (more get 413, not 422).",
            }
        },
        "required": ["rows"],
        "additionalProperties": False,
    }
    return {
        "title": f"{name} v{version} predict request",
        "description": (
            f"One row of {name}'s features (each required, typed by the model's signature, no "
            'other key) or a batch {"rows": [row, ...]}.'
        ),
        "anyOf": [{"title": "row", **row}, {"title": "batch", **batch}],
    }


def json_schema_document(
    name: str, version: int, signature: Sequence[FeatureSignature], max_batch_rows: int
) -> dict[str, Any]:
    """``GET /models/{name}/schema``: the request schema as a stand-alone document."""
    return {"$schema": DIALECT, **request_schema(name, version, signature, max_batch_rows)}
