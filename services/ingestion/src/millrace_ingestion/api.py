"""REST: which datasets exist, the declaration in force, the versions of each, and the
arrivals rejected."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from millrace_contracts import ArtifactRef, DatasetDeclaration, DatasetSpec, Reason
from millrace_shared.http import error_responses
from pydantic import BaseModel

from .core.declarations import DeclarationStore, SpecSource
from .core.rejections import RejectionStore
from .core.versions import ValidationReport, VersionStore


class DatasetView(BaseModel):
    dataset: str
    declaration_version: int
    """The current declaration's number; the CLI waits for it after declaring."""
    event_id: uuid.UUID
    """The DatasetDeclared that made this version (for an undeclared dataset, its first accepted
    DataArrived): a client that published a declaration can wait for its id here."""
    declared_at: datetime
    declaration: DatasetDeclaration
    spec: DatasetSpec | None
    """The contract in force; null until declared or inferred from a first arrival."""
    spec_source: SpecSource | None


class VersionView(BaseModel):
    version: str
    rows: int
    created_at: datetime
    spec_version: int
    source_uri: str
    data: ArtifactRef
    profile: ArtifactRef
    created_by: uuid.UUID
    """The DataArrived that made it: the id of the flow (its correlation id)."""
    submitted_by: str | None = None
    """Who published that arrival, if it said."""
    validation: ValidationReport | None = None
    """The checks it passed (null for versions from before reports were kept)."""


class RejectionView(BaseModel):
    """An arrival turned away: which file, who sent it, when, and why (by code)."""

    arrival_id: uuid.UUID
    """The DataArrived's event id (the flow's correlation id)."""
    source_uri: str
    submitted_by: str | None = None
    arrived_at: datetime
    rejected_at: datetime
    rejection_event_id: uuid.UUID
    reasons: list[Reason]
    """Every problem found: a stable ``code``, a message, the column, machine facts."""


def datasets_router(
    declarations: DeclarationStore,
    versions: VersionStore,
    rejections: RejectionStore | None = None,
) -> APIRouter:
    router = APIRouter(prefix="/datasets", tags=["datasets"])

    @router.get("")
    async def list_datasets() -> list[str]:
        return await asyncio.to_thread(declarations.datasets)

    @router.get("/{name}", responses=error_responses(404))
    async def get_dataset(name: str) -> DatasetView:
        record = await asyncio.to_thread(declarations.current, name)
        if record is None:
            raise HTTPException(404, f"unknown dataset {name!r}")
        return DatasetView(
            dataset=record.dataset,
            declaration_version=record.version,
            event_id=record.event_id,
            declared_at=record.declared_at,
            declaration=record.declaration,
            spec=record.spec,
            spec_source=record.spec_source,
        )

    @router.get("/{name}/versions", responses=error_responses(404))
    async def list_versions(name: str) -> list[VersionView]:
        history = await asyncio.to_thread(versions.history, name)
        if not history and not await asyncio.to_thread(declarations.versions, name):
            raise HTTPException(404, f"unknown dataset {name!r}")
        return [VersionView.model_validate(r, from_attributes=True) for r in history]

    @router.get("/{name}/rejections", responses=error_responses(404))
    async def list_rejections(name: str) -> list[RejectionView]:
        """The dataset's most recent rejected arrivals, newest first (a bounded number are
        kept: ``MILLRACE_INGESTION_REJECTIONS_KEPT``)."""
        kept = await asyncio.to_thread(rejections.recent, name) if rejections else []
        if not kept and not await asyncio.to_thread(declarations.versions, name):
            raise HTTPException(404, f"unknown dataset {name!r}")
        return [RejectionView.model_validate(r, from_attributes=True) for r in kept]

    @router.get("/{name}/versions/{version}", responses=error_responses(404))
    async def get_version(
        name: str, version: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
    ) -> VersionView:
        """One version by its content version (sha256 of the canonical Parquet)."""
        record = await asyncio.to_thread(versions.get, name, version)
        if record is None:
            raise HTTPException(404, f"no version {version!r} of dataset {name!r}")
        return VersionView.model_validate(record, from_attributes=True)

    return router
