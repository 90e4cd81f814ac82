"""MILLRACE_TRAINING_CLUSTER: the AutoML search on a real local Dask cluster (two worker
processes), against the same search in process; and an unreachable scheduler waited out."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from distributed import Client, LocalCluster, get_task_stream
from faststream.kafka import TestKafkaBroker
from millrace_contracts import ModelTrained, TrainingSpec
from millrace_shared.faults import DependencyUnavailable
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.service import build_runtime
from millrace_training.bootstrap import assemble
from millrace_training.core.compute import DaskCompute
from millrace_training.settings import TrainingSettings
from opentelemetry.sdk.trace import TracerProvider
from training_component_data import iris_frame, validated
from training_component_service import FlakyStore, Service

FOLDS = 3
CANDIDATES = 4
"""A count budget: of the plan's six points (three each), the first four, round-robin. Cheap
linear candidates keep the test short on a shared machine; their folds are seeded shuffles."""

AUTOML_SPEC = TrainingSpec.model_validate(
    {
        "task": "classification",
        "target": "species",
        "automl": {
            "candidates": ["logistic_regression", "ridge"],
            "time_budget_seconds": 600,
            "cv_folds": FOLDS,
        },
        "seed": 7,
    }
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    # Closed by the context manager even when a test fails.
    with LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
    ) as local:
        yield local


@pytest.fixture(scope="module")
def observer(cluster: LocalCluster) -> Iterator[Client]:
    """The test's own client: sees the scheduler's task stream and the workers."""
    with Client(cluster) as client:
        yield client


def dask_url(cluster: LocalCluster) -> str:
    return str(cluster.scheduler_address).replace("tcp://", "dask://")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def training_service(cluster_url: str | None) -> AsyncIterator[Service]:
    settings = TrainingSettings.model_validate(
        {
            "kafka_max_attempts": 1,
            "kafka_retry_backoff_seconds": 0,
            "MILLRACE_TRAINING_CLUSTER": cluster_url,
            "MILLRACE_TRAINING_AUTOML_MAX_CANDIDATES": CANDIDATES,
        }
    )
    store = FlakyStore()
    store.ensure_buckets(settings.buckets)
    runtime = build_runtime(settings, store=store, tracer_provider=TracerProvider())
    sink = RecordingEventSink()
    runtime.sink = sink
    runner, runs = assemble(runtime, settings)
    try:
        async with TestKafkaBroker(runtime.broker) as broker:
            yield Service(broker, store, sink, runner, runs, settings, runtime)
    finally:
        compute = _compute(runner)
        if isinstance(compute, DaskCompute):
            compute.close()


def _compute(runner: Any) -> Any:
    # The trainer's compute is private wiring; the tests look at it rather than add an API.
    return runner._trainer._config.compute


async def train(cluster_url: str | None) -> ModelTrained:
    async with training_service(cluster_url) as service:
        await service.deliver(validated(service.store, iris_frame(), AUTOML_SPEC))
        (trained,) = service.sink.of_type(ModelTrained)
        return trained


async def test_the_search_runs_on_the_workers_and_matches_the_search_in_process(
    cluster: LocalCluster, observer: Client
) -> None:
    in_process = await train(None)
    with get_task_stream(observer) as stream:
        on_cluster = await train(dask_url(cluster))

    # (a) every fold, and the final fit, ran as a task on the cluster's worker processes.
    workers = set(observer.scheduler_info()["workers"])
    tasks = [t for t in stream.data if str(t["key"]).startswith(("score_fold", "fit_pipeline"))]
    folds = [t for t in tasks if str(t["key"]).startswith("score_fold")]
    assert len(folds) == CANDIDATES * FOLDS
    assert len([t for t in tasks if str(t["key"]).startswith("fit_pipeline")]) == 1
    assert {t["worker"] for t in tasks} == workers, "both workers took part"
    assert os.getpid() not in observer.run(os.getpid).values()

    # (b) a count budget: the same candidates, scores, winner and holdout metrics.
    assert on_cluster.estimator == in_process.estimator
    assert on_cluster.params == in_process.params
    assert [(c.estimator, c.params) for c in on_cluster.leaderboard] == [
        (c.estimator, c.params) for c in in_process.leaderboard
    ]
    assert len(on_cluster.leaderboard) == CANDIDATES
    for remote, local in zip(on_cluster.leaderboard, in_process.leaderboard, strict=True):
        assert remote.cv_score == pytest.approx(local.cv_score, rel=1e-9, abs=1e-12)
    assert on_cluster.metrics.values == pytest.approx(in_process.metrics.values, rel=1e-9)


def test_an_unreachable_scheduler_is_a_transient_dask_fault() -> None:
    compute = DaskCompute(f"tcp://127.0.0.1:{free_port()}", connect_seconds=1)
    with pytest.raises(DependencyUnavailable) as raised:
        compute.client()
    assert raised.value.dependency == "dask"


async def test_a_job_waits_while_the_cluster_is_unreachable_then_trains_on_it(
    cluster: LocalCluster,
) -> None:
    async with training_service(f"dask://127.0.0.1:{free_port()}") as service:
        compute = _compute(service.runner)
        compute._connect_seconds = 1
        degraded: list[list[str]] = []

        async def outage_lasts_two_tries(_: float) -> None:
            degraded.append(list(service.runtime.dependencies.report()))
            if len(degraded) == 2:
                compute.address = cluster.scheduler_address  # the scheduler is back

        service.runtime.dead_letters.sleep = outage_lasts_two_tries
        await service.deliver(validated(service.store, iris_frame(), AUTOML_SPEC))

        assert degraded == [["dask"], ["dask"]], "reported down (readiness 503) while waiting"
        assert len(service.sink.of_type(ModelTrained)) == 1
        assert service.runtime.dead_letters.dead_lettered == 0
        assert service.runtime.dependencies.report() == {}
