"""Topic names as people type them."""

from __future__ import annotations

import pytest
from millrace_cli.errors import CliError
from millrace_cli.topics import original_of, parse_event, resolve_topic, short_name
from millrace_contracts import DataArrived, first_of_flow


@pytest.mark.parametrize(
    ("typed", "full"),
    [
        ("model.promoted", "millrace.model.promoted.v1"),
        ("model.promoted.v1", "millrace.model.promoted.v1"),
        ("millrace.model.promoted.v1", "millrace.model.promoted.v1"),
        ("data.arrived.dlq", "millrace.data.arrived.v1.dlq"),
        ("millrace.data.arrived.v1.dlq", "millrace.data.arrived.v1.dlq"),
        ("someone.elses.topic", "someone.elses.topic"),
    ],
)
def test_short_and_full_names_resolve(typed: str, full: str) -> None:
    assert resolve_topic(typed) == full


def test_an_unknown_short_name_lists_the_known_ones() -> None:
    with pytest.raises(CliError) as raised:
        resolve_topic("promoted")
    assert "model.promoted" in raised.value.message


def test_short_name_and_original_topic() -> None:
    assert short_name("millrace.model.promoted.v1") == "model.promoted"
    assert short_name("millrace.model.promoted.v1.dlq") == "model.promoted.dlq"
    assert short_name("other.topic") == "other.topic"
    assert original_of("millrace.data.arrived.v1.dlq") == "millrace.data.arrived.v1"


def test_parse_event_returns_none_for_what_is_not_a_contract_event() -> None:
    event = DataArrived(**first_of_flow(producer="t"), dataset="iris", uri="s3://bucket/iris/a.csv")
    assert parse_event(event.topic(), event.model_dump_json().encode()) == event
    assert parse_event(event.topic(), b"{not json") is None
    assert parse_event("other.topic", event.model_dump_json().encode()) is None
