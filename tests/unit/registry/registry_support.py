"""Sample events and a controllable clock for the registry's unit tests.

A module with its own name rather than conftest.py, so that tests can import from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from millrace_contracts import (
    ArtifactRef,
    FeatureSignature,
    Metrics,
    ModelTrained,
    PromotionPolicy,
    first_of_flow,
)

BUCKET = "millrace-state"
DATASET_VERSION = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
POLICY = PromotionPolicy(primary_metric="accuracy", floor=0.8, min_improvement=0.01)

MakeTrained = Callable[..., ModelTrained]


class Clock:
    """A clock that moves only when told to, so times in the audit trail are known."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 60) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def _ref(name: str) -> ArtifactRef:
    return ArtifactRef(uri=f"s3://millrace-models/iris/{name}", sha256="a" * 64, size_bytes=10)


def make_trained(
    run_id: str,
    accuracy: float = 0.9,
    *,
    model: str = "iris",
    holdout: str = "h1",
    policy: PromotionPolicy | None = POLICY,
    champion_version: int | None = None,
    champion_accuracy: float | None = None,
    **extra: Any,
) -> ModelTrained:
    champion = (
        Metrics(values={"accuracy": champion_accuracy}, holdout_id=holdout, holdout_rows=30)
        if champion_accuracy is not None
        else None
    )
    return ModelTrained(
        **first_of_flow(
            producer="training", event_id=uuid.uuid5(uuid.NAMESPACE_OID, f"{model}/{run_id}")
        ),
        model_name=model,
        run_id=run_id,
        dataset="iris",
        dataset_version=DATASET_VERSION,
        task="classification",
        estimator="random_forest",
        artifact=_ref(f"{run_id}/model.skops"),
        model_card=_ref(f"{run_id}/card.json"),
        reference_profile=_ref(f"{run_id}/profile.json"),
        signature=[FeatureSignature(name="sepal_length", kind="numeric", dtype="float")],
        target="species",
        metrics=Metrics(values={"accuracy": accuracy}, holdout_id=holdout, holdout_rows=30),
        champion_version=champion_version,
        champion_metrics=champion,
        training_seconds=1.5,
        promotion=policy,
        **extra,
    )
