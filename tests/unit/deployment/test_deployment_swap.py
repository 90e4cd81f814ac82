"""Predictions hold one immutable model reference: a swap never fails or delays a request."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import numpy as np
from deployment_unit_data import store_version
from millrace_contracts import FeatureSignature
from millrace_deployment.core.catalog import ModelCatalog
from millrace_deployment.core.logbuffer import PredictionLogBuffer
from millrace_deployment.core.predicting import Predictor
from millrace_deployment.core.served import ServedModel, serve
from millrace_shared.objectstore import InMemoryObjectStore
from opentelemetry.sdk.trace import TracerProvider

SIGNATURE = [FeatureSignature(name="x", kind="numeric", dtype="float")]


class ConstantModel:
    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, x: Any) -> np.ndarray:
        return np.full(len(x), self.value)


class GatedModel(ConstantModel):
    """Holds its prediction until the test opens the gate."""

    def __init__(self, value: float) -> None:
        super().__init__(value)
        self.entered, self.gate = threading.Event(), threading.Event()

    def predict(self, x: Any) -> np.ndarray:
        self.entered.set()
        if not self.gate.wait(timeout=30):
            raise TimeoutError("the test never opened the gate")
        return super().predict(x)


def served(store: InMemoryObjectStore, model: Any, version: int) -> ServedModel:
    info = store_version(store, model, SIGNATURE, name="m", version=version, task="regression")
    return serve(info, model, datetime.now(UTC), 0.1)


def predictor() -> Predictor:
    buffer = PredictionLogBuffer(capacity=100, batch_size=50)
    return Predictor(buffer, TracerProvider().get_tracer("t"), "r1", max_batch_rows=10)


async def test_a_request_holding_the_old_model_completes_while_new_ones_get_the_new(
    store: InMemoryObjectStore,
) -> None:
    catalog, predict = ModelCatalog(), predictor()
    old = GatedModel(1.0)
    catalog.swap(served(store, old, 1))

    in_flight = asyncio.create_task(predict.batch(catalog.get("m"), [{"x": 1.0}, {"x": 2.0}]))  # type: ignore[arg-type]
    assert await asyncio.to_thread(old.entered.wait, 10)

    replaced = catalog.swap(served(store, ConstantModel(2.0), 2))
    assert replaced is not None and replaced.version == 1
    # Served at once by the new version, while the old one is still busy.
    fresh = predict.one(catalog.get("m"), {"x": 3.0})  # type: ignore[arg-type]
    assert (fresh["version"], fresh["prediction"]) == (2, 2.0)
    assert not in_flight.done()

    old.gate.set()
    result = await in_flight
    assert result["version"] == 1
    assert [p["prediction"] for p in result["predictions"]] == [1.0, 1.0]


def test_the_catalog_lists_one_model_per_name(store: InMemoryObjectStore) -> None:
    catalog = ModelCatalog()
    assert catalog.swap(served(store, ConstantModel(1.0), 1)) is None
    catalog.swap(served(store, ConstantModel(2.0), 2))
    assert [(m.name, m.version) for m in catalog.all()] == [("m", 2)]
    assert len(catalog) == 1 and catalog.get("other") is None
