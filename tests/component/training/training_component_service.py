"""The pieces the training component tests assemble: fakes at the boundary, and replicas."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from millrace_contracts import ArtifactRef, Event
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import ServiceRuntime
from millrace_training.core import candidate
from millrace_training.core.fit import Trainer, TrainerConfig
from millrace_training.core.runner import TrainingRunner
from millrace_training.core.runs import RunStore
from millrace_training.core.state import TrainingState
from millrace_training.settings import TrainingSettings
from opentelemetry.sdk.trace import TracerProvider


class FlakyStore(InMemoryObjectStore):
    """The in-memory store, with model uploads failing while ``failing`` is set.

    By default with an error that is no outage (so the run fails, and is dead-lettered after
    its tries); a test sets ``failure`` to an outage's error to see it waited out instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.failing = False
        self.failure: Exception = RuntimeError("the object store refused the upload")
        self.failed_uploads = 0

    def put_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        if self.failing and uri.endswith("/model.skops"):
            self.failed_uploads += 1
            raise self.failure
        return super().put_bytes(uri, data, content_type)

    def create_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        """Training stores a run's artifact with a conditional create: it fails alike."""
        if self.failing and uri.endswith("/model.skops"):
            self.failed_uploads += 1
            raise self.failure
        return super().create_bytes(uri, data, content_type)


class CountedFit:
    """Counts the fits the trainer runs (patched as ``HeldFit`` is, without holding them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fits = 0
        real = candidate.fit_candidate

        def counted(*args: Any, **kwargs: Any) -> candidate.FittedCandidate:
            self.fits += 1
            return real(*args, **kwargs)

        # The trainer imports it from its module on every fit (core/fit.py).
        monkeypatch.setattr(candidate, "fit_candidate", counted)


class HeldFit:
    """Each fit waits for the test to open the gate: patched over the fit the trainer calls, as
    tests/e2e/patched_service.py patches a real training process (no production setting)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.fits = 0
        real = candidate.fit_candidate

        def held(*args: Any, **kwargs: Any) -> candidate.FittedCandidate:
            self.fits += 1
            self.entered.set()
            if not self.gate.wait(timeout=30):
                raise TimeoutError("the test never opened the gate")
            return real(*args, **kwargs)

        monkeypatch.setattr(candidate, "fit_candidate", held)


@dataclass
class Service:
    broker: KafkaBroker
    """The service's broker, patched by ``TestKafkaBroker`` to deliver in memory."""
    store: FlakyStore
    sink: RecordingEventSink
    runner: TrainingRunner
    runs: RunStore
    settings: TrainingSettings
    runtime: ServiceRuntime

    async def deliver(self, event: Event) -> None:
        """Publish ``event`` on its topic; the in-memory broker runs the handler before returning."""
        await self.broker.publish(
            event.model_dump(mode="json"), topic=event.topic(), key=event.partition_key.encode()
        )


def replica(
    store: InMemoryObjectStore, settings: TrainingSettings
) -> tuple[TrainingRunner, RecordingEventSink]:
    """Another process of the service on the same object store."""
    runs = RunStore(store, settings.bucket_models)
    trainer = Trainer(
        store,
        runs,
        TracerProvider().get_tracer("test"),
        TrainerConfig(producer="training"),
    )
    sink = RecordingEventSink()
    state = TrainingState(store, settings.state_bucket("training"))
    return TrainingRunner(trainer, state, runs, sink), sink
