from __future__ import annotations

import json

from millrace_contracts import TrainingSpec
from millrace_training.core.jobs import run_id_for

VERSION = "ab" * 32
SPEC = {
    "task": "classification",
    "target": "species",
    "estimator": {"name": "random_forest", "params": {"n_estimators": 10, "max_depth": 3}},
    "seed": 7,
}


def test_run_id_is_stable_under_field_order() -> None:
    reordered = {
        "seed": 7,
        "estimator": {"params": {"max_depth": 3, "n_estimators": 10}, "name": "random_forest"},
        "target": "species",
        "task": "classification",
    }
    first = run_id_for(VERSION, TrainingSpec.model_validate_json(json.dumps(SPEC)))
    second = run_id_for(VERSION, TrainingSpec.model_validate_json(json.dumps(reordered)))
    assert first == second
    assert len(first) == 16 and int(first, 16) >= 0


def test_run_id_changes_with_version_or_spec() -> None:
    spec = TrainingSpec.model_validate(SPEC)
    base = run_id_for(VERSION, spec)
    assert run_id_for("cd" * 32, spec) != base
    assert run_id_for(VERSION, spec.model_copy(update={"seed": 8})) != base
