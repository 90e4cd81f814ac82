"""The composition root: builds without connecting anything; documents what it consumes."""

from __future__ import annotations

from millrace_contracts import DriftDetected, LabelsObserved, ModelPromoted, PredictionsLogged
from millrace_contracts.topics import TOPICS
from millrace_monitoring.bootstrap import DESCRIPTION, build_app
from millrace_monitoring.settings import MonitoringSettings
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime


def test_the_app_builds_without_touching_kafka_or_s3() -> None:
    app = build_app(
        MonitoringSettings(kafka_bootstrap="unreachable:1"), store=InMemoryObjectStore()
    )
    paths = set(app.openapi()["paths"])
    assert {"/models", "/models/{name}/drift", "/models/{name}/performance"} <= paths
    assert {"/health/live", "/health/ready", "/asyncapi.json"} <= paths


def test_asyncapi_documents_the_consumed_contracts_and_the_published_ones(
    runtime: ServiceRuntime, routers: object
) -> None:
    spec = runtime.asyncapi(DESCRIPTION)
    channels = set(spec["channels"])
    for event in (PredictionsLogged, LabelsObserved, ModelPromoted, DriftDetected):
        assert any(c.startswith(event.topic()) for c in channels), event
    schemas = set(spec["components"]["schemas"])
    assert {"PredictionsLogged", "LabelsObserved", "ModelPromoted", "DriftDetected"} <= schemas
    assert {PredictionsLogged.topic(), LabelsObserved.topic()} <= {t.name for t in TOPICS}
