"""The benchmark's models, fitted once through training's own code path.

``prepare`` + ``fit_candidate`` (millrace_training.core) build the same preprocessing +
estimator pipeline the training service builds; the fitted object is then stored as
Millrace stores it (skops, in the object store) and handed to MLflow as a pickle, so every
server loads the very same fitted estimator.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from millrace_contracts import (
    ArtifactRef,
    DatasetDeclaration,
    DatasetSpec,
    FeatureSignature,
    Metrics,
    ModelVersionInfo,
    TrainingSpec,
)
from millrace_contracts.policies import ColumnSpec, EstimatorSpec, RetrainingPolicy

N_FEATURES = 20
FEATURES = [f"f{i:02d}" for i in range(N_FEATURES)]
ESTIMATORS = {"hgb": "hist_gradient_boosting", "logreg": "logistic_regression"}


def declaration(dataset: str, estimator: str) -> DatasetDeclaration:
    """``dataset`` declared with ``serving_frame``'s columns, trained with ``estimator`` (a
    training estimator name), no cooldown and no promotion policy: every version is promoted,
    so each arrival reaches a decision (and serving)."""
    columns = [ColumnSpec(name=f, dtype="float") for f in FEATURES]
    columns.append(ColumnSpec(name="label", dtype="category", allowed=["no", "yes"]))
    return DatasetDeclaration(
        dataset=dataset,
        spec=DatasetSpec(columns=columns, target="label"),
        training=TrainingSpec(
            task="classification",
            target="label",
            estimator=EstimatorSpec(name=estimator, params={}),
            retraining=RetrainingPolicy(cooldown_seconds=0),
        ),
        promotion=None,
    )


def serving_frame(rows: int, seed: int) -> pd.DataFrame:
    """20 numeric features, a binary label depending on several of them (and noise)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, N_FEATURES))
    weights = rng.normal(size=N_FEATURES)
    score = x @ weights + 0.5 * x[:, 0] * x[:, 1] + rng.normal(scale=1.0, size=rows)
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["label"] = np.where(score > 0, "yes", "no")
    return frame


def request_rows(count: int, seed: int) -> list[dict[str, float]]:
    """Rows as clients send them: JSON numbers, rounded as a client would print them."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(count, N_FEATURES)), 6)
    return [dict(zip(FEATURES, map(float, row), strict=True)) for row in x]


@dataclass(frozen=True)
class FittedModel:
    key: str
    """``hgb`` or ``logreg``."""
    name: str
    """Model name in Millrace (the URL path)."""
    pipeline: Any
    signature: list[FeatureSignature]
    skops_bytes: bytes
    fit_seconds: float

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.skops_bytes).hexdigest()


def fit(key: str, frame: pd.DataFrame, seed: int = 42) -> FittedModel:
    import time

    from millrace_shared.modelio import dump_model
    from millrace_training.core.candidate import fit_candidate
    from millrace_training.core.data import prepare
    from millrace_training.core.metrics import scorer_for

    spec = TrainingSpec(
        task="classification",
        target="label",
        estimator=EstimatorSpec(name=ESTIMATORS[key], params={}),
        seed=seed,
    )
    columns = [FeatureSignature(name=f, kind="numeric", dtype="float") for f in FEATURES]
    columns.append(FeatureSignature(name="label", kind="categorical", dtype="string"))
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    data = prepare(frame, columns, spec)
    started = time.perf_counter()
    # One thread: OpenMP's spinning threads crawl on a busy 2-core machine.
    with threadpool_limits(1):
        fitted = fit_candidate(
            spec,
            data.features,
            data.target,
            data.numeric,
            data.categorical,
            scorer_for(spec.task, None),
        )
    seconds = time.perf_counter() - started
    return FittedModel(
        key=key,
        name=f"bench-{key}",
        pipeline=fitted.pipeline,
        signature=data.signature,
        skops_bytes=dump_model(fitted.pipeline),
        fit_seconds=seconds,
    )


def save_files(model: FittedModel, directory: Path) -> tuple[Path, Path]:
    """``<key>.skops`` (Millrace's artifact) and ``<key>.pkl`` (for the MLflow env)."""
    directory.mkdir(parents=True, exist_ok=True)
    skops_path = directory / f"{model.key}.skops"
    skops_path.write_bytes(model.skops_bytes)
    pickle_path = directory / f"{model.key}.pkl"
    pickle_path.write_bytes(pickle.dumps(model.pipeline, protocol=pickle.HIGHEST_PROTOCOL))
    return skops_path, pickle_path


def version_info(
    model: FittedModel, artifact_uri: str, *, bucket: str, dataset: str = "bench"
) -> ModelVersionInfo:
    """What the registry would say of this version (served to deployment by a stub)."""
    digest = hashlib.sha256(b"bench-dataset").hexdigest()
    placeholder = ArtifactRef(
        uri=f"s3://{bucket}/bench/{model.key}/placeholder.json", sha256=digest, size_bytes=0
    )
    return ModelVersionInfo(
        model_name=model.name,
        version=1,
        run_id=f"bench{model.key}",
        dataset=dataset,
        dataset_version=digest,
        task="classification",
        artifact=ArtifactRef(
            uri=artifact_uri, sha256=model.sha256, size_bytes=len(model.skops_bytes)
        ),
        model_card=placeholder,
        reference_profile=placeholder,
        signature=model.signature,
        metrics=Metrics(values={"accuracy": 0.0}, holdout_id="bench", holdout_rows=0),
    )
