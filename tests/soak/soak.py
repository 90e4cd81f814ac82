"""The chaos soak (``scripts/soak``): a local stack and the five services under steady load
while a seeded chaos loop kills and restarts them, stops S3 for a while and, on a 3-broker
cluster, kills a broker; then the system is left to settle and its own records are counted.

Exit status: 0 when nothing was lost, nothing duplicated and no more prediction requests
failed than ``--allowed-failures`` (0 by default); 1 otherwise; 2 if the soak itself could
not run (the stack did not start...). Everything started is stopped on every exit path,
Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from millrace_contracts import (
    DataArrived,
    DatasetRejected,
    DatasetValidated,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
    first_of_flow,
)
from millrace_infra.stack import kill_broker, start_broker, stop_component
from millrace_shared.kafka import kafka_options, partitions_of, topic_lags
from millrace_shared.messaging import KafkaEventSink, make_broker
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings
from millrace_shared.watch import EventWatcher
from rich.console import Console
from rich.table import Table

from tests.e2e.flows import classification_frame, declare
from tests.e2e.test_data_to_model import declaration

from .counts import SystemCounts, count, dead_letters, verdict
from .load import ArrivalLoad, Deployment, DroppedLogs, PredictionLoad
from .platform import SERVICES, SoakPlatform

console = Console(stderr=True)
WATCHED = (
    DataArrived,
    DatasetValidated,
    DatasetRejected,
    ModelTrained,
    ModelPromoted,
    ModelRejected,
)
CONSUMERS = {  # who must have caught up for the counts to be final
    "millrace-ingestion": DataArrived.topic(),
    "millrace-training": DatasetValidated.topic(),
    "millrace-registry": ModelTrained.topic(),
}


@dataclass
class Options:
    minutes: float = 10.0
    brokers: int = 1
    seed: int = 1
    datasets: int = 3
    arrival_interval: float = 4.0
    chaos_interval: float = 20.0
    s3_outage_seconds: float = 30.0
    broker_outage_seconds: float = 20.0
    settle_minutes: float = 4.0
    seed_loss: bool = False
    chaos: bool = True
    allowed_failures: int = 0
    home: Path | None = None
    report: Path | None = None


@dataclass
class Report:
    options: dict[str, Any]
    counts: SystemCounts
    settled: bool
    predictions_ok: int
    failed_requests: int
    excused_requests: int
    failure_samples: list[str]
    dropped_prediction_logs: int
    arrivals_published: int
    arrivals_not_published: int
    chaos: list[str]
    seeded_loss: str | None
    elapsed_seconds: float
    exit_code: int = 0
    exit_code_without_seeded_loss: int = 0


class Chaos:
    """The fault schedule, from a seeded RNG: a kill -9 of a random service and its
    restart every ``chaos_interval`` s or so; one S3 outage a third of the way in; on a
    cluster, one broker killed and restarted two thirds of the way in (an outage that slow
    restarts pushed past the end still happens, just before the settling)."""

    def __init__(self, platform: SoakPlatform, options: Options, deployment: Deployment) -> None:
        self.platform = platform
        self.options = options
        self.deployment = deployment
        self.rng = random.Random(options.seed)
        self.log: list[str] = []
        self.began = time.monotonic()

    def say(self, message: str) -> None:
        line = f"{time.monotonic() - self.began:6.0f}s  {message}"
        self.log.append(line)
        console.print(f"[magenta]chaos[/] {line}")

    async def kill_and_restart(self, name: str) -> None:
        if name == "deployment":  # from here, the prediction load excuses its failures
            self.deployment.down = True
            self.deployment.generation += 1
        self.platform.services[name].kill()
        pause = self.rng.uniform(1, 5)
        self.say(f"kill -9 {name}; restart in {pause:.0f}s")
        await asyncio.sleep(pause)
        self.platform.launch(name)
        await self.platform.wait_ready(name)
        self.deployment.down = False if name == "deployment" else self.deployment.down
        self.say(f"{name} ready again")

    async def s3_outage(self) -> None:
        self.say(f"S3 stopped for {self.options.s3_outage_seconds:.0f}s")
        await asyncio.to_thread(stop_component, self.platform.config, "s3")
        try:
            await asyncio.sleep(self.options.s3_outage_seconds)
        finally:
            await self.platform.start_s3()
        self.say("S3 back")

    async def broker_outage(self) -> None:
        node = self.rng.randint(1, self.platform.config.brokers)
        await asyncio.to_thread(kill_broker, self.platform.config, node)
        self.say(f"kill -9 Kafka broker {node} for {self.options.broker_outage_seconds:.0f}s")
        try:
            await asyncio.sleep(self.options.broker_outage_seconds)
        finally:
            await asyncio.to_thread(start_broker, self.platform.config, node)
        self.say(f"Kafka broker {node} back")

    async def run(self, seconds: float) -> None:
        end = self.began + seconds
        s3_at = self.began + seconds * self.rng.uniform(0.25, 0.4)
        broker_at = self.began + seconds * self.rng.uniform(0.55, 0.7)
        cluster = self.platform.config.brokers > 1
        while True:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.options.chaos_interval)
            now = time.monotonic()
            if now >= end - 10:  # the last restart must not run into the settling
                break
            if s3_at <= now:
                s3_at = float("inf")
                await self.s3_outage()
            elif cluster and broker_at <= now:
                broker_at = float("inf")
                await self.broker_outage()
            else:
                await self.kill_and_restart(self.rng.choice(SERVICES))
        # Slow restarts may have used the time up: an outage not yet seen happens now.
        if s3_at < float("inf"):
            await self.s3_outage()
        if cluster and broker_at < float("inf"):
            await self.broker_outage()


async def seed_loss(
    platform: SoakPlatform,
    settings: MillraceSettings,
    sink: KafkaEventSink,
    store: MinioObjectStore,
    watcher: EventWatcher,
    dataset: str,
) -> str:
    """Lose an arrival on purpose, as no correct platform could recover from: with
    ingestion stopped (offsets committed), a valid file is announced, and once the topic
    holds it (the soak's reader has seen it) its records are deleted (DeleteRecords, as
    retention would) before ingestion could read it. The count must call it lost."""
    platform.services["ingestion"].stop()
    uri = f"s3://{settings.bucket_landing}/{dataset}/seeded-loss.csv"
    frame = classification_frame(300, seed=99)
    store.put_bytes(uri, frame.to_csv(index=False).encode(), "text/csv")
    arrival = DataArrived(**first_of_flow(producer="soak"), dataset=dataset, uri=uri)
    await sink.publish(arrival)
    await watcher.wait_for(DataArrived, lambda e: e.event_id == arrival.event_id, within=60)
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    consumer = AIOKafkaConsumer(**kafka_options(settings), enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        topic = DataArrived.topic()
        known = await partitions_of(admin, [topic])
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in known[topic]])
        # Nothing else was announced yet: only the seeded record is deleted.
        await admin.delete_records({tp: RecordsToDelete(end) for tp, end in ends.items()})
    finally:
        await consumer.stop()
        await admin.close()
    platform.launch("ingestion")
    await platform.wait_ready("ingestion")
    console.print(f"[yellow]seeded loss[/]: arrival {arrival.event_id} deleted before ingestion")
    return str(arrival.event_id)


async def caught_up(settings: MillraceSettings) -> bool:
    rows = {row.topic: row for row in await topic_lags(settings, list(set(CONSUMERS.values())))}
    return all(
        (row := rows.get(topic)) is None or row.end_offset == 0 or row.lag.get(group, 1) == 0
        for group, topic in CONSUMERS.items()
    )


async def settle(
    settings: MillraceSettings,
    recount: Callable[[], Awaitable[SystemCounts]],
    seconds: float,
    expected_lost: int,
) -> tuple[SystemCounts, bool]:
    """Poll until every arrival is decided (but the seeded one) and the consumers have
    caught up, for at most ``seconds``; the counts then, and whether it settled."""
    deadline = time.monotonic() + seconds
    while True:
        counts = await recount()
        done = len(counts.lost) <= expected_lost
        with contextlib.suppress(Exception):
            done = done and await caught_up(settings)
        if done or time.monotonic() >= deadline:
            return counts, done
        console.print(
            f"[cyan]settling[/]: {counts.decided}/{counts.arrivals} decided, "
            f"{len(counts.lost)} pending"
        )
        await asyncio.sleep(5)


async def soak(options: Options, home: Path) -> Report:
    began = time.monotonic()
    platform = SoakPlatform(home, options.brokers)
    try:
        console.print(f"[bold]stack[/]: {options.brokers} broker(s) + S3 in {platform.config.home}")
        await asyncio.to_thread(platform.start_stack)
        console.print("[bold]services[/]: starting the five as real processes")
        await platform.start_services()
        return await exercise(platform, options, began)
    finally:
        console.print("stopping the services and the stack")
        platform.stop_all()


async def exercise(platform: SoakPlatform, options: Options, began: float) -> Report:
    settings = platform.admin_settings()
    store = MinioObjectStore.from_settings(settings)
    store.ensure_buckets(settings.buckets)
    datasets = [f"soak{i}" for i in range(1, options.datasets + 1)]
    broker, _ = make_broker(settings)
    await broker.start()
    sink = KafkaEventSink(broker)
    async with EventWatcher(settings, WATCHED) as watcher:
        try:
            for dataset in datasets:
                await declare(sink, platform.services["ingestion"].url, declaration(dataset))
            seeded = None
            if options.seed_loss:
                seeded = await seed_loss(platform, settings, sink, store, watcher, datasets[0])
            deployment = Deployment(platform.services["deployment"].url)
            arrivals = ArrivalLoad(store, sink, settings, datasets, options.arrival_interval)
            predictions = PredictionLoad(deployment, datasets)
            dropped = DroppedLogs(deployment)
            chaos = Chaos(platform, options, deployment)
            stop = asyncio.Event()
            seconds = options.minutes * 60
            console.print(f"[bold]soak[/]: {seconds:.0f}s of load on {', '.join(datasets)}")
            loads = [asyncio.create_task(x.run(stop)) for x in (arrivals, predictions, dropped)]
            chaos_task = asyncio.create_task(
                chaos.run(seconds) if options.chaos else asyncio.sleep(0)
            )
            try:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    await asyncio.sleep(min(30, max(0.1, end - time.monotonic())))
                    if chaos_task.done() and chaos_task.exception() is not None:
                        raise chaos_task.exception()  # type: ignore[misc]
                    console.print(
                        f"[green]progress[/] {time.monotonic() - chaos.began:6.0f}s  "
                        f"{arrivals.published} arrivals announced, "
                        f"{sum(isinstance(e, DataArrived) for e in watcher.events)} on the "
                        f"topic; predictions ok {predictions.ok}, failed "
                        f"{predictions.failed}, excused {predictions.excused}"
                    )
                await chaos_task
            finally:
                stop.set()
                await asyncio.gather(*loads, return_exceptions=True)
                chaos_task.cancel()
                with contextlib.suppress(BaseException):
                    await chaos_task
            for name in SERVICES:  # chaos restarted what it killed; nothing may be left down
                if not platform.services[name].running():
                    platform.launch(name)
                    await platform.wait_ready(name)
            registry = platform.services["registry"].url

            async def recount() -> SystemCounts:
                return await count(list(watcher.events), registry, datasets)

            counts, settled = await settle(
                settings, recount, options.settle_minutes * 60, 1 if seeded else 0
            )
            counts.dead_letters = await dead_letters(settings)
        finally:
            await broker.stop()
    report = Report(
        options={k: str(v) for k, v in asdict(options).items()},
        counts=counts,
        settled=settled,
        predictions_ok=predictions.ok,
        failed_requests=predictions.failed,
        excused_requests=predictions.excused,
        failure_samples=predictions.failures,
        dropped_prediction_logs=dropped.total,
        arrivals_published=arrivals.published,
        arrivals_not_published=arrivals.failed,
        chaos=chaos.log,
        seeded_loss=seeded,
        elapsed_seconds=round(time.monotonic() - began, 1),
    )
    report.exit_code = verdict(counts, predictions.failed, options.allowed_failures, excluding=None)
    report.exit_code_without_seeded_loss = verdict(
        counts, predictions.failed, options.allowed_failures, excluding=seeded
    )
    return report


def table(report: Report) -> Table:
    c = report.counts
    out = Table(title=f"Chaos soak ({report.elapsed_seconds:.0f}s, seed {report.options['seed']})")
    out.add_column("counted from the system")
    out.add_column("value", justify="right")
    rows = [
        ("arrivals (data.arrived)", c.arrivals),
        ("  validated / rejected", f"{c.validated} / {c.rejected}"),
        ("decided", c.decided),
        ("lost", len(c.lost)),
        ("model versions (registry)", c.model_versions),
        ("  promoted (model swaps)", c.promotions),
        ("duplicate model versions", c.duplicate_versions),
        ("prediction requests ok", report.predictions_ok),
        ("failed prediction requests", report.failed_requests),
        ("  excused (deployment killed / loading)", report.excused_requests),
        ("prediction logs dropped (deployment)", report.dropped_prediction_logs),
        ("dead letters", sum(c.dead_letters.values())),
        (
            "chaos actions",
            len([x for x in report.chaos if "ready again" not in x and "back" not in x]),
        ),
        ("settled", report.settled),
    ]
    for name, value in rows:
        bad = name in ("lost", "duplicate model versions", "failed prediction requests")
        style = "red" if bad and value not in (0, "0") else ""
        out.add_row(name, str(value), style=style)
    return out


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="load and chaos time (default 10)")
    p.add_argument("--brokers", type=int, choices=(1, 3), default=1)
    p.add_argument("--seed", type=int, default=1, help="the chaos schedule's RNG seed")
    p.add_argument("--datasets", type=int, default=3)
    p.add_argument("--arrival-interval", type=float, default=4.0, help="seconds between files")
    p.add_argument("--chaos-interval", type=float, default=20.0, help="mean seconds between faults")
    p.add_argument("--s3-outage-seconds", type=float, default=30.0)
    p.add_argument("--broker-outage-seconds", type=float, default=20.0)
    p.add_argument("--settle-minutes", type=float, default=4.0, help="bound on the settling")
    p.add_argument("--seed-loss", action="store_true", help="lose one arrival on purpose")
    p.add_argument("--no-chaos", dest="chaos", action="store_false")
    p.add_argument("--allowed-failures", type=int, default=0, help="failed requests tolerated")
    p.add_argument("--home", type=Path, help="folder for the stack and logs (kept)")
    p.add_argument("--report", type=Path, help="also write the report here as JSON")
    return Options(**vars(p.parse_args(argv)))


def _terminate(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    # The soak's own Kafka clients reconnect through a broker's kill: expected, not news.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    signal.signal(signal.SIGTERM, _terminate)
    with contextlib.ExitStack() as stack:
        home = options.home or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-"))
        )
        try:
            report = asyncio.run(soak(options, home))
        except KeyboardInterrupt:
            console.print("[red]interrupted[/]: everything started was stopped")
            return 130
        except Exception as error:
            console.print_exception()
            console.print(f"[red]the soak could not run[/]: {error} (logs: {home / 'logs'})")
            return 2
        Console().print(table(report))
        if report.counts.lost:
            console.print(f"lost arrivals: {', '.join(report.counts.lost)}")
        for sample in report.failure_samples:
            console.print(f"failed request: {sample}")
        if options.report is not None:
            options.report.write_text(json.dumps(asdict(report), indent=2, default=str))
        return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
