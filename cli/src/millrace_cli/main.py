"""The ``millrace`` command."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from .commands import admin, datasets, dlq, events, models, registry
from .commands.demo import demo
from .commands.lineage import lineage
from .commands.platform import down, up
from .commands.predict import predict
from .commands.publish import publish
from .commands.status import status
from .commands.train import train
from .errors import EXIT_CODES_HELP
from .group import MillraceGroup
from .trace import trace

HELP = f"""Millrace: an event-driven MLOps platform. Run it locally and talk to it.

Endpoints come from the environment when set (MILLRACE_KAFKA_BOOTSTRAP, MILLRACE_S3_*,
MILLRACE_INGESTION_URL, MILLRACE_REGISTRY_URL, MILLRACE_DEPLOYMENT_URL,
MILLRACE_MONITORING_URL, MILLRACE_ZIPKIN_URL), else from what `millrace up` started
(.millrace/stack.json and .millrace/services.json).

Exit codes:

\b
{EXIT_CODES_HELP}
"""

app = typer.Typer(
    cls=MillraceGroup,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
app.command()(up)
app.command()(down)
app.command()(status)
app.command()(publish)
app.command()(train)
app.command()(predict)
app.command()(demo)
app.command()(trace)
app.command()(lineage)
app.add_typer(datasets.app, name="datasets")
app.add_typer(models.app, name="models")
app.add_typer(events.app, name="events")
app.add_typer(dlq.app, name="dlq")
app.add_typer(registry.app, name="registry")
app.add_typer(admin.app, name="admin")


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the libraries' logs (Kafka client...).")
    ] = False,
) -> None:
    """Millrace command-line interface."""
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    else:
        # aiokafka logs every failed connection and asyncio every unclosed client; the CLI
        # says what went wrong in one line instead.
        for noisy in ("aiokafka", "asyncio", "faststream", "millrace"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
