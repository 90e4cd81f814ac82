"""REST: the runs done for a model, and the fit in progress."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from .core.runner import FitStatus, TrainingRunner
from .core.runs import FailedRun, RunStore

ModelName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]


class Status(BaseModel):
    current: FitStatus | None
    """The fit this process is running, or null when idle."""


def training_router(runner: TrainingRunner, runs: RunStore) -> APIRouter:
    router = APIRouter(tags=["training"])

    @router.get("/status")
    async def status() -> Status:
        """The fit this process is running (``current``), null when idle."""
        return Status(current=runner.current)

    @router.get("/runs/{model}")
    async def list_runs(model: ModelName) -> list[dict[str, Any]]:
        """Every finished run of ``model`` (its ModelTrained event), oldest first."""
        done = await asyncio.to_thread(runs.done_runs, model)
        return [run.model_dump(mode="json") for run in done]

    @router.get("/runs/{model}/failed")
    async def list_failed_runs(model: ModelName) -> list[FailedRun]:
        """Runs of ``model`` that ended without a model, with a machine-readable ``reason``
        (``reason.code``: ``artifact_too_large``, ``parameter_out_of_bounds``,
        ``cannot_train``), oldest first."""
        return await asyncio.to_thread(runs.failed_runs, model)

    return router
