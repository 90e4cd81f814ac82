"""REST views of the monitor: versions and counts, latest drift checks, live performance;
and the prediction archive, by prediction id."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException
from millrace_shared.http import error_responses

from .archive import ArchivedPrediction, PredictionArchive
from .core.monitor import Monitor
from .core.views import DriftView, HistoryView, ModelsView, PerformanceView


def monitoring_router(monitor: Monitor) -> APIRouter:
    router = APIRouter(prefix="/models", tags=["monitoring"])

    @router.get("")
    async def list_models() -> ModelsView:
        """Known versions with their counts, and predictions of versions never promoted."""
        return await asyncio.to_thread(monitor.models)

    @router.get("/{name}/drift", responses=error_responses(404))
    async def model_drift(name: str) -> DriftView:
        """The latest drift check of each version of the model."""
        view = await asyncio.to_thread(monitor.drift, name)
        if view is None:
            raise HTTPException(status_code=404, detail=f"no promoted version of {name!r} known")
        return view

    @router.get("/{name}/history", responses=error_responses(404))
    async def model_history(name: str) -> HistoryView:
        """Per version, oldest first and bounded: each checked window's per-feature PSI, KS and
        p-values (drift events are the drifted ones), the live metric after each batch of
        labels with its floor, and the reference vs latest window distribution per feature."""
        view = await asyncio.to_thread(monitor.history, name)
        if view is None:
            raise HTTPException(status_code=404, detail=f"no promoted version of {name!r} known")
        return view

    @router.get("/{name}/performance", responses=error_responses(404))
    async def model_performance(name: str) -> PerformanceView:
        """Live metric of each version from the labels joined so far."""
        view = await asyncio.to_thread(monitor.performance, name)
        if view is None:
            raise HTTPException(status_code=404, detail=f"no promoted version of {name!r} known")
        return view

    return router


def predictions_router(archive: PredictionArchive) -> APIRouter:
    router = APIRouter(prefix="/predictions", tags=["predictions"])

    @router.get("/{prediction_id}", responses=error_responses(404))
    async def prediction(prediction_id: str) -> ArchivedPrediction:
        """One served prediction from the archive: inputs, output, time, replica, model
        version. Archived with monitoring's next checkpoint (seconds after it is logged)."""
        found = await asyncio.to_thread(archive.find, prediction_id)
        if found is None:
            raise HTTPException(
                status_code=404, detail=f"prediction {prediction_id!r} is not in the archive"
            )
        return found

    return router
