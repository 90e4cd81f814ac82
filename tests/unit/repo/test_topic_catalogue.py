"""The topic catalogue says what the code does: each service's entries against its AsyncAPI
document (either way), the README's table against the catalogue."""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from millrace_cli.flow import FLOW_EVENTS
from millrace_contracts import DataArrived, DatasetDeclared, TrainingRequested
from millrace_contracts.topics import BY_TOPIC, DATA_TEAMS, TOPICS, Service

ASYNCAPI = Path(__file__).resolve().parents[3] / "docs" / "asyncapi"
sys.path.insert(0, str(ASYNCAPI))

import catalogue  # noqa: E402


def committed(service: Service) -> dict[str, Any]:
    """The document generate.py wrote from the code (its --check keeps it in step)."""
    doc: dict[str, Any] = json.loads((ASYNCAPI / f"{service}.json").read_text())
    return doc


@pytest.mark.parametrize("service", list(Service))
def test_each_service_does_what_the_catalogue_says(service: Service) -> None:
    assert catalogue.differences(service, committed(service)) == []


def test_a_subscription_missing_from_the_document_is_reported() -> None:
    doc = committed(Service.TRAINING)
    dropped = copy.deepcopy(doc)
    name = next(n for n, op in doc["operations"].items() if op["action"] == "receive")
    del dropped["operations"][name]
    topic = doc["channels"][doc["operations"][name]["channel"]["$ref"].rsplit("/", 1)[-1]]
    assert catalogue.differences(Service.TRAINING, dropped) == [
        f"catalogue: training consumes {topic['address']}, not in its code"
    ]


def test_a_publication_the_catalogue_does_not_list_is_reported() -> None:
    doc = copy.deepcopy(committed(Service.MONITORING))
    topic = TrainingRequested.topic()
    doc["channels"]["extra"] = {"address": topic}
    doc["operations"]["extra"] = {"action": "send", "channel": {"$ref": "#/channels/extra"}}
    dead_letters = copy.deepcopy(committed(Service.REGISTRY))
    dead_letters["channels"]["dlq"] = {"address": BY_TOPIC[topic].dlq}
    dead_letters["operations"]["dlq"] = {"action": "send", "channel": {"$ref": "#/channels/dlq"}}
    assert catalogue.differences(Service.MONITORING, doc) == [
        f"monitoring produces {topic}, not in the catalogue"
    ]
    assert catalogue.differences(Service.REGISTRY, dead_letters) == [
        f"registry produces {topic}.dlq, not in the catalogue"
    ]


def test_the_cli_as_a_data_team_may_publish_and_follow_the_flow() -> None:
    """What `publish`, `datasets declare` and `train` send, and what their --wait reads."""
    for sent in (DataArrived, DatasetDeclared, TrainingRequested):
        assert DATA_TEAMS in BY_TOPIC[sent.topic()].producers, sent
    for read in FLOW_EVENTS:
        assert DATA_TEAMS in BY_TOPIC[read.topic()].consumers, read


def test_every_consumed_topic_has_its_dead_letter_writers() -> None:
    by_service = {t.name: t.dead_letter_producers for t in TOPICS}
    assert by_service[DataArrived.topic()] == (Service.INGESTION,)
    assert by_service[TrainingRequested.topic()] == (Service.TRAINING,)


def test_the_readme_shows_the_catalogue() -> None:
    assert catalogue.main(["--check"]) == 0


def test_a_changed_catalogue_makes_the_readme_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = [
        dataclasses.replace(t, producers=(*t.producers, Service.MONITORING))
        if t.event is TrainingRequested
        else t
        for t in TOPICS
    ]
    monkeypatch.setattr(catalogue, "TOPICS", tuple(changed))
    assert "| data teams, monitoring | training |" in catalogue.topic_table()
    assert catalogue.main(["--check"]) == 1
