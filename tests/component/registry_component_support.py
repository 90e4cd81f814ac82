"""The registry over in-memory fakes, and sample ModelTrained events: for the registry's
component tests and the console's, which runs the real registry app behind it (importable,
unlike a conftest; tests/component is on the path through its conftest)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from faststream.kafka import KafkaBroker, TestKafkaBroker
from millrace_contracts import (
    ArtifactRef,
    Event,
    FeatureSignature,
    Metrics,
    ModelTrained,
    PromotionPolicy,
    first_of_flow,
)
from millrace_registry.bootstrap import build_app
from millrace_registry.settings import RegistrySettings
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.registry.tokens import hash_token
from millrace_shared.service import ServiceRuntime

TOKEN = "alice-" + "a" * 40
"""Alice's token: the registry knows only its hash."""
BOB_TOKEN = "bob-" + "b" * 40
POLICY = PromotionPolicy(primary_metric="accuracy", floor=0.8, min_improvement=0.01)
HOLDOUT = "9f86d081884c:seed=42:frac=0.2"
DATASET_VERSION = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _ref(key: str) -> ArtifactRef:
    return ArtifactRef(uri=f"s3://millrace-models/{key}", sha256="b" * 64, size_bytes=100)


def model_trained(
    run_id: str,
    accuracy: float,
    *,
    champion_version: int | None = None,
    champion_accuracy: float | None = None,
    model: str = "iris",
) -> ModelTrained:
    return ModelTrained(
        **first_of_flow(
            producer="training",
            event_id=uuid.uuid5(uuid.NAMESPACE_OID, f"trained/{model}/{run_id}"),
        ),
        model_name=model,
        run_id=run_id,
        dataset="iris",
        dataset_version=DATASET_VERSION,
        task="classification",
        estimator="random_forest",
        params={"n_estimators": 100},
        artifact=_ref(f"{model}/{run_id}/model.skops"),
        model_card=_ref(f"{model}/{run_id}/card.json"),
        reference_profile=_ref(f"{model}/{run_id}/profile.json"),
        signature=[FeatureSignature(name="sepal_length", kind="numeric", dtype="float")],
        target="species",
        metrics=Metrics(values={"accuracy": accuracy}, holdout_id=HOLDOUT, holdout_rows=30),
        champion_version=champion_version,
        champion_metrics=Metrics(
            values={"accuracy": champion_accuracy}, holdout_id=HOLDOUT, holdout_rows=30
        )
        if champion_accuracy is not None
        else None,
        training_seconds=2.0,
        promotion=POLICY,
    )


@dataclass
class Service:
    app: FastAPI
    runtime: ServiceRuntime
    broker: KafkaBroker
    objects: InMemoryObjectStore
    sink: RecordingEventSink

    async def deliver(self, event: ModelTrained) -> None:
        """As Kafka would: the JSON value, keyed by model name, on the event's topic."""
        await self.broker.publish(
            event.model_dump(mode="json"), topic=event.topic(), key=event.partition_key.encode()
        )

    def emitted(self) -> list[Event]:
        return list(self.sink.events)


def registry_settings() -> RegistrySettings:
    return RegistrySettings(
        environment="dev",
        registry_tokens={"alice": hash_token(TOKEN), "bob": hash_token(BOB_TOKEN)},
    )


@asynccontextmanager
async def registry_service(objects: InMemoryObjectStore | None = None) -> AsyncIterator[Service]:
    """The registry app on a test broker, its own sink and ``objects`` (a new store unless
    given: replicas share one)."""
    settings = registry_settings()
    objects = objects if objects is not None else InMemoryObjectStore()
    objects.ensure_buckets(settings.buckets)
    sink = RecordingEventSink()
    app = build_app(settings, store=objects, sink=sink)
    runtime: ServiceRuntime = app.state.runtime
    async with TestKafkaBroker(runtime.broker) as broker:
        yield Service(app, runtime, broker, objects, sink)
