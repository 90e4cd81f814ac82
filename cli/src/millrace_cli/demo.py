"""The end-to-end demo that ``scripts/run`` performs, on the embedded local stack."""

from __future__ import annotations

import asyncio
import io
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
from millrace_contracts import (
    TOPICS,
    DataArrived,
    DatasetDeclaration,
    DatasetDeclared,
    DatasetRejected,
    DatasetValidated,
    EstimatorSpec,
    Event,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
    PromotionPolicy,
    TrainingSpec,
)
from millrace_infra import StackConfig, start
from millrace_infra.services import ServiceProcess
from millrace_shared.messaging import KafkaEventSink, ensure_topics, make_broker
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings
from millrace_shared.watch import EventWatcher
from rich.console import Console
from sklearn.datasets import load_iris

console = Console()
SERVICES = ("ingestion", "training", "registry")
DATASET = "iris"


def iris_sample(seed: int) -> pd.DataFrame:
    frame: pd.DataFrame = load_iris(as_frame=True).frame
    frame["species"] = frame["target"].map(dict(enumerate(load_iris().target_names)))
    frame = frame.drop(columns=["target"])
    frame.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in frame.columns]
    return frame.sample(frac=0.9, random_state=seed).reset_index(drop=True)


def declaration() -> DatasetDeclaration:
    return DatasetDeclaration(
        dataset=DATASET,
        training=TrainingSpec(
            task="classification",
            target="species",
            estimator=EstimatorSpec(name="random_forest", params={"n_estimators": 100}),
        ),
        promotion=PromotionPolicy(primary_metric="accuracy", floor=0.8, min_improvement=0.0),
    )


def describe(event: Event) -> str:
    if isinstance(event, DatasetValidated):
        fresh = "new version" if event.new_version else "same content as an existing version"
        return (
            f"[green]validated[/] {event.rows} rows, version {event.dataset_version[:12]} ({fresh})"
        )
    if isinstance(event, DatasetRejected):
        reasons = "; ".join(f"{r.code}: {r.message}" for r in event.reasons)
        return f"[red]rejected[/] {reasons}"
    if isinstance(event, ModelTrained):
        metrics = ", ".join(f"{k}={v:.3f}" for k, v in event.metrics.values.items())
        return f"[cyan]trained[/] {event.estimator} in {event.training_seconds:.1f}s: {metrics}"
    if isinstance(event, ModelPromoted):
        return f"[bold green]promoted[/] {event.model.model_name} v{event.model.version} to {event.alias}"
    if isinstance(event, ModelRejected):
        reasons = "; ".join(r.message for r in event.reasons)
        return f"[yellow]not promoted[/] v{event.version}: {reasons}"
    return type(event).__name__


async def follow(watcher: EventWatcher, flow: DataArrived, within: float = 300) -> Event:
    """Print each stage of one flow as it happens, until its final event."""
    shown: set[object] = set()
    deadline = time.monotonic() + within
    final = (DatasetRejected, ModelPromoted, ModelRejected)
    while time.monotonic() < deadline:
        for event in watcher.events:
            if event.correlation_id != flow.event_id or event.event_id in shown:
                continue
            shown.add(event.event_id)
            console.print(f"   {time.strftime('%H:%M:%S')}  {describe(event)}")
            if isinstance(event, final):
                return event
            if isinstance(event, DatasetValidated) and not event.new_version:
                return event
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the flow {flow.event_id} did not finish within {within}s")


async def run_demo(*, keep_running: bool) -> int:
    home = Path(".millrace")
    console.rule("[bold]Millrace demo")
    console.print("1. Local stack: Kafka 4.1 (KRaft) and an S3 server")
    stack = start(StackConfig.from_env())
    console.print(f"   kafka {stack.kafka_bootstrap}   s3 http://{stack.s3_endpoint}")
    settings = MillraceSettings(
        service_name="cli",
        kafka_bootstrap=stack.kafka_bootstrap,
        s3_endpoint=stack.s3_endpoint,
        s3_access_key=stack.s3_access_key,
        s3_secret_key=stack.s3_secret_key,
    )
    await ensure_topics(settings)
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    services = {name: ServiceProcess(name, dict(stack.env()), logs) for name in SERVICES}
    console.print(f"2. Services {', '.join(SERVICES)} (logs in {logs}/)")
    try:
        for service in services.values():
            service.start()
        for name, service in services.items():
            await asyncio.to_thread(service.wait_ready)
            console.print(f"   {name:<10} ready at {service.url}")
        return await walkthrough(settings, services, keep_running)
    finally:
        for service in services.values():
            service.stop()
        console.print(
            "Services stopped. The stack keeps running: `.venv/bin/millrace-stack down` stops it."
        )


async def walkthrough(
    settings: MillraceSettings, services: dict[str, ServiceProcess], keep_running: bool
) -> int:
    store = MinioObjectStore.from_settings(settings)
    store.ensure_buckets(settings.buckets)
    broker, _ = make_broker(settings)
    await broker.start()
    sink = KafkaEventSink(broker)
    try:
        async with EventWatcher(settings, [t.event for t in TOPICS], start="latest") as watcher:
            console.print(
                f"3. Declare dataset '{DATASET}': random forest, promote when accuracy >= 0.8"
            )
            declared = DatasetDeclared.first_of_flow(producer="cli", declaration=declaration())
            await sink.publish(declared)
            await wait_declared(services["ingestion"].url, str(declared.event_id))

            seed = int(time.time())
            frame = iris_sample(seed)
            uri = f"s3://{settings.bucket_landing}/{DATASET}/sample-{seed}.csv"
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False)
            ref = store.put_bytes(uri, buffer.getvalue().encode(), content_type="text/csv")
            console.print(f"4. Publish {uri} ({len(frame)} rows) as data.arrived")
            arrived = DataArrived.first_of_flow(
                producer="cli", dataset=DATASET, uri=uri, sha256=ref.sha256
            )
            await sink.publish(arrived)
            outcome = await follow(watcher, arrived)

            bad = frame.drop(columns=["petal_width"]).head(5)
            bad_uri = f"s3://{settings.bucket_landing}/{DATASET}/broken-{seed}.csv"
            buffer = io.StringIO()
            bad.to_csv(buffer, index=False)
            store.put_bytes(bad_uri, buffer.getvalue().encode(), content_type="text/csv")
            console.print(f"5. Publish a broken file {bad_uri} (a column missing)")
            broken = DataArrived.first_of_flow(producer="cli", dataset=DATASET, uri=bad_uri)
            await sink.publish(broken)
            await follow(watcher, broken)

            console.print("6. The registry's view")
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(f"{services['registry'].url}/models/{DATASET}")
            console.print_json(response.text)
            if keep_running:
                console.print("Services keep running; Ctrl-C to stop.")
                await asyncio.Event().wait()
            return 0 if isinstance(outcome, ModelPromoted | ModelRejected | DatasetValidated) else 1
    finally:
        await broker.stop()


async def wait_declared(ingestion_url: str, event_id: str) -> None:
    """Until ingestion has taken in this declaration, so the data that follows meets it."""
    async with httpx.AsyncClient(timeout=5) as client, asyncio.timeout(60):
        while True:
            response = await client.get(f"{ingestion_url}/datasets/{DATASET}")
            if response.status_code == 200 and response.json().get("event_id") == event_id:
                return
            await asyncio.sleep(0.2)


if __name__ == "__main__":
    sys.exit(asyncio.run(run_demo(keep_running=False)))
