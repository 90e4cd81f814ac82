"""Helpers for the CLI's unit tests: an environment of its own, events to render."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from millrace_contracts import (
    ArtifactRef,
    DataArrived,
    DatasetRejected,
    DatasetSpec,
    DatasetValidated,
    Event,
    FeatureSignature,
    Metrics,
    ModelDeployed,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
    ModelVersionInfo,
    Reason,
    TrainingSpec,
    caused_by,
    first_of_flow,
)

SHA = "a" * 64


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No MILLRACE_* from the developer's shell; a home of the test's own; wide output."""
    for key in list(os.environ):
        if key.startswith("MILLRACE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MILLRACE_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")


def ref(name: str) -> ArtifactRef:
    return ArtifactRef(uri=f"s3://millrace-models/iris/{name}", sha256=SHA, size_bytes=10)


def arrived(dataset: str = "iris") -> DataArrived:
    return DataArrived(
        **first_of_flow(producer="test"),
        dataset=dataset,
        uri=f"s3://millrace-landing/{dataset}/a.csv",
    )


def validated(cause: Event, *, training: bool = True, new: bool = True) -> DatasetValidated:
    return DatasetValidated(
        **caused_by(DatasetValidated, cause, producer="ingestion"),
        dataset="iris",
        dataset_version=SHA,
        source_uri="s3://millrace-landing/iris/a.csv",
        data=ref("data.parquet"),
        profile=ref("profile.json"),
        rows=150,
        columns=[FeatureSignature(name="x", kind="numeric", dtype="float")],
        spec=DatasetSpec(columns=[]),
        spec_version=1,
        new_version=new,
        training=TrainingSpec(
            task="classification", target="y", estimator={"name": "random_forest"}
        )
        if training
        else None,
    )


def rejected(cause: Event) -> DatasetRejected:
    return DatasetRejected(
        **caused_by(DatasetRejected, cause, producer="ingestion"),
        dataset="iris",
        source_uri="s3://millrace-landing/iris/a.csv",
        reasons=[
            Reason(code="missing_column", message="column 'petal_width' is missing"),
            Reason(code="out_of_range", message="sepal_length above 10"),
        ],
    )


METRICS = Metrics(values={"accuracy": 0.95}, holdout_id="h", holdout_rows=30)


def trained(cause: Event) -> ModelTrained:
    return ModelTrained(
        **caused_by(ModelTrained, cause, producer="training"),
        model_name="iris",
        run_id="r1",
        dataset="iris",
        dataset_version=SHA,
        task="classification",
        estimator="random_forest",
        artifact=ref("model.skops"),
        model_card=ref("card.json"),
        reference_profile=ref("profile.json"),
        signature=[],
        target="y",
        metrics=METRICS,
        training_seconds=1.5,
    )


def info(version: int = 1) -> ModelVersionInfo:
    return ModelVersionInfo(
        model_name="iris",
        version=version,
        run_id="r1",
        dataset="iris",
        dataset_version=SHA,
        task="classification",
        artifact=ref("model.skops"),
        model_card=ref("card.json"),
        reference_profile=ref("profile.json"),
        signature=[],
        metrics=METRICS,
    )


def promoted(cause: Event, version: int = 1) -> ModelPromoted:
    return ModelPromoted(
        **caused_by(ModelPromoted, cause, producer="registry"),
        model=info(version),
        reasons=[Reason(code="first_version", message="no production version yet")],
    )


def not_promoted(cause: Event) -> ModelRejected:
    return ModelRejected(
        **caused_by(ModelRejected, cause, producer="registry"),
        model_name="iris",
        version=2,
        production_version=1,
        metrics=METRICS,
        reasons=[Reason(code="not_improved", message="accuracy 0.95 vs 0.97 of v1")],
    )


def deployed(cause: Event, version: int = 1) -> ModelDeployed:
    return ModelDeployed(
        **caused_by(ModelDeployed, cause, producer="deployment"),
        model_name="iris",
        version=version,
        replica_id="r-1",
        endpoint="http://127.0.0.1:8104",
        artifact_sha256=SHA,
        load_seconds=0.2,
    )
