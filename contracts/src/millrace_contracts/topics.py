"""Every topic: its event, its key and who produces and consumes it."""

from __future__ import annotations

from dataclasses import dataclass

from .data_events import DataArrived, DatasetDeclared, DatasetRejected, DatasetValidated
from .envelope import Event
from .model_events import (
    DeploymentFailed,
    ModelDeployed,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
    TrainingRequested,
)
from .serving_events import (
    DriftDetected,
    LabelsObserved,
    PerformanceDegraded,
    PredictionsLogged,
)

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    event: type[Event]
    key: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.event.topic()

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(DatasetDeclared, "dataset", ("cli", "data teams"), ("ingestion",)),
    TopicSpec(DataArrived, "dataset", ("cli", "data teams"), ("ingestion",)),
    TopicSpec(DatasetValidated, "dataset", ("ingestion",), ("training",)),
    TopicSpec(DatasetRejected, "dataset", ("ingestion",), ("cli", "data teams")),
    TopicSpec(TrainingRequested, "dataset", ("cli", "monitoring"), ("training",)),
    TopicSpec(ModelTrained, "model name", ("training",), ("registry",)),
    TopicSpec(
        ModelPromoted,
        "model name",
        ("registry",),
        ("deployment", "monitoring", "training", "application teams"),
    ),
    TopicSpec(ModelRejected, "model name", ("registry",), ("cli", "application teams")),
    TopicSpec(ModelDeployed, "model name", ("deployment",), ("cli",)),
    TopicSpec(DeploymentFailed, "model name", ("deployment",), ("cli", "operations")),
    TopicSpec(PredictionsLogged, "model name", ("deployment",), ("monitoring",)),
    TopicSpec(LabelsObserved, "model name", ("application teams",), ("monitoring",)),
    TopicSpec(DriftDetected, "model name", ("monitoring",), ("training",)),
    TopicSpec(PerformanceDegraded, "model name", ("monitoring",), ("training",)),
)

EVENT_TYPES: dict[str, type[Event]] = {t.event.event_type: t.event for t in TOPICS}
BY_TOPIC: dict[str, TopicSpec] = {t.name: t for t in TOPICS}


def topic_for(event: type[Event]) -> TopicSpec:
    return BY_TOPIC[event.topic()]
