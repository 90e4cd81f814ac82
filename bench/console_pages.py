"""Console page speed with 50 models and 1,000 versions, seeded through the real registry.

``python -m bench.console_pages [--models 50] [--versions 20] [--rounds 5]``

A local stack (Kafka, S3) in a temp home; registry, ingestion, training and monitoring as
processes, each as its own principal; 50 x 20 ``model.trained`` events published to the
broker, which the registry registers (and its policy promotes or rejects) as it would any
training's; then the console as a process over them. Each page is fetched ``rounds`` times
after one warm-up and its median and slowest times are printed. No deployment replica runs
(50 fake artifacts would not load): the serving page shows it unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from millrace_contracts import (
    ArtifactRef,
    FeatureSignature,
    Metrics,
    ModelTrained,
    PromotionPolicy,
    first_of_flow,
)
from millrace_infra.launcher import Process
from millrace_infra.ports import free_port
from millrace_shared.messaging import KafkaEventSink, ensure_topics, make_broker

from .harness import Stack, millrace_service

DATASET_VERSION = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _ref(key: str) -> ArtifactRef:
    return ArtifactRef(uri=f"s3://millrace-models/{key}", sha256="b" * 64, size_bytes=100)


def trained(model: str, version: int) -> ModelTrained:
    """Version ``version`` of ``model``: accuracy rises on every other version, so the
    registry promotes some and rejects the others (both kinds of audit entry)."""
    accuracy = 0.8 + 0.009 * version if version % 2 else 0.8 + 0.009 * (version - 1) - 0.005
    holdout = f"{DATASET_VERSION[:12]}:seed=42:frac=0.2"
    return ModelTrained(
        **first_of_flow(
            producer="training",
            event_id=uuid.uuid5(uuid.NAMESPACE_OID, f"bench-console/{model}/{version}"),
        ),
        model_name=model,
        run_id=f"{model}-run-{version:03d}",
        dataset="bench",
        dataset_version=DATASET_VERSION,
        task="classification",
        estimator="random_forest",
        params={"n_estimators": 100},
        artifact=_ref(f"{model}/{version}/model.skops"),
        model_card=_ref(f"{model}/{version}/card.json"),
        reference_profile=_ref(f"{model}/{version}/profile.json"),
        signature=[FeatureSignature(name=f"f{i}", kind="numeric", dtype="float") for i in range(8)],
        target="label",
        metrics=Metrics(
            values={"accuracy": accuracy, "f1_macro": accuracy - 0.01},
            holdout_id=holdout,
            holdout_rows=200,
        ),
        training_seconds=1.0,
        promotion=PromotionPolicy(primary_metric="accuracy", floor=0.7, min_improvement=0.001),
    )


async def seed(stack: Stack, models: list[str], versions: int) -> None:
    """Publish every version, in order per model (one partition per model keeps the order)."""
    broker, _ = make_broker(stack.settings("bench-console"))
    await broker.start()
    try:
        sink = KafkaEventSink(broker)
        for version in range(1, versions + 1):
            await asyncio.gather(*(sink.publish(trained(m, version)) for m in models))
    finally:
        await broker.stop()


def wait_registered(registry: str, models: list[str], versions: int, within: float) -> float:
    started = time.monotonic()
    with httpx.Client(base_url=registry, timeout=30) as http:
        while time.monotonic() - started < within:
            try:
                listed = {m["name"]: m["latest_version"] for m in http.get("/models").json()}
            except httpx.TimeoutException:  # busy registering: ask again
                continue
            if all(listed.get(m) == versions for m in models):
                return time.monotonic() - started
            time.sleep(1.0)
    raise TimeoutError(f"the registry did not register {len(models)} x {versions} in {within}s")


def time_pages(console: str, pages: list[str], rounds: int) -> list[tuple[str, int, float, float]]:
    rows = []
    with httpx.Client(base_url=console, timeout=60) as http:
        for page in pages:
            warm = http.get(page)
            took = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                answer = http.get(page)
                took.append(time.perf_counter() - t0)
                assert answer.status_code == warm.status_code
            rows.append((page, warm.status_code, statistics.median(took), max(took)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    models = [f"bench-model-{i:02d}" for i in range(args.models)]
    with tempfile.TemporaryDirectory(prefix="millrace-console-bench-") as tmp:
        home, logs = Path(tmp) / "home", Path(tmp) / "logs"
        logs.mkdir()
        stack = Stack(home, zipkin=False).start()
        started: list[Process] = []
        try:
            asyncio.run(ensure_topics(stack.settings()))
            for name in ("registry", "ingestion", "training", "monitoring"):
                extra = stack.registry_env() if name == "registry" else {}
                started.append(millrace_service(name, logs, {**stack.env(name), **extra}))
            for process in started:
                process.wait_ready(within=120)
            urls = {p.name: p.url for p in started}
            t0 = time.monotonic()
            asyncio.run(seed(stack, models, args.versions))
            took = wait_registered(urls["registry"], models, args.versions, within=1200)
            total = args.models * args.versions
            print(f"seeded {total} versions of {args.models} models through the registry")
            print(
                f"  published and registered in {time.monotonic() - t0:.1f}s ({took:.1f}s waiting)"
            )
            console_env = {
                **{f"MILLRACE_CONSOLE_{n.upper()}_URL": u for n, u in urls.items()},
                "MILLRACE_CONSOLE_DEPLOYMENT_URLS": json.dumps([f"http://127.0.0.1:{free_port()}"]),
            }
            console = millrace_service("console", logs, console_env)
            started.append(console)
            console.wait_ready(within=120)
            listing = httpx.get(f"{console.url}/models", timeout=60).text
            listed = len(re.findall(r'<tr data-model="bench-model-\d\d">', listing))
            print(f"  the models page lists {listed} of {args.models} models")
            first, last = models[0], models[-1]
            pages = [
                "/",
                "/models",
                f"/models/{first}",
                f"/models/{last}",
                f"/models/{last}/versions/{args.versions}",
                "/datasets",
                "/serving",
                "/monitoring",
                f"/monitoring/{last}",
            ]
            print(
                f"\n| page | status | median ms | max ms | ({args.rounds} rounds after a warm-up)"
            )
            print("| --- | --- | --- | --- |")
            for page, status, median, worst in time_pages(console.url, pages, args.rounds):
                print(f"| `{page}` | {status} | {median * 1000:.0f} | {worst * 1000:.0f} |")
        finally:
            for process in reversed(started):
                process.stop()
            stack.stop()


if __name__ == "__main__":
    main()
