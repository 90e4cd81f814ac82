"""``millrace trace`` comes from trace.py when it is there; the CLI works without it."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from millrace_cli.main import app, register_trace
from typer.testing import CliRunner

runner = CliRunner()


def commands(target: typer.Typer) -> list[str | None]:
    return [c.name for c in target.registered_commands]


def test_the_trace_command_is_registered_when_trace_py_exists() -> None:
    if not (Path(__file__).parents[3] / "cli/src/millrace_cli/trace.py").is_file():
        pytest.skip("trace.py is not written yet")
    assert "trace" in commands(app)


def test_a_missing_module_adds_nothing() -> None:
    target = typer.Typer()
    register_trace(target, "millrace_cli.no_such_module")
    assert commands(target) == []


def test_a_module_that_fails_to_import_adds_a_trace_that_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_trace.py").write_text("import no_such_dependency_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    target = typer.Typer()
    register_trace(target, "broken_trace")

    @target.command()
    def other() -> None:
        """Another command, so trace stays a subcommand."""

    result = runner.invoke(target, ["trace"])
    assert result.exit_code == 1
    assert "no_such_dependency_anywhere" in result.stderr


def test_a_module_with_its_trace_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "good_trace.py").write_text(
        "def trace(flow: str) -> None:\n    print('tracing', flow)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    target = typer.Typer()
    register_trace(target, "good_trace")

    @target.command()
    def other() -> None:
        """Another command."""

    result = runner.invoke(target, ["trace", "abc"])
    assert result.exit_code == 0
    assert "tracing abc" in result.stdout
