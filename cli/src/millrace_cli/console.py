"""Where output goes: results on stdout, progress and errors on stderr."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Plain JSON on stdout, for scripts (no colours, no wrapping)."""
    typer.echo(json.dumps(data, indent=2, default=str))


def print_json_line(data: Any) -> None:
    typer.echo(json.dumps(data, default=str))
