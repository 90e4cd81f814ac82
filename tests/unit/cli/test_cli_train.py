"""``train``: the TrainingRequested it publishes, and one line when Kafka is not there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cli_support import SHA, isolate
from millrace_cli import kafka
from millrace_cli.endpoints import Endpoints
from millrace_cli.main import app
from millrace_contracts import TrainingRequested
from millrace_shared.messaging import RecordingEventSink
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(autouse=True)
def own_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path / "home")


def test_publishes_a_manual_request_that_starts_a_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = RecordingEventSink()

    @asynccontextmanager
    async def recording(_: Endpoints) -> AsyncIterator[RecordingEventSink]:
        yield sink

    monkeypatch.setattr(kafka, "event_sink", recording)
    result = runner.invoke(app, ["train", "iris", "--version", SHA, "--reason", "new holdout"])
    assert result.exit_code == 0, result.output
    [request] = sink.of_type(TrainingRequested)
    assert (request.dataset, request.dataset_version, request.note) == ("iris", SHA, "new holdout")
    assert (request.trigger, request.requested_by, request.producer) == ("manual", "cli", "cli")
    assert request.correlation_id == request.event_id
    assert f"requested training of iris (flow {request.event_id})" in result.stderr


def test_kafka_not_running_is_one_line_and_exit_5(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    result = runner.invoke(app, ["train", "iris"])
    assert result.exit_code == 5, result.output
    assert "Kafka is not reachable at 127.0.0.1:1" in result.stderr
