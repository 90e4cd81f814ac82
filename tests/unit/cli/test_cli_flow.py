"""Following a flow: which event ends it, with which exit code, and what is shown."""

from __future__ import annotations

from typing import Any, cast

import pytest
from cli_support import (
    arrived,
    deployed,
    not_promoted,
    promoted,
    rejected,
    trained,
    validated,
)
from millrace_cli.errors import ExitCode
from millrace_cli.flow import follow, outcome_of
from millrace_contracts import Event
from millrace_shared.watch import EventWatcher


class FakeWatcher:
    """What follow() reads of an EventWatcher: its growing list of events."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events


def watcher(events: list[Event]) -> EventWatcher:
    return cast(EventWatcher, FakeWatcher(events))


def code_of(event: Event) -> ExitCode | None:
    outcome = outcome_of(event)
    return None if outcome is None else outcome.code


def test_final_events_and_their_exit_codes() -> None:
    start = arrived()
    ok = validated(start)
    assert code_of(ok) is None
    assert code_of(trained(ok)) is None
    assert code_of(rejected(start)) == ExitCode.DATASET_REJECTED
    assert code_of(not_promoted(ok)) == ExitCode.MODEL_REJECTED
    assert code_of(promoted(ok)) == ExitCode.OK


def test_validated_without_training_or_new_content_ends_the_flow() -> None:
    start = arrived()
    untrained = outcome_of(validated(start, training=False))
    same = outcome_of(validated(start, new=False))
    assert untrained is not None and untrained.code == ExitCode.OK
    assert "no training" in untrained.summary
    assert same is not None and "same content" in same.summary


async def test_follow_shows_the_stages_of_its_flow_only_until_the_end() -> None:
    start, other = arrived(), arrived("other")
    ok = validated(start)
    model = trained(ok)
    events: list[Event] = [validated(other), ok, model, promoted(model), deployed(model)]
    shown: list[Event] = []
    outcome = await follow(watcher(events), start.event_id, shown.append, within=1)
    assert outcome.code == ExitCode.OK
    assert [type(e).__name__ for e in shown] == [
        "DatasetValidated",
        "ModelTrained",
        "ModelPromoted",
    ]
    assert all(e.correlation_id == start.event_id for e in shown)


async def test_follow_waits_for_the_deployment_of_the_promoted_version() -> None:
    start = arrived()
    model = trained(validated(start))
    events: list[Event] = [promoted(model, version=3), deployed(model, version=2)]
    shown: list[Event] = []
    pending = follow(watcher(events), start.event_id, shown.append, within=1, deployment_within=0.3)
    outcome = await pending
    assert outcome.code == ExitCode.OK
    assert "no deployment seen" in outcome.summary

    events.append(deployed(model, version=3))
    shown.clear()
    outcome = await follow(
        watcher(events), start.event_id, shown.append, within=1, deployment_within=1
    )
    assert outcome.summary == "the model was promoted and deployed"
    assert [getattr(e, "version", None) for e in shown[1:]] == [2, 3]


@pytest.mark.parametrize(
    ("final", "code"),
    [(rejected, ExitCode.DATASET_REJECTED), (not_promoted, ExitCode.MODEL_REJECTED)],
)
async def test_follow_returns_the_rejections(final: Any, code: ExitCode) -> None:
    start = arrived()
    outcome = await follow(watcher([final(start)]), start.event_id, lambda _: None, within=1)
    assert outcome.code == code


async def test_follow_times_out_when_the_flow_does_not_end() -> None:
    start = arrived()
    outcome = await follow(watcher([validated(start)]), start.event_id, lambda _: None, within=0.2)
    assert outcome.code == ExitCode.TIMEOUT
    assert outcome.event is None
