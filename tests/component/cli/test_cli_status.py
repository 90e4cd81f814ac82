"""``status`` with services answering over HTTP and no stack."""

from __future__ import annotations

import json

import pytest
from cli_fakes import FakeService, fake_service
from millrace_cli.main import app
from registry_answers import INFO, answer
from typer.testing import CliRunner

runner = CliRunner()


def test_service_states_and_production_models(
    registry: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.answer("GET", "/health/ready", 200, {"ready": True})
    registry.answer(
        "GET", "/models", 200, [{"name": "iris", "production_version": 2, "latest_version": 3}]
    )
    registry.answer("GET", "/models/iris/production", 200, answer(INFO))
    with fake_service() as deployment:
        deployment.answer("GET", "/health/ready", 503, {"ready": False})
        deployment.answer("GET", "/health/live", 200, {"status": "alive"})
        monkeypatch.setenv("MILLRACE_DEPLOYMENT_URL", deployment.url)
        monkeypatch.setenv("MILLRACE_KAFKA_BOOTSTRAP", "127.0.0.1:1")
        monkeypatch.setenv("MILLRACE_S3_ENDPOINT", "127.0.0.1:1")
        monkeypatch.setenv("MILLRACE_ENVIRONMENT", "dev")  # Kafka/S3 set: prod unless told
        result = runner.invoke(app, ["status"])
        report = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert result.exit_code == 5  # Kafka and S3 are not there
    assert "live (no model loaded yet)" in result.stdout
    assert "accuracy=0.970" in result.stdout
    assert report["services"]["registry"]["state"] == "ready"
    assert report["services"]["deployment"]["state"] == "live"
    assert report["services"]["ingestion"]["state"] in {"not started", "not installed"}
    assert report["models"] == [
        {
            "name": "iris",
            "production_version": 2,
            "latest_version": 3,
            "metrics": {"accuracy": 0.97},
        }
    ]
    assert report["stack"]["kafka"]["healthy"] is False
