"""The ``millrace`` command."""

from __future__ import annotations

import asyncio

import typer

from .demo import run_demo

app = typer.Typer(
    help="Millrace: an event-driven MLOps platform. Run it locally and talk to it.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def demo(
    keep_running: bool = typer.Option(
        False,
        "--keep-running",
        help="Leave the services running after the demo (Ctrl-C stops them).",
    ),
) -> None:
    """Start the local stack and the services, then carry a dataset to a promoted model.

    Declares the `iris` dataset, publishes a file, follows the flow stage by stage
    (validated, trained, promoted or rejected), shows a bad file being rejected with its
    reasons, and prints the registry's view. Re-running it trains on a new sample.
    """
    raise typer.Exit(asyncio.run(run_demo(keep_running=keep_running)))


@app.callback()
def main() -> None:
    """Millrace command-line interface."""
