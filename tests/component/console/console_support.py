"""The console over in-process backends: the real registry app (on the fakes of the
registry's component support) and canned answers of ingestion, training, monitoring and one
deployment replica, built from those services' own response models so that a changed answer
breaks here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from millrace_console.deadletters import DLQ_TOPICS, DeadLetters
from millrace_contracts import FeatureDrift
from millrace_monitoring.core.views import (
    Distribution,
    DriftPoint,
    HistoryView,
    ModelsView,
    PerformancePoint,
    VersionHistory,
    VersionSummary,
)
from millrace_shared.records import Record
from registry_component_support import DATASET_VERSION

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PREDICTION_ID = "pred-1"
URLS = {
    "registry": "http://registry",
    "ingestion": "http://ingestion",
    "training": "http://training",
    "monitoring": "http://monitoring",
    "deployment": "http://replica-1",
}


def _feature(name: str, psi: float, drifted: bool) -> FeatureDrift:
    return FeatureDrift(
        feature=name,
        kind="numeric",
        psi=psi,
        ks_statistic=psi / 2,
        test="ks_2samp",
        p_value=0.001 if drifted else 0.6,
        p_adjusted=0.002 if drifted else 0.7,
        drifted=drifted,
    )


def history() -> HistoryView:
    drift = [
        DriftPoint(
            window_index=i,
            last_at=T0 + timedelta(minutes=10 * i),
            drifted=i == 2,
            drifted_features=["petal_width"] if i == 2 else [],
            features=[_feature("petal_width", 0.05 + 0.3 * (i == 2), i == 2)],
        )
        for i in range(3)
    ]
    return HistoryView(
        model_name="iris",
        history_limit=200,
        versions=[
            VersionHistory(
                version=2,
                metric="accuracy",
                floor=0.8,
                drift=drift,
                performance=[
                    PerformancePoint(
                        at=T0 + timedelta(minutes=5 * i),
                        labelled=20 * (i + 1),
                        value=0.95 - 0.1 * i,
                        degraded=0.95 - 0.1 * i < 0.8,
                    )
                    for i in range(3)
                ],
                distributions=[
                    Distribution(
                        feature="petal_width",
                        kind="numeric",
                        bins=["≤ 1", "(1, 2]", "> 2"],
                        reference=[0.3, 0.4, 0.3],
                        current=[0.1, 0.3, 0.6],
                    )
                ],
            )
        ],
    )


def wide_history() -> HistoryView:
    """Six features over two windows; only f5 drifted in the latest."""
    names = [f"f{i}" for i in range(6)]
    drift = [
        DriftPoint(
            window_index=i,
            last_at=T0 + timedelta(minutes=10 * i),
            drifted=i == 1,
            drifted_features=["f5"] if i == 1 else [],
            features=[_feature(n, 0.01 * k, i == 1 and n == "f5") for k, n in enumerate(names)],
        )
        for i in range(2)
    ]
    version = VersionHistory(
        version=1, metric="mae", floor=None, drift=drift, performance=[], distributions=[]
    )
    return HistoryView(model_name="wide", history_limit=100, versions=[version])


def monitored() -> ModelsView:
    return ModelsView(
        versions=[
            VersionSummary(
                model_name="iris",
                version=2,
                dataset="iris",
                task="classification",
                promoted_as=["production"],
                monitored=True,
                reference_status="loaded",
                reference_error=None,
                features_checked=["petal_width"],
                features_skipped={},
                window_size=200,
                window_size_requested=200,
                window_clamped=False,
                window_fill=12,
                predictions_seen=612,
                unmonitored_predictions=0,
                windows_checked=3,
                windows_drifted=1,
                labelled=60,
            )
        ],
        unknown_versions=[],
        unmonitored_predictions=0,
        recent_predictions=0,
        recent_capacity=1,
        recent_evicted=0,
        recent_per_model_capacity=1,
        recent_by_model={},
        recent_evicted_by_model={},
        label_misses=0,
        repeated_events=0,
    )


def canned(served: list[int]) -> dict[tuple[str, str], Any]:
    """(host, path) -> JSON answer of the backends other than the registry."""
    artifact = {"uri": "s3://millrace-datasets/iris/x.parquet", "sha256": "c" * 64, "size_bytes": 9}
    return {
        # A prediction of iris v1 in monitoring's archive (the lineage page starts from it).
        ("monitoring", f"/predictions/{PREDICTION_ID}"): {
            "prediction_id": PREDICTION_ID,
            "model_name": "iris",
            "model_version": 1,
            "replica_id": "replica-a",
            "features": {"sepal_length": 5.1},
            "output": "setosa",
            "timestamp": T0.isoformat(),
            "event_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        ("ingestion", "/datasets"): ["iris"],
        ("ingestion", "/datasets/iris"): {
            "dataset": "iris",
            "declaration_version": 1,
            "event_id": str(uuid.uuid4()),
            "declared_at": T0.isoformat(),
            "declaration": {},
            "spec": {"columns": []},
            "spec_source": "declared",
        },
        ("ingestion", "/datasets/iris/versions"): [
            {
                "version": DATASET_VERSION,
                "rows": 150,
                "created_at": T0.isoformat(),
                "spec_version": 1,
                "source_uri": "s3://millrace-landing/iris/iris.csv",
                "data": artifact,
                "profile": artifact,
            }
        ],
        ("ingestion", "/datasets/iris/rejections"): [
            {
                "arrival_id": str(uuid.uuid4()),
                "source_uri": "s3://millrace-landing/iris/bad.csv",
                "submitted_by": "data-team-a",
                "arrived_at": T0.isoformat(),
                "rejected_at": T0.isoformat(),
                "rejection_event_id": str(uuid.uuid4()),
                "reasons": [
                    {"code": "missing_column", "message": "column 'species' is missing"},
                    {"code": "too_few_rows", "message": "3 rows, at least 10 needed"},
                ],
            }
        ],
        ("training", "/runs/iris/failed"): [
            {
                "model_name": "iris",
                "run_id": "run-x",
                "dataset": "iris",
                "dataset_version": DATASET_VERSION,
                "trigger": "drift",
                "reason": {"code": "cannot_train", "message": "one class only"},
                "failed_at": T0.isoformat(),
            }
        ],
        ("monitoring", "/models"): monitored().model_dump(mode="json"),
        ("monitoring", "/models/iris/history"): history().model_dump(mode="json"),
        ("monitoring", "/models/wide/history"): wide_history().model_dump(mode="json"),
        ("replica-1", "/stats"): {
            "replica_id": "replica-a",
            "models": 1,
            "served": served[0],
            "logged": 40,
            "dropped": 3,
            "buffer_depth": 0,
            "buffer_capacity": 1000,
            "failed_publishes": 0,
        },
        ("replica-1", "/models"): [
            {
                "name": "iris",
                "version": 2,
                "loaded_at": T0.isoformat(),
                "sha256": "b" * 64,
                "load_seconds": 0.4,
            }
        ],
    }


class Routing(httpx.AsyncBaseTransport):
    """Requests to the registry go to its app; the others get canned answers (404 if none)."""

    def __init__(self, registry: httpx.AsyncBaseTransport, served: list[int]) -> None:
        self.registry, self.served = registry, served

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "registry":
            return await self.registry.handle_async_request(request)
        answer = canned(self.served).get((request.url.host, request.url.path))
        if answer is None:
            return httpx.Response(404, json={"detail": "not found"})
        return httpx.Response(200, json=answer)


class FakeDeadLetters(DeadLetters):
    """Two letters of labels.observed in memory; a replay is recorded with its actor."""

    def __init__(self) -> None:
        topic = "millrace.labels.observed.v1.dlq"
        self.letters = [
            Record(
                topic=topic,
                partition=0,
                offset=offset,
                timestamp_ms=1_764_000_000_000 + offset,
                key=b"iris",
                value=b'{"correlation_id": "6f1c0f3e-8d5e-4a53-9a52-0c7c4d7f9b11"}',
                headers=(
                    ("x-millrace-dlq-reason", f"ValidationError: bad label {offset}".encode()),
                    ("x-millrace-dlq-kind", b"poison"),
                    ("x-millrace-dlq-service", b"monitoring"),
                    ("x-millrace-dlq-original-topic", b"millrace.labels.observed.v1"),
                ),
            )
            for offset in (0, 1)
        ]
        self.replayed: list[tuple[Record, str]] = []

    async def counts(self) -> dict[str, int]:
        return {t: (2 if t == self.letters[0].topic else 0) for t in DLQ_TOPICS}

    async def latest(self, topic: str, limit: int = 100) -> list[Record]:
        return [d for d in reversed(self.letters) if d.topic == topic]

    async def one(self, topic: str, partition: int, offset: int) -> Record | None:
        return next(
            (
                d
                for d in self.letters
                if (d.topic, d.partition, d.offset) == (topic, partition, offset)
            ),
            None,
        )

    async def replay(self, letter: Record, actor: str) -> tuple[str, int, int]:
        self.replayed.append((letter, actor))
        return letter.original_topic, 0, 41
