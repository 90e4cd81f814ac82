"""Dead letters: reading their headers, choosing them, and what a replay sends."""

from __future__ import annotations

import pytest
from millrace_cli.dlq import as_dict, select
from millrace_cli.errors import CliError
from millrace_shared.records import Record

DLQ = "millrace.data.arrived.v1.dlq"


def letter(partition: int, offset: int, **dlq: str) -> Record:
    headers = (
        ("ce_id", b"abc"),
        ("traceparent", b"00-1-2-01"),
        *((f"x-millrace-dlq-{k.replace('_', '-')}", v.encode()) for k, v in dlq.items()),
    )
    return Record(
        topic=DLQ,
        partition=partition,
        offset=offset,
        timestamp_ms=1_700_000_000_000,
        key=b"iris",
        value=b"{not json",
        headers=headers,
    )


def test_the_dlq_headers_say_where_it_came_from_and_why() -> None:
    dead = letter(
        1,
        4,
        original_topic="millrace.data.arrived.v1",
        original_partition="2",
        original_offset="17",
        kind="poison",
        attempts="1",
        reason="ValidationError: bad",
        service="ingestion",
        failed_at="2026-11-26T10:00:00+00:00",
    )
    assert (dead.original_topic, dead.original_partition, dead.original_offset) == (
        "millrace.data.arrived.v1",
        2,
        17,
    )
    assert (dead.kind, dead.attempts, dead.reason, dead.service) == (
        "poison",
        "1",
        "ValidationError: bad",
        "ingestion",
    )
    row = as_dict(dead)
    assert row["dlq_offset"] == 4 and row["key"] == "iris" and row["value"] == "{not json"


def test_a_letter_without_headers_falls_back_to_the_dlq_topic_name() -> None:
    dead = letter(0, 0)
    assert dead.original_topic == "millrace.data.arrived.v1"
    assert dead.original_offset is None
    assert dead.kind == "?"
    assert dead.failed_at.startswith("2023-11-14")


def test_a_replay_keeps_the_original_headers_in_order_without_the_dlq_ones() -> None:
    dead = letter(0, 0, reason="boom", kind="exhausted")
    assert dead.replay_headers() == [("ce_id", b"abc"), ("traceparent", b"00-1-2-01")]


def test_select_by_offset_and_partition() -> None:
    letters = [letter(0, 3), letter(1, 3), letter(1, 4)]
    assert select(letters, offset=None, partition=None) == letters
    assert select(letters, offset=4, partition=None) == [letters[2]]
    assert select(letters, offset=3, partition=1) == [letters[1]]
    with pytest.raises(CliError, match="choose one with --partition"):
        select(letters, offset=3, partition=None)
    with pytest.raises(CliError, match="no dead letter at partition 2 offset 3"):
        select(letters, offset=3, partition=2)
