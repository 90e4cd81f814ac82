"""``millrace lineage``'s tree: every link in chain order, and what a gap leaves out."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

from millrace_cli.commands.lineage import render
from millrace_shared.lineage import PredictionLineage
from rich.console import Console

T = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
FLOW = uuid.UUID(int=7)
REASON = {"code": "better", "message": "f1 up"}
FULL: dict[str, Any] = {
    "prediction_id": "p-1",
    "prediction": {
        "prediction_id": "p-1",
        "model_name": "iris",
        "model_version": 2,
        "replica_id": "r1",
        "features": {"a": 1.5},
        "output": "setosa",
        "timestamp": T,
        "event_id": FLOW,
        "correlation_id": FLOW,
    },
    "model_version": {
        "model_name": "iris",
        "version": 2,
        "run_id": "run-1",
        "registered_at": T,
        "metrics": {"f1": 0.9},
        "holdout_id": "h1",
        "artifact": {"uri": "s3://a", "sha256": "ff"},
        "decision": "promoted",
        "decision_reasons": [REASON],
        "aliases": ["production"],
        "correlation_id": FLOW,
    },
    "training_run": {
        "run_id": "run-1",
        "trigger": "data",
        "estimator": "rf",
        "params": {"n": 3},
        "training_spec": None,
        "automl": {"tried": 3, "planned": 5, "stopped_by": "budget"},
        "leaderboard": [{"trial": i} for i in range(7)],
        "holdout": None,
        "code_version": None,
        "libraries": {},
        "training_seconds": 1.234,
        "trained_at": T,
    },
    "dataset": {
        "dataset": "iris",
        "version": "ab",
        "rows": 150,
        "source_uri": "s3://l/iris.csv",
        "submitted_by": None,
        "created_at": T,
        "created_by": FLOW,
        "data": {"uri": "s3://d", "sha256": "ee"},
        "validation": None,
    },
    "promotion": {
        "alias": "production",
        "version": 2,
        "from_version": 1,
        "kind": "promoted",
        "actor": "policy",
        "reasons": [REASON],
        "at": T,
        "event_id": FLOW,
    },
    "trace": {"correlation_id": FLOW, "trace_ids": ["t1"], "url": None},
}


def text(lineage: dict[str, Any]) -> str:
    console = Console(width=300, record=True, file=io.StringIO())
    console.print(render(PredictionLineage.model_validate(lineage)))
    return console.export_text()


def without(link: str) -> dict[str, Any]:
    return {**FULL, link: None, "unresolved": [{"link": link, "reason": f"no {link}"}]}


def test_a_full_lineage_shows_every_link_in_chain_order() -> None:
    shown = text(FULL)
    heads = ["prediction →", "model version iris v2", "training run run-1", "dataset version"]
    heads += ["promotion production v1 → v2 by policy", "trace t1"]
    places = [shown.index(head) for head in heads]
    assert places == sorted(places), shown
    assert "AutoML: 3 of 5 trials, stopped by budget" in shown
    assert shown.count("trial=") == 5  # the leaderboard's top five
    assert "code: not recorded" in shown and "submitted by: not said" in shown
    assert "✗" not in shown


def test_a_gap_in_the_chain_stops_it_only_where_the_rest_hangs_on_it() -> None:
    stopped = text(without("model_version"))
    assert "✗ model version: no model_version" in stopped
    assert "training run" not in stopped and "trace t1" not in stopped
    assert "lineage of prediction p-1" in text(without("prediction"))
    assert "prediction →" not in text(without("prediction"))
    skipped = text(without("dataset"))
    assert "✗ dataset version: no dataset" in skipped
    assert "training run run-1" in skipped and "trace t1" in skipped
