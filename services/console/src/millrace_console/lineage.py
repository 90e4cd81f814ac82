"""The lineage pages: a form for a prediction id, and every link ``resolve_lineage`` follows
from it (prediction → model version → training run → dataset version → promotion → trace),
with the links it could not resolve listed with their reasons."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from millrace_shared.lineage import PredictionLineage

from .backends import Backends
from .settings import ConsoleSettings

LABELS = {
    "prediction": "prediction",
    "model_version": "model version",
    "training_run": "training run",
    "dataset": "dataset version",
    "promotion": "promotion",
    "trace": "trace",
}

Page = Callable[..., Response]
"""``page(request, template, status_code=200, **context)`` from the console's router."""


def add_lineage_routes(
    router: APIRouter, settings: ConsoleSettings, backends: Backends, page: Page
) -> None:
    @router.get("/lineage", response_class=HTMLResponse)
    async def lineage_form(request: Request, prediction_id: str | None = None) -> Response:
        # The form GETs here with ?prediction_id=…: sent on to the id's own page.
        wanted = (prediction_id or "").strip()
        if wanted:
            return RedirectResponse(
                request.url_for("lineage", prediction_id=wanted).path, status_code=303
            )
        return page(request, "lineage_form.html")

    @router.get("/lineage/{prediction_id}", response_class=HTMLResponse, name="lineage")
    async def lineage(request: Request, prediction_id: str) -> Response:
        found = await backends.lineage(prediction_id, settings.zipkin_url)
        status = 404 if found.prediction is None and not _unreachable(found) else 200
        return page(request, "lineage.html", status_code=status, found=found, labels=LABELS)


def _unreachable(found: PredictionLineage) -> bool:
    return any(g.unreachable for g in found.unresolved)
