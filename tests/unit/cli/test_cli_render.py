"""What people read: stage lines, tail lines and JSON, tables, lag."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import TopicPartition
from cli_support import arrived, not_promoted, promoted, rejected, trained, validated
from millrace_cli.commands.events import record_json, record_line
from millrace_cli.commands.predict import batches, predictions_table
from millrace_cli.commands.publish import landing_key
from millrace_cli.describe import describe
from millrace_cli.records import Record
from millrace_shared.kafka import compute_lag
from rich.console import Console


def plain(markup: str) -> str:
    console = Console(width=300, record=True, file=io.StringIO())
    console.print(markup)
    return console.export_text()


def test_stages_in_words() -> None:
    start = arrived()
    ok = validated(start)
    assert "validated iris: 150 rows, version aaaaaaaaaaaa (new version)" in plain(describe(ok))
    text = plain(describe(rejected(start)))
    assert "rejected iris (2 reason(s))" in text
    assert "missing_column: column 'petal_width' is missing" in text
    assert "out_of_range: sepal_length above 10" in text
    assert "random_forest in 1.5s: accuracy=0.950" in plain(describe(trained(ok)))
    assert "promoted iris v1 to production (policy): no production version yet" in plain(
        describe(promoted(ok))
    )
    assert "not promoted iris v2: not_improved: accuracy 0.95 vs 0.97 of v1" in plain(
        describe(not_promoted(ok))
    )


def test_values_from_events_are_not_taken_for_markup() -> None:
    start = arrived()
    event = rejected(start).model_copy(
        update={
            "reasons": [rejected(start).reasons[0].model_copy(update={"message": "[bold]x[/]"})]
        }
    )
    assert "[bold]x[/]" in plain(describe(event))


def record(value: bytes, topic: str = "millrace.data.arrived.v1") -> Record:
    return Record(
        topic=topic,
        partition=2,
        offset=7,
        timestamp_ms=1_764_151_200_000,
        key=b"iris",
        value=value,
        headers=(("ce_type", b"dev.millrace.data.arrived.v1"),),
    )


def test_a_tailed_record_as_json_and_as_a_line() -> None:
    event = arrived()
    line = record_json(record(event.model_dump_json().encode()))
    assert json.loads(json.dumps(line))["value"]["event_id"] == str(event.event_id)
    assert (line["partition"], line["offset"], line["key"]) == (2, 7, "iris")
    assert line["headers"] == {"ce_type": "dev.millrace.data.arrived.v1"}
    assert line["timestamp"].startswith("2025-11-26T10:00:00")
    assert record_json(record(b"{not json"))["value"] == "{not json"

    text = plain(record_line(record(event.model_dump_json().encode())))
    assert "data.arrived 2:7 iris  arrived iris s3://millrace-landing/iris/a.csv" in text
    assert "{not json" in plain(record_line(record(b"{not json", topic="x.dlq")))


def test_landing_keys_are_new_for_every_publish() -> None:
    when = datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)
    assert landing_key("iris", Path("/x/iris.csv"), when) == "iris/20261126T100000123456Z-iris.csv"


def test_predictions_table_and_batches() -> None:
    rows = [{"x": 1}, {"x": 2}, {"x": 3}]
    assert batches(rows, 2) == [[{"x": 1}, {"x": 2}], [{"x": 3}]]
    text = plain(predictions_table(rows[:2], [{"prediction": "a"}, "b"]))
    assert "x=1" in text and " a " in text and " b " in text


def test_lag_per_topic_and_group() -> None:
    a0, a1 = TopicPartition("a", 0), TopicPartition("a", 1)
    b0 = TopicPartition("b", 0)
    ends = {a0: 10, a1: 5, b0: 3}
    committed = {"g1": {a0: 10, a1: 2}, "g2": {a0: 4}, "g3": {b0: 3}}
    rows = {r.topic: r for r in compute_lag(ends, committed, ["a", "b"])}
    assert rows["a"].end_offset == 15
    assert rows["a"].lag == {"g1": 3, "g2": 11}  # g2 never committed on partition 1
    assert rows["b"].lag == {"g3": 0}
