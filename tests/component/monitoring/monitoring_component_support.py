"""Events and a reference profile for monitoring's component tests (importable, unlike conftest)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from faststream.kafka import KafkaBroker
from millrace_contracts import (
    ArtifactRef,
    CategoricalProfile,
    ColumnProfile,
    DatasetProfile,
    Event,
    FeatureSignature,
    LabelsObserved,
    Metrics,
    ModelPromoted,
    ModelVersionInfo,
    MonitoringPolicy,
    NumericProfile,
    PredictionsLogged,
    first_of_flow,
)
from millrace_contracts.serving_events import ObservedLabel, PredictionRecord
from millrace_shared.objectstore import InMemoryObjectStore

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
SIGNATURE = [
    FeatureSignature(name="x", kind="numeric", dtype="float"),
    FeatureSignature(name="color", kind="categorical", dtype="string", categories=["red", "blue"]),
]


def reference_profile(seed: int = 0, rows: int = 20_000) -> DatasetProfile:
    """x ~ N(0, 1), color red 70% / blue 30%, profiled with ingestion's rules."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, rows)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, 11)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=edges.size + 1)
    red = int((rng.random(rows) < 0.7).sum())
    return DatasetProfile(
        dataset="sensors",
        dataset_version=SHA,
        rows=rows,
        created_at=START,
        columns=[
            ColumnProfile(
                name="x",
                kind="numeric",
                dtype="float",
                count=rows,
                nulls=0,
                numeric=NumericProfile(
                    mean=float(x.mean()),
                    std=float(x.std()),
                    min=float(x.min()),
                    max=float(x.max()),
                    bin_edges=[float(e) for e in edges],
                    bin_counts=[int(c) for c in counts],
                    sample=[float(v) for v in rng.choice(x, 5000, replace=False)],
                ),
            ),
            ColumnProfile(
                name="color",
                kind="categorical",
                dtype="string",
                count=rows,
                nulls=0,
                categorical=CategoricalProfile(counts={"blue": rows - red, "red": red}),
            ),
        ],
    )


def put_profile(store: InMemoryObjectStore, profile: DatasetProfile, key: str) -> ArtifactRef:
    return store.put_bytes(f"s3://millrace-models/{key}", profile.model_dump_json().encode())


def promoted(
    reference: ArtifactRef,
    *,
    model: str = "sensors",
    version: int = 1,
    task: str = "classification",
    policy: MonitoringPolicy | None = None,
    alias: str = "production",
) -> ModelPromoted:
    artifact = ArtifactRef(uri=f"s3://millrace-models/{model}/m.skops", sha256=SHA, size_bytes=1)
    return ModelPromoted(
        **first_of_flow(producer="registry"),
        alias=alias,
        model=ModelVersionInfo(
            model_name=model,
            version=version,
            run_id="run-1",
            dataset="sensors",
            dataset_version=SHA,
            task=task,
            artifact=artifact,
            model_card=artifact,
            reference_profile=reference,
            signature=SIGNATURE,
            metrics=Metrics(values={"accuracy": 0.9}, holdout_id="h", holdout_rows=10),
            monitoring=policy or MonitoringPolicy(window_size=200),
        ),
    )


def predictions(
    rng: np.random.Generator,
    n: int,
    *,
    model: str = "sensors",
    version: int = 1,
    shift: float = 0.0,
    red: float = 0.7,
    outputs: list[str] | None = None,
) -> PredictionsLogged:
    x = rng.normal(shift, 1.0, n)
    colors = np.where(rng.random(n) < red, "red", "blue")
    records = [
        PredictionRecord(
            prediction_id=uuid.UUID(int=int(rng.integers(0, 2**63))).hex,
            features={"x": float(x[i]), "color": str(colors[i])},
            output=outputs[i] if outputs else "ok",
            timestamp=START + timedelta(seconds=i),
        )
        for i in range(n)
    ]
    return PredictionsLogged(
        **first_of_flow(producer="deployment"),
        model_name=model,
        model_version=version,
        replica_id="r1",
        predictions=records,
    )


def labels(model: str, pairs: list[tuple[str, str]]) -> LabelsObserved:
    return LabelsObserved(
        **first_of_flow(producer="app"),
        model_name=model,
        labels=[ObservedLabel(prediction_id=p, label=y, observed_at=START) for p, y in pairs],
    )


async def send(broker: KafkaBroker, *events: Event) -> None:
    """One consumer batch holding ``events`` (all on one topic)."""
    await broker.publish_batch(
        *[e.model_dump(mode="json") for e in events], topic=events[0].topic()
    )


async def send_one(broker: KafkaBroker, event: Event) -> None:
    await broker.publish(
        event.model_dump(mode="json"), topic=event.topic(), key=event.partition_key.encode()
    )
