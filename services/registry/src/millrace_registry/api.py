"""The REST API: read the registry; promote and roll back (an actor's bearer token) over HTTP.

The audit's actor is the token's: a body ``actor`` is accepted only if it names that same
actor (older clients send it), and refused with 403 otherwise, so a typo or a borrowed
token is noticed rather than silently recorded under another name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from millrace_contracts import ModelPromoted, ModelVersionInfo
from millrace_shared.http import error_responses
from millrace_shared.registry.models import (
    Actor,
    AuditEntry,
    ModelDetail,
    ModelSummary,
    PromoteRequest,
    RollbackRequest,
    SignedPromotion,
    VersionDetail,
)
from millrace_shared.registry.tokens import ActorTokens

from .commands import RegistryCommands
from .core.errors import AliasConflict, UnknownModel, UnknownVersion
from .core.views import RegistryViews

# Module level: FastAPI resolves these annotations by name, which a closure's locals defeat.
_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Send the same key again to get the recorded move back instead of a second "
        "move (a retried rollback never rolls twice). Any replica answers it.",
    ),
]


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except (UnknownModel, UnknownVersion) as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except AliasConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error


def _same_actor(token_actor: str, claimed: str | None) -> str:
    if claimed is not None and claimed != token_actor:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"the body's actor {claimed!r} is not the token's actor {token_actor!r}; "
            "leave actor out, the token says who you are",
        )
    return token_actor


def registry_router(
    views: RegistryViews, commands: RegistryCommands, actors: ActorTokens
) -> APIRouter:
    router = APIRouter(prefix="/models", tags=["registry"])

    def require_actor(credentials: Credentials) -> str:
        actor = actors.actor_for(credentials.credentials) if credentials is not None else None
        if actor is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a valid bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return actor

    # Plain `def` endpoints: FastAPI runs them in worker threads, off the event loop.
    @router.get("", summary="Every model with its production and latest version")
    def list_models() -> list[ModelSummary]:
        return views.models()

    @router.get("/{name}", responses=error_responses(404), summary="A model's versions and aliases")
    def show_model(name: str) -> ModelDetail:
        with _refusals():
            return views.model(name)

    @router.get(
        "/{name}/versions/{version}",
        responses=error_responses(404),
        summary="One version: card, metrics, lineage, decision",
    )
    def show_version(name: str, version: int) -> VersionDetail:
        with _refusals():
            return views.version(name, version)

    @router.get("/{name}/aliases", responses=error_responses(404), summary="Alias -> version")
    def show_aliases(name: str) -> dict[str, int]:
        with _refusals():
            return views.aliases(name)

    @router.get(
        "/{name}/audit",
        responses=error_responses(404),
        summary="Every registration, decision and alias move, in order",
    )
    def show_audit(name: str) -> list[AuditEntry]:
        with _refusals():
            return views.audit(name)

    @router.get(
        "/{name}/production",
        responses=error_responses(404),
        summary="The production version now, or at a past time (from the audit trail)",
    )
    def show_production(
        name: str,
        at: Annotated[
            datetime | None, Query(description="ISO time; UTC if it has no offset. Now if unset.")
        ] = None,
    ) -> ModelVersionInfo:
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        with _refusals():
            info = views.production(name, at)
        if info is None:
            when = f"at {at.isoformat()}" if at is not None else "now"
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"{name!r} had no production version {when}"
            )
        return info

    @router.get(
        "/{name}/production/promotion",
        responses=error_responses(404),
        summary="The promotion behind the production version now, signed by the registry",
    )
    def show_production_promotion(name: str) -> SignedPromotion:
        with _refusals():
            promotion = views.production_promotion(name)
        if promotion is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{name!r} has no production version")
        return promotion

    @router.post(
        "/{name}/promote",
        responses=error_responses(400, 401, 403, 404, 409),
        summary="Point an alias (production by default) at a version",
    )
    async def promote(
        name: str,
        body: PromoteRequest,
        credentials: Credentials,
        idempotency_key: IdempotencyKey = None,
    ) -> ModelPromoted:
        actor = _same_actor(require_actor(credentials), body.actor)
        with _refusals():
            return await commands.promote(
                name,
                body.version,
                reason=body.reason,
                actor=actor,
                alias=body.alias,
                idempotency_key=idempotency_key,
            )

    @router.post(
        "/{name}/rollback",
        responses=error_responses(400, 401, 403, 404, 409),
        summary="Put the previous (or a given) version back in production",
    )
    async def rollback(
        name: str,
        body: RollbackRequest,
        credentials: Credentials,
        idempotency_key: IdempotencyKey = None,
    ) -> ModelPromoted:
        actor = _same_actor(require_actor(credentials), body.actor)
        with _refusals():
            return await commands.rollback(
                name,
                reason=body.reason,
                actor=actor,
                to_version=body.to_version,
                idempotency_key=idempotency_key,
            )

    return router


def actor_router(actors: ActorTokens) -> APIRouter:
    """``GET /whoami``: whom a bearer token names, so a login (the console's) can check a
    token and greet its holder before any move is made with it."""
    router = APIRouter(tags=["registry"])

    @router.get("/whoami", responses=error_responses(401), summary="The actor a token names")
    def whoami(credentials: Credentials) -> Actor:
        actor = actors.actor_for(credentials.credentials) if credentials is not None else None
        if actor is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a valid bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Actor(actor=actor)

    return router
