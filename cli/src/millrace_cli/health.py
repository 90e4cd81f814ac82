"""What ``status`` reports: stack components, services, topics with lag, production models."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx
from millrace_contracts.topics import ALL_TOPICS
from millrace_infra import status as stack_status
from millrace_shared.kafka import TopicLag, topic_lags
from millrace_shared.registry.models import ModelSummary

from .catalog import BY_NAME, NAMES
from .endpoints import Endpoints
from .errors import CliError, ExitCode
from .kafka import UNREACHABLE_ERRORS
from .net import tcp_answers
from .rest import registry_client
from .services_runtime import ServicesFile

ServiceState = Literal["ready", "live", "exited", "down", "not started", "not installed"]


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    healthy: bool
    endpoint: str
    pid: int | None = None
    log: str | None = None


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    url: str
    state: ServiceState
    pid: int | None = None
    log: str | None = None

    @property
    def expected(self) -> bool:
        """Started by ``up`` or named by MILLRACE_<NAME>_URL: then it ought to answer."""
        return self.state in {"ready", "live", "exited", "down"}

    @property
    def healthy(self) -> bool:
        return self.state in {"ready", "live"}


class ProductionModel(ModelSummary):
    metrics: dict[str, float]
    """Of the production version on its holdout; empty without one."""


@dataclass
class StatusReport:
    endpoints: Endpoints
    stack: list[ComponentHealth]
    services: list[ServiceHealth]
    topics: list[TopicLag] | None = None
    topics_error: str | None = None
    models: list[ProductionModel] | None = None
    models_error: str | None = None

    def exit_code(self) -> ExitCode:
        core = [c for c in self.stack if c.name in {"kafka", "s3"}]
        if not core or not all(c.healthy for c in core):
            return ExitCode.UNREACHABLE
        healthy = all(c.healthy for c in self.stack) and all(
            s.healthy for s in self.services if s.expected
        )
        return ExitCode.OK if healthy else ExitCode.FAILURE

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.exit_code() == ExitCode.OK,
            "endpoints": self.endpoints.as_dict(),
            "stack": {c.name: asdict(c) for c in self.stack},
            "services": {s.name: asdict(s) for s in self.services},
            "topics": None if self.topics is None else [t.as_dict() for t in self.topics],
            "topics_error": self.topics_error,
            "models": None if self.models is None else [m.model_dump() for m in self.models],
            "models_error": self.models_error,
        }


async def _http_ok(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def stack_health(endpoints: Endpoints) -> list[ComponentHealth]:
    s = endpoints.settings
    if "env" not in {endpoints.origins["kafka"], endpoints.origins["s3"]}:
        local = await asyncio.to_thread(stack_status, endpoints.stack)
        found = [
            ComponentHealth(c.name, c.healthy, c.endpoint, c.pid, c.log) for c in local.values()
        ]
    else:
        kafka_ok, s3_ok = await asyncio.gather(
            asyncio.to_thread(tcp_answers, s.kafka_bootstrap),
            asyncio.to_thread(tcp_answers, s.s3_endpoint),
        )
        found = [
            ComponentHealth("kafka", kafka_ok, s.kafka_bootstrap),
            ComponentHealth("s3", s3_ok, s.s3_endpoint),
        ]
    if endpoints.zipkin_url and not any(c.name == "zipkin" for c in found):
        async with httpx.AsyncClient(timeout=2.0) as client:
            ok = await _http_ok(client, endpoints.zipkin_url + "/health")
        found.append(ComponentHealth("zipkin", ok, endpoints.zipkin_url))
    if endpoints.jaeger_url and not any(c.name == "jaeger" for c in found):
        async with httpx.AsyncClient(timeout=2.0) as client:
            ok = await _http_ok(client, endpoints.jaeger_url + "/api/services")
        found.append(ComponentHealth("jaeger", ok, endpoints.jaeger_url))
    return found


async def services_health(endpoints: Endpoints) -> list[ServiceHealth]:
    records = ServicesFile(endpoints.home).read()

    async def one(client: httpx.AsyncClient, name: str) -> ServiceHealth:
        url = endpoints.url(name)
        record = records.get(name)
        pid, log = (record.pid, record.log) if record else (None, None)
        if await _http_ok(client, url + "/health/ready"):
            return ServiceHealth(name, url, "ready", pid, log)
        if await _http_ok(client, url + "/health/live"):
            return ServiceHealth(name, url, "live", pid, log)
        if record is not None:
            state: ServiceState = "down" if record.running() else "exited"
            return ServiceHealth(name, url, state, pid, log)
        if endpoints.origins[name] == "env":
            return ServiceHealth(name, url, "down")
        if not BY_NAME[name].installed():
            return ServiceHealth(name, url, "not installed")
        return ServiceHealth(name, url, "not started")

    async with httpx.AsyncClient(timeout=2.0) as client:
        return list(await asyncio.gather(*(one(client, n) for n in NAMES)))


async def production_models(endpoints: Endpoints) -> list[ProductionModel]:
    async with registry_client(endpoints, request_timeout=5.0) as registry:
        listing = await registry.models_with_production()
    return [
        ProductionModel(**summary.model_dump(), metrics=info.metrics.values if info else {})
        for summary, info in listing
    ]


async def gather_status(endpoints: Endpoints) -> StatusReport:
    stack, services = await asyncio.gather(stack_health(endpoints), services_health(endpoints))
    report = StatusReport(endpoints, stack, services)
    topics = [n for t in ALL_TOPICS for n in (t.name, t.dlq)]
    kafka = next((c for c in stack if c.name == "kafka"), None)
    if kafka is None or not kafka.healthy:
        report.topics_error = endpoints.unreachable("kafka").message
    else:
        try:
            report.topics = await topic_lags(endpoints.settings, topics)
        except UNREACHABLE_ERRORS:
            report.topics_error = endpoints.unreachable("kafka").message
    registry = next(s for s in services if s.name == "registry")
    if registry.healthy:
        try:
            report.models = await production_models(endpoints)
        except CliError as error:
            report.models_error = error.message
    else:
        report.models_error = endpoints.unreachable("registry").message
    return report
