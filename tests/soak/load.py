"""The soak's load: new files for several datasets, and prediction requests.

What the prediction traffic counts as a failed request (README "Chaos soak"): a non-2xx
answer, a connection error or a timeout for a dataset that the *same deployment process*
had already answered with 2xx, from a request that started and ended while that process was
not being killed. Requests before a process first serves a dataset (the model is still
loading after a start) and requests a kill cuts off are "excused", counted apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field

import httpx
from millrace_contracts import DataArrived, first_of_flow
from millrace_shared.messaging import EventSink
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings

from tests.e2e.flows import classification_frame


@dataclass
class ArrivalLoad:
    """A new file every ``interval`` seconds, round robin over ``datasets``; one in
    ``bad_every`` lacks a column, so the run has rejections too."""

    store: MinioObjectStore
    sink: EventSink
    settings: MillraceSettings
    datasets: list[str]
    interval: float
    bad_every: int = 6
    published: int = 0
    failed: int = 0
    """Uploads or publishes that raised (S3 or a broker was down): not announced, not counted."""

    async def run(self, stop: asyncio.Event) -> None:
        for n in itertools.count(1):
            dataset = self.datasets[n % len(self.datasets)]
            frame = classification_frame(300, seed=10_000 + n)
            if n % self.bad_every == 0:
                frame = frame.drop(columns=["x2"])
            uri = f"s3://{self.settings.bucket_landing}/{dataset}/soak-{n}.csv"
            try:
                async with asyncio.timeout(30):
                    await asyncio.to_thread(
                        self.store.put_bytes, uri, frame.to_csv(index=False).encode(), "text/csv"
                    )
                    await self.sink.publish(
                        DataArrived(**first_of_flow(producer="soak"), dataset=dataset, uri=uri)
                    )
                self.published += 1
            except Exception:
                self.failed += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await stop.wait()
            if stop.is_set():
                return


@dataclass
class Deployment:
    """Which deployment process runs: the chaos loop bumps ``generation`` before a kill."""

    url: str
    generation: int = 0
    down: bool = False


@dataclass
class PredictionLoad:
    deployment: Deployment
    datasets: list[str]
    ok: int = 0
    failed: int = 0
    excused: int = 0
    failures: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        rows = classification_frame(5, seed=7).drop(columns=["label"]).to_dict(orient="records")
        served: set[tuple[int, str]] = set()  # (generation, dataset) answered 2xx
        async with httpx.AsyncClient(timeout=5) as client:
            for dataset in itertools.cycle(self.datasets):
                if stop.is_set():
                    return
                generation, down = self.deployment.generation, self.deployment.down
                try:
                    answer = await client.post(
                        f"{self.deployment.url}/models/{dataset}/predict", json={"rows": rows}
                    )
                    error = None if answer.is_success else f"HTTP {answer.status_code}"
                except httpx.HTTPError as failure:
                    error = f"{type(failure).__name__}: {failure}"
                same = not down and not self.deployment.down
                same = same and generation == self.deployment.generation
                if error is None:
                    self.ok += 1
                    if same:
                        served.add((generation, dataset))
                elif same and (generation, dataset) in served:
                    self.failed += 1
                    if len(self.failures) < 20:
                        self.failures.append(f"{dataset}: {error}")
                else:
                    self.excused += 1
                await asyncio.sleep(0.02)


@dataclass
class DroppedLogs:
    """The deployment's own count of prediction logs dropped by design (``/stats``), summed
    over its processes: a kill -9 loses at most the last poll's increase."""

    deployment: Deployment
    by_generation: dict[int, int] = field(default_factory=dict)

    async def poll(self, client: httpx.AsyncClient) -> None:
        generation = self.deployment.generation
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            answer = await client.get(f"{self.deployment.url}/stats")
            if answer.is_success and generation == self.deployment.generation:
                self.by_generation[generation] = int(answer.json()["dropped"])

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            while not stop.is_set():
                await self.poll(client)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2):
                        await stop.wait()
            await self.poll(client)

    @property
    def total(self) -> int:
        return sum(self.by_generation.values())
