"""Typed reads of the services' REST APIs (the registry through the shared client).

Each answer is parsed into a small model of only what the pages show (unknown fields are
ignored), so a newer service still renders. A service that is down makes its section say so;
the rest of the page still renders.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from millrace_contracts import ArtifactRef, FeatureDrift, Reason
from millrace_shared.lineage import LineageSources, PredictionLineage, resolve_lineage
from millrace_shared.registry.client import RegistryClient
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

T = TypeVar("T")


class BackendError(Exception):
    """A service did not answer, or not as expected: the page shows this message."""


class View(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- ingestion ---------------------------------------------------------------------------


class DatasetVersion(View):
    version: str
    """The content hash (sha256 of the canonical data)."""
    rows: int
    created_at: datetime
    spec_version: int
    source_uri: str
    data: ArtifactRef
    profile: ArtifactRef


class DatasetRejection(View):
    """An arrival ingestion turned away (``GET /datasets/{name}/rejections``)."""

    arrival_id: str
    source_uri: str
    submitted_by: str | None = None
    arrived_at: datetime
    rejected_at: datetime
    reasons: list[Reason]


class Dataset(View):
    dataset: str
    declaration_version: int
    event_id: str
    declared_at: datetime
    spec: dict[str, Any] | None
    spec_source: str | None


# --- training ----------------------------------------------------------------------------


class TrainingRun(View):
    run_id: str
    model_name: str
    dataset: str
    dataset_version: str
    estimator: str
    correlation_id: str | None = None
    time: datetime | None = None
    metrics: dict[str, Any] = {}


class FailedRun(View):
    model_name: str
    run_id: str
    dataset: str
    dataset_version: str
    trigger: str
    reason: Reason
    failed_at: datetime


# --- deployment --------------------------------------------------------------------------


class ServedModel(View):
    name: str
    version: int
    loaded_at: datetime
    sha256: str
    load_seconds: float


class ServingStats(View):
    replica_id: str
    models: int
    served: int
    logged: int
    dropped: int
    buffer_depth: int
    buffer_capacity: int
    failed_publishes: int


# --- monitoring --------------------------------------------------------------------------


class MonitoredVersion(View):
    model_name: str
    version: int
    dataset: str
    task: str
    promoted_as: list[str]
    monitored: bool
    reference_status: str
    features_checked: list[str]
    window_size: int
    window_fill: int
    predictions_seen: int
    windows_checked: int
    windows_drifted: int
    labelled: int


class MonitoredModels(View):
    versions: list[MonitoredVersion]


class DriftPoint(View):
    window_index: int
    last_at: datetime
    drifted: bool
    drifted_features: list[str]
    features: list[FeatureDrift]


class PerformancePoint(View):
    at: datetime
    labelled: int
    value: float
    degraded: bool


class Distribution(View):
    feature: str
    kind: str
    bins: list[str]
    """Bin labels (numeric: ``[lo, hi)``) or categories."""
    reference: list[float]
    """Share of the reference profile in each bin."""
    current: list[float]
    """Share of the latest checked window in each bin."""


class VersionHistory(View):
    version: int
    metric: str
    floor: float | None
    drift: list[DriftPoint]
    performance: list[PerformancePoint]
    distributions: list[Distribution]


class ModelHistory(View):
    model_name: str
    versions: list[VersionHistory]


class JsonApi:
    """GETs of one service, parsed; None for a 404."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name, self.base_url = name, base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def get(self, path: str, answer: TypeAdapter[T]) -> T | None:
        try:
            response = await self._http.get(path)
        except httpx.HTTPError as error:
            raise BackendError(f"{self.name} ({self.base_url}) did not answer: {error!r}") from None
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        if response.is_error:
            raise BackendError(f"{self.name}: GET {path} answered {response.status_code}")
        try:
            return answer.validate_json(response.content)
        except ValidationError as error:
            raise BackendError(f"{self.name}: GET {path}: unexpected answer: {error}") from None

    async def close(self) -> None:
        await self._http.aclose()


_DATASETS = TypeAdapter(list[str])
_DATASET = TypeAdapter(Dataset)
_DATASET_VERSIONS = TypeAdapter(list[DatasetVersion])
_REJECTIONS = TypeAdapter(list[DatasetRejection])
_RUNS = TypeAdapter(list[TrainingRun])
_FAILED = TypeAdapter(list[FailedRun])
_SERVED = TypeAdapter(list[ServedModel])
_STATS = TypeAdapter(ServingStats)
_MONITORED = TypeAdapter(MonitoredModels)
_HISTORY = TypeAdapter(ModelHistory)


def _seg(name: str) -> str:
    return quote(name, safe="")


class Backends:
    """Every service the console reads; ``registry_for`` is the registry as one person."""

    def __init__(
        self,
        *,
        registry_url: str,
        ingestion_url: str,
        training_url: str,
        monitoring_url: str,
        deployment_urls: list[str],
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``transport``: every request's (tests route them to in-process apps)."""
        self.registry_url, self.timeout, self._transport = registry_url, timeout, transport
        self.registry = RegistryClient(
            registry_url, timeout=timeout, attempts=1, transport=transport
        )
        self.ingestion = JsonApi("ingestion", ingestion_url, timeout=timeout, transport=transport)
        self.training = JsonApi("training", training_url, timeout=timeout, transport=transport)
        self.monitoring = JsonApi(
            "monitoring", monitoring_url, timeout=timeout, transport=transport
        )
        self.deployments = [
            JsonApi(f"deployment {i + 1}", url, timeout=timeout, transport=transport)
            for i, url in enumerate(deployment_urls)
        ]

    async def lineage(self, prediction_id: str, zipkin_url: str | None) -> PredictionLineage:
        """One prediction's lineage from the services' REST APIs (gaps listed, never raised)."""
        sources = LineageSources(
            monitoring_url=self.monitoring.base_url,
            registry_url=self.registry_url,
            training_url=self.training.base_url,
            ingestion_url=self.ingestion.base_url,
            zipkin_url=zipkin_url,
            timeout=self.timeout,
        )
        async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport) as http:
            return await resolve_lineage(prediction_id, sources, http=http, registry=self.registry)

    def registry_for(self, token: str) -> RegistryClient:
        """A client that acts with the logged-in person's own token (the audit names them)."""
        return RegistryClient(
            self.registry_url, timeout=self.timeout, token=token, transport=self._transport
        )

    async def datasets(self) -> list[str]:
        return await self.ingestion.get("/datasets", _DATASETS) or []

    async def dataset(self, name: str) -> Dataset | None:
        return await self.ingestion.get(f"/datasets/{_seg(name)}", _DATASET)

    async def dataset_versions(self, name: str) -> list[DatasetVersion]:
        return await self.ingestion.get(f"/datasets/{_seg(name)}/versions", _DATASET_VERSIONS) or []

    async def dataset_rejections(self, name: str) -> list[DatasetRejection]:
        """The dataset's recent rejected arrivals, newest first."""
        return await self.ingestion.get(f"/datasets/{_seg(name)}/rejections", _REJECTIONS) or []

    async def runs(self, model: str) -> list[TrainingRun]:
        return await self.training.get(f"/runs/{_seg(model)}", _RUNS) or []

    async def failed_runs(self, model: str) -> list[FailedRun]:
        return await self.training.get(f"/runs/{_seg(model)}/failed", _FAILED) or []

    async def monitored(self) -> MonitoredModels:
        return await self.monitoring.get("/models", _MONITORED) or MonitoredModels(versions=[])

    async def history(self, model: str) -> ModelHistory | None:
        return await self.monitoring.get(f"/models/{_seg(model)}/history", _HISTORY)

    async def replica(self, api: JsonApi) -> tuple[ServingStats | None, list[ServedModel]]:
        async def stats() -> ServingStats | None:
            return await api.get("/stats", _STATS)

        async def served() -> list[ServedModel]:
            return await api.get("/models", _SERVED) or []

        return await asyncio.gather(stats(), served())

    async def close(self) -> None:
        await self.registry.__aexit__()
        for api in (self.ingestion, self.training, self.monitoring, *self.deployments):
            await api.close()
