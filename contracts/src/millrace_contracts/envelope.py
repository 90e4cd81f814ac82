"""The envelope every Millrace event carries, and how it maps onto CloudEvents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

# A fixed namespace so that ids derived from a causing event are the same on every replay.
_MILLRACE_NAMESPACE = uuid.UUID("6f1d3f5e-0a52-4f1e-9c1b-6d2b8d9d6a11")


def derived_event_id(*parts: object) -> uuid.UUID:
    """A deterministic event id: the same causing event always yields the same id."""
    return uuid.uuid5(_MILLRACE_NAMESPACE, "/".join(str(p) for p in parts))


def utc_now() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """Base for every model that crosses a service boundary.

    Frozen, and tolerant of unknown fields so that a consumer built against 1.0 still parses
    an event from a producer at 1.1 that added an optional field.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Event(Contract):
    """Envelope fields shared by every event; subclasses add the payload."""

    event_type: ClassVar[str]
    """Dotted type without version, e.g. ``model.promoted``."""
    major_version: ClassVar[int] = 1
    minor_version: ClassVar[int] = 0

    event_id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        description="Unique id of this event; consumers deduplicate on it.",
        examples=["0b9c2a63-5d7e-4c39-9a4b-2f1f8f0b6e01"],
    )
    schema_version: str = Field(
        default="",
        validate_default=True,
        description="major.minor version of this event's schema.",
        examples=["1.0"],
    )
    occurred_at: AwareDatetime = Field(
        default_factory=utc_now,
        description="When the fact happened, in UTC.",
        examples=["2026-11-26T10:00:00Z"],
    )
    producer: str = Field(
        description="Name of the service or tool that produced the event.",
        examples=["ingestion"],
    )
    correlation_id: uuid.UUID = Field(
        description="The flow: the event_id of the data-arrival (or request) that started it.",
        examples=["0b9c2a63-5d7e-4c39-9a4b-2f1f8f0b6e01"],
    )
    causation_id: uuid.UUID | None = Field(
        default=None,
        description="event_id of the event that directly caused this one; null for a flow's first.",
        examples=["7a1e0c55-1f0e-4b8c-8f55-3d0c6c1f2b77"],
    )

    @field_validator("schema_version", mode="before")
    @classmethod
    def _default_schema_version(cls, value: object) -> object:
        return value or f"{cls.major_version}.{cls.minor_version}"

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError as err:
            # 0001-01-01T00:00:00+01:00 is valid RFC 3339 but before year 1 in UTC. As a
            # ValueError it is a validation error: dead-lettered at once, a 422 over HTTP,
            # rather than an unexpected exception retried as if it might pass next time.
            raise ValueError(f"{value.isoformat()} is outside the years 1-9999 in UTC") from err

    @classmethod
    def topic(cls) -> str:
        """The Kafka topic this event type is published on."""
        return f"millrace.{cls.event_type}.v{cls.major_version}"

    @classmethod
    def cloudevents_type(cls) -> str:
        return f"dev.millrace.{cls.event_type}.v{cls.major_version}"

    @property
    def partition_key(self) -> str:
        """Key of the Kafka record: one dataset or model per partition keeps its order."""
        raise NotImplementedError


class Envelope(TypedDict):
    """A new event's envelope fields, unpacked into its own constructor so that mypy checks
    every payload field: ``DataArrived(**first_of_flow(producer="cli"), dataset=..., uri=...)``.
    """

    event_id: uuid.UUID
    producer: str
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None


def first_of_flow(*, producer: str, event_id: uuid.UUID | None = None) -> Envelope:
    """The envelope of an event that starts a flow: its correlation id is its own id."""
    own_id = event_id or uuid.uuid4()
    return Envelope(event_id=own_id, producer=producer, correlation_id=own_id, causation_id=None)


def caused_by(event: type[Event], cause: Event, *, producer: str, salt: str = "") -> Envelope:
    """The envelope of an ``event`` caused by ``cause``, in the same flow.

    The id derives from the cause (and ``salt``, which keeps apart events of one type from one
    cause): a redelivered cause yields the same id, and consumers drop the repeat.
    """
    return Envelope(
        event_id=derived_event_id(cause.event_id, event.event_type, salt),
        producer=producer,
        correlation_id=cause.correlation_id,
        causation_id=cause.event_id,
    )
