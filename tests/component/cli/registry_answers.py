"""What the registry answers, built with its own response models so the CLI parses them whole."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from millrace_contracts import ModelPromoted, ModelVersionInfo, Reason
from millrace_shared.registry.models import (
    Decision,
    Lineage,
    ModelDetail,
    VersionDetail,
    VersionSummary,
)

SHA = "b" * 64
AT = datetime(2026, 11, 26, 10, tzinfo=UTC)
IDS = uuid.UUID(int=1)


def ref(name: str) -> dict[str, Any]:
    return {"uri": f"s3://millrace-models/iris/{name}", "sha256": SHA, "size_bytes": 1}


INFO = ModelVersionInfo.model_validate(
    {
        "model_name": "iris",
        "version": 2,
        "run_id": "r2",
        "dataset": "iris",
        "dataset_version": SHA,
        "task": "classification",
        "artifact": ref("model.skops"),
        "model_card": ref("card.json"),
        "reference_profile": ref("profile.json"),
        "signature": [{"name": "x", "kind": "numeric", "dtype": "float"}],
        "metrics": {"values": {"accuracy": 0.97}, "holdout_id": "h", "holdout_rows": 30},
    }
)
IMPROVED = Reason(code="improved", message="better")

DETAIL = ModelDetail(
    name="iris",
    aliases={"production": 2},
    latest_version=2,
    versions=[
        VersionSummary(
            version=2,
            run_id="r2",
            dataset="iris",
            dataset_version=SHA,
            registered_at=AT,
            policy_decision="promoted",
            reason_codes=["improved"],
            metrics={"accuracy": 0.97},
            holdout_id="h",
            aliases=["production"],
        )
    ],
)
VERSION = VersionDetail(
    info=INFO,
    registered_at=AT,
    lineage=Lineage(
        dataset="iris",
        dataset_version=SHA,
        run_id="r2",
        trained_event_id=IDS,
        correlation_id=IDS,
        estimator="random_forest",
        params={},
        target="species",
        trigger="data",
        training_seconds=1.0,
    ),
    champion_version=1,
    champion_metrics=None,
    decision=Decision(
        promote=True,
        reasons=[IMPROVED],
        event_id=IDS,
        decided_at=AT,
        production_version=1,
        compared_with=1,
        primary_metric="accuracy",
        policy=None,
    ),
    aliases=["production"],
)
PROMOTED = ModelPromoted(
    producer="registry", correlation_id=IDS, model=INFO, previous_version=1, kind="manual"
)


def answer(model: ModelDetail | VersionDetail | ModelVersionInfo | ModelPromoted) -> Any:
    return model.model_dump(mode="json")
