"""Steps the e2e tests take as a data team would: upload, declare, announce, wait."""

from __future__ import annotations

import asyncio
import inspect
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import httpx
import numpy as np
import pandas as pd
from millrace_contracts import (
    DataArrived,
    DatasetDeclaration,
    DatasetDeclared,
    Event,
    ModelPromoted,
    ModelRejected,
    first_of_flow,
)
from millrace_shared.kafka import topic_lags
from millrace_shared.messaging import EventSink
from millrace_shared.objectstore import MinioObjectStore, ObjectStore
from millrace_shared.settings import MillraceSettings
from millrace_shared.watch import EventWatcher

if TYPE_CHECKING:
    from .conftest import Platform

E = TypeVar("E", bound=Event)


def classification_frame(rows: int, *, seed: int, noise: float = 0.0) -> pd.DataFrame:
    """Four numeric features and one categorical; the label depends on both, plus label noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    color = rng.choice(["red", "green", "blue"], size=rows)
    score = x[:, 0] + 0.8 * x[:, 1] - 0.5 * x[:, 2] + np.where(color == "red", 0.7, 0.0)
    label = (score > 0).astype(int)
    flip = rng.random(rows) < noise
    label[flip] = 1 - label[flip]
    frame = pd.DataFrame(x, columns=["x1", "x2", "x3", "x4"])
    frame["color"] = color
    frame["label"] = np.where(label == 1, "yes", "no")
    return frame


def upload_csv(
    store: ObjectStore, settings: MillraceSettings, dataset: str, name: str, frame: pd.DataFrame
) -> str:
    uri = f"s3://{settings.bucket_landing}/{dataset}/{name}"
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    store.put_bytes(uri, buffer.getvalue().encode(), content_type="text/csv")
    return uri


def upload_raw(
    store: ObjectStore, settings: MillraceSettings, dataset: str, name: str, data: bytes
) -> str:
    uri = f"s3://{settings.bucket_landing}/{dataset}/{name}"
    store.put_bytes(uri, data)
    return uri


async def declare(sink: EventSink, ingestion_url: str, declaration: DatasetDeclaration) -> None:
    """Publish the declaration and wait until ingestion has taken it in."""
    event = DatasetDeclared(**first_of_flow(producer="e2e"), declaration=declaration)
    url = f"{ingestion_url}/datasets/{declaration.dataset}"
    async with httpx.AsyncClient(timeout=5) as client:
        before = await client.get(url)
        known = before.json().get("declaration_version", 0) if before.status_code == 200 else 0
        await sink.publish(event)
        async with asyncio.timeout(60):
            while True:
                response = await client.get(url)
                if (
                    response.status_code == 200
                    and response.json().get("declaration_version", 0) > known
                ):
                    return
                await asyncio.sleep(0.2)


async def arrive(sink: EventSink, dataset: str, uri: str, **extra: object) -> DataArrived:
    event = DataArrived(**first_of_flow(producer="e2e"), dataset=dataset, uri=uri, **extra)
    await sink.publish(event)
    return event


async def wait_consumed(
    settings: MillraceSettings, group: str, topic: str, within: float = 120
) -> None:
    """Wait until ``group`` has committed past everything on ``topic``.

    A barrier that needs no sleep: once it holds, the service has handled every record that
    existed, so the absence of an effect (no second model version) is a real absence.
    """
    async with asyncio.timeout(within):
        while True:
            [lag] = await topic_lags(settings, [topic])
            if lag.end_offset == 0 or lag.lag.get(group) == 0:
                return
            await asyncio.sleep(0.2)


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], *, within: float = 120
) -> None:
    """Poll ``check`` until it holds, failing after ``within`` seconds: for state seen over HTTP."""
    async with asyncio.timeout(within):
        while True:
            result = check()
            if await result if inspect.isawaitable(result) else result:
                return
            await asyncio.sleep(0.1)


@dataclass
class Flow:
    """One test's own dataset on the running platform, and what a data team does with it."""

    platform: Platform
    watcher: EventWatcher
    producer: EventSink
    store: MinioObjectStore
    settings: MillraceSettings
    dataset: str
    within: float = 180
    """How long one step of a flow may take."""

    async def declare(self, declaration: DatasetDeclaration) -> None:
        await declare(self.producer, self.platform["ingestion"].url, declaration)

    async def arrive(
        self, name: str, frame: pd.DataFrame, *, submitted_by: str | None = None
    ) -> DataArrived:
        """Upload ``frame`` as the dataset's file ``name`` and announce it (by whom, if said)."""
        uri = upload_csv(self.store, self.settings, self.dataset, name, frame)
        extra = {} if submitted_by is None else {"submitted_by": submitted_by}
        return await arrive(self.producer, self.dataset, uri, **extra)

    async def first(self, event_type: type[E], arrival: DataArrived) -> E:
        """The first ``event_type`` of the flow ``arrival`` started."""
        found = await self.watcher.wait_for(
            event_type, lambda e: e.correlation_id == arrival.event_id, within=self.within
        )
        return found[0]

    async def decision(self, arrival: DataArrived) -> ModelPromoted | ModelRejected:
        """The registry's decision on the model trained in the flow ``arrival`` started."""
        event = await self.watcher.wait_for_any(
            {
                ModelPromoted: lambda e: e.correlation_id == arrival.event_id,
                ModelRejected: lambda e: e.correlation_id == arrival.event_id,
            },
            within=self.within,
        )
        assert isinstance(event, ModelPromoted | ModelRejected)
        return event
