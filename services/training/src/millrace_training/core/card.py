"""The model card: what was trained, on what, how well, and with which libraries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from millrace_contracts import FeatureSignature, Metrics

from .artifacts import code_version, library_versions
from .candidate import FittedCandidate
from .champion import ChampionResult
from .jobs import TrainingJob
from .split import Holdout


@dataclass(frozen=True)
class CardFacts:
    job: TrainingJob
    fitted: FittedCandidate
    signature: list[FeatureSignature]
    holdout: Holdout
    training_rows: int
    metrics: Metrics
    champion: ChampionResult | None
    training_seconds: float
    trained_at: datetime


def model_card(facts: CardFacts) -> dict[str, Any]:
    job, spec = facts.job, facts.job.spec
    champion = facts.champion
    return {
        "model_name": job.model_name,
        "run_id": job.run_id,
        "task": spec.task,
        "target": spec.target,
        "estimator": facts.fitted.estimator,
        "params": facts.fitted.params,
        "preprocessing": spec.preprocessing.model_dump(mode="json"),
        "training_spec": spec.model_dump(mode="json"),
        "seed": spec.seed,
        "dataset": {
            "name": job.version.dataset,
            "version": job.version.dataset_version,
            "rows": job.version.rows,
            "data": job.version.data.model_dump(mode="json"),
            "profile": job.version.profile.model_dump(mode="json"),
        },
        "training_rows": facts.training_rows,
        "holdout": {
            "id": facts.holdout.holdout_id,
            "rows": len(facts.holdout.test),
            "fraction": spec.holdout_fraction,
            "stratified": facts.holdout.stratified,
        },
        "metrics": facts.metrics.values,
        "champion": None
        if champion is None
        else {
            "version": champion.version,
            "metrics": None if champion.metrics is None else champion.metrics.values,
            "note": champion.note,
        },
        "signature": [f.model_dump(mode="json") for f in facts.signature],
        "leaderboard": [c.model_dump(mode="json") for c in facts.fitted.leaderboard],
        "automl": _search(facts.fitted),
        "libraries": library_versions(),
        "code_version": code_version(),
        "trigger": job.trigger,
        "caused_by": str(job.cause.event_id),
        "correlation_id": str(job.cause.correlation_id),
        "trained_at": facts.trained_at.isoformat(),
        "training_seconds": facts.training_seconds,
    }


def _search(fitted: FittedCandidate) -> dict[str, Any] | None:
    """How far the AutoML search got, and which limit (if any) cut it short."""
    result = fitted.search
    if result is None:
        return None
    return {"planned": result.planned, "tried": result.tried, "stopped_by": result.stopped_by}


def card_bytes(card: dict[str, Any]) -> bytes:
    return (json.dumps(card, indent=2, sort_keys=True, default=str) + "\n").encode()
