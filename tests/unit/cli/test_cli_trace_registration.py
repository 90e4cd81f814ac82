"""``millrace trace`` is one of the CLI's commands, with its own help."""

from __future__ import annotations

from millrace_cli.main import app
from typer.testing import CliRunner


def test_the_trace_command_is_registered() -> None:
    result = CliRunner().invoke(app, ["trace", "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.stdout
    assert "--zipkin-url" in result.stdout
    assert "--jaeger-url" in result.stdout
