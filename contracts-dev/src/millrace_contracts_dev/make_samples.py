"""Write the golden sample of every event version that has none yet.

Samples live in ``contracts/samples/<event_type>/<schema_version>.json`` and are *data*: once
committed they are never regenerated, because the point is that events written by an old
producer keep parsing with new code. This script therefore only writes files that are missing
(e.g. after a minor version bump, the new ``1.1.json`` next to the old ``1.0.json``); to change
an existing sample, edit or delete it by hand and say why in review.

One iris flow runs through all of them: a declaration, an arrival, its validation, a model
trained, promoted, served, its predictions and labels, drift, and the retraining request. Every
optional field is filled so that the samples exercise it (except where a field excludes another:
a training spec has an estimator *or* an AutoML search, and the first event of a flow has no
cause).

    .venv/bin/python -m millrace_contracts_dev.make_samples [SAMPLES_DIR]
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from millrace_contracts import EVENT_TYPES, TOPICS

SAMPLES_DIR = Path(__file__).resolve().parents[3] / "contracts" / "samples"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- the flow's identities -------------------------------------------------------------------

DECLARED_ID = "5d0f7a8e-3c1b-4e2a-9f6d-1a2b3c4d5e6f"
ARRIVED_ID = "0b9c2a63-5d7e-4c39-9a4b-2f1f8f0b6e01"  # correlation id of the whole flow
VALIDATED_ID = "7a1e0c55-1f0e-4b8c-8f55-3d0c6c1f2b77"
TRAINED_ID = "c2d4e6f8-0a1b-4c3d-8e5f-6a7b8c9d0e1f"
PROMOTED_ID = "e3f1a9b2-6c4d-4e8f-a1b2-c3d4e5f60718"
DRIFT_ID = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
LOGGED_ID = "b2d4f6a8-0c1e-4a3b-9d5f-7a9c1e3b5d70"
LABELS_ID = "c3e5a7b9-1d2f-4b4c-8e6a-8b0d2f4a6c81"  # starts its own flow
OTHER_TRAINED_ID = "f5a7c9e1-3b4d-4d6e-8f0a-1c3e5a7b9d02"

DATASET = "iris"
MODEL = "iris-classifier"
DATA_VERSION = sha("iris canonical parquet v2")
RUN_ID = sha(f"{DATA_VERSION}:training-spec-v2")[:16]
REPLICA = "deployment-7f3a"

NUMERIC = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
COLORS = ["purple", "red", "white"]
FEATURES = [*NUMERIC, "color"]


def reason(code: str, message: str, column: str | None, **details: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "column": column, "details": details}


def artifact(uri: str, size: int) -> dict[str, Any]:
    return {"uri": uri, "sha256": sha(uri), "size_bytes": size}


def column(
    name: str,
    dtype: str,
    max_null_fraction: float,
    low: float | None = None,
    high: float | None = None,
    allowed: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "dtype": dtype,
        "nullable": max_null_fraction > 0,  # the samples' columns allow nulls iff some may be
        "max_null_fraction": max_null_fraction,
        "min": low,
        "max": high,
        "allowed": allowed,
    }


def numeric_column(name: str, low: float, high: float) -> dict[str, Any]:
    return column(name, "float", 0.05, low, high)


def feature(name: str, kind: str, dtype: str, nullable: bool, categories: Any) -> dict[str, Any]:
    """A column of a model's signature."""
    return {
        "name": name,
        "kind": kind,
        "dtype": dtype,
        "nullable": nullable,
        "categories": categories,
    }


def drift(
    name: str, kind: str, psi: float, ks: float | None, p: float, p_adjusted: float, drifted: bool
) -> dict[str, Any]:
    return {
        "feature": name,
        "kind": kind,
        "psi": psi,
        "ks_statistic": ks,
        "test": "ks_2samp" if kind == "numeric" else "chi2_contingency",
        "p_value": p,
        "p_adjusted": p_adjusted,
        "drifted": drifted,
    }


DATASET_SPEC: dict[str, Any] = {
    "columns": [
        numeric_column("sepal_length", 4.0, 8.0),
        numeric_column("sepal_width", 2.0, 4.5),
        numeric_column("petal_length", 1.0, 7.0),
        numeric_column("petal_width", 0.1, 2.5),
        column("color", "category", 0.1, allowed=COLORS),
        column("species", "category", 0.0, allowed=["setosa", "versicolor", "virginica"]),
    ],
    "target": "species",
    "allow_extra_columns": True,
    "min_rows": 50,
}

PREPROCESSING = {"impute": "median", "scale": True, "one_hot": True}
RETRAINING = {
    "on_new_data": False,
    "on_drift": True,
    "on_degradation": True,
    "cooldown_seconds": 600,
    "min_new_rows": 100,
}
PROMOTION = {
    "primary_metric": "accuracy",
    "higher_is_better": True,
    "floor": 0.85,
    "min_improvement": 0.01,
}
MONITORING = {
    "window_size": 500,
    "significance": 0.01,
    "psi_floor": 0.1,
    "ks_floor": 0.1,
    "performance_floor": 0.85,
    "min_labels": 100,
}
TRAINING_AUTOML = {
    "model_name": MODEL,
    "task": "classification",
    "target": "species",
    "features": FEATURES,
    "estimator": None,
    "automl": {
        "candidates": ["logistic_regression", "random_forest", "hist_gradient_boosting"],
        "time_budget_seconds": 120,
        "cv_folds": 5,
    },
    "preprocessing": PREPROCESSING,
    "holdout_fraction": 0.25,
    "seed": 7,
    "retraining": RETRAINING,
}
TRAINING_ESTIMATOR = {
    **TRAINING_AUTOML,
    "estimator": {
        "name": "hist_gradient_boosting",
        "params": {"max_iter": 200, "learning_rate": 0.1},
    },
    "automl": None,
}

SIGNATURE = [
    *(feature(c, "numeric", "float", True, None) for c in NUMERIC),
    feature("color", "categorical", "string", True, COLORS),
]
COLUMNS_SEEN = [
    *SIGNATURE,
    feature("species", "categorical", "string", False, ["setosa", "versicolor", "virginica"]),
]
HOLDOUT_ID = f"{DATA_VERSION[:12]}:seed=7:frac=0.25"
METRICS = {
    "values": {"accuracy": 0.9737, "f1_macro": 0.9731},
    "holdout_id": HOLDOUT_ID,
    "holdout_rows": 38,
}
CHAMPION_METRICS = {
    "values": {"accuracy": 0.9474, "f1_macro": 0.9468},
    "holdout_id": HOLDOUT_ID,
    "holdout_rows": 38,
}
MODEL_PREFIX = f"s3://millrace-models/{MODEL}/runs/{RUN_ID}"
ARTIFACT = artifact(f"{MODEL_PREFIX}/model.skops", 412_733)
MODEL_CARD = artifact(f"{MODEL_PREFIX}/model_card.json", 3_918)
REFERENCE_PROFILE = artifact(f"{MODEL_PREFIX}/reference_profile.json", 12_406)


def envelope(
    event_id: str,
    at: str,
    producer: str,
    causation_id: str | None,
    correlation_id: str = ARRIVED_ID,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "schema_version": "1.0",
        "occurred_at": at,
        "producer": producer,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
    }


PAYLOADS: dict[str, dict[str, Any]] = {
    "dataset.declared": {
        **envelope(DECLARED_ID, "2026-11-26T08:55:00Z", "cli", None, DECLARED_ID),
        "declaration": {
            "dataset": DATASET,
            "spec": DATASET_SPEC,
            "training": TRAINING_AUTOML,
            "promotion": PROMOTION,
            "monitoring": MONITORING,
        },
    },
    "data.arrived": {
        **envelope(ARRIVED_ID, "2026-11-26T09:00:00Z", "cli", None),
        "dataset": DATASET,
        "uri": "s3://millrace-landing/iris/2026-11-26.csv",
        "sha256": sha("iris 2026-11-26 csv bytes"),
        "format": "csv",
        "submitted_by": "data-team",
    },
    "dataset.validated": {
        **envelope(VALIDATED_ID, "2026-11-26T09:00:02.418Z", "ingestion", ARRIVED_ID),
        "dataset": DATASET,
        "dataset_version": DATA_VERSION,
        "source_uri": "s3://millrace-landing/iris/2026-11-26.csv",
        "data": artifact(f"s3://millrace-datasets/iris/{DATA_VERSION}/data.parquet", 5_291),
        "profile": artifact(f"s3://millrace-datasets/iris/{DATA_VERSION}/profile.json", 12_406),
        "rows": 150,
        "columns": COLUMNS_SEEN,
        "spec": DATASET_SPEC,
        "spec_version": 2,
        "new_version": True,
        "training": TRAINING_ESTIMATOR,
        "promotion": PROMOTION,
        "monitoring": MONITORING,
    },
    "dataset.rejected": {
        **envelope(
            "3c5e7a9b-1d2f-4a6b-8c0d-2e4f6a8b0c1d",
            "2026-11-26T09:00:01.250Z",
            "ingestion",
            ARRIVED_ID,
        ),
        "dataset": DATASET,
        "source_uri": "s3://millrace-landing/iris/2026-11-26.csv",
        "reasons": [
            reason(
                "missing_column", "column 'petal_width' is missing", "petal_width", expected="float"
            ),
            reason(
                "null_rate_exceeded",
                "column 'sepal_length' is 31% null, at most 5% allowed",
                "sepal_length",
                observed=0.31,
                limit=0.05,
                rows=150,
                strict=False,
            ),
            # 1.1: a code of the input limits, and a long list cut with its count kept.
            reason(
                "unexpected_column",
                "20000 columns are not in the contract (and extra columns are not allowed); "
                "the first 2: 'x0', 'x1'",
                None,
                count=20000,
                listed=2,
                sample='["x0", "x1"]',
            ),
            reason(
                "too_many_columns",
                "the file has 20003 columns, more than the limit of 1000",
                None,
                observed=20003,
                limit=1000,
            ),
        ],
    },
    "training.requested": {
        **envelope(
            "4e6a8c0d-2f1b-4d3c-9e5a-7b9c1d3e5f70", "2026-11-27T11:00:03Z", "monitoring", DRIFT_ID
        ),
        "dataset": DATASET,
        "dataset_version": DATA_VERSION,
        "trigger": "drift",
        "requested_by": "monitoring",
        "note": "feature drift on petal_width (PSI 0.31)",
    },
    "model.trained": {
        **envelope(TRAINED_ID, "2026-11-26T09:00:09.731Z", "training", VALIDATED_ID),
        "model_name": MODEL,
        "run_id": RUN_ID,
        "dataset": DATASET,
        "dataset_version": DATA_VERSION,
        "task": "classification",
        "estimator": "hist_gradient_boosting",
        "params": {"max_iter": 200, "learning_rate": 0.1, "random_state": 7},
        "artifact": ARTIFACT,
        "model_card": MODEL_CARD,
        "reference_profile": REFERENCE_PROFILE,
        "signature": SIGNATURE,
        "target": "species",
        "metrics": METRICS,
        "champion_version": 2,
        "champion_metrics": CHAMPION_METRICS,
        "leaderboard": [
            {
                "estimator": "hist_gradient_boosting",
                "params": {"max_iter": 200, "learning_rate": 0.1},
                "cv_score": 0.9643,
            },
            {"estimator": "random_forest", "params": {"n_estimators": 100}, "cv_score": 0.9554},
            {"estimator": "logistic_regression", "params": {"C": 1.0}, "cv_score": 0.9464},
        ],
        "trigger": "data",
        "training_seconds": 6.84,
        "promotion": PROMOTION,
        "monitoring": MONITORING,
    },
    "model.promoted": {
        **envelope(PROMOTED_ID, "2026-11-26T09:00:10.102Z", "registry", TRAINED_ID),
        "model": {
            "model_name": MODEL,
            "version": 3,
            "run_id": RUN_ID,
            "dataset": DATASET,
            "dataset_version": DATA_VERSION,
            "task": "classification",
            "artifact": ARTIFACT,
            "model_card": MODEL_CARD,
            "reference_profile": REFERENCE_PROFILE,
            "signature": SIGNATURE,
            "metrics": METRICS,
            "monitoring": MONITORING,
        },
        "alias": "production",
        "previous_version": 2,
        "kind": "policy",
        "actor": "registry-policy",
        "reasons": [
            reason(
                "improved",
                "accuracy 0.9737 beats production's 0.9474 by 0.0263 (at least 0.01)",
                None,
                candidate=0.9737,
                production=0.9474,
                min_improvement=0.01,
            )
        ],
        "sequence": 7,
        "signature": {
            "algorithm": "ed25519",
            "key_id": "3f9a1c2b7d4e5f60",
            # Illustrative, not a valid signature: samples are data, not keys.
            "value": "A" * 86 + "==",
        },
    },
    "model.rejected": {
        **envelope(
            "6b8d0f2a-4c5e-4f7a-9b1c-3d5e7f9a1b2c",
            "2026-11-28T14:20:31.877Z",
            "registry",
            OTHER_TRAINED_ID,
        ),
        "model_name": MODEL,
        "version": 4,
        "production_version": 3,
        "metrics": CHAMPION_METRICS,
        "reasons": [
            reason(
                "not_improved",
                "accuracy 0.9474 does not beat production's 0.9737 by 0.01",
                None,
                candidate=0.9474,
                production=0.9737,
                min_improvement=0.01,
            )
        ],
    },
    "model.deployed": {
        **envelope(
            "8d0f2b4c-6e7a-4b9c-8d1e-5f7a9b1c3d4e",
            "2026-11-26T09:00:10.544Z",
            "deployment",
            PROMOTED_ID,
        ),
        "model_name": MODEL,
        "version": 3,
        "replica_id": REPLICA,
        "endpoint": "http://127.0.0.1:8080",
        "artifact_sha256": ARTIFACT["sha256"],
        "load_seconds": 0.21,
    },
    "deployment.failed": {
        **envelope(
            "a1c3e5f7-9b2d-4f6a-8c0e-2b4d6f8a0c1e",
            "2026-11-26T09:00:10.390Z",
            "deployment",
            PROMOTED_ID,
        ),
        "model_name": MODEL,
        "version": 3,
        "replica_id": "deployment-91bc",
        "reason": reason(
            "checksum_mismatch",
            "artifact sha256 differs from the registered digest",
            None,
            expected=ARTIFACT["sha256"],
            observed=sha("corrupt download"),
        ),
        "serving_version": 2,
    },
    "predictions.logged": {
        **envelope(LOGGED_ID, "2026-11-26T10:05:01Z", "deployment", PROMOTED_ID),
        "model_name": MODEL,
        "model_version": 3,
        "replica_id": REPLICA,
        "predictions": [
            {
                "prediction_id": "4f0c1c7e2b5a4d8e9f00112233445566",
                "features": dict(zip(FEATURES, (5.1, 3.5, 1.4, 0.2, "purple"), strict=True)),
                "output": "setosa",
                "timestamp": "2026-11-26T10:05:00.120Z",
            },
            {
                "prediction_id": "9a8b7c6d5e4f30211f0e0d0c0b0a0908",
                "features": dict(zip(FEATURES, (6.7, 3.0, 5.2, None, "white"), strict=True)),
                "output": "virginica",
                "timestamp": "2026-11-26T10:05:00.870Z",
            },
        ],
        "dropped_before": 12,
    },
    "labels.observed": {
        **envelope(LABELS_ID, "2026-11-27T08:00:00Z", "feedback-service", None, LABELS_ID),
        "model_name": MODEL,
        "labels": [
            {
                "prediction_id": "4f0c1c7e2b5a4d8e9f00112233445566",
                "label": "setosa",
                "observed_at": "2026-11-27T07:58:12Z",
            },
            {
                "prediction_id": "9a8b7c6d5e4f30211f0e0d0c0b0a0908",
                "label": "versicolor",
                "observed_at": "2026-11-27T07:59:40Z",
            },
        ],
    },
    "drift.detected": {
        **envelope(DRIFT_ID, "2026-11-27T11:00:02Z", "monitoring", LOGGED_ID),
        "model_name": MODEL,
        "model_version": 3,
        "dataset": DATASET,
        "window": {
            "first_at": "2026-11-27T09:12:40Z",
            "last_at": "2026-11-27T10:59:58Z",
            "size": 500,
        },
        "features": [
            drift("petal_width", "numeric", 0.31, 0.22, 1.2e-6, 4.8e-6, drifted=True),
            drift("sepal_length", "numeric", 0.02, 0.04, 0.61, 0.81, drifted=False),
            drift("color", "categorical", 0.05, None, 0.048, 0.12, drifted=False),
        ],
        "drifted_features": ["petal_width"],
        "significance": 0.01,
    },
    "performance.degraded": {
        **envelope(
            "d4f6b8c0-2e3a-4c5d-9f7b-9c1e3a5b7d92",
            "2026-11-27T08:00:01.310Z",
            "monitoring",
            LABELS_ID,
            LABELS_ID,
        ),
        "model_name": MODEL,
        "model_version": 3,
        "dataset": DATASET,
        "metric": "accuracy",
        "value": 0.71,
        "floor": 0.85,
        "labelled": 200,
    },
}


def render(event_json: dict[str, Any]) -> str:
    return json.dumps(event_json, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    samples_dir = Path(argv[0]) if argv else SAMPLES_DIR
    missing_payloads = sorted({t.event.event_type for t in TOPICS} - set(PAYLOADS))
    if missing_payloads:
        print(f"no sample payload for: {', '.join(missing_payloads)}", file=sys.stderr)
        return 1
    for event_type, payload in PAYLOADS.items():
        event_cls = EVENT_TYPES[event_type]
        version = f"{event_cls.major_version}.{event_cls.minor_version}"
        path = samples_dir / event_type / f"{version}.json"
        if path.exists():
            print(f"kept  {path} (samples are never regenerated)")
            continue
        event = event_cls.model_validate({**payload, "schema_version": version})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(event.model_dump(mode="json")), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
