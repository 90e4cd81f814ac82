"""The REST API: predictions (raw body parsed with orjson), the served models, buffer stats."""

from __future__ import annotations

import copy
from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, Field

from .core.catalog import ModelCatalog
from .core.predicting import Predictor, TooManyRows, is_batch
from .core.schema import json_schema_document, request_schema
from .core.served import ServedModel
from .core.validation import Code, InputError, InvalidInput


class ServedModelView(BaseModel):
    name: str
    version: int
    loaded_at: datetime
    sha256: str = Field(description="Digest of the artifact being served.")
    load_seconds: float = Field(description="Download, verification, load and warm-up.")


class ServingStats(BaseModel):
    replica_id: str
    models: int = Field(description="Models served.")
    served: int = Field(description="Predictions served since start.")
    logged: int = Field(description="Predictions published in predictions.logged since start.")
    dropped: int = Field(
        description="Prediction logs lost since start (buffer full, or failed publish)."
    )
    buffer_depth: int = Field(description="Logs waiting to be published.")
    buffer_capacity: int
    failed_publishes: int
    fast_path_fallbacks: int = Field(
        default=0,
        description="Models loaded since start whose compiled single-row path disagreed with "
        "the model on its check rows, so they are served by the model itself (slower).",
    )
    loop_stalls: int = Field(
        default=0,
        description="Event-loop stalls over MILLRACE_LOOP_STALL_SECONDS since ready: every "
        "request waited that long (each is logged with where the loop was held).",
    )
    loop_stall_max_ms: float = Field(default=0.0, description="The longest of them.")
    loop_stall_last: dict[str, Any] | None = Field(
        default=None,
        description="The last one: its length, the loop thread's frames, and "
        "how much of it was full garbage collection.",
    )


class _BodyTooLarge(Exception):
    pass


def _json(status: int, body: Any) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


def _invalid(errors: list[InputError], truncated: bool = False) -> Response:
    body: dict[str, Any] = {"detail": [e.as_json() for e in errors]}
    if truncated:
        body["truncated"] = True
    return _json(422, body)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge  # refused before reading a byte of it
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # a chunked body has no length to trust
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


PREDICT_PATH = "/models/{name}/predict"
SCHEMA_PATH = "/models/{name}/schema"

_PREDICT_RESPONSES: dict[str, Any] = {
    "200": {"description": "Model, version, prediction id(s) and prediction(s)"},
    "404": {"description": "Model not served by this replica"},
    "413": {"description": "Body over max_body_bytes, or rows over max_batch_rows"},
    "422": {
        "description": "Input does not match the model signature: each missing, unexpected or "
        "mistyped feature named by row and field"
    },
}

_PREDICT_DOC: dict[str, Any] = {
    "post": {
        "tags": ["serving"],
        "summary": "Predict one row, or a batch of rows",
        "description": (
            "Any served model. Its features are all required, each of its type, and no other "
            "key is taken (422 otherwise, `{}` included): `GET /models/{name}/schema` gives "
            "the model's request schema, and this document has an operation per model served "
            "when it was generated (`POST /models/<model>/predict`) with that schema."
        ),
        "operationId": "predict_models__name__predict_post",
        "parameters": [
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "requestBody": {
            "required": True,
            "description": 'One row as a JSON object (feature -> value), or {"rows": [row, ...]}.',
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "A row holds every feature of the named model; see "
                        "GET /models/{name}/schema.",
                    }
                }
            },
        },
        "responses": _PREDICT_RESPONSES,
    }
}


def model_predict_doc(served: ServedModel, max_batch_rows: int) -> dict[str, Any]:
    """The predict operation of one served model, with its own request schema."""
    schema = request_schema(served.name, served.version, served.info.signature, max_batch_rows)
    return {
        "post": {
            "tags": ["serving"],
            "summary": f"Predict with {served.name} (v{served.version} when documented)",
            "operationId": f"predict_{served.name}",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            },
            "responses": _PREDICT_RESPONSES,
        }
    }


def document_predict(app: FastAPI, catalog: ModelCatalog, max_batch_rows: int) -> None:
    """Put the predict route, served outside FastAPI's operations, in the OpenAPI document:
    the generic one, and one per served model with the model's request schema, rebuilt when
    the served versions change (a swap)."""
    build = app.openapi
    base: dict[str, Any] = {}
    built_for: tuple[tuple[str, int], ...] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal built_for
        if not base:
            base.update(build())
            base.setdefault("paths", {})[PREDICT_PATH] = _PREDICT_DOC
        models = catalog.all()
        served = tuple((m.name, m.version) for m in models)
        if app.openapi_schema is None or served != built_for:
            doc = copy.deepcopy(base)
            for m in models:
                doc["paths"][f"/models/{m.name}/predict"] = model_predict_doc(m, max_batch_rows)
            app.openapi_schema, built_for = doc, served
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def is_predict(scope: MutableMapping[str, Any]) -> bool:
    """Requests FastAPI's own telemetry leaves alone: single rows open no span (batches open
    ``predict_batch`` under the caller's context)."""
    path: str = scope.get("path", "")
    return path.endswith("/predict") and path.startswith("/models/")


class ServingRouter(APIRouter):
    """The serving routes, with what ``document_predict`` needs to document predict."""

    def __init__(self, catalog: ModelCatalog, max_batch_rows: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.catalog, self.max_batch_rows = catalog, max_batch_rows


def serving_router(
    catalog: ModelCatalog,
    predictor: Predictor,
    stats: Callable[[], ServingStats],
    *,
    max_body_bytes: int,
) -> ServingRouter:
    router = ServingRouter(catalog, predictor.max_batch_rows, tags=["serving"])

    async def predict(request: Request) -> Response:
        # One reference for the whole request: a swap meanwhile does not touch it.
        name = request.path_params["name"]
        served = catalog.get(name)
        if served is None:
            return _json(404, {"detail": f"model {name!r} is not served by this replica"})
        try:
            body = await _read_body(request, max_body_bytes)
        except _BodyTooLarge:
            return _json(413, {"detail": f"request body over {max_body_bytes} bytes"})
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            return _invalid([InputError(None, None, Code.INVALID_JSON, str(error))])
        try:
            if is_batch(payload):
                result = await predictor.batch(served, payload["rows"], request.headers)
            else:
                result = predictor.one(served, payload)
        except TooManyRows as error:
            return _json(413, {"detail": str(error)})
        except InvalidInput as error:
            return _invalid(error.errors, error.truncated)
        return _json(200, result)

    # A plain Starlette route, not a FastAPI operation: the hot path takes the raw request and
    # skips dependency resolution (measurable per request); its OpenAPI entry is added by
    # ``document_predict``.
    router.add_route(PREDICT_PATH, predict, methods=["POST"], include_in_schema=False)

    @router.get("/models", summary="The models this replica serves")
    async def served_models() -> list[ServedModelView]:
        return [ServedModelView.model_validate(m, from_attributes=True) for m in catalog.all()]

    @router.get(
        SCHEMA_PATH,
        summary="The JSON Schema (Draft 2020-12) of a served model's predict request",
        responses={
            200: {"description": "The schema of one row, or of a batch of rows"},
            404: {"description": "Model not served by this replica"},
        },
    )
    async def model_schema(name: str) -> dict[str, Any]:
        served = catalog.get(name)
        if served is None:
            # The same body as predict's 404.
            raise HTTPException(404, f"model {name!r} is not served by this replica")
        return json_schema_document(
            served.name, served.version, served.info.signature, predictor.max_batch_rows
        )

    @router.get("/stats", summary="Predictions served, logged and dropped; log buffer depth")
    async def serving_stats() -> ServingStats:
        return stats()

    return router
