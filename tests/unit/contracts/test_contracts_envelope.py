"""Envelope behaviour: deterministic causation ids, correlation, topics."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from millrace_contracts import (
    BY_TOPIC,
    DLQ_SUFFIX,
    EVENT_TYPES,
    TOPICS,
    DataArrived,
    DatasetRejected,
    DatasetValidated,
    Event,
    Reason,
    TopicSpec,
    TrainingRequested,
    caused_by,
    derived_event_id,
    first_of_flow,
    topic_for,
)
from pydantic import ValidationError

TOPIC_NAME = re.compile(
    r"^millrace\.(?P<entity>[a-z][a-z0-9_]*)\.(?P<event>[a-z][a-z0-9_]*)\.v(?P<major>[1-9][0-9]*)$"
)


def arrival() -> DataArrived:
    return DataArrived(
        **first_of_flow(producer="cli"),
        dataset="iris",
        uri="s3://millrace-landing/iris/2026-11-26.csv",
    )


def rejected(cause: Event, producer: str = "p", salt: str = "") -> DatasetRejected:
    return DatasetRejected(
        **caused_by(DatasetRejected, cause, producer=producer, salt=salt),
        dataset="iris",
        source_uri="s3://millrace-landing/iris/2026-11-26.csv",
        reasons=[Reason(code="empty", message="no rows")],
    )


def test_first_of_flow_correlates_to_itself() -> None:
    event = arrival()
    assert event.correlation_id == event.event_id
    assert event.causation_id is None
    assert event.schema_version == "1.0"
    assert event.occurred_at.utcoffset() is not None


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999999-00:01"]
)
def test_a_time_with_no_utc_equivalent_is_a_validation_error(moment: str) -> None:
    """Found by tests/unit/contracts/test_contracts_properties.py: valid RFC 3339 that
    converts to UTC outside Python's calendar raised OverflowError, which consumers retried."""
    raw = arrival().model_dump(mode="json") | {"occurred_at": moment}
    with pytest.raises(ValidationError, match="outside the years 1-9999 in UTC"):
        DataArrived.model_validate_json(json.dumps(raw))


def test_the_edges_of_the_calendar_in_utc_are_read() -> None:
    raw = arrival().model_dump(mode="json") | {"occurred_at": "0001-01-01T00:00:00-01:00"}
    assert DataArrived.model_validate_json(json.dumps(raw)).occurred_at.year == 1


def test_caused_by_is_deterministic_and_carries_the_flow() -> None:
    cause = arrival()
    first, again = rejected(cause, "ingestion"), rejected(cause, "ingestion")
    assert first.event_id == again.event_id  # a redelivered cause yields the same id
    assert first.event_id == derived_event_id(cause.event_id, "dataset.rejected", "")
    assert first.correlation_id == cause.correlation_id
    assert first.causation_id == cause.event_id
    assert first.producer == "ingestion"


def test_caused_by_ids_differ_by_cause_type_and_salt() -> None:
    cause, other_cause = arrival(), arrival()
    ids = {
        rejected(cause).event_id,
        rejected(other_cause).event_id,
        rejected(cause, salt="b").event_id,
        TrainingRequested(
            **caused_by(TrainingRequested, cause, producer="p"), dataset="iris"
        ).event_id,
    }
    assert len(ids) == 4


def test_caused_by_ids_are_those_already_on_the_wire() -> None:
    # Consumers deduplicate on these ids: a change would make every replay look new.
    cause = DataArrived(
        **first_of_flow(producer="cli", event_id=uuid.UUID("0b9c2a63-5d7e-4c39-9a4b-2f1f8f0b6e01")),
        dataset="iris",
        uri="s3://millrace-landing/iris/a.csv",
    )
    assert cause.event_id == cause.correlation_id
    assert str(rejected(cause).event_id) == "bcd7d1f6-7479-51f5-bc8e-94a407da2356"
    assert str(rejected(cause, salt="m/1/3").event_id) == "04135889-bac5-55bb-b792-2315a6c33f88"


def test_correlation_survives_a_chain() -> None:
    cause = arrival()
    middle = TrainingRequested(
        **caused_by(TrainingRequested, cause, producer="cli"), dataset="iris"
    )
    last = rejected(middle, "ingestion")
    assert last.correlation_id == cause.event_id
    assert last.causation_id == middle.event_id


def test_derived_event_id_is_a_stable_uuid5() -> None:
    cause = uuid.UUID("0b9c2a63-5d7e-4c39-9a4b-2f1f8f0b6e01")
    value = derived_event_id(cause, "dataset.validated", "")
    assert value.version == 5
    assert value == derived_event_id(str(cause), "dataset.validated", "")


@pytest.mark.parametrize("spec", TOPICS, ids=lambda s: s.event.event_type)
def test_topic_names_follow_the_convention(spec: TopicSpec) -> None:
    event = spec.event
    match = TOPIC_NAME.match(spec.name)
    assert match, f"{spec.name} is not millrace.<entity>.<event>.v<major>"
    assert f"{match['entity']}.{match['event']}" == event.event_type
    assert int(match["major"]) == event.major_version
    assert spec.dlq == spec.name + DLQ_SUFFIX
    assert topic_for(event) is spec


def test_topics_and_event_types_are_unique() -> None:
    assert len(BY_TOPIC) == len(TOPICS)
    # EVENT_TYPES is keyed by event type alone: a second major version of an event would
    # silently replace the first there, so this fails loudly instead when a .v2 is added.
    assert len(EVENT_TYPES) == len(TOPICS)


def test_partition_keys_come_from_the_payload() -> None:
    assert arrival().partition_key == "iris"
    requested = TrainingRequested(
        **caused_by(TrainingRequested, arrival(), producer="cli"), dataset="iris"
    )
    assert requested.partition_key == "iris"
    assert DatasetValidated.topic() == "millrace.dataset.validated.v1"
