"""A small model fitted by training's own code, stored and promoted as the registry would."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pandas as pd
from faststream.kafka import KafkaBroker
from millrace_contracts import (
    Event,
    FeatureSignature,
    Metrics,
    ModelPromoted,
    ModelVersionInfo,
    TrainingSpec,
    first_of_flow,
)
from millrace_deployment.lifecycle import Replica
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.modelio import dump_model
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.registry.models import SignedPromotion
from millrace_shared.service import ServiceRuntime
from millrace_shared.signing import SigningKey
from millrace_training.core.candidate import fit_candidate
from millrace_training.core.data import prepare
from millrace_training.core.metrics import scorer_for
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

COLUMNS = [
    FeatureSignature(name="colour", kind="categorical", dtype="string", categories=["blue", "red"]),
    FeatureSignature(name="x1", kind="numeric", dtype="float"),
    FeatureSignature(name="x2", kind="numeric", dtype="float", nullable=True),
    FeatureSignature(name="label", kind="categorical", dtype="string"),
]
ROW: dict[str, Any] = {"colour": "red", "x1": 0.3, "x2": None}


def train() -> tuple[Any, list[FeatureSignature]]:
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=80), rng.normal(size=80)
    colour = rng.choice(["red", "blue"], size=80).astype(object)
    data = pd.DataFrame(
        {"colour": colour, "x1": x1, "x2": x2, "label": np.where(x1 + x2 > 0, "yes", "no")}
    )
    spec = TrainingSpec(
        task="classification",
        target="label",
        estimator={"name": "logistic_regression"},
        seed=0,
    )
    prepared = prepare(data, COLUMNS, spec)
    fitted = fit_candidate(
        spec,
        prepared.features,
        prepared.target,
        prepared.numeric,
        prepared.categorical,
        scorer_for("classification", None),
    )
    return fitted.pipeline, prepared.signature


def store_version(
    store: InMemoryObjectStore, trained: tuple[Any, list[FeatureSignature]], version: int
) -> ModelVersionInfo:
    model, signature = trained
    base = f"s3://millrace-models/churn/runs/run{version}"
    return ModelVersionInfo(
        model_name="churn",
        version=version,
        run_id=f"run{version}",
        dataset="churn",
        dataset_version=hashlib.sha256(b"churn").hexdigest(),
        task="classification",
        artifact=store.put_bytes(f"{base}/model.skops", dump_model(model)),
        model_card=store.put_bytes(f"{base}/model_card.json", b"{}"),
        reference_profile=store.put_bytes(f"{base}/profile.json", b"{}"),
        signature=signature,
        metrics=Metrics(values={"accuracy": 0.9}, holdout_id="h", holdout_rows=16),
    )


def promoted(info: ModelVersionInfo, alias: str = "production") -> ModelPromoted:
    return ModelPromoted(**first_of_flow(producer="registry"), model=info, alias=alias)


@dataclass
class FakeRegistry:
    """The registry's REST API as an httpx transport: production versions by name."""

    production: dict[str, ModelVersionInfo] = field(default_factory=dict)
    down: bool = False
    key: SigningKey | None = None
    """Signs the start-up answer (as the registry does) when set; its sequence is the version."""
    asked: int = 0
    """Requests received, answered or not."""

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.asked += 1
        if self.down:
            raise httpx.ConnectError("registry unreachable", request=request)
        if request.url.path == "/models":
            listing = [
                {"name": n, "production_version": i.version, "latest_version": i.version}
                for n, i in self.production.items()
            ]
            return httpx.Response(200, json=listing)
        name = request.url.path.split("/")[2]
        if request.url.path.endswith("/production/promotion"):
            info = self.production[name]
            signed = SignedPromotion(model=info, sequence=info.version, event_id=uuid.uuid4())
            if self.key is not None:
                signed = signed.model_copy(
                    update={"signature": self.key.sign(signed.signed_facts())}
                )
            return httpx.Response(200, content=signed.model_dump_json())
        return httpx.Response(200, content=self.production[name].model_dump_json())


@dataclass
class Deployment:
    runtime: ServiceRuntime
    replica: Replica
    broker: KafkaBroker
    """The service's broker, patched by ``TestKafkaBroker`` to deliver in memory."""
    store: InMemoryObjectStore
    sink: RecordingEventSink
    http: httpx.AsyncClient
    registry: FakeRegistry
    trained: tuple[Any, list[FeatureSignature]]
    exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    async def deliver(self, event: Event) -> None:
        """Publish ``event``; the in-memory broker runs the handler before returning."""
        await self.broker.publish(
            event.model_dump(mode="json"), topic=event.topic(), key=event.partition_key.encode()
        )

    def version(self, number: int) -> ModelVersionInfo:
        return store_version(self.store, self.trained, number)
