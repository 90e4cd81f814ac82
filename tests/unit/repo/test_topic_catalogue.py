"""The topic catalogue says what the code does: each service's entries against its AsyncAPI
document, either way, and the README's table against the catalogue."""

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
from millrace_contracts.topics import ALL_TOPICS, BY_TOPIC, DATA_TEAMS, TOPICS, Service

ASYNCAPI = Path(__file__).resolve().parents[3] / "docs" / "asyncapi"
sys.path.insert(0, str(ASYNCAPI))

import generate  # noqa: E402


def committed(service: Service) -> dict[str, Any]:
    """The document generate.py wrote from the code (its --check keeps it in step)."""
    doc: dict[str, Any] = json.loads((ASYNCAPI / f"{service}.json").read_text())
    return doc


def declared(doc: dict[str, Any], action: str) -> set[str]:
    """Topics of the document's operations with ``action`` (``receive`` or ``send``)."""
    channels = doc.get("channels", {})
    return {
        channels[op["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        for op in doc.get("operations", {}).values()
        if op["action"] == action
    }


def differences(service: Service, doc: dict[str, Any]) -> list[str]:
    """Every topic on which the document and the catalogue disagree, either way.

    Dead-letter topics are in neither, so one in a document is a difference: the middleware
    writes them, and the catalogue leaves them implicit.
    """
    problems = []
    for action, verb in (("receive", "consumers"), ("send", "producers")):
        listed = {t.name for t in ALL_TOPICS if service in getattr(t, verb)}
        found = declared(doc, action)
        problems += [f"{service} {action}s {t}, not in {verb}" for t in sorted(found - listed)]
        problems += [f"{verb} list {service} for {t}, not its code" for t in sorted(listed - found)]
    return problems


@pytest.mark.parametrize("service", list(Service))
def test_each_service_does_what_the_catalogue_says(service: Service) -> None:
    assert differences(service, committed(service)) == []


def add_operation(doc: dict[str, Any], action: str, topic: str) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    changed["channels"]["added"] = {"address": topic}
    changed["operations"]["added"] = {"action": action, "channel": {"$ref": "#/channels/added"}}
    return changed


def test_a_subscription_missing_from_the_document_is_reported() -> None:
    doc = committed(Service.TRAINING)
    dropped = copy.deepcopy(doc)
    name = next(n for n, op in doc["operations"].items() if op["action"] == "receive")
    del dropped["operations"][name]
    topic = doc["channels"][doc["operations"][name]["channel"]["$ref"].rsplit("/", 1)[-1]]
    assert differences(Service.TRAINING, dropped) == [
        f"consumers list training for {topic['address']}, not its code"
    ]


def test_a_topic_the_catalogue_does_not_list_is_reported() -> None:
    topic = TrainingRequested.topic()
    published = add_operation(committed(Service.MONITORING), "send", topic)
    dead_letters = add_operation(committed(Service.REGISTRY), "send", f"{topic}.dlq")
    read = add_operation(committed(Service.REGISTRY), "receive", topic)
    assert differences(Service.MONITORING, published) == [
        f"monitoring sends {topic}, not in producers"
    ]
    assert differences(Service.REGISTRY, dead_letters) == [
        f"registry sends {topic}.dlq, not in producers"
    ]
    assert differences(Service.REGISTRY, read) == [f"registry receives {topic}, not in consumers"]


def test_the_cli_as_a_data_team_may_publish_and_follow_the_flow() -> None:
    """What `publish`, `datasets declare` and `train` send, and what their --wait reads."""
    for sent in (DataArrived, DatasetDeclared, TrainingRequested):
        assert DATA_TEAMS in BY_TOPIC[sent.topic()].producers, sent
    for read in FLOW_EVENTS:
        assert DATA_TEAMS in BY_TOPIC[read.topic()].consumers, read


def test_dead_letters_are_written_by_the_consuming_services() -> None:
    assert BY_TOPIC[DataArrived.topic()].dead_letter_producers == (Service.INGESTION,)
    assert BY_TOPIC[TrainingRequested.topic()].dead_letter_producers == (Service.TRAINING,)


def test_the_readme_shows_the_catalogue() -> None:
    readme = (generate.ROOT / "README.md").read_text()
    assert generate.with_topic_table(readme) == readme, "run docs/asyncapi/generate.py"


def test_a_changed_catalogue_makes_the_readme_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (generate.ROOT / "README.md").read_text()
    changed = tuple(
        dataclasses.replace(t, producers=(*t.producers, Service.MONITORING))
        if t.event is TrainingRequested
        else t
        for t in TOPICS
    )
    monkeypatch.setattr(generate, "TOPICS", changed)
    assert "| data teams, monitoring | training |" in generate.topic_table()
    assert generate.with_topic_table(readme) != readme
