"""The end-to-end demo that ``scripts/run`` performs, on the embedded local stack.

It brings the platform up the way ``millrace up`` does, then declares a dataset, publishes
a good and a broken file and follows each flow as ``millrace publish --wait`` does.
"""

from __future__ import annotations

import asyncio
import io
import time

import pandas as pd
from millrace_contracts import (
    DataArrived,
    DatasetDeclaration,
    EstimatorSpec,
    ModelPromoted,
    PromotionPolicy,
    TrainingSpec,
)
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.watch import EventWatcher
from rich.console import Console
from sklearn.datasets import load_iris

from . import kafka
from .catalog import NAMES, default_ports
from .commands.datasets import publish_declaration, wait_for_declaration
from .commands.publish import deployment_running, show_stage
from .endpoints import Endpoints, resolve
from .errors import CliError, ExitCode
from .flow import FLOW_EVENTS, Outcome, follow
from .lifecycle import bring_up, stop_services
from .rest import ServiceClient
from .settings import load_settings

console = Console()
REQUIRED = ("ingestion", "training", "registry")
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


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


async def run_demo(*, keep_running: bool) -> int:
    console.rule("[bold]Millrace demo")
    console.print("1. Platform: local stack (Kafka 4.1 KRaft, S3) and services, as `millrace up`")
    ports = default_ports(load_settings().services_base_port)
    result = await bring_up(list(NAMES), ports, lambda line: console.print(f"   {line}"))
    missing = [n for n in REQUIRED if n not in result.running]
    if missing:
        console.print(f"[red]the demo needs {', '.join(missing)}; see the messages above[/]")
        stop_services(resolve().home, result.started)
        return int(ExitCode.FAILURE)
    endpoints = resolve()
    try:
        return await walkthrough(endpoints)
    finally:
        if keep_running:
            console.print("The platform keeps running: `millrace status`, `millrace down`.")
        else:
            stopped = stop_services(endpoints.home, result.started)
            if stopped:
                console.print(f"Stopped what the demo started ({', '.join(stopped)}).")
            console.print("The stack keeps running: `millrace down` stops it.")


async def walkthrough(endpoints: Endpoints) -> int:
    settings = endpoints.settings
    store = MinioObjectStore.from_settings(settings)
    store.ensure_buckets(settings.buckets)
    deploy_wait = 60.0 if deployment_running(endpoints) else 0.0
    async with (
        EventWatcher(settings, FLOW_EVENTS, start="latest") as watcher,
        kafka.event_sink(endpoints) as sink,
    ):
        console.print(
            f"2. Declare dataset '{DATASET}': random forest, promote when accuracy >= 0.8"
        )
        declared = await publish_declaration(endpoints, declaration())
        await asyncio.to_thread(
            wait_for_declaration, endpoints, DATASET, str(declared.event_id), 60.0
        )

        seed = int(time.time())
        frame = iris_sample(seed)
        uri = f"s3://{settings.bucket_landing}/{DATASET}/sample-{seed}.csv"
        ref = store.put_bytes(uri, _csv(frame), content_type="text/csv")
        console.print(f"3. Publish {uri} ({len(frame)} rows) as data.arrived")
        arrived = DataArrived.first_of_flow(
            producer="cli", dataset=DATASET, uri=uri, sha256=ref.sha256
        )
        await sink.publish(arrived)
        outcome = await follow(
            watcher, arrived.event_id, show_stage, within=300, deployment_within=deploy_wait
        )
        console.print(f"   → {outcome.summary}")

        bad_uri = f"s3://{settings.bucket_landing}/{DATASET}/broken-{seed}.csv"
        store.put_bytes(bad_uri, _csv(frame.drop(columns=["petal_width"]).head(5)), "text/csv")
        console.print(f"4. Publish a broken file {bad_uri} (a column missing)")
        broken = DataArrived.first_of_flow(producer="cli", dataset=DATASET, uri=bad_uri)
        await sink.publish(broken)
        console.print(
            f"   → {(await follow(watcher, broken.event_id, show_stage, within=120)).summary}"
        )

    console.print("5. The registry's view")
    with ServiceClient(endpoints, "registry") as registry:
        console.print_json(data=registry.get(f"/models/{DATASET}"))
    if deploy_wait and isinstance(outcome.event, ModelPromoted):
        predict_some(endpoints, frame)
    return outcome_code(outcome)


def predict_some(endpoints: Endpoints, frame: pd.DataFrame) -> None:
    """Ask the deployment service for a few predictions (shown, never fatal)."""
    rows = frame.drop(columns=["species"]).head(3).to_dict(orient="records")
    console.print("6. Predictions from the deployment service")
    try:
        with ServiceClient(endpoints, "deployment") as deployment:
            answer = deployment.post(f"/models/{DATASET}/predict", {"rows": rows})
        for row, prediction in zip(rows, answer.get("predictions", []), strict=False):
            value = prediction.get("prediction") if isinstance(prediction, dict) else prediction
            features = ", ".join(f"{k}={v}" for k, v in row.items())
            console.print(f"   {features} → [bold]{value}[/] (v{answer.get('version')})")
    except CliError as error:
        console.print(f"   [yellow]no predictions: {error.message}[/]")


def outcome_code(outcome: Outcome) -> int:
    """0 when the flow reached a registry decision (either way), as ``scripts/run`` expects."""
    return 0 if outcome.code in (ExitCode.OK, ExitCode.MODEL_REJECTED) else 1
