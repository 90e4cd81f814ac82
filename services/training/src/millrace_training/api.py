"""REST: the runs done for a model, and the fit in progress."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from millrace_shared.http import error_responses
from pydantic import BaseModel, Field

from .core.runner import FitStatus, TrainingRunner
from .core.runs import FailedRun, RunStore

ModelName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,128}$")]


class RunDetail(BaseModel):
    trained: dict[str, Any] = Field(description="The run's ModelTrained event.")
    card: dict[str, Any] | None = Field(
        description="Its model card: training spec, parameters, AutoML search and leaderboard, "
        "holdout, libraries and code version; null if the card is gone."
    )


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

    @router.get("/runs/{model}/run/{run_id}", responses=error_responses(404))
    async def get_run(model: ModelName, run_id: RunId) -> RunDetail:
        """One finished run of ``model``: its event and its model card."""
        trained = await asyncio.to_thread(runs.done_run, model, run_id)
        if trained is None:
            raise HTTPException(404, f"no finished run {run_id!r} of {model!r}")
        card = await asyncio.to_thread(runs.card, trained)
        return RunDetail(trained=trained.model_dump(mode="json"), card=card)

    @router.get("/runs/{model}/failed")
    async def list_failed_runs(model: ModelName) -> list[FailedRun]:
        """Runs of ``model`` that ended without a model, with a machine-readable ``reason``
        (``reason.code``: ``artifact_too_large``, ``parameter_out_of_bounds``,
        ``cannot_train``), oldest first."""
        return await asyncio.to_thread(runs.failed_runs, model)

    return router
