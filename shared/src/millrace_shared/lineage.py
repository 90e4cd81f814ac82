"""The lineage of one prediction, link by link, from the services' own REST APIs.

prediction (monitoring's archive) → model version (registry) → training run (training) →
dataset version (ingestion) → promotion (the registry's audit) → trace (Zipkin).

``resolve_lineage`` follows the links as far as they go and says which could not be
resolved and why, so a reader (the CLI, the console) can show what it has and name the gap.
It needs no S3 or Kafka rights: every link is an HTTP read.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from millrace_contracts import Reason
from millrace_contracts.common import ScalarValue
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from .registry import models as m
from .registry.client import RegistryClient, RegistryError, RegistryTimeout, RegistryUnreachable

LinkName = Literal["prediction", "model_version", "training_run", "dataset", "promotion", "trace"]
LINKS: tuple[LinkName, ...] = (
    "prediction",
    "model_version",
    "training_run",
    "dataset",
    "promotion",
    "trace",
)
CORRELATION_TAG = "millrace.correlation_id"
PROMOTING_KINDS = frozenset({"promoted", "manual_promote", "rollback"})
TRACE_LOOKBACK_MS = 400 * 24 * 3600 * 1000
"""How far back Zipkin is searched for a flow (its default is one day)."""


class Link(BaseModel):
    model_config = ConfigDict(extra="ignore")


L = TypeVar("L", bound=Link)
T = TypeVar("T")


class PredictionLink(Link):
    prediction_id: str
    model_name: str
    model_version: int
    replica_id: str
    features: dict[str, ScalarValue]
    output: ScalarValue
    timestamp: AwareDatetime
    event_id: uuid.UUID
    """The predictions.logged event that carried it."""
    correlation_id: uuid.UUID
    trace_id: str | None = None
    """Trace of the log's publication, when its record carried one."""


class ArtifactLink(Link):
    uri: str
    sha256: str


class ModelVersionLink(Link):
    model_name: str
    version: int
    run_id: str
    registered_at: AwareDatetime
    metrics: dict[str, float]
    holdout_id: str
    artifact: ArtifactLink
    decision: Literal["promoted", "rejected"]
    decision_reasons: list[Reason]
    aliases: list[str]
    correlation_id: uuid.UUID
    """The flow that trained it (its data arrival, or the retraining request)."""


class TrainingRunLink(Link):
    run_id: str
    trigger: str
    estimator: str
    params: dict[str, Any]
    training_spec: dict[str, Any] | None
    automl: dict[str, Any] | None = Field(
        description="The AutoML search (planned, tried, what stopped it); null for a fixed spec."
    )
    leaderboard: list[dict[str, Any]]
    """The AutoML trials and their scores."""
    holdout: dict[str, Any] | None
    code_version: dict[str, Any] | None
    """The training package's version and git commit; null for runs from before it was kept."""
    libraries: dict[str, str]
    training_seconds: float
    trained_at: AwareDatetime


class DatasetLink(Link):
    dataset: str
    version: str
    """The content version: sha256 of the canonical Parquet."""
    rows: int
    source_uri: str
    submitted_by: str | None
    created_at: AwareDatetime
    created_by: uuid.UUID | None
    """The data arrival that made it."""
    data: ArtifactLink
    validation: dict[str, Any] | None
    """The validation report; null for versions stored before reports were kept."""


class PromotionLink(Link):
    alias: str
    version: int
    from_version: int | None
    kind: str
    """``promoted`` (the policy), ``manual_promote`` or ``rollback`` (an operator)."""
    actor: str
    reasons: list[Reason]
    at: AwareDatetime
    event_id: uuid.UUID | None


class TraceLink(Link):
    correlation_id: uuid.UUID
    trace_ids: list[str]
    url: str | None
    """The Zipkin UI page of the flow's (first) trace."""


class Unresolved(Link):
    link: LinkName
    reason: str
    unreachable: bool = False
    """The service that holds it did not answer (rather than: it holds no such thing)."""


class PredictionLineage(Link):
    """Everything known about how one prediction came to be; ``unresolved`` lists the gaps."""

    prediction_id: str
    prediction: PredictionLink | None = None
    model_version: ModelVersionLink | None = None
    training_run: TrainingRunLink | None = None
    dataset: DatasetLink | None = None
    promotion: PromotionLink | None = None
    trace: TraceLink | None = None
    unresolved: list[Unresolved] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unresolved


@dataclass(frozen=True)
class LineageSources:
    """Base URLs of the services asked (Zipkin's may be unknown: the trace then stays open)."""

    monitoring_url: str
    registry_url: str
    training_url: str
    ingestion_url: str
    zipkin_url: str | None = None
    timeout: float = 10.0


class _Gap(Exception):
    def __init__(self, link: LinkName, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.link, self.reason, self.unreachable = link, reason, unreachable


async def resolve_lineage(
    prediction_id: str,
    sources: LineageSources,
    *,
    http: httpx.AsyncClient | None = None,
    registry: RegistryClient | None = None,
) -> PredictionLineage:
    """Follow every link from ``prediction_id``; never raises for a missing or unreachable link
    (it is listed in ``unresolved``), only for a bug."""
    own_http = http is None
    client = http or httpx.AsyncClient(timeout=sources.timeout)
    own_registry = registry is None
    reg = registry or RegistryClient(sources.registry_url, timeout=sources.timeout)
    lineage = PredictionLineage(prediction_id=prediction_id)
    try:
        await _resolve(lineage, sources, client, reg)
    finally:
        if own_http:
            await client.aclose()
        if own_registry:
            await reg.__aexit__(None, None, None)
    return lineage


async def _resolve(
    lineage: PredictionLineage,
    sources: LineageSources,
    http: httpx.AsyncClient,
    registry: RegistryClient,
) -> None:
    def gap(link: LinkName, reason: str, unreachable: bool = False) -> None:
        lineage.unresolved.append(Unresolved(link=link, reason=reason, unreachable=unreachable))

    def skip(links: tuple[LinkName, ...], because: LinkName) -> None:
        for link in links:
            gap(link, f"not followed: the {because.replace('_', ' ')} is unresolved")

    try:
        lineage.prediction = await _prediction(http, sources.monitoring_url, lineage.prediction_id)
    except _Gap as missing:
        gap(missing.link, missing.reason, missing.unreachable)
        skip(LINKS[1:], "prediction")
        return
    prediction = lineage.prediction
    try:
        detail = await _registry_call(
            "model_version",
            registry.version(prediction.model_name, prediction.model_version),
            f"model {prediction.model_name!r} has no version {prediction.model_version} "
            "in the registry",
        )
        lineage.model_version = _model_version(detail)
    except _Gap as missing:
        gap(missing.link, missing.reason, missing.unreachable)
        skip(LINKS[2:], "model_version")
        return
    version = lineage.model_version
    steps: list[tuple[LinkName, Callable[[], Awaitable[Link]]]] = [
        ("training_run", lambda: _training_run(http, sources.training_url, version)),
        ("dataset", lambda: _dataset(http, sources.ingestion_url, detail.lineage)),
        ("promotion", lambda: _promotion(registry, prediction, version)),
        ("trace", lambda: _trace(http, sources.zipkin_url, version)),
    ]
    for link, step in steps:
        try:
            setattr(lineage, link, await step())
        except _Gap as missing:
            gap(missing.link, missing.reason, missing.unreachable)


async def _get_json(http: httpx.AsyncClient, link: LinkName, url: str, what: str) -> Any:
    """The JSON at ``url``; a gap naming ``what`` for a 404, and the failure otherwise."""
    try:
        response = await http.get(url)
    except httpx.HTTPError as error:
        raise _Gap(link, f"{url} is not reachable: {error!r}", unreachable=True) from error
    if response.status_code == 404:
        raise _Gap(link, what)
    if response.is_error:
        raise _Gap(link, f"{url} answered {response.status_code}: {response.text[:200]}")
    try:
        return response.json()
    except ValueError as error:
        raise _Gap(link, f"{url} answered no JSON") from error


def _parse(kind: type[L], link: LinkName, data: Any) -> L:
    try:
        return kind.model_validate(data)
    except ValidationError as error:
        raise _Gap(link, f"unexpected answer: {error}") from error


async def _prediction(http: httpx.AsyncClient, base: str, prediction_id: str) -> PredictionLink:
    url = f"{base.rstrip('/')}/predictions/{quote(prediction_id, safe='')}"
    data = await _get_json(
        http,
        "prediction",
        url,
        f"prediction {prediction_id!r} is not in monitoring's archive (unknown id, past "
        "retention, or logged in the last seconds and not yet archived)",
    )
    return _parse(PredictionLink, "prediction", data)


async def _registry_call(link: LinkName, call: Awaitable[T | None], what: str) -> T:
    try:
        found = await call
    except (RegistryUnreachable, RegistryTimeout) as error:
        raise _Gap(link, f"the registry is not reachable: {error}", unreachable=True) from error
    except RegistryError as error:
        raise _Gap(link, f"the registry: {error}") from error
    if found is None:
        raise _Gap(link, what)
    return found


def _model_version(detail: m.VersionDetail) -> ModelVersionLink:
    info = detail.info
    return ModelVersionLink(
        model_name=info.model_name,
        version=info.version,
        run_id=info.run_id,
        registered_at=detail.registered_at,
        metrics=info.metrics.values,
        holdout_id=info.metrics.holdout_id,
        artifact=ArtifactLink(uri=info.artifact.uri, sha256=info.artifact.sha256),
        decision="promoted" if detail.decision.promote else "rejected",
        decision_reasons=detail.decision.reasons,
        aliases=detail.aliases,
        correlation_id=detail.lineage.correlation_id,
    )


async def _training_run(
    http: httpx.AsyncClient, base: str, version: ModelVersionLink
) -> TrainingRunLink:
    url = (
        f"{base.rstrip('/')}/runs/{quote(version.model_name, safe='')}"
        f"/run/{quote(version.run_id, safe='')}"
    )
    data = await _get_json(
        http, "training_run", url, f"training has no finished run {version.run_id!r}"
    )
    if not isinstance(data, dict) or not isinstance(data.get("trained"), dict):
        raise _Gap("training_run", f"{url} answered no run")
    trained: dict[str, Any] = data["trained"]
    card: dict[str, Any] = data.get("card") or {}
    return _parse(
        TrainingRunLink,
        "training_run",
        {
            "run_id": trained.get("run_id"),
            "trigger": trained.get("trigger"),
            "estimator": trained.get("estimator"),
            "params": trained.get("params", {}),
            "training_spec": card.get("training_spec"),
            "automl": card.get("automl"),
            "leaderboard": trained.get("leaderboard", []),
            "holdout": card.get("holdout"),
            "code_version": card.get("code_version"),
            "libraries": card.get("libraries", {}),
            "training_seconds": trained.get("training_seconds"),
            "trained_at": trained.get("occurred_at"),
        },
    )


async def _dataset(http: httpx.AsyncClient, base: str, lineage: m.Lineage) -> DatasetLink:
    url = (
        f"{base.rstrip('/')}/datasets/{quote(lineage.dataset, safe='')}"
        f"/versions/{quote(lineage.dataset_version, safe='')}"
    )
    data = await _get_json(
        http,
        "dataset",
        url,
        f"ingestion has no version {lineage.dataset_version[:12]}… of {lineage.dataset!r}",
    )
    if isinstance(data, dict):
        data = {**data, "dataset": lineage.dataset}
    return _parse(DatasetLink, "dataset", data)


async def _promotion(
    registry: RegistryClient, prediction: PredictionLink, version: ModelVersionLink
) -> PromotionLink:
    """The alias move that put the serving version in production: the last one before the
    prediction (the first after it if clocks disagree)."""
    entries: list[m.AuditEntry] = await _registry_call(
        "promotion",
        registry.audit(version.model_name),
        f"the registry has no audit trail of {version.model_name!r}",
    )
    moves = [
        e
        for e in entries
        if e.kind in PROMOTING_KINDS
        and e.alias_move is not None
        and e.alias_move.to_version == version.version
        and e.alias_move.alias == "production"
    ]
    if not moves:
        raise _Gap(
            "promotion",
            f"the registry's audit shows no move of production to version {version.version}",
        )
    before = [e for e in moves if e.at <= prediction.timestamp]
    entry = max(before, key=lambda e: e.seq) if before else min(moves, key=lambda e: e.seq)
    assert entry.alias_move is not None
    return PromotionLink(
        alias=entry.alias_move.alias,
        version=entry.alias_move.to_version,
        from_version=entry.alias_move.from_version,
        kind=entry.kind,
        actor=entry.actor,
        reasons=entry.reasons,
        at=entry.at,
        event_id=entry.event_id,
    )


async def _trace(
    http: httpx.AsyncClient, zipkin_url: str | None, version: ModelVersionLink
) -> TraceLink:
    """The traces of the flow that trained the version, found by its correlation id."""
    correlation_id = version.correlation_id
    if not zipkin_url:
        raise _Gap(
            "trace",
            f"no trace backend known (set MILLRACE_ZIPKIN_URL); the flow's correlation id is "
            f"{correlation_id}",
        )
    base = zipkin_url.rstrip("/")
    end = max(datetime.now(UTC), version.registered_at)
    url = httpx.URL(
        f"{base}/api/v2/traces",
        params={
            "annotationQuery": f"{CORRELATION_TAG}={correlation_id}",
            "endTs": int(end.timestamp() * 1000) + 60_000,
            "lookback": TRACE_LOOKBACK_MS,
            "limit": 10,
        },
    )
    data = await _get_json(http, "trace", str(url), "Zipkin has no trace API")
    # A flow is one trace; a later act on its events (a replica loading the version at its
    # start) may carry the correlation id in a trace of its own: the earliest comes first.
    started: dict[str, int] = {}
    for spans in data if isinstance(data, list) else []:
        for span in spans if isinstance(spans, list) else []:
            trace_id = span.get("traceId") if isinstance(span, dict) else None
            if isinstance(trace_id, str):
                at = span.get("timestamp")
                key = trace_id.rjust(32, "0")
                at_us = at if isinstance(at, int) else 2**62
                started[key] = min(started.get(key, at_us), at_us)
    trace_ids = sorted(started, key=lambda t: (started[t], t))
    if not trace_ids:
        raise _Gap(
            "trace",
            f"Zipkin at {base} holds no span of the flow {correlation_id} (not exported yet, "
            "or past Zipkin's retention)",
        )
    return TraceLink(
        correlation_id=correlation_id,
        trace_ids=trace_ids,
        url=f"{base}/zipkin/traces/{trace_ids[0]}",
    )
