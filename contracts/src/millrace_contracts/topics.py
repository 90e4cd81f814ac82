"""Every topic: its event, its key and who produces and consumes it.

The one source of who talks on which topic: the services (each checked against its AsyncAPI
document by a test), the parties outside the platform, the README's topic table and the Kafka
ACLs all derive from ``TOPICS``.

Dead letters are not listed: each service that consumes a topic writes that topic's failed
records to ``<topic>.dlq`` (shared middleware), so ``TopicSpec.dead_letter_producers`` follows
from ``consumers``; operations read every dead-letter topic and replay from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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


class Service(StrEnum):
    """A Millrace service: it authenticates to Kafka as a principal of its own."""

    INGESTION = "ingestion"
    TRAINING = "training"
    REGISTRY = "registry"
    DEPLOYMENT = "deployment"
    MONITORING = "monitoring"

    @property
    def principal(self) -> str:
        return f"User:millrace-{self.value}"


class Outside(StrEnum):
    """A party outside the platform: one Kafka principal per kind of team.

    The ``millrace`` CLI has no principal of its own: it authenticates with the credentials of
    whoever runs it (``MILLRACE_KAFKA_SASL_*``), so each command needs the rights of the party
    it acts for. ``publish``, ``datasets declare`` and ``train`` (with ``--wait``, following the
    flow) act as data teams; ``events tail``, ``status`` and ``dlq list`` / ``replay`` as
    operations, who may read every topic and dead-letter topic and replay onto any topic.
    Operations are listed on a topic only where they act on its events.
    """

    DATA_TEAMS = "data teams"
    APPLICATION_TEAMS = "application teams"
    OPERATIONS = "operations"

    @property
    def principal(self) -> str:
        return _OUTSIDE_PRINCIPALS[self]


_OUTSIDE_PRINCIPALS = {
    Outside.DATA_TEAMS: "User:millrace-data-teams",
    Outside.APPLICATION_TEAMS: "User:millrace-application-teams",
    Outside.OPERATIONS: "User:millrace-operators",
}

Party = Service | Outside
INGESTION, TRAINING, REGISTRY, DEPLOYMENT, MONITORING = Service
DATA_TEAMS, APPLICATION_TEAMS, OPERATIONS = Outside


@dataclass(frozen=True)
class TopicSpec:
    event: type[Event]
    key: str
    producers: tuple[Party, ...]
    consumers: tuple[Party, ...]

    @property
    def name(self) -> str:
        return self.event.topic()

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX

    @property
    def dead_letter_producers(self) -> tuple[Service, ...]:
        """The services consuming the topic: each dead-letters what it fails to handle."""
        return tuple(p for p in self.consumers if isinstance(p, Service))


# Data teams read what follows their data (publish and train --wait follow the flow).
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(DatasetDeclared, "dataset", (DATA_TEAMS,), (INGESTION,)),
    TopicSpec(DataArrived, "dataset", (DATA_TEAMS,), (INGESTION,)),
    TopicSpec(DatasetValidated, "dataset", (INGESTION,), (TRAINING, DATA_TEAMS)),
    TopicSpec(DatasetRejected, "dataset", (INGESTION,), (DATA_TEAMS,)),
    TopicSpec(TrainingRequested, "dataset", (DATA_TEAMS,), (TRAINING,)),
    TopicSpec(ModelTrained, "model name", (TRAINING,), (REGISTRY, DATA_TEAMS)),
    TopicSpec(
        ModelPromoted,
        "model name",
        (REGISTRY,),
        (DEPLOYMENT, MONITORING, TRAINING, DATA_TEAMS, APPLICATION_TEAMS),
    ),
    TopicSpec(ModelRejected, "model name", (REGISTRY,), (DATA_TEAMS, APPLICATION_TEAMS)),
    TopicSpec(ModelDeployed, "model name", (DEPLOYMENT,), (DATA_TEAMS,)),
    TopicSpec(DeploymentFailed, "model name", (DEPLOYMENT,), (DATA_TEAMS, OPERATIONS)),
    TopicSpec(PredictionsLogged, "model name", (DEPLOYMENT,), (MONITORING,)),
    TopicSpec(LabelsObserved, "model name", (APPLICATION_TEAMS,), (MONITORING,)),
    TopicSpec(DriftDetected, "model name", (MONITORING,), (TRAINING,)),
    TopicSpec(PerformanceDegraded, "model name", (MONITORING,), (TRAINING,)),
)

EVENT_TYPES: dict[str, type[Event]] = {t.event.event_type: t.event for t in TOPICS}
BY_TOPIC: dict[str, TopicSpec] = {t.name: t for t in TOPICS}


def topic_for(event: type[Event]) -> TopicSpec:
    return BY_TOPIC[event.topic()]
