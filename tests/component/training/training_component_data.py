"""Data sets and events for the training component tests (generated, no downloads)."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from millrace_contracts import (
    ColumnSpec,
    DatasetSpec,
    DatasetValidated,
    DriftDetected,
    DriftWindow,
    FeatureSignature,
    ModelPromoted,
    ModelTrained,
    ModelVersionInfo,
    PerformanceDegraded,
    PromotionPolicy,
    TrainingSpec,
    caused_by,
    first_of_flow,
)
from millrace_shared.objectstore import InMemoryObjectStore
from sklearn.datasets import load_iris

SPEC = TrainingSpec.model_validate(
    {
        "task": "classification",
        "target": "species",
        "estimator": {"name": "random_forest", "params": {"n_estimators": 20}},
        "retraining": {"cooldown_seconds": 600, "min_new_rows": 10},
    }
)
WAIT_SPEC = SPEC.model_copy(
    update={"retraining": SPEC.retraining.model_copy(update={"on_new_data": False})}
)
"""SPEC, but new versions wait for drift, degradation or a request once a model is served."""


def iris_frame(rows: int = 150) -> pd.DataFrame:
    iris = load_iris(as_frame=True)
    frame: pd.DataFrame = iris.frame.rename(
        columns=lambda c: c.replace(" (cm)", "").replace(" ", "_")
    )
    frame["species"] = [str(iris.target_names[t]) for t in iris.target]
    frame["size"] = np.where(frame["petal_length"] > 4, "big", "small")
    # Shuffled with a fixed seed so that a head() still holds every class.
    shuffled: pd.DataFrame = frame.drop(columns=["target"]).sample(frac=1.0, random_state=0)
    return shuffled.head(rows)


def validated(
    store: InMemoryObjectStore,
    frame: pd.DataFrame,
    training: TrainingSpec | None = SPEC,
    dataset: str = "iris",
) -> DatasetValidated:
    """Store ``frame`` as ingestion would and return the event it would emit."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    data = buffer.getvalue()
    version = hashlib.sha256(data).hexdigest()
    base = f"s3://millrace-datasets/{dataset}/{version}"
    columns = [
        FeatureSignature(
            name=c,
            kind="numeric" if pd.api.types.is_numeric_dtype(frame[c]) else "categorical",
            dtype="float" if pd.api.types.is_numeric_dtype(frame[c]) else "string",
        )
        for c in frame.columns
    ]
    return DatasetValidated(
        **first_of_flow(producer="ingestion"),
        dataset=dataset,
        dataset_version=version,
        source_uri=f"s3://millrace-landing/{dataset}/{version[:8]}.csv",
        data=store.put_bytes(f"{base}/data.parquet", data),
        profile=store.put_bytes(f"{base}/profile.json", b'{"rows": %d}' % len(frame)),
        rows=len(frame),
        columns=columns,
        spec=DatasetSpec(columns=[ColumnSpec(name=c.name, dtype="float") for c in columns]),
        spec_version=1,
        new_version=True,
        training=training,
        promotion=PromotionPolicy(primary_metric="accuracy"),
    )


def promoted(trained: ModelTrained, version: int) -> ModelPromoted:
    """What the registry emits when it puts ``trained`` in production."""
    return ModelPromoted(
        **caused_by(ModelPromoted, trained, producer="registry"),
        model=ModelVersionInfo.from_trained(trained, version),
    )


def drift(model_version: int = 1) -> DriftDetected:
    """What monitoring emits when the inputs of ``iris`` v``model_version`` drift."""
    now = datetime.now(UTC)
    return DriftDetected(
        **first_of_flow(producer="monitoring"),
        model_name="iris",
        model_version=model_version,
        dataset="iris",
        window=DriftWindow(first_at=now, last_at=now, size=100),
        features=[],
        drifted_features=["petal_length"],
        significance=0.01,
    )


def degraded() -> PerformanceDegraded:
    """What monitoring emits when the live accuracy of ``iris`` v1 falls below its floor."""
    return PerformanceDegraded(
        **first_of_flow(producer="monitoring"),
        model_name="iris",
        model_version=1,
        dataset="iris",
        metric="accuracy",
        value=0.5,
        floor=0.8,
        labelled=100,
    )
