"""``publish``: put a file in the landing bucket and announce it (DataArrived)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from millrace_contracts import DataArrived, Event, first_of_flow, landed_arrival_id
from millrace_shared.watch import EventWatcher
from rich.markup import escape

from .. import kafka
from ..console import err, out
from ..describe import describe
from ..endpoints import Endpoints, resolve
from ..errors import ExitCode
from ..flow import FLOW_EVENTS, Outcome, follow
from ..inputs import check_name
from ..kafka import UNREACHABLE_ERRORS
from . import DeploymentTimeout, Timeout, Wait


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def landing_key(dataset: str, path: Path, now: datetime | None = None) -> str:
    """``<dataset>/<UTC time>-<file name>``: a new object for every publish."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{dataset}/{stamp}-{path.name}"


def show_stage(event: Event) -> None:
    out.print(f"  {time.strftime('%H:%M:%S')}  {describe(event)}", soft_wrap=True)


def deployment_running(endpoints: Endpoints) -> bool:
    try:
        return httpx.get(endpoints.url("deployment") + "/health/live", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def publish_file(
    endpoints: Endpoints,
    path: Path,
    dataset: str,
    key: str,
    file_format: FileFormat | None,
    submitted_by: str | None,
) -> DataArrived:
    from ..upload import progress_bar, upload  # the minio client is slow to import

    with progress_bar() as progress:
        uploaded = await asyncio.to_thread(upload, endpoints, path, key, progress=progress)
    ref = uploaded.ref
    err.print(f"uploaded {escape(ref.uri)} ({ref.size_bytes} bytes, sha256 {ref.sha256[:16]}…)")
    arrived = DataArrived(
        # The id the landing watcher gives this object too: one arrival, one flow, whoever
        # announces it first.
        **first_of_flow(
            producer="cli",
            event_id=landed_arrival_id(uploaded.bucket, uploaded.key, uploaded.etag),
        ),
        dataset=dataset,
        uri=ref.uri,
        sha256=ref.sha256,
        format=file_format.value if file_format else None,
        # Unsaid, the submitter is the Kafka principal the event is published as: the
        # identity the broker authenticated, which the lineage then names.
        submitted_by=submitted_by or endpoints.settings.kafka_sasl_username,
    )
    async with kafka.event_sink(endpoints) as sink:
        await sink.publish(arrived)
    err.print(f"published data.arrived for [bold]{escape(dataset)}[/] (flow {arrived.event_id})")
    return arrived


async def publish_and_follow(
    endpoints: Endpoints,
    publish: Callable[[], Awaitable[Event]],
    *,
    within: float,
    deployment_within: float,
) -> Outcome:
    """Watch first (from now), then publish, so no stage of the flow can be missed."""
    watcher = EventWatcher(endpoints.settings, FLOW_EVENTS, start="latest")
    try:
        try:
            await watcher.start()
        except UNREACHABLE_ERRORS as error:
            raise endpoints.unreachable("kafka") from error
        first = await publish()
        return await follow(
            watcher,
            first.correlation_id,
            show_stage,
            within=within,
            deployment_within=deployment_within,
        )
    finally:
        await watcher.stop()


def start_flow(
    endpoints: Endpoints,
    publish: Callable[[], Coroutine[Any, Any, Event]],
    *,
    wait: bool,
    timeout: float,
    deployment_timeout: float,
) -> None:
    """Publish a flow's first event; with ``wait``, follow the flow and exit with its code."""
    if not wait:
        asyncio.run(publish())
        return
    deploy_wait = deployment_timeout if deployment_running(endpoints) else 0.0
    outcome = asyncio.run(
        publish_and_follow(endpoints, publish, within=timeout, deployment_within=deploy_wait)
    )
    style = "green" if outcome.code == ExitCode.OK else "red"
    err.print(f"[{style}]{escape(outcome.summary)}[/] (exit code {int(outcome.code)})")
    raise typer.Exit(outcome.code)


def publish(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="A CSV or Parquet file.", exists=True, dir_okay=False),
    ],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset it belongs to.")],
    key: Annotated[
        str | None,
        typer.Option(help="Object key in the landing bucket; default DATASET/TIME-FILENAME."),
    ] = None,
    file_format: Annotated[
        FileFormat | None,
        typer.Option("--format", help="File format; default: from the file's suffix."),
    ] = None,
    submitted_by: Annotated[
        str | None,
        typer.Option(
            help="Who publishes it (recorded in the event, named by `millrace lineage`); "
            "default: the Kafka principal the command publishes as."
        ),
    ] = None,
    wait: Wait = False,
    timeout: Timeout = 600.0,
    deployment_timeout: DeploymentTimeout = 60.0,
) -> None:
    """Upload FILE to the landing bucket (with a progress bar and its sha256), then publish
    DataArrived so ingestion validates it.

    With --wait, follows the flow: validated or rejected (every reason), trained (metrics),
    promoted or not promoted (reasons), deployed. Exit code 0 when promoted (or nothing is
    declared to train), 2 when the dataset is rejected, 3 when the model is not promoted,
    4 on timeout.
    """
    check_name(dataset)
    endpoints = resolve(principal="data-teams")
    object_key = key or landing_key(dataset, file)

    async def do_publish() -> DataArrived:
        return await publish_file(endpoints, file, dataset, object_key, file_format, submitted_by)

    start_flow(
        endpoints, do_publish, wait=wait, timeout=timeout, deployment_timeout=deployment_timeout
    )
