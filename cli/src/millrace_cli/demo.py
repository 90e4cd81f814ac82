"""The end-to-end demo that ``scripts/run`` performs, on the embedded local stack.

It brings the platform up the way ``millrace up`` does, then declares a dataset, publishes
a good and a broken file and follows each flow as ``millrace publish --wait`` does. Then it
shows the model loop on a synthetic ``sensors`` dataset: a model served, live traffic
drifting, monitoring detecting it, training retraining on newer data, the registry
promoting and the deployment swapping versions without a failed request, and the
retraining flow's trace from Zipkin, and the lineage of one prediction it made.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import numpy as np
import pandas as pd
from millrace_contracts import (
    ColumnSpec,
    DataArrived,
    DatasetDeclaration,
    DatasetSpec,
    DatasetValidated,
    DriftDetected,
    EstimatorSpec,
    Event,
    ModelDeployed,
    ModelPromoted,
    ModelTrained,
    MonitoringPolicy,
    PromotionPolicy,
    RetrainingPolicy,
    TrainingSpec,
    first_of_flow,
)
from millrace_shared.lineage import resolve_lineage
from millrace_shared.messaging import KafkaEventSink
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.watch import EventWatcher
from pydantic_core import to_jsonable_python
from rich.console import Console
from rich.markup import escape
from sklearn.datasets import load_iris

from . import kafka
from .catalog import NAMES, default_ports
from .commands.datasets import publish_declaration, wait_for_declaration
from .commands.lineage import lineage_sources
from .commands.lineage import render as render_lineage
from .commands.publish import deployment_running, show_stage
from .describe import describe, metrics_text
from .endpoints import Endpoints, resolve
from .errors import CliError, ExitCode
from .flow import FLOW_EVENTS, Outcome, follow
from .lifecycle import bring_up, stop_services
from .rest import ServiceClient, registry_client
from .settings import load_settings
from .trace import (
    JaegerClient,
    JaegerError,
    SpanNode,
    TraceClient,
    ZipkinClient,
    build_tree,
    find_flow,
    render_tree,
    walk,
    zipkin_trace_link,
)

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
    return frame.to_csv(index=False).encode()


async def publish_csv(
    store: MinioObjectStore,
    sink: KafkaEventSink,
    uri: str,
    dataset: str,
    frame: pd.DataFrame,
    submitted_by: str | None = None,
) -> DataArrived:
    """Upload ``frame`` as CSV to ``uri``, then announce it (with its sha256) as data.arrived,
    saying who submits it (the demo: the Kafka principal it publishes as)."""
    ref = store.put_bytes(uri, _csv(frame), content_type="text/csv")
    arrived = DataArrived(
        **first_of_flow(producer="cli"),
        dataset=dataset,
        uri=uri,
        sha256=ref.sha256,
        submitted_by=submitted_by,
    )
    await sink.publish(arrived)
    return arrived


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
    # The demo plays a data team: it declares datasets, publishes files, follows its flows.
    endpoints = resolve(principal="data-teams")
    try:
        code = await walkthrough(endpoints)
        if code != 0:
            return code
        return await model_loop(endpoints)
    finally:
        if "console" in result.running:
            url = result.running["console"].url
            console.print(
                f"Console: {url} (datasets, models, serving, monitoring; log in with your "
                "registry token to promote or roll back)"
                if keep_running or "console" not in result.started
                else f"Console: {url} while the platform runs (`millrace up` starts it again)"
            )
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
        arrived = await publish_csv(store, sink, uri, DATASET, frame, settings.kafka_sasl_username)
        console.print(f"3. Publish {uri} ({len(frame)} rows) as data.arrived")
        outcome = await follow(
            watcher, arrived.event_id, show_stage, within=300, deployment_within=deploy_wait
        )
        console.print(f"   → {outcome.summary}")

        bad_uri = f"s3://{settings.bucket_landing}/{DATASET}/broken-{seed}.csv"
        store.put_bytes(bad_uri, _csv(frame.drop(columns=["petal_width"]).head(5)), "text/csv")
        console.print(f"4. Publish a broken file {bad_uri} (a column missing)")
        broken = DataArrived(**first_of_flow(producer="cli"), dataset=DATASET, uri=bad_uri)
        await sink.publish(broken)
        console.print(
            f"   → {(await follow(watcher, broken.event_id, show_stage, within=120)).summary}"
        )

    console.print("5. The registry's view")
    async with registry_client(endpoints) as registry:
        console.print_json(data=to_jsonable_python(await registry.model(DATASET)))
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


# --- The model loop: serve, drift, retrain, promote, swap — on a synthetic dataset -------

LOOP_DATASET = "sensors"
FEATURES = ("x1", "x2", "x3")
WAIT_SECONDS = 240.0
SHIFT = 2.0
UNSHIFTED_REQUESTS = 450  # more than two monitoring windows of 200 before the shift
E = TypeVar("E", bound=Event)


class LoopFailed(Exception):
    """A step of the model loop did not happen in time (the message says which)."""


def sensors_frame(rows: int, *, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """x1 moves by ``shift``; the label's threshold moves with it, so a model of the old
    data misjudges the new one (it must be retrained, not merely re-validated)."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(rng.normal(size=(rows, 3)), columns=list(FEATURES))
    data["x1"] += shift
    data["label"] = np.where(data["x1"] + data["x2"] > shift, "yes", "no")
    return data


def sensors_declaration(dataset: str) -> DatasetDeclaration:
    return DatasetDeclaration(
        dataset=dataset,
        spec=DatasetSpec(
            columns=[
                *(ColumnSpec(name=f, dtype="float") for f in FEATURES),
                ColumnSpec(name="label", dtype="category", allowed=["yes", "no"]),
            ],
            target="label",
        ),
        training=TrainingSpec(
            task="classification",
            target="label",
            estimator=EstimatorSpec(name="logistic_regression"),
            retraining=RetrainingPolicy(on_new_data=False, cooldown_seconds=0, min_new_rows=1),
        ),
        promotion=PromotionPolicy(primary_metric="accuracy", floor=0.7, min_improvement=0.02),
        monitoring=MonitoringPolicy(window_size=200, significance=0.001),
    )


@dataclass
class Traffic:
    """A client sending single-row requests throughout, counting every failure. Its rows'
    x1 is drawn around ``shift`` (moved to show the world changing)."""

    url: str
    seed: int = 7
    shift: float = 0.0
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    versions: set[int] = field(default_factory=set)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def row(self, rng: random.Random) -> dict[str, float]:
        return {"x1": rng.gauss(self.shift, 1), "x2": rng.gauss(0, 1), "x3": rng.gauss(0, 1)}

    async def run(self) -> None:
        rng = random.Random(self.seed)
        async with httpx.AsyncClient(timeout=10) as client:
            while not self.stop.is_set():
                try:
                    response = await client.post(self.url, json=self.row(rng))
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    await asyncio.sleep(0.05)
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code}: {response.text[:200]}")
                    await asyncio.sleep(0.05)
                    continue
                self.ok += 1
                self.versions.add(int(response.json()["version"]))
                await asyncio.sleep(0.002)


def step(number: int, text: str) -> None:
    console.print(f"{number}. [dim]{time.strftime('%H:%M:%S')}[/]  {text}", soft_wrap=True)


def event_line(event: Any) -> None:
    console.print(f"   [dim]{time.strftime('%H:%M:%S')}[/]  {describe(event)}", soft_wrap=True)


async def first(
    watcher: EventWatcher,
    what: str,
    event_type: type[E],
    where: Callable[[E], bool],
    within: float = WAIT_SECONDS,
) -> E:
    """The first matching event; LoopFailed naming ``what`` when none comes in time."""
    try:
        return (await watcher.wait_for(event_type, where, within=within))[0]
    except TimeoutError:
        raise LoopFailed(f"timed out after {within:.0f}s waiting for {what}") from None


async def until(what: str, condition: Callable[[], bool], within: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + within
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise LoopFailed(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


async def loop_dataset(endpoints: Endpoints) -> str:
    """`sensors` the first time; `sensors-<timestamp>` once the registry knows `sensors`,
    so that every run starts from model v1 (the loop's steps count on it)."""
    async with registry_client(endpoints) as registry:
        if await registry.model(LOOP_DATASET) is None:
            return LOOP_DATASET
    return f"{LOOP_DATASET}-{time.strftime('%Y%m%d-%H%M%S')}"


def service_live(endpoints: Endpoints, name: str) -> bool:
    try:
        return httpx.get(endpoints.url(name) + "/health/live", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def model_loop(endpoints: Endpoints) -> int:
    console.rule("[bold]The model loop: serve, drift, retrain, promote, swap")
    missing = [n for n in ("deployment", "monitoring") if not service_live(endpoints, n)]
    if missing:
        console.print(f"[red]the model loop needs {', '.join(missing)} running[/]")
        return int(ExitCode.FAILURE)
    traffic: Traffic | None = None
    client: asyncio.Task[None] | None = None
    try:
        async with (
            # Drift is the platform's business, not a data team's: watched as an operator.
            EventWatcher(
                endpoints.acting_as("operators").settings,
                (*FLOW_EVENTS, DriftDetected),
                start="latest",
            ) as watcher,
            kafka.event_sink(endpoints) as sink,
        ):
            dataset = await loop_dataset(endpoints)
            retrained, traffic, client, prediction_id = await loop_steps(
                endpoints, watcher, sink, dataset
            )
            drifts = watcher.of_type(DriftDetected, lambda e: e.model_name == dataset)
            drift_flow = str(drifts[0].correlation_id) if drifts else None
            traffic.stop.set()
            await client
            failed = len(traffic.failures)
            served = ", ".join(str(v) for v in sorted(traffic.versions))
            step(
                12,
                f"The client stopped: {traffic.ok + failed} requests, {failed} failed, "
                f"versions served: {served}",
            )
            for failure in traffic.failures[:5]:
                console.print(f"   [red]{escape(failure)}[/]")
            await show_trace(endpoints, retrained, drift_flow)
            await show_lineage(endpoints, prediction_id)
            return int(ExitCode.FAILURE) if failed else 0
    except (LoopFailed, CliError) as error:
        message = error.message if isinstance(error, CliError) else str(error)
        console.print(f"[red]the model loop stopped: {escape(message)}[/]")
        return int(ExitCode.TIMEOUT if isinstance(error, LoopFailed) else ExitCode.FAILURE)
    finally:
        if traffic is not None and client is not None and not client.done():
            traffic.stop.set()
            await client


async def loop_steps(
    endpoints: Endpoints, watcher: EventWatcher, sink: KafkaEventSink, dataset: str
) -> tuple[ModelTrained, Traffic, asyncio.Task[None], str]:
    """The loop's steps; returns the retraining, the client, and step 9's prediction id."""
    settings = endpoints.settings
    store = MinioObjectStore.from_settings(settings)
    reused = "" if dataset == LOOP_DATASET else f" (the registry already has '{LOOP_DATASET}')"
    step(
        7,
        f"Declare '{dataset}'{reused}: x1..x3 → label, logistic regression; retrain on drift "
        "only (on_new_data=false), monitor windows of 200 at significance 0.001, promote "
        "when accuracy >= 0.7 and +0.02 over production",
    )
    declared = await publish_declaration(endpoints, sensors_declaration(dataset))
    await asyncio.to_thread(wait_for_declaration, endpoints, dataset, str(declared.event_id), 60.0)

    def deployed(version: int) -> Callable[[ModelDeployed], bool]:
        return lambda e: e.model_name == dataset and e.version == version

    async def publish(name: str, data: pd.DataFrame) -> DataArrived:
        uri = f"s3://{settings.bucket_landing}/{dataset}/{name}"
        return await publish_csv(store, sink, uri, dataset, data, settings.kafka_sasl_username)

    v1 = await publish("v1.csv", sensors_frame(800, seed=1))
    step(8, f"Publish v1 data (800 rows) and follow it to production (flow {v1.event_id})")
    outcome = await follow(
        watcher, v1.event_id, show_stage, within=WAIT_SECONDS, deployment_within=WAIT_SECONDS
    )
    console.print(f"   → {outcome.summary}")
    if not isinstance(outcome.event, ModelPromoted) or outcome.event.model.version != 1:
        raise LoopFailed(f"model v1 of {dataset} was not promoted ({outcome.summary})")
    await first(watcher, f"ModelDeployed {dataset} v1", ModelDeployed, deployed(1), within=10)

    url = f"{endpoints.url('deployment')}/models/{dataset}/predict"
    row = {"x1": 0.5, "x2": 0.8, "x3": -0.2}
    step(9, f"Call the model: POST {url} {row}")
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(url, json=row)
    if answer.status_code != 200:
        raise LoopFailed(f"the deployment answered {answer.status_code}: {answer.text[:200]}")
    body = answer.json()
    prediction_id = str(body.get("prediction_id"))
    console.print(
        f"   → model {body.get('model')} version {body.get('version')}: "
        f"prediction [bold]{body.get('prediction')}[/] (id {prediction_id})"
    )

    traffic = Traffic(url)
    client = asyncio.create_task(traffic.run())
    step(10, "A client sends requests throughout; newer data v2 (1000 rows, x1 + 2.0) arrives")
    v2 = await publish("v2.csv", sensors_frame(1000, seed=2, shift=SHIFT))
    event_line(
        await first(
            watcher,
            "v2 to be validated",
            DatasetValidated,
            lambda e: e.correlation_id == v2.event_id,
        )
    )
    console.print("   → validated — waiting for a reason to retrain (on_new_data=false)")
    await until(
        f"{UNSHIFTED_REQUESTS} requests on unshifted traffic",
        lambda: traffic.ok >= UNSHIFTED_REQUESTS,
    )
    early = watcher.of_type(DriftDetected, lambda e: e.model_name == dataset)
    console.print(
        f"   {traffic.ok} requests so far on the old world: "
        + ("[yellow]drift reported already[/]" if early else "no drift, no retraining")
    )

    traffic.shift = SHIFT
    step(11, f"The client's traffic shifts (x1 drawn around {SHIFT}): the loop runs by itself")
    drift = await first(watcher, "DriftDetected", DriftDetected, lambda e: e.model_name == dataset)
    event_line(drift)
    for feature in drift.features:
        if feature.drifted:
            ks = f", KS={feature.ks_statistic:.3f}" if feature.ks_statistic is not None else ""
            console.print(
                f"      {feature.feature}: PSI={feature.psi:.3f}{ks}, "
                f"p_adjusted={feature.p_adjusted:.2g} ({feature.test})"
            )
    retrained = await first(
        watcher,
        "ModelTrained (trigger drift)",
        ModelTrained,
        lambda e: e.model_name == dataset and e.trigger == "drift",
    )
    event_line(retrained)
    champion = (
        f"; production v1 on the same holdout: {metrics_text(retrained.champion_metrics.values)}"
        if retrained.champion_metrics
        else ""
    )
    console.print(
        f"      trigger {retrained.trigger}, dataset version "
        f"{retrained.dataset_version[:12]} (v2): {metrics_text(retrained.metrics.values)}{champion}"
    )
    promoted = await first(
        watcher,
        f"ModelPromoted {dataset} v2",
        ModelPromoted,
        lambda e: e.model.model_name == dataset and e.model.version == 2,
    )
    event_line(promoted)  # its line ends with the registry's reasons
    event_line(await first(watcher, f"ModelDeployed {dataset} v2", ModelDeployed, deployed(2)))
    await until("the client to be served version 2", lambda: 2 in traffic.versions)
    return retrained, traffic, client, prediction_id


async def show_lineage(endpoints: Endpoints, prediction_id: str, within: float = 30.0) -> None:
    """Step 14: where step 9's prediction came from, as `millrace lineage` prints it (polled:
    monitoring archives a prediction at its next checkpoint, every few seconds)."""
    step(14, f"The lineage of step 9's prediction: `millrace lineage {prediction_id}`")
    sources = lineage_sources(endpoints)
    deadline = time.monotonic() + within
    while True:
        found = await resolve_lineage(prediction_id, sources)
        if found.complete or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    console.print(render_lineage(found))
    for gap in found.unresolved[:1]:
        console.print(
            f"   [yellow]the {gap.link.replace('_', ' ')} is unresolved: {escape(gap.reason)}[/]"
        )


async def show_trace(endpoints: Endpoints, retrained: ModelTrained, drift_flow: str | None) -> None:
    """Step 13: the retraining flow's spans, from Zipkin (polled until they settle).

    The flow is ModelTrained(trigger=drift)'s correlation id, which is the DriftDetected's
    (monitoring emits it caused by the predictions.logged batch that filled the window)."""
    flow = str(retrained.correlation_id)
    same = "the DriftDetected's too" if drift_flow == flow else f"DriftDetected's: {drift_flow}"
    step(
        13, f"Open the trace of the retraining flow: ModelTrained's correlation id {flow} ({same})"
    )
    zipkin, jaeger = endpoints.zipkin_url, endpoints.jaeger_url
    url = zipkin or jaeger
    if not url:
        console.print("   [yellow]no Zipkin in this stack: no trace to show[/]")
        return
    roots = await asyncio.to_thread(settled_spans, url, flow, zipkin=zipkin is not None)
    if not roots:
        console.print(f"   [yellow]{url} holds no span of flow {flow} yet[/]")
        return
    console.print(render_tree(roots, f"correlation id {flow}"))
    for trace_id in sorted({n.trace_id for _, n in walk(roots)}):
        if zipkin:
            console.print(f"   Zipkin: {zipkin_trace_link(zipkin, trace_id)}")
        else:
            console.print(f"   Jaeger: {url.rstrip('/')}/trace/{trace_id}")


def settled_spans(
    url: str, flow: str, within: float = 30.0, *, zipkin: bool = True
) -> list[SpanNode]:
    """The flow's span tree once it includes the deployment's swap and stops growing."""
    deadline = time.monotonic() + within
    roots: list[SpanNode] = []
    seen = -1
    try:
        client: TraceClient = ZipkinClient(url) if zipkin else JaegerClient(url)
        with contextlib.closing(client):
            while True:
                roots = build_tree(find_flow(client, flow))
                spans = [n for _, n in walk(roots)]
                services = " ".join(n.service for n in spans)
                complete = all(s in services for s in ("training", "registry", "deployment"))
                if (complete and len(spans) == seen) or time.monotonic() >= deadline:
                    return roots
                seen = len(spans)
                time.sleep(2.0)
    except JaegerError as error:
        console.print(f"   [yellow]{escape(str(error))}[/]")
        return roots
