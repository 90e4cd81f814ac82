"""Every topic: its event, its key and who produces and consumes it.

The one source of who talks on which topic, services and outside parties: a test holds each
service's entries to its AsyncAPI document; the README's topic table and the Kafka ACLs
derive from it. Dead-letter topics are not listed: a service that consumes a topic writes
its failures to ``<topic>.dlq`` (shared middleware), read by operations and the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

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
    WATCHER = "watcher"
    """Announces files dropped into the landing bucket (``millrace-watcher``)."""


class Outside(StrEnum):
    """A party outside the platform. The ``millrace`` CLI has no principal of its own: it
    acts for whoever runs it, as data teams (``publish``, ``datasets declare``, ``train``, with
    ``--wait`` reading the flow) or operations (``events tail``, ``status``, ``dlq``), who may
    read every topic and replay dead letters; they are listed where they act on an event.
    """

    DATA_TEAMS = "data teams"
    APPLICATION_TEAMS = "application teams"
    OPERATIONS = "operations"
    OBJECT_STORE = "object store"
    """The landing bucket's store, publishing its bucket notifications to Kafka where it can
    (MinIO's Kafka target); it writes one raw topic and reads nothing."""


class Tool(StrEnum):
    """A part of the platform that handles no event: it has a principal of its own for what
    it reads or writes on people's behalf, and is on no topic's list."""

    CONSOLE = "console"
    """The web console (``millrace-console``): reads every ``.dlq`` (without a consumer
    group) and replays a dead letter to its original topic, for a logged-in person, after
    confirmation. It writes only the topics a dead letter can be replayed to, as operations
    may."""


Party = Service | Outside | Tool
INGESTION, TRAINING, REGISTRY, DEPLOYMENT, MONITORING, WATCHER = Service
DATA_TEAMS, APPLICATION_TEAMS, OPERATIONS, OBJECT_STORE = Outside
(CONSOLE,) = Tool
PRINCIPALS: dict[Party, str] = {
    **{service: f"User:millrace-{service}" for service in Service},
    DATA_TEAMS: "User:millrace-data-teams",
    APPLICATION_TEAMS: "User:millrace-application-teams",
    OPERATIONS: "User:millrace-operators",
    OBJECT_STORE: "User:millrace-object-store",
    CONSOLE: "User:millrace-console",
}
"""The Kafka principal each party authenticates as."""


class CatalogueTopic:
    """What every catalogue topic has, event or raw: its dead-letter topic, and who writes
    there (the services that consume it) and so whether a dead letter may be replayed."""

    # The subclasses' fields (``name`` a property of TopicSpec), declared for the type checker
    # only: at runtime a property here would become a dataclass field's default.
    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...

        @property
        def consumers(self) -> tuple[Party, ...]: ...

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX

    @property
    def dead_letter_producers(self) -> tuple[Service, ...]:
        return tuple(p for p in self.consumers if isinstance(p, Service))

    @property
    def replayable(self) -> bool:
        """Whether a dead letter can be replayed to this topic (a service consumes it)."""
        return bool(self.dead_letter_producers)


@dataclass(frozen=True)
class TopicSpec(CatalogueTopic):
    event: type[Event]
    key: str
    producers: tuple[Party, ...]
    consumers: tuple[Party, ...]

    @property
    def name(self) -> str:
        return self.event.topic()


# Data teams read what follows their data (publish and train --wait follow the flow).
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(DatasetDeclared, "dataset", (DATA_TEAMS,), (INGESTION,)),
    TopicSpec(DataArrived, "dataset", (DATA_TEAMS, WATCHER), (INGESTION,)),
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


@dataclass(frozen=True)
class RawTopicSpec(CatalogueTopic):
    """A topic whose records are not Millrace events but an outside system's own format,
    read by a service that turns them into events (no CloudEvents headers, no contract
    schema). Its ACLs, creation and dead letters are a catalogue topic's."""

    name: str
    payload: str
    """What a record holds."""
    key: str
    producers: tuple[Party, ...]
    consumers: tuple[Party, ...]


LANDING_NOTIFICATIONS = "millrace.landing.notifications"
"""The object store's notifications of the landing bucket (MinIO: S3 event JSON)."""

RAW_TOPICS: tuple[RawTopicSpec, ...] = (
    RawTopicSpec(
        LANDING_NOTIFICATIONS,
        "S3 event notification JSON (MinIO's Kafka target)",
        "bucket/key",
        (OBJECT_STORE,),
        (WATCHER,),
    ),
)

AnyTopic = TopicSpec | RawTopicSpec
ALL_TOPICS: tuple[AnyTopic, ...] = (*TOPICS, *RAW_TOPICS)
"""Every topic the platform creates and grants rights on: the events' and the raw ones."""

EVENT_TYPES: dict[str, type[Event]] = {t.event.event_type: t.event for t in TOPICS}
BY_TOPIC: dict[str, TopicSpec] = {t.name: t for t in TOPICS}


def topic_for(event: type[Event]) -> TopicSpec:
    return BY_TOPIC[event.topic()]


@dataclass(frozen=True)
class Replication:
    """How many copies each topic keeps, and how many must have a record before a producer
    with ``acks=all`` is told it is written."""

    factor: int
    min_insync: int

    def topic_configs(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync)}


def replication_for(brokers: int) -> Replication:
    """The replication of every Millrace topic on a cluster of `brokers` brokers.

    Three copies with two in sync on three brokers or more: one broker may fail (or restart)
    without losing an acknowledged record or refusing writes. A smaller cluster keeps a copy
    per broker and needs all but one of them (a single broker: 1/1, no redundancy).
    """
    if brokers < 1:
        raise ValueError(f"a cluster has at least one broker, not {brokers}")
    factor = min(brokers, 3)
    return Replication(factor=factor, min_insync=max(1, factor - 1))
