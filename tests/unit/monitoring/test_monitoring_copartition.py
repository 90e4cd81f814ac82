"""Monitoring refuses to start unless the topics it joins by key are co-partitioned."""

from __future__ import annotations

import logging

import pytest
from millrace_contracts import LabelsObserved, PredictionsLogged
from millrace_monitoring import copartition
from millrace_monitoring.bootstrap import build_app
from millrace_monitoring.copartition import (
    NotCoPartitioned,
    check_copartitioned,
    copartition_problem,
    joined_topics,
)
from millrace_monitoring.settings import MonitoringSettings
from millrace_shared.objectstore import InMemoryObjectStore

P, L = PredictionsLogged.topic(), LabelsObserved.topic()
SAME_KEY = {P: "model name", L: "model name"}


def test_the_catalogue_keys_both_joined_topics_by_model_name() -> None:
    assert joined_topics() == SAME_KEY


def test_same_partition_count_and_key_is_a_join() -> None:
    assert copartition_problem({P: 6, L: 6}, SAME_KEY) is None


def test_different_partition_counts_are_named_with_both_counts() -> None:
    problem = copartition_problem({P: 6, L: 3}, SAME_KEY)
    assert problem is not None
    assert f"{P} has 6" in problem and f"{L} has 3" in problem
    assert "not co-partitioned" in problem


def test_a_missing_topic_is_no_join() -> None:
    problem = copartition_problem({P: 3, L: None}, SAME_KEY)
    assert problem is not None and L in problem and "not found" in problem


def test_different_keys_are_no_join() -> None:
    problem = copartition_problem({P: 3, L: 3}, {P: "model name", L: "request id"})
    assert problem is not None and "keyed differently" in problem


async def test_the_check_raises_and_logs_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def counts(_s: object, _t: list[str], _w: float) -> dict[str, int | None]:
        return {P: 6, L: 3}

    monkeypatch.setattr(copartition, "partition_counts", counts)
    # At the service's own logger: the CLI's tests, in the same process, set the "millrace"
    # logger to CRITICAL (the CLI keeps library logs quiet).
    with (
        caplog.at_level(logging.ERROR, logger=copartition.logger.name),
        pytest.raises(NotCoPartitioned, match="6"),
    ):
        await check_copartitioned(MonitoringSettings())
    assert "refusing to start" in caplog.text


async def test_the_app_checks_first_of_all_its_start_up_hooks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before it restores state or consumes anything: the first hook is the check."""
    seen: list[str] = []

    async def check(_settings: object, topics: object = None) -> None:
        seen.append("checked")
        raise NotCoPartitioned("no")

    async def no_topics(_settings: object) -> None:
        return None

    monkeypatch.setattr("millrace_monitoring.bootstrap.check_copartitioned", check)
    monkeypatch.setattr("millrace_shared.service.ensure_topics", no_topics)
    app = build_app(
        MonitoringSettings(kafka_bootstrap="unreachable:1"), store=InMemoryObjectStore()
    )
    with pytest.raises(NotCoPartitioned):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover - the start fails
    assert seen == ["checked"]
