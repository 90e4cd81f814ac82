"""The console's pages. Each route gathers what it shows from the services concurrently and
renders one Jinja2 template; a service that is down shows as an error in its section.

Sections live in ``NAV``; the lineage pages' routes are in their own module (``lineage``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from millrace_shared.registry.client import RegistryError, RegistryRefused
from millrace_shared.registry.models import ModelDetail, VersionDetail

from . import charts
from .backends import BackendError, Backends, ModelHistory, ServingStats, VersionHistory
from .deadletters import DLQ_TOPICS, DeadLetters
from .lineage import add_lineage_routes
from .sessions import Sessions, csrf_ok, csrf_token
from .settings import ConsoleSettings
from .traces import find_trace, search_page, trace_page

T = TypeVar("T")
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")

NAV: list[tuple[str, str]] = [
    ("models", "/models"),
    ("datasets", "/datasets"),
    ("serving", "/serving"),
    ("monitoring", "/monitoring"),
    ("dead letters", "/dead-letters"),
    ("lineage", "/lineage"),
]


@dataclass
class Outcome(Generic[T]):
    """A backend's answer, or why there is none."""

    value: T | None = None
    error: str | None = None


async def _try(call: Awaitable[T]) -> Outcome[T]:
    try:
        return Outcome(value=await call)
    except (BackendError, RegistryError) as error:
        return Outcome(error=str(error))


KAFKA_WAIT_SECONDS = 15.0


async def _kafka(call: Awaitable[T]) -> Outcome[T]:
    """A Kafka read or write: any failure of the broker (or the wait) is shown, not raised."""
    try:
        return Outcome(value=await asyncio.wait_for(call, KAFKA_WAIT_SECONDS))
    except TimeoutError:
        return Outcome(error=f"Kafka did not answer in {KAFKA_WAIT_SECONDS:.0f}s")
    except Exception as error:  # aiokafka's errors share no base worth naming here
        return Outcome(error=f"Kafka: {error!r}")


@dataclass
class RateMeter:
    """Request rate per replica from two readings of its ``served`` counter."""

    last: dict[str, tuple[float, int]] = field(default_factory=dict)

    def rate(self, stats: ServingStats) -> float | None:
        now = time.monotonic()
        before = self.last.get(stats.replica_id)
        self.last[stats.replica_id] = (now, stats.served)
        if before is None or now - before[0] <= 0 or stats.served < before[1]:
            return None
        return (stats.served - before[1]) / (now - before[0])


def console_router(
    settings: ConsoleSettings,
    backends: Backends,
    sessions: Sessions,
    dead_letters: DeadLetters | None = None,
) -> APIRouter:
    router = APIRouter()
    letters = dead_letters if dead_letters is not None else DeadLetters(settings)
    meter = RateMeter()

    def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        session = sessions.current(request)
        return TEMPLATES.TemplateResponse(
            request,
            template,
            {
                "nav": NAV,
                "actor": session.actor if session else None,
                "csrf": csrf_token(request),
                "tracing": settings.zipkin_url is not None,
                **context,
            },
            status_code=status_code,
        )

    add_lineage_routes(router, settings, backends, page)

    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        models, datasets, monitored = await asyncio.gather(
            _try(backends.registry.models()),
            _try(backends.datasets()),
            _try(backends.monitored()),
        )
        return page(
            request,
            "home.html",
            models=models,
            datasets=datasets,
            monitored=monitored,
            replicas=len(backends.deployments),
        )

    # --- models --------------------------------------------------------------------------

    @router.get("/models", response_class=HTMLResponse)
    async def models(request: Request) -> Response:
        found = await _try(backends.registry.models())
        return page(request, "models.html", models=found)

    @router.get("/models/{name}", response_class=HTMLResponse)
    async def model(request: Request, name: str) -> Response:
        detail, audit, failed = await asyncio.gather(
            _try(backends.registry.model(name)),
            _try(backends.registry.audit(name)),
            _try(backends.failed_runs(name)),
        )
        if detail.value is None and detail.error is None:
            return page(request, "missing.html", 404, what=f"model {name!r}")
        duel = (
            await _try(_champion_and_challenger(backends, detail.value)) if detail.value else None
        )
        chart = None
        if detail.value is not None and detail.value.versions:
            metric = _primary_metric(detail.value)
            points = [
                (v.version, v.metrics[metric]) for v in detail.value.versions if metric in v.metrics
            ]
            if points:
                chart = await asyncio.to_thread(
                    charts.render, charts.metric_by_version(name, metric, points)
                )
        return page(
            request,
            "model.html",
            name=name,
            detail=detail,
            audit=audit,
            failed=failed,
            duel=duel,
            chart=chart,
        )

    @router.get("/models/{name}/versions/{version}", response_class=HTMLResponse)
    async def version(request: Request, name: str, version: int) -> Response:
        found = await _try(backends.registry.version(name, version))
        if found.value is None and found.error is None:
            return page(request, "missing.html", 404, what=f"version {version} of {name!r}")
        return page(request, "version.html", name=name, version=version, found=found)

    # --- actions (logged in) -------------------------------------------------------------

    @router.get("/models/{name}/{action}", response_class=HTMLResponse)
    async def confirm(
        request: Request, name: str, action: str, version: int | None = None
    ) -> Response:
        if action not in ("promote", "rollback"):
            return page(request, "missing.html", 404, what=f"page {action!r}")
        if sessions.current(request) is None:
            return RedirectResponse(f"/login?next=/models/{name}", status_code=303)
        detail = await _try(backends.registry.model(name))
        return page(
            request, "confirm.html", name=name, action=action, version=version, detail=detail
        )

    @router.post("/models/{name}/{action}", response_class=HTMLResponse)
    async def act(
        request: Request,
        name: str,
        action: str,
        reason: str = Form(...),
        csrf: str = Form(...),
        version: int | None = Form(None),
        alias: str = Form("production"),
    ) -> Response:
        session = sessions.current(request)
        if session is None:
            return page(request, "message.html", 401, title="Not logged in", text="Log in first.")
        if not csrf_ok(request, csrf):
            return page(request, "message.html", 403, title="Refused", text="Stale form; reload.")
        if action not in ("promote", "rollback") or alias not in ("production", "staging"):
            return page(request, "missing.html", 404, what=f"action {action!r}")
        async with backends.registry_for(session.token) as registry:
            try:
                if action == "promote":
                    if version is None:
                        return page(
                            request, "message.html", 422, title="Refused", text="Which version?"
                        )
                    moved = await registry.promote(
                        name,
                        version,
                        reason=reason,
                        actor=None,
                        alias=alias,  # type: ignore[arg-type]
                    )
                else:
                    moved = await registry.rollback(name, reason=reason, to_version=version)
            except RegistryRefused as error:
                return page(
                    request,
                    "message.html",
                    error.response.status_code,
                    title="The registry refused",
                    text=error.response.text[:500],
                )
            except RegistryError as error:
                return page(
                    request, "message.html", 502, title="Registry unreachable", text=str(error)
                )
        return RedirectResponse(f"/models/{name}?moved={moved.model.version}", status_code=303)

    # --- datasets ------------------------------------------------------------------------

    @router.get("/datasets", response_class=HTMLResponse)
    async def datasets(request: Request) -> Response:
        return page(request, "datasets.html", datasets=await _try(backends.datasets()))

    @router.get("/datasets/{name}", response_class=HTMLResponse)
    async def dataset(request: Request, name: str) -> Response:
        found, versions, rejections = await asyncio.gather(
            _try(backends.dataset(name)),
            _try(backends.dataset_versions(name)),
            _try(backends.dataset_rejections(name)),
        )
        if found.value is None and found.error is None:
            return page(request, "missing.html", 404, what=f"dataset {name!r}")
        return page(
            request,
            "dataset.html",
            name=name,
            found=found,
            versions=versions,
            rejections=rejections,
        )

    # --- serving -------------------------------------------------------------------------

    @router.get("/serving", response_class=HTMLResponse)
    async def serving(request: Request) -> Response:
        answers = await asyncio.gather(*(_try(backends.replica(a)) for a in backends.deployments))
        replicas = []
        for api, answer in zip(backends.deployments, answers, strict=True):
            stats, served = answer.value if answer.value is not None else (None, [])
            replicas.append(
                {
                    "url": api.base_url,
                    "error": answer.error,
                    "stats": stats,
                    "served": served,
                    "rate": meter.rate(stats) if stats is not None else None,
                }
            )
        return page(request, "serving.html", replicas=replicas)

    # --- monitoring ----------------------------------------------------------------------

    @router.get("/monitoring", response_class=HTMLResponse)
    async def monitoring(request: Request) -> Response:
        return page(request, "monitoring.html", monitored=await _try(backends.monitored()))

    @router.get("/monitoring/{name}", response_class=HTMLResponse)
    async def monitored_model(request: Request, name: str, features: str = "") -> Response:
        history = await _try(backends.history(name))
        if history.value is None and history.error is None:
            return page(request, "missing.html", 404, what=f"monitored model {name!r}")
        limit = None if features == "all" else FEATURES_SHOWN
        rendered = await _history_charts(history.value, limit) if history.value else []
        return page(request, "monitored.html", name=name, history=history, rendered=rendered)

    # --- dead letters --------------------------------------------------------------------

    @router.get("/dead-letters", response_class=HTMLResponse)
    async def dead_letter_topics(request: Request) -> Response:
        return page(request, "dead_letters.html", counts=await _kafka(letters.counts()))

    @router.get("/dead-letters/{topic}", response_class=HTMLResponse)
    async def dead_letter_list(request: Request, topic: str) -> Response:
        if topic not in DLQ_TOPICS:
            return page(request, "missing.html", 404, what=f"dead-letter topic {topic!r}")
        found = await _kafka(letters.latest(topic))
        return page(request, "dead_letter_list.html", topic=topic, letters=found)

    @router.get("/dead-letters/{topic}/{partition}/{offset}/replay", response_class=HTMLResponse)
    async def replay_confirm(request: Request, topic: str, partition: int, offset: int) -> Response:
        if sessions.current(request) is None:
            return RedirectResponse(f"/login?next=/dead-letters/{topic}", status_code=303)
        found = await _kafka(letters.one(topic, partition, offset))
        if found.value is None and found.error is None:
            return page(request, "missing.html", 404, what=f"dead letter {partition}/{offset}")
        return page(request, "replay_confirm.html", topic=topic, letter=found)

    @router.post("/dead-letters/{topic}/{partition}/{offset}/replay", response_class=HTMLResponse)
    async def replay(
        request: Request, topic: str, partition: int, offset: int, csrf: str = Form(...)
    ) -> Response:
        session = sessions.current(request)
        if session is None:
            return page(request, "message.html", 401, title="Not logged in", text="Log in first.")
        if not csrf_ok(request, csrf):
            return page(request, "message.html", 403, title="Refused", text="Stale form; reload.")
        found = await _kafka(letters.one(topic, partition, offset))
        if found.value is None:
            text = found.error or f"no dead letter at {partition}/{offset}"
            return page(request, "message.html", 404, title="Not replayed", text=text)
        if not found.value.replayable:
            return page(
                request,
                "message.html",
                409,
                title="Not replayed",
                text=f"{found.value.original_topic} takes no replay (no service consumes it)",
            )
        sent = await _kafka(letters.replay(found.value, session.actor))
        if sent.value is None:
            return page(request, "message.html", 502, title="Not replayed", text=sent.error or "")
        to, to_partition, to_offset = sent.value
        return RedirectResponse(
            f"/dead-letters/{topic}?replayed={to}:{to_partition}:{to_offset}", status_code=303
        )

    # --- login ---------------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "/") -> Response:
        return page(request, "login.html", next=_local(next), error=None)

    @router.post("/login", response_class=HTMLResponse)
    async def login(
        request: Request, token: str = Form(...), csrf: str = Form(...), next: str = Form("/")
    ) -> Response:
        if not csrf_ok(request, csrf):
            return page(
                request, "login.html", 403, next=_local(next), error="Stale form; try again."
            )
        async with backends.registry_for(token.strip()) as registry:
            try:
                actor = await registry.whoami()
            except RegistryError as error:
                return page(request, "login.html", 502, next=_local(next), error=str(error))
        if actor is None:
            return page(
                request,
                "login.html",
                401,
                next=_local(next),
                error="The registry does not know this token.",
            )
        sessions.login(request, token.strip(), actor)
        return RedirectResponse(_local(next), status_code=303)

    @router.post("/logout")
    async def logout(request: Request, csrf: str = Form(...)) -> Response:
        if csrf_ok(request, csrf):
            sessions.logout(request)
        return RedirectResponse("/", status_code=303)

    # --- traces --------------------------------------------------------------------------

    @router.get("/trace/{correlation_id}", response_class=HTMLResponse)
    async def trace(request: Request, correlation_id: str) -> Response:
        if settings.zipkin_url is None:
            return page(
                request,
                "message.html",
                404,
                title="No trace UI",
                text="MILLRACE_CONSOLE_ZIPKIN_URL is unset.",
            )
        try:
            found = await find_trace(
                settings.zipkin_url, correlation_id, wait=settings.backend_timeout_seconds
            )
        except Exception as error:  # any failure of the trace backend: say it, on a page
            return page(
                request, "message.html", 502, title="Trace UI unreachable", text=repr(error)
            )
        if found is None:
            return RedirectResponse(
                search_page(settings.zipkin_url, correlation_id), status_code=303
            )
        return RedirectResponse(trace_page(settings.zipkin_url, found), status_code=303)

    return router


def _local(target: str) -> str:
    """Only paths of this site: a login's ``next`` never sends the person elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _primary_metric(detail: ModelDetail) -> str:
    latest = detail.versions[-1]
    for preferred in ("accuracy", "f1_macro", "mae", "rmse", "r2"):
        if preferred in latest.metrics:
            return preferred
    return next(iter(sorted(latest.metrics)), "accuracy")


async def _champion_and_challenger(backends: Backends, detail: ModelDetail) -> VersionDetail | None:
    """The latest version's record: its metrics and the champion's, as training scored both
    on the latest version's holdout."""
    if not detail.versions:
        return None
    return await backends.registry.version(detail.name, detail.latest_version)


FEATURES_SHOWN = 4
"""Features charted per version unless all are asked for (``?features=all``): a first render
costs ~50-100 ms per chart (cached after), so a wide model's page stays under a second."""


def _by_concern(v: VersionHistory) -> list[str]:
    """Features, the latest window's drifted ones first, then by its PSI."""
    latest = {f.feature: f for f in v.drift[-1].features} if v.drift else {}
    names = sorted({f.feature for p in v.drift for f in p.features})
    return sorted(
        names,
        key=lambda n: (
            not (latest[n].drifted if n in latest else False),
            -(latest[n].psi if n in latest else 0.0),
            n,
        ),
    )


async def _history_charts(
    history: ModelHistory, limit: int | None = FEATURES_SHOWN
) -> list[dict[str, Any]]:
    """Per version, its charts rendered concurrently in worker threads."""
    specs: list[charts.Spec] = []

    def slot(spec: charts.Spec) -> int:
        specs.append(spec)
        return len(specs) - 1

    out: list[dict[str, Any]] = []
    for v in history.versions:
        drift_at = [p.last_at.isoformat() for p in v.drift if p.drifted]
        ranked = _by_concern(v)
        features = ranked if limit is None else ranked[:limit]
        distributions = {d.feature: d for d in v.distributions}
        out.append(
            {
                "version": v.version,
                "metric": v.metric,
                "floor": v.floor,
                "drift_events": [p for p in v.drift if p.drifted],
                "windows": len(v.drift),
                "hidden": len(ranked) - len(features),
                "performance": slot(
                    charts.performance_over_time(v.metric, v.floor, v.performance, drift_at)
                )
                if v.performance
                else None,
                "features": [
                    {
                        "feature": feature,
                        "drift": slot(charts.drift_over_time(feature, v.drift)),
                        "distribution": slot(charts.distribution(distributions[feature]))
                        if feature in distributions
                        else None,
                    }
                    for feature in features
                ],
            }
        )
    svgs = await asyncio.gather(*(asyncio.to_thread(charts.render, spec) for spec in specs))
    for version in out:
        if version["performance"] is not None:
            version["performance"] = svgs[version["performance"]]
        for feature in version["features"]:
            feature["drift"] = svgs[feature["drift"]]
            if feature["distribution"] is not None:
                feature["distribution"] = svgs[feature["distribution"]]
    return out
