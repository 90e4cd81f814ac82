"""Champion evaluation takes both positional pipelines and older ones fitted on named columns."""

from __future__ import annotations

import hashlib

import numpy as np
from millrace_contracts import ArtifactRef, Metrics, ModelVersionInfo, TrainingSpec
from millrace_training.core.champion import evaluate_champion
from millrace_training.core.data import coerce_features, prepare
from millrace_training.core.estimators import build_estimator
from millrace_training.core.pipeline_builder import build_pipeline
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from training_unit_data import iris_frame, signature_of

SPEC = TrainingSpec(task="classification", target="species", estimator={"name": "random_forest"})
SHA = hashlib.sha256(b"x").hexdigest()


def info(signature: list) -> ModelVersionInfo:  # type: ignore[type-arg]
    ref = ArtifactRef(uri="s3://millrace-models/iris/model.skops", sha256=SHA, size_bytes=1)
    return ModelVersionInfo(
        model_name="iris",
        version=1,
        run_id="r",
        dataset="iris",
        dataset_version=SHA,
        task="classification",
        artifact=ref,
        model_card=ref,
        reference_profile=ref,
        signature=signature,
        metrics=Metrics(values={}, holdout_id="h", holdout_rows=0),
    )


def test_positional_and_named_champions_are_both_evaluated() -> None:
    frame = iris_frame()
    data = prepare(frame, signature_of(frame), SPEC)
    test_rows = np.arange(0, 150, 5)
    positional_model = build_pipeline(
        build_estimator("random_forest", "classification", {}, 0),
        SPEC.preprocessing,
        data.numeric,
        data.categorical,
    ).fit(data.features, data.target)
    named = coerce_features(data.raw, data.signature)
    legacy_model = Pipeline(
        [
            (
                "preprocess",
                ColumnTransformer(
                    [
                        ("numeric", StandardScaler(), data.numeric),
                        ("categorical", OneHotEncoder(handle_unknown="ignore"), data.categorical),
                    ]
                ),
            ),
            ("estimator", LogisticRegression(max_iter=500)),
        ]
    ).fit(named, data.target)

    for model in (positional_model, legacy_model):
        result = evaluate_champion(
            info(data.signature), lambda _, m=model: m, data, test_rows, "h", "classification"
        )
        assert result.metrics is not None, result.note
        assert result.metrics.values["accuracy"] > 0.8
