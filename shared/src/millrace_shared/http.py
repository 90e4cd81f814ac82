"""What the services' REST errors look like, for their OpenAPI documents.

FastAPI's ``HTTPException(status, "message")`` answers ``{"detail": "message"}``; listing each
status a route can return (with this model) keeps the documents true to the responses, which
schemathesis's status-code conformance check holds them to.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    detail: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can answer each of ``statuses`` with an ErrorDetail
    (400 included for a route with a body: FastAPI answers 400 to a body it cannot decode)."""
    return {s: {"model": ErrorDetail, "description": HTTPStatus(s).phrase} for s in statuses}
