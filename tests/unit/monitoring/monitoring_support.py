"""Test data for monitoring: reference profiles built with ingestion's profiling rules, in numpy.

Ingestion's rules (services/ingestion core/profiling.py), restated here because a service's
tests may not import another service: inner edges at the 1/10..9/10 quantiles with repeats
merged; right-closed bins; a seeded sample of 5000 values drawn without replacement; categories
counted as ``str(value)``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from millrace_contracts import (
    ArtifactRef,
    CategoricalProfile,
    ColumnProfile,
    DatasetProfile,
    FeatureSignature,
    LabelsObserved,
    Metrics,
    ModelVersionInfo,
    MonitoringPolicy,
    NumericProfile,
    PredictionsLogged,
    first_of_flow,
)
from millrace_contracts.common import ScalarValue
from millrace_contracts.serving_events import ObservedLabel, PredictionRecord
from millrace_monitoring.core.drift import WindowValues
from millrace_monitoring.core.monitor import Monitor
from millrace_shared.objectstore import InMemoryObjectStore

VERSION = "ab" * 32
BINS = 10
SAMPLE_SIZE = 5000

Generator = Callable[[np.random.Generator, int], np.ndarray]


def numeric_profile(values: np.ndarray, *, seed: int = 0) -> NumericProfile:
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, BINS + 1)[1:-1]))
    index = np.searchsorted(edges, values, side="left")
    counts = np.bincount(index, minlength=edges.size + 1)
    rng = np.random.default_rng(seed)
    sample = (
        rng.choice(values, size=SAMPLE_SIZE, replace=False) if values.size > SAMPLE_SIZE else values
    )
    return NumericProfile(
        mean=float(values.mean()),
        std=float(values.std(ddof=1)),
        min=float(values.min()),
        max=float(values.max()),
        bin_edges=[float(e) for e in edges],
        bin_counts=[int(c) for c in counts],
        sample=[float(v) for v in sample],
    )


def categorical_profile(values: np.ndarray) -> CategoricalProfile:
    counts = Counter(str(v) for v in values)
    return CategoricalProfile(counts={k: counts[k] for k in sorted(counts)})


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str
    draw: Generator


def profile_of(
    features: list[Feature], rows: int, rng: np.random.Generator, dataset: str = "sim"
) -> DatasetProfile:
    columns = []
    for feature in features:
        values = feature.draw(rng, rows)
        if feature.kind == "numeric":
            columns.append(
                ColumnProfile(
                    name=feature.name,
                    kind="numeric",
                    dtype="float",
                    count=rows,
                    nulls=0,
                    numeric=numeric_profile(values),
                )
            )
        else:
            columns.append(
                ColumnProfile(
                    name=feature.name,
                    kind="categorical",
                    dtype="string",
                    count=rows,
                    nulls=0,
                    categorical=categorical_profile(values),
                )
            )
    return DatasetProfile(
        dataset=dataset,
        dataset_version=VERSION,
        rows=rows,
        columns=columns,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def signature_of(features: list[Feature]) -> list[FeatureSignature]:
    return [
        FeatureSignature(
            name=f.name, kind=f.kind, dtype="float" if f.kind == "numeric" else "string"
        )
        for f in features
    ]


def window_of(features: list[Feature], rows: int, rng: np.random.Generator) -> WindowValues:
    numeric: dict[str, np.ndarray] = {}
    categorical: dict[str, list[str | None]] = {}
    for feature in features:
        values = feature.draw(rng, rows)
        if feature.kind == "numeric":
            numeric[feature.name] = values.astype(np.float64)
        else:
            categorical[feature.name] = [str(v) for v in values]
    return WindowValues(numeric=numeric, categorical=categorical)


def _choice(categories: list[str], weights: list[float]) -> Generator:
    p = np.asarray(weights) / np.sum(weights)
    return lambda rng, n: rng.choice(np.asarray(categories), size=n, p=p)


def simulation_features() -> list[Feature]:
    """20 numeric columns of varied shapes (ties included) and 5 categoricals (rare levels too)."""
    shapes: list[Generator] = [
        lambda rng, n: rng.normal(0.0, 1.0, n),
        lambda rng, n: rng.normal(50.0, 10.0, n),
        lambda rng, n: rng.lognormal(0.0, 1.0, n),
        lambda rng, n: rng.exponential(2.0, n),
        lambda rng, n: rng.uniform(-1.0, 1.0, n),
        lambda rng, n: rng.poisson(3.0, n).astype(np.float64),
        lambda rng, n: rng.gamma(2.0, 2.0, n),
        lambda rng, n: rng.standard_t(5, n),
        lambda rng, n: rng.binomial(20, 0.3, n).astype(np.float64),
        lambda rng, n: np.round(rng.normal(100.0, 15.0, n)),
    ]
    numeric = [Feature(f"x{i:02d}", "numeric", shapes[i % len(shapes)]) for i in range(20)]
    categorical = [
        Feature("c0", "categorical", _choice(["a", "b"], [0.5, 0.5])),
        Feature("c1", "categorical", _choice(["red", "green", "blue"], [0.6, 0.3, 0.1])),
        Feature("c2", "categorical", _choice([f"k{i}" for i in range(8)], [1.0] * 8)),
        Feature(
            "c3",
            "categorical",
            _choice(["common", "mid", "rare", "rarer"], [0.85, 0.13, 0.015, 0.005]),
        ),
        Feature("c4", "categorical", _choice(["True", "False"], [0.9, 0.1])),
    ]
    return numeric + categorical


# -- events --------------------------------------------------------------------------------

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def version_info(
    reference: ArtifactRef,
    signature: list[FeatureSignature],
    *,
    model: str = "m",
    version: int = 1,
    task: str = "classification",
    policy: MonitoringPolicy | None = None,
) -> ModelVersionInfo:
    artifact = ArtifactRef(uri=f"s3://millrace-models/{model}/a", sha256=VERSION, size_bytes=1)
    return ModelVersionInfo(
        model_name=model,
        version=version,
        run_id="run",
        dataset="sim",
        dataset_version=VERSION,
        task=task,
        artifact=artifact,
        model_card=artifact,
        reference_profile=reference,
        signature=signature,
        metrics=Metrics(values={"accuracy": 0.9}, holdout_id="h", holdout_rows=1),
        monitoring=policy or MonitoringPolicy(window_size=100),
    )


def logged(
    rows: list[dict[str, ScalarValue]],
    *,
    model: str = "m",
    version: int = 1,
    outputs: list[ScalarValue] | None = None,
    ids: list[str] | None = None,
) -> PredictionsLogged:
    return PredictionsLogged(
        **first_of_flow(producer="deployment"),
        model_name=model,
        model_version=version,
        replica_id="r",
        predictions=[
            PredictionRecord(
                prediction_id=ids[i] if ids else uuid.uuid4().hex,
                features=row,
                output=outputs[i] if outputs else None,
                timestamp=T0 + timedelta(seconds=i),
            )
            for i, row in enumerate(rows)
        ],
    )


def labelled(pairs: list[tuple[str, ScalarValue]], *, model: str = "m") -> LabelsObserved:
    return LabelsObserved(
        **first_of_flow(producer="app"),
        model_name=model,
        labels=[ObservedLabel(prediction_id=p, label=y, observed_at=T0) for p, y in pairs],
    )


# -- unit fixtures' parts ---------------------------------------------------------------

FEATURES = [
    Feature("x", "numeric", lambda rng, n: rng.normal(0.0, 1.0, n)),
    Feature("c", "categorical", lambda rng, n: rng.choice(np.array(["a", "b"]), n)),
]


class CountingStore(InMemoryObjectStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get_bytes(self, uri: str, sha256: str | None = None, max_bytes: int | None = None) -> bytes:
        self.reads.append(uri)
        return super().get_bytes(uri, sha256=sha256, max_bytes=max_bytes)


MakeMonitor = Callable[..., Monitor]
