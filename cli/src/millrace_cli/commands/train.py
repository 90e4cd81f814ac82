"""``train``: ask training to (re)train a dataset's model (TrainingRequested)."""

from __future__ import annotations

from typing import Annotated

import typer
from millrace_contracts import TrainingRequested, first_of_flow
from pydantic import ValidationError
from rich.markup import escape

from .. import kafka
from ..console import err
from ..endpoints import resolve
from ..errors import CliError, ExitCode
from ..inputs import check_name
from . import DeploymentTimeout, Timeout, Wait
from .publish import start_flow


def train(
    dataset: Annotated[
        str, typer.Argument(metavar="DATASET", help="Dataset whose model to train.")
    ],
    version: Annotated[
        str | None,
        typer.Option(
            help="Dataset version (sha256, as `datasets show` lists); the newest if unset."
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Why, in words (recorded in the event).")
    ] = None,
    wait: Wait = False,
    timeout: Timeout = 600.0,
    deployment_timeout: DeploymentTimeout = 60.0,
) -> None:
    """Publish TrainingRequested: training fits DATASET's declared model on a validated
    version, and the registry decides on it as on any other.

    Training skips a dataset without a validated version or a training spec (its log says
    which); --wait then times out. With --wait, follows the flow: trained (metrics), promoted
    or not promoted (reasons), deployed. Exit code 0 when promoted, 3 when not, 4 on timeout.
    """
    try:
        request = TrainingRequested(
            **first_of_flow(producer="cli"),
            dataset=check_name(dataset),
            dataset_version=version,
            note=reason,
        )
    except ValidationError as error:
        raise CliError(
            f"{version!r} is not a dataset version (64 hex digits)", ExitCode.USAGE
        ) from error
    endpoints = resolve(principal="data-teams")

    async def publish() -> TrainingRequested:
        async with kafka.event_sink(endpoints) as sink:
            await sink.publish(request)
        err.print(f"requested training of [bold]{escape(dataset)}[/] (flow {request.event_id})")
        return request

    start_flow(
        endpoints, publish, wait=wait, timeout=timeout, deployment_timeout=deployment_timeout
    )
