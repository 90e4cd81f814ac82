"""``millrace lineage`` against fake services over HTTP: the chain rendered, --json for
scripts, and a gap named with exit code 1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cli_fakes import FakeService, fake_service
from millrace_cli.main import app
from millrace_infra.ports import free_port as closed_port
from millrace_shared.registry.models import AliasMove, AuditEntry
from registry_answers import AT, IMPROVED, SHA, VERSION, answer
from typer.testing import CliRunner

runner = CliRunner()
PID = "0123456789abcdef0123000000000005"


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeService]]:
    names = ("monitoring", "registry", "training", "ingestion")
    with (
        fake_service() as monitoring,
        fake_service() as registry,
        fake_service() as training,
        fake_service() as ingestion,
    ):
        fakes = dict(zip(names, (monitoring, registry, training, ingestion), strict=True))
        for name, fake in fakes.items():
            monkeypatch.setenv(f"MILLRACE_{name.upper()}_URL", fake.url)
        monitoring.answer(
            "GET",
            f"/predictions/{PID}",
            200,
            {
                "prediction_id": PID,
                "model_name": "iris",
                "model_version": 2,
                "replica_id": "deployment-a",
                "features": {"x": 1.5},
                "output": "setosa",
                "timestamp": "2026-11-26T11:00:00Z",
                "event_id": "0b9c2a63-5d7e-4c39-9a4b-2f1f8f0b6e01",
                "correlation_id": "0b9c2a63-5d7e-4c39-9a4b-2f1f8f0b6e02",
            },
        )
        registry.answer("GET", "/models/iris/versions/2", 200, answer(VERSION))
        entry = AuditEntry(
            seq=1,
            at=AT,
            kind="promoted",
            actor="registry",
            version=2,
            reasons=[IMPROVED],
            alias_move=AliasMove(alias="production", from_version=1, to_version=2),
        )
        registry.answer("GET", "/models/iris/audit", 200, [entry.model_dump(mode="json")])
        training.answer(
            "GET",
            "/runs/iris/run/r2",
            200,
            {
                "trained": {
                    "run_id": "r2",
                    "trigger": "data",
                    "estimator": "random_forest",
                    "params": {"n_estimators": 50},
                    "leaderboard": [],
                    "training_seconds": 1.0,
                    "occurred_at": "2026-11-26T10:00:00Z",
                },
                "card": {
                    "training_spec": {"task": "classification"},
                    "automl": None,
                    "holdout": {"id": "h", "rows": 30},
                    "code_version": {"package": "millrace-training", "version": "0.1.0"},
                    "libraries": {},
                },
            },
        )
        ingestion.answer(
            "GET",
            f"/datasets/iris/versions/{SHA}",
            200,
            {
                "version": SHA,
                "rows": 150,
                "created_at": "2026-11-26T09:00:00Z",
                "spec_version": 1,
                "source_uri": "s3://millrace-landing/iris/a.csv",
                "data": {"uri": "s3://d/x.parquet", "sha256": SHA, "size_bytes": 1},
                "profile": {"uri": "s3://d/x.json", "sha256": SHA, "size_bytes": 1},
                "created_by": "0b9c2a63-5d7e-4c39-9a4b-2f1f8f0b6e03",
                "submitted_by": "data-team",
                "validation": {"passed": True, "spec_version": 1, "columns": [{"name": "x"}]},
            },
        )
        yield fakes


def test_the_chain_is_printed_and_the_missing_trace_backend_is_named(
    services: dict[str, FakeService],
) -> None:
    result = runner.invoke(app, ["lineage", PID])
    assert result.exit_code == 1, result.output
    text = result.stdout
    for shown in ("setosa", "deployment-a", "iris v2", "training run r2", SHA, "data-team"):
        assert shown in text, shown
    assert "production v1 → v2 by registry" in text
    assert "millrace-training 0.1.0" in text
    assert "the trace could not be resolved" in result.stderr


def test_json_for_scripts_holds_every_resolved_link_and_the_gaps(
    services: dict[str, FakeService],
) -> None:
    result = runner.invoke(app, ["lineage", PID, "--json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["prediction"]["replica_id"] == "deployment-a"
    assert body["dataset"]["version"] == SHA
    assert body["promotion"]["actor"] == "registry"
    assert [g["link"] for g in body["unresolved"]] == ["trace"]


def test_an_unknown_prediction_exits_1_naming_the_prediction(
    services: dict[str, FakeService],
) -> None:
    result = runner.invoke(app, ["lineage", "nope"])
    assert result.exit_code == 1
    assert "the prediction could not be resolved" in result.stderr
    assert "not in monitoring's archive" in result.stderr


def test_monitoring_not_running_exits_5(
    services: dict[str, FakeService], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILLRACE_MONITORING_URL", f"http://127.0.0.1:{closed_port()}")
    result = runner.invoke(app, ["lineage", PID])
    assert result.exit_code == 5
    assert "the prediction could not be resolved" in result.stderr
    assert "not reachable" in result.stderr
