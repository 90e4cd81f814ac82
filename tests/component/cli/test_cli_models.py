"""``millrace models`` against a registry that answers over HTTP."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_fakes import FakeService
from millrace_cli.main import app
from millrace_shared.registry.tokens import ensure_local_token
from registry_answers import DETAIL, PROMOTED, VERSION, answer
from typer.testing import CliRunner

runner = CliRunner()


def test_list(registry: FakeService) -> None:
    registry.answer(
        "GET",
        "/models",
        200,
        [
            {"name": "iris", "production_version": 2, "latest_version": 3},
            {"name": "wine", "production_version": None, "latest_version": 1},
        ],
    )
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert "iris" in result.stdout and "v2" in result.stdout and "v3" in result.stdout
    assert json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)[1]["name"] == "wine"


def test_show_versions_and_one_version(registry: FakeService) -> None:
    registry.answer("GET", "/models/iris", 200, answer(DETAIL))
    registry.answer("GET", "/models/iris/versions/2", 200, answer(VERSION))
    result = runner.invoke(app, ["models", "show", "iris"])
    assert result.exit_code == 0, result.output
    assert "production=v2" in result.stdout and "accuracy=0.970" in result.stdout
    result = runner.invoke(app, ["models", "show", "iris", "--version", "2"])
    assert result.exit_code == 0, result.output
    assert "promoted: improved: better" in result.stdout
    assert "x:float" in result.stdout


def test_promote_sends_the_local_token_and_the_reason(registry: FakeService) -> None:
    local = ensure_local_token(Path(os.environ["MILLRACE_HOME"]))  # as `millrace up` makes it
    registry.answer("POST", "/models/iris/promote", 200, answer(PROMOTED))
    result = runner.invoke(
        app, ["models", "promote", "iris", "2", "--reason", "better on new data", "--actor", "ann"]
    )
    assert result.exit_code == 0, result.output
    assert "promoted iris v2 to production (was v1)" in result.stdout
    request = registry.seen[-1]
    assert request.headers["Authorization"] == f"Bearer {local.token}"
    assert request.body == {
        "version": 2,
        "reason": "better on new data",
        "actor": "ann",
        "alias": "production",
    }


def test_rollback_to_a_version_with_a_token_from_the_environment(
    registry: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILLRACE_REGISTRY_TOKEN", "t0ken")
    rolled_back = PROMOTED.model_copy(update={"kind": "rollback"})
    registry.answer("POST", "/models/iris/rollback", 200, answer(rolled_back))
    result = runner.invoke(app, ["models", "rollback", "iris", "--to", "2", "-r", "v3 is bad"])
    assert result.exit_code == 0, result.output
    assert "rolled back iris v2" in result.stdout
    assert registry.seen[-1].headers["Authorization"] == "Bearer t0ken"
    assert registry.seen[-1].body["to_version"] == 2


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        (401, "a valid bearer token is required", "refused the token"),
        (404, "model 'iris' has no version 9", "404: model 'iris' has no version 9"),
        (409, "version 2 of 'iris' is already production", "409: version 2"),
    ],
)
def test_refusals_are_one_clear_error(
    registry: FakeService, status: int, detail: str, expected: str
) -> None:
    registry.answer("POST", "/models/iris/promote", status, {"detail": detail})
    result = runner.invoke(app, ["models", "promote", "iris", "9", "--reason", "x"])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_promote_needs_a_reason(registry: FakeService) -> None:
    result = runner.invoke(app, ["models", "promote", "iris", "2"])
    assert result.exit_code == 64
    assert registry.seen == []


def test_json_is_the_registry_s_answer_and_an_unknown_model_one_error(
    registry: FakeService,
) -> None:
    registry.answer("GET", "/models/iris/versions/2", 200, answer(VERSION))
    result = runner.invoke(app, ["models", "show", "iris", "--version", "2", "--json"])
    assert json.loads(result.stdout) == answer(VERSION)
    result = runner.invoke(app, ["models", "show", "wine"])
    assert result.exit_code == 1
    assert "the registry has no model 'wine'" in result.stderr
