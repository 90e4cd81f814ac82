"""The command line itself: help, exit codes, and one clear line instead of a traceback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cli_support import isolate
from millrace_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(autouse=True)
def base(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """Default endpoints where nothing listens, whatever runs on this machine."""
    isolate(monkeypatch, tmp_path / "home")
    port = closed_port()
    monkeypatch.setenv("MILLRACE_STACK_BASE_PORT", str(port))
    monkeypatch.setenv("MILLRACE_SERVICES_BASE_PORT", str(port + 20))
    return port


def test_top_level_help_documents_the_exit_codes() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for line in (
        "0  success",
        "2  publish --wait: the dataset was rejected",
        "3  publish --wait: the model was not promoted",
        "4  timed out waiting",
        "5  Kafka, S3 or a service is not reachable",
        "64  bad command line",
    ):
        assert line in result.stdout
    commands = ("up", "down", "status", "publish", "train", "predict", "datasets", "models", "dlq")
    for command in commands:
        assert f"  {command} " in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["up"],
        ["down"],
        ["status"],
        ["publish"],
        ["train"],
        ["predict"],
        ["demo"],
        ["lineage"],
        ["datasets", "declare"],
        ["datasets", "list"],
        ["datasets", "show"],
        ["events", "tail"],
        ["models", "list"],
        ["models", "show"],
        ["models", "promote"],
        ["models", "rollback"],
        ["dlq", "list"],
        ["dlq", "replay"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.stdout
    assert len(result.stdout.split("\n\n")[1].strip()) > 20  # a real description


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["no-such-command"],
        ["models", "show"],
        ["publish", "x.csv"],
        ["events", "tail", "model.promoted", "--count", "-1"],
        ["up", "--port", "registry:9000"],
        ["up", "--service", "billing"],
        ["dlq", "replay", "data.arrived"],
        ["predict", "iris"],
        ["train", "Not Valid"],
        ["train", "iris", "--version", "3"],
    ],
)
def test_bad_usage_exits_64(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 64, result.output
    assert "Traceback" not in result.output


def test_a_bad_dataset_name_is_refused_before_anything_is_uploaded(tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n")
    result = runner.invoke(app, ["publish", str(data), "--dataset", "Not Valid"])
    assert result.exit_code == 64
    assert "is not a valid name" in result.stderr


def test_kafka_not_running_is_one_line_and_exit_5(
    monkeypatch: pytest.MonkeyPatch, base: int
) -> None:
    result = runner.invoke(app, ["events", "tail", "model.promoted", "-n", "1"])
    assert result.exit_code == 5
    assert result.stderr.strip() == (
        f"error: Kafka is not reachable at 127.0.0.1:{base} — run `millrace up`"
    )
    port = closed_port()
    monkeypatch.setenv("MILLRACE_KAFKA_BOOTSTRAP", f"127.0.0.1:{port}")
    result = runner.invoke(app, ["dlq", "list"])
    assert result.exit_code == 5
    assert f"Kafka is not reachable at 127.0.0.1:{port} — check MILLRACE_KAFKA_BOOTSTRAP" in (
        result.stderr
    )
    assert "Traceback" not in result.output


def test_s3_not_running_fails_the_publish_before_any_event(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MILLRACE_S3_ENDPOINT", f"127.0.0.1:{closed_port()}")
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n")
    result = runner.invoke(app, ["publish", str(data), "-d", "iris"])
    assert result.exit_code == 5
    assert "S3 is not reachable" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["models", "list"],
        ["models", "show", "iris"],
        ["models", "promote", "iris", "2", "--reason", "r"],
        ["datasets", "list"],
        ["predict", "iris", "--row", '{"x": 1}'],
    ],
)
def test_a_service_not_running_is_one_line_and_exit_5(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    port = closed_port()
    for name in ("REGISTRY", "INGESTION", "DEPLOYMENT"):
        monkeypatch.setenv(f"MILLRACE_{name}_URL", f"http://127.0.0.1:{port}")
    result = runner.invoke(app, args)
    assert result.exit_code == 5, result.output
    assert f"service is not reachable at http://127.0.0.1:{port} — check MILLRACE_" in (
        result.stderr
    )


def test_an_invalid_declaration_exits_1_with_the_problems(tmp_path: Path) -> None:
    bad = tmp_path / "d.yaml"
    bad.write_text("dataset: iris\ntraining: {task: classification, target: y}\n")
    result = runner.invoke(app, ["datasets", "declare", str(bad)])
    assert result.exit_code == 1
    assert "is not a valid dataset declaration" in result.stderr
    assert "set exactly one of 'estimator' or 'automl'" in result.stderr


def test_down_with_nothing_running() -> None:
    result = runner.invoke(app, ["down"])
    assert result.exit_code == 0, result.output
    assert "no service was running" in result.stderr
    assert "the stack was not running" in result.stderr


def test_status_with_nothing_running_exits_5_and_still_gives_every_endpoint(base: int) -> None:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 5
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert report["endpoints"]["kafka_bootstrap"] == f"127.0.0.1:{base}"
    assert report["endpoints"]["s3"]["buckets"]["landing"] == "millrace-landing"
    assert report["endpoints"]["registry_url"] == f"http://127.0.0.1:{base + 22}"
    assert report["endpoints"]["deployment_url"] == f"http://127.0.0.1:{base + 23}"
    assert report["services"]["registry"]["state"] in {"not started", "not installed"}
    assert "Kafka is not reachable" in report["topics_error"]
