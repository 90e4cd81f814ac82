"""Small models fitted by training's own code on generated data, stored as the registry sees them."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import numpy as np
import pandas as pd
from millrace_contracts import (
    FeatureSignature,
    Metrics,
    ModelPromoted,
    ModelVersionInfo,
    TrainingSpec,
    first_of_flow,
)
from millrace_contracts.common import Task
from millrace_shared.modelio import dump_model
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.registry.models import SignedPromotion
from millrace_training.core.candidate import fit_candidate
from millrace_training.core.data import prepare
from millrace_training.core.metrics import scorer_for

BUCKETS = ("millrace-landing", "millrace-datasets", "millrace-models", "millrace-state")

# Declared categorical-first, so training's numeric-first input order is exercised.
SIGNATURE = [
    FeatureSignature(
        name="colour",
        kind="categorical",
        dtype="string",
        nullable=True,
        categories=["blue", "green", "red"],
    ),
    FeatureSignature(name="x1", kind="numeric", dtype="float"),
    FeatureSignature(name="flag", kind="categorical", dtype="bool", categories=["False", "True"]),
    FeatureSignature(name="x2", kind="numeric", dtype="int", nullable=True),
]


def frame(rows: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    x2 = rng.integers(0, 10, size=rows).astype("float64")
    x2[::17] = np.nan
    colour = rng.choice(["red", "green", "blue"], size=rows).astype(object)
    colour[::13] = None
    flag = rng.random(rows) > 0.5
    label = np.where(x1 + (colour == "red") * 1.5 + flag > 0.8, "yes", "no")
    return pd.DataFrame(
        {"colour": colour, "x1": x1, "flag": flag, "x2": x2, "label": label, "y": x1 * 3 + x2}
    )


def train(
    data: pd.DataFrame, task: Task = "classification", estimator: str = "random_forest"
) -> tuple[Any, list[FeatureSignature]]:
    """Fit as the training service does; returns the pipeline and its (input-ordered) signature."""
    target = "label" if task == "classification" else "y"
    spec = TrainingSpec(
        task=task,
        target=target,
        features=[f.name for f in SIGNATURE],
        estimator={"name": estimator, "params": {"n_estimators": 10}}
        if estimator == "random_forest"
        else {"name": estimator},
        seed=0,
    )
    columns = [*SIGNATURE, FeatureSignature(name=target, kind="categorical", dtype="string")]
    prepared = prepare(data, columns, spec)
    fitted = fit_candidate(
        spec,
        prepared.features,
        prepared.target,
        prepared.numeric,
        prepared.categorical,
        scorer_for(task, None),
    )
    return fitted.pipeline, prepared.signature


def store_version(
    store: InMemoryObjectStore,
    model: Any,
    signature: list[FeatureSignature],
    *,
    name: str = "churn",
    version: int = 1,
    task: Task = "classification",
) -> ModelVersionInfo:
    base = f"s3://millrace-models/{name}/runs/run{version}"
    digest = hashlib.sha256(f"{name}{version}".encode()).hexdigest()
    return ModelVersionInfo(
        model_name=name,
        version=version,
        run_id=f"run{version}",
        dataset=name,
        dataset_version=digest,
        task=task,
        artifact=store.put_bytes(f"{base}/model.skops", dump_model(model)),
        model_card=store.put_bytes(f"{base}/model_card.json", b"{}"),
        reference_profile=store.put_bytes(f"{base}/profile.json", b"{}"),
        signature=signature,
        metrics=Metrics(values={"accuracy": 0.9}, holdout_id="h", holdout_rows=10),
    )


def promotion(info: ModelVersionInfo, alias: str = "production") -> ModelPromoted:
    return ModelPromoted(**first_of_flow(producer="registry"), model=info, alias=alias)


def snapshot(*infos: ModelVersionInfo) -> list[SignedPromotion]:
    """The registry's start-up answer for ``infos``, unsigned (nothing is verified here)."""
    return [SignedPromotion(model=i, sequence=1, event_id=uuid.uuid4()) for i in infos]


def rows_of(data: pd.DataFrame, count: int) -> list[dict[str, Any]]:
    """Rows as a JSON client would send them: nulls as None, Python scalars."""
    out = []
    for record in data.head(count).to_dict("records"):
        row = {f.name: record[f.name] for f in SIGNATURE}
        out.append(
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        )
    return out
