"""Two replicas of every service on a stack of its own whose topics have 6 partitions.

Ingestion, training, registry, monitoring and deployment each run as two real processes
(each its own Kafka and S3 principal, as in production). The test shows:

* monitoring refuses to start (a clear error, a non-zero exit) while ``predictions.logged``
  has 6 partitions and ``labels.observed`` 3, and starts once both have 6;
* ``MILLRACE_REPLICAS_DATASETS`` (20) datasets arriving at once, with a promotion of a newer
  version of a served model among them: every flow decided exactly once (counted from the
  topics), one model version per run (the registry), both ingestion and both training
  replicas took a share (their logs), and a client sending predictions to both deployment
  replicas throughout the swap got no failed request;
* a second wave, one dataset per partition, during which a training replica is killed -9 in
  the middle of a fit: its partitions move to the other, every flow is still decided once,
  nothing lost and no duplicate version.

CI runs 10 datasets in the first wave (both tests of the module took 6 1/3 minutes on the
loaded 2-core machine, most of it starting a stack and eleven processes);
``MILLRACE_REPLICAS_DATASETS=20`` is the issue's form, and ``MILLRACE_REPLICAS_COMPARE=1``
adds a third wave on the one training replica left.

Fits are made slow (2 s each, ``patched_service`` ``slow_fit``, in both training replicas
alike): on this shared 2-core machine a fit that sleeps stands for one that computes on a
machine of its own, so the two replicas' throughput is what two machines would give (see
docs/scaling.md). The times are printed (``-s``): arrivals decided per minute with two
training replicas, then with one.

The stack is the module's own (Kafka + S3, no Zipkin): the session's stack keeps 3
partitions for every other test. Everything started is stopped, also on failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.admin import AdminClient, NewPartitions
from faststream.kafka import KafkaBroker
from millrace_contracts import (
    DataArrived,
    LabelsObserved,
    ModelDeployed,
    ModelPromoted,
    ModelTrained,
)
from millrace_contracts.topics import TOPICS
from millrace_infra import StackConfig, start, stop
from millrace_infra.kafka import kafka_dir, tls_dir
from millrace_infra.kafka_acls import ADMIN_USER
from millrace_infra.kafka_provision import admin_client
from millrace_infra.kafka_security import read_credentials
from millrace_infra.launcher import Process, ProcessDied, launch_service
from millrace_infra.state import StackInfo
from millrace_infra.tls import TlsFiles
from millrace_shared.messaging import KafkaEventSink, make_broker
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.registry.models import ModelDetail
from millrace_shared.settings import MillraceSettings
from millrace_shared.signing import KeyPair
from millrace_shared.watch import EventWatcher

from . import patched_service
from .conftest import ServiceEnv, stack_service_env
from .flows import arrive, classification_frame, declare, upload_csv
from .test_data_to_model import declaration, shifted_concept

# The wave checks are the scale bench's too (bench/replica_checks.py): the tests may import the
# bench, never the reverse.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.replica_checks import (
    decisions,
    exactly_once_problems,
    names_over_partitions,
)

pytestmark = pytest.mark.e2e

PARTITIONS = 6
DATASETS = int(os.environ.get("MILLRACE_REPLICAS_DATASETS", "10"))
"""Datasets of the first wave, all arriving at once: 10 in CI, the issue's 20 (or more) with
``MILLRACE_REPLICAS_DATASETS=20``."""
COMPARE = os.environ.get("MILLRACE_REPLICAS_COMPARE") == "1"
"""Long form only: after the kill, a third wave of DATASETS on the one training replica
left, to compare arrivals decided per minute with one replica and with two."""
FIT_SECONDS = 2.0
"""Every fit's injected length, in both training replicas."""
WITHIN = 300.0
"""A deadline for a whole wave on a busy shared machine; not a timing check."""
ROWS = 240


@dataclass
class Replicas:
    """The module's stack and the services running on it, by label (``training-a``)."""

    config: StackConfig
    info: StackInfo
    settings: MillraceSettings
    logs: Path
    env: ServiceEnv
    processes: dict[str, Process] = field(default_factory=dict)

    def admin(self) -> AdminClient:
        password = (read_credentials(kafka_dir(self.config)) or {})[ADMIN_USER]
        return admin_client(
            self.info.kafka_bootstrap, TlsFiles(tls_dir(self.config)).ca_cert, password
        )

    def __getitem__(self, label: str) -> Process:
        return self.processes[label]

    def count_in_log(self, label: str, pattern: str) -> int:
        return len(re.findall(pattern, self[label].log.read_text(errors="replace")))


def grow_partitions(admin: AdminClient, topics: list[str], count: int) -> None:
    """Give ``topics`` ``count`` partitions (Kafka only adds partitions, never removes)."""
    futures = admin.create_partitions([NewPartitions(t, count) for t in topics])
    for future in futures.values():
        future.result(timeout=30)

    def grown() -> bool:
        found = admin.list_topics(timeout=30).topics
        return all(len(found[t].partitions) == count for t in topics)

    deadline = time.monotonic() + 60
    while not grown():
        assert time.monotonic() < deadline, f"{topics} never showed {count} partitions"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory,
    registry_actor: str,
    registry_token: str,
    promotion_keys: KeyPair,
) -> Iterator[Replicas]:
    """The stack (topics grown to 6 partitions) and two replicas of every service, ready.

    Monitoring is first started while only ``predictions.logged`` has grown: it must refuse."""
    config = StackConfig.with_free_ports(
        home=tmp_path_factory.mktemp("replicas-stack"), zipkin=False, secure=True
    )
    logs = tmp_path_factory.mktemp("replicas-logs")
    processes: dict[str, Process] = {}
    try:
        info = start(config, timeout=120.0)
        fields = {
            k.removeprefix("MILLRACE_").lower(): v for k, v in info.client_env("admin").items()
        }
        settings = MillraceSettings.model_validate(fields | {"service_name": "e2e-replicas"})
        env = stack_service_env(info, registry_actor, registry_token)
        running = Replicas(config, info, settings, logs, env, processes)
        MinioObjectStore.from_settings(settings).ensure_buckets(settings.buckets)
        admin = running.admin()
        labels = {LabelsObserved.topic(), f"{LabelsObserved.topic()}.dlq"}
        every = [n for spec in TOPICS for n in (spec.name, spec.dlq)]
        grow_partitions(admin, [t for t in every if t not in labels], PARTITIONS)

        refused = launch_service("monitoring", env("monitoring"), logs, label="monitoring-refused")
        with pytest.raises(ProcessDied) as died:
            refused.wait_ready(within=180)
        running.processes["monitoring-refused"] = refused
        assert "exited with code" in str(died.value) and "code 0" not in str(died.value)
        log = refused.log.read_text(errors="replace")
        assert "refusing to start" in log and "not co-partitioned" in log, log[-3000:]

        grow_partitions(admin, sorted(labels), PARTITIONS)
        del admin  # librdkafka's client would keep reconnecting after the stack stops
        slow = patched_service.command("training", slow_fit=FIT_SECONDS)
        registry_env = {**env("registry"), "MILLRACE_REGISTRY_SIGNING_KEY": promotion_keys.private}
        for side in ("a", "b"):
            for name in ("ingestion", "monitoring"):
                running.processes[f"{name}-{side}"] = launch_service(
                    name, env(name), logs, label=f"{name}-{side}"
                )
            running.processes[f"training-{side}"] = launch_service(
                "training", env("training"), logs, label=f"training-{side}", argv=slow
            )
            running.processes[f"registry-{side}"] = launch_service(
                "registry", registry_env, logs, label=f"registry-{side}"
            )
        for process in running.processes.values():
            if process.name != "monitoring-refused":
                process.wait_ready(within=240)
        for side in ("a", "b"):
            running.processes[f"deployment-{side}"] = launch_service(
                "deployment",
                {
                    **env("deployment"),
                    "MILLRACE_DEPLOYMENT_REGISTRY_URL": running[f"registry-{side}"].url,
                    "MILLRACE_DEPLOYMENT_REPLICA_ID": f"deployment-{side}",
                    "MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY": promotion_keys.public,
                    "MILLRACE_DEPLOYMENT_LOG_FLUSH_INTERVAL_SECONDS": "0.2",
                },
                logs,
                ready_path="/health/live",
                label=f"deployment-{side}",
            )
        for side in ("a", "b"):
            running[f"deployment-{side}"].wait_ready(within=240)
        yield running
    finally:
        for process in reversed(processes.values()):
            process.stop()
        stop(config)


@dataclass
class Client:
    watcher: EventWatcher
    sink: KafkaEventSink
    store: MinioObjectStore


@pytest.fixture
async def client(replicas: Replicas) -> AsyncIterator[Client]:
    broker: KafkaBroker
    broker, _ = make_broker(replicas.settings)
    await broker.start()
    try:
        async with EventWatcher(replicas.settings, [t.event for t in TOPICS]) as watcher:
            yield Client(
                watcher, KafkaEventSink(broker), MinioObjectStore.from_settings(replicas.settings)
            )
    finally:
        await broker.stop()


class Traffic:
    """Prediction requests to both deployment replicas in turn, until stopped."""

    def __init__(self, urls: list[str], row: dict[str, Any]) -> None:
        self.urls, self.row = urls, row
        self.ok = 0
        self.failures: list[str] = []
        self.versions: dict[str, set[int]] = {u: set() for u in urls}
        self.stop = asyncio.Event()

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            n = 0
            while not self.stop.is_set():
                url = self.urls[n % len(self.urls)]
                n += 1
                try:
                    answer = await http.post(url, json=self.row)
                except httpx.HTTPError as error:
                    self.failures.append(f"{url}: {error!r}")
                    continue
                if answer.status_code != 200:
                    self.failures.append(f"{url}: {answer.status_code} {answer.text[:200]}")
                    continue
                self.ok += 1
                self.versions[url].add(int(answer.json()["version"]))
                await asyncio.sleep(0.01)


async def all_decided(watcher: EventWatcher, arrivals: list[DataArrived], within: float) -> None:
    deadline = time.monotonic() + within
    while not all(decisions(watcher, a) for a in arrivals):
        missing = [a.dataset for a in arrivals if not decisions(watcher, a)]
        assert time.monotonic() < deadline, f"not decided within {within:.0f} s: {missing}"
        await asyncio.sleep(0.25)


async def versions(registry: Process, model: str) -> list[int]:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{registry.url}/models/{model}")
    answer.raise_for_status()
    return sorted(v.version for v in ModelDetail.model_validate(answer.json()).versions)


async def announce(
    client: Client, replicas: Replicas, names: list[str], seed: int
) -> list[DataArrived]:
    """Declare each dataset (at once), upload its file, then announce them all at once."""
    url = replicas["ingestion-a"].url
    await asyncio.gather(*(declare(client.sink, url, declaration(n)) for n in names))
    uris = [
        await asyncio.to_thread(
            upload_csv, client.store, replicas.settings, n, "a.csv",
            classification_frame(ROWS, seed=seed + i),
        )
        for i, n in enumerate(names)
    ]  # fmt: skip
    return list(
        await asyncio.gather(*(arrive(client.sink, n, u) for n, u in zip(names, uris, strict=True)))
    )


async def test_two_replicas_of_every_service_share_the_work_and_survive_a_kill(
    replicas: Replicas, client: Client, unique: str
) -> None:
    watcher = client.watcher
    registry = replicas["registry-a"]

    # A served model, whose newer version will swap in both deployment replicas mid-wave.
    served = f"{unique}served"
    await declare(client.sink, replicas["ingestion-a"].url, declaration(served))
    uri = await asyncio.to_thread(
        upload_csv, client.store, replicas.settings, served, "v1.csv", shifted_concept(ROWS, seed=1)
    )
    first = await arrive(client.sink, served, uri)
    await all_decided(watcher, [first], WITHIN)
    for side in ("a", "b"):
        await watcher.wait_for(
            ModelDeployed,
            lambda e, s=side: (
                e.model_name == served and e.version == 1 and e.replica_id == f"deployment-{s}"
            ),
            within=WITHIN,
        )
    row = classification_frame(1, seed=99).drop(columns=["label"]).iloc[0].to_dict()
    traffic = Traffic(
        [f"{replicas[f'deployment-{s}'].url}/models/{served}/predict" for s in ("a", "b")], row
    )
    requests = asyncio.create_task(traffic.run())
    try:
        # Wave 1: DATASETS new datasets and v2 of the served one, all at once.
        names = names_over_partitions(f"{unique}w", DATASETS, PARTITIONS)
        newer_uri = await asyncio.to_thread(
            upload_csv, client.store, replicas.settings, served, "v2.csv",
            classification_frame(ROWS, seed=2),
        )  # fmt: skip
        began = time.monotonic()
        wave, newer = await asyncio.gather(
            announce(client, replicas, names, seed=10), arrive(client.sink, served, newer_uri)
        )
        await all_decided(watcher, [*wave, newer], WITHIN)
        took = time.monotonic() - began
        for side in ("a", "b"):
            await watcher.wait_for(
                ModelDeployed,
                lambda e, s=side: (
                    e.model_name == served and e.version == 2 and e.replica_id == f"deployment-{s}"
                ),
                within=WITHIN,
            )
        deadline = time.monotonic() + 60
        while not all(2 in v for v in traffic.versions.values()):
            assert time.monotonic() < deadline, traffic.versions
            await asyncio.sleep(0.1)
    finally:
        traffic.stop.set()
        await requests

    assert traffic.failures == [], traffic.failures[:5]
    assert all(v == {1, 2} for v in traffic.versions.values()), traffic.versions
    [swap] = decisions(watcher, newer)
    assert any(str(e.event_id) == swap for e in watcher.of_type(ModelPromoted)), "v2 not promoted"
    assert exactly_once_problems(watcher, [first, newer, *wave]) == []
    assert await versions(registry, served) == [1, 2]
    for name in names:
        assert await versions(registry, name) == [1], name
    shares = {
        label: replicas.count_in_log(label, rf"accepted {unique}w")
        for label in ("ingestion-a", "ingestion-b")
    } | {
        label: replicas.count_in_log(label, rf"trained {unique}w\S* run")
        for label in ("training-a", "training-b")
    }
    print(f"\nwave 1: {len(wave) + 1} arrivals decided in {took:.1f} s with 2 training replicas "
          f"({60 * (len(wave) + 1) / took:.1f}/min); shares {shares}; "
          f"{traffic.ok} predictions, 0 failed")  # fmt: skip
    assert all(count > 0 for count in shares.values()), shares
    assert shares["ingestion-a"] + shares["ingestion-b"] >= DATASETS

    # Wave 2: one dataset per partition; training-b is killed -9 in the middle of a fit.
    names = names_over_partitions(f"{unique}k", PARTITIONS, PARTITIONS)
    began = time.monotonic()
    wave = await announce(client, replicas, names, seed=100)
    victim = replicas["training-b"]
    async with httpx.AsyncClient(timeout=5) as http:
        deadline = time.monotonic() + WITHIN
        while True:
            status = (await http.get(f"{victim.url}/status")).json()
            if status["current"] and status["current"]["dataset"].startswith(f"{unique}k"):
                break
            assert time.monotonic() < deadline, "training-b never fitted a dataset of wave 2"
            await asyncio.sleep(0.05)
    fitting = status["current"]["dataset"]
    victim.kill()
    await all_decided(watcher, wave, WITHIN)
    took = time.monotonic() - began
    print(f"wave 2: {len(wave)} arrivals decided in {took:.1f} s, training-b killed -9 "
          f"while fitting {fitting} ({60 * len(wave) / took:.1f}/min)")  # fmt: skip
    assert exactly_once_problems(watcher, wave) == []
    for name in names:
        assert await versions(registry, name) == [1], name
    assert replicas.count_in_log("training-a", rf"trained {fitting} run") == 1, (
        "the killed replica's fit was taken over"
    )
    if not COMPARE:
        return

    # Long form: as many datasets as wave 1 (without its prediction traffic), one replica.
    names = names_over_partitions(f"{unique}s", DATASETS, PARTITIONS)
    began = time.monotonic()
    wave = await announce(client, replicas, names, seed=1000)
    await all_decided(watcher, wave, WITHIN)
    took = time.monotonic() - began
    print(f"wave 3: {len(wave)} arrivals decided in {took:.1f} s with 1 training replica "
          f"({60 * len(wave) / took:.1f}/min)")  # fmt: skip
    assert exactly_once_problems(watcher, wave) == []


async def test_a_fit_longer_than_the_poll_interval_moves_its_partition_but_stores_one_model(
    replicas: Replicas, client: Client, unique: str
) -> None:
    """Two training replicas whose fits (15 s) outlast their ``max.poll.interval.ms`` (3 s):
    the group takes the fitting replica's partition away mid-fit and the other trains the same
    run. Still: one model version, and every ``model.trained`` of the run names the sha256 of
    the one artifact stored (a conditional create; the loser adopts the winner's bytes)."""
    for label in [k for k in replicas.processes if k.startswith("training")]:
        replicas.processes.pop(label).stop()
    env = replicas.env("training")
    slow = patched_service.command("training", slow_fit=15)
    for side in ("c", "d"):
        replicas.processes[f"training-{side}"] = launch_service(
            "training",
            {**env, "MILLRACE_TRAINING_MAX_POLL_INTERVAL_MS": "3000"},
            replicas.logs,
            label=f"training-{side}",
            argv=slow,
        )
    for side in ("c", "d"):
        replicas[f"training-{side}"].wait_ready(within=240)

    [name] = names_over_partitions(f"{unique}p", 1, PARTITIONS)
    [arrival] = await announce(client, replicas, [name], seed=7)
    await all_decided(client.watcher, [arrival], WITHIN)
    assert await versions(replicas["registry-a"], name) == [1]
    # The partition moves mid-fit, so both replicas train the run: wait for the second one.
    deadline = time.monotonic() + WITHIN
    while True:
        fits = sum(replicas.count_in_log(f"training-{s}", rf"trained {name} run") for s in "cd")
        if fits >= 2:
            break
        assert time.monotonic() < deadline, "the partition did not move mid-fit: one fit"
        await asyncio.sleep(0.5)
    await client.watcher.wait_for(
        ModelTrained, lambda e: e.correlation_id == arrival.event_id, count=2, within=WITHIN
    )
    trained = client.watcher.of_type(ModelTrained, lambda e: e.correlation_id == arrival.event_id)
    [stored] = {e.artifact.uri for e in trained}
    digest = hashlib.sha256(client.store.get_bytes(stored)).hexdigest()
    print(f"\nlong fit: trained {fits} time(s), {len(trained)} model.trained record(s)")
    assert {e.artifact.sha256 for e in trained} == {digest}
    assert len({str(e.event_id) for e in trained}) == 1
    assert await versions(replicas["registry-a"], name) == [1]
