from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from millrace_contracts import RetrainingPolicy
from millrace_training.core.retraining import (
    RetrainingDecision,
    RetrainingRecord,
    decide_on_new_data,
    decide_retraining,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = RetrainingPolicy(cooldown_seconds=300, min_new_rows=100)
PRODUCTION_VERSION = "ab" * 32
NEWEST_VERSION = "cd" * 32


def record(seconds_ago: float, cause: uuid.UUID | None = None) -> RetrainingRecord:
    return RetrainingRecord(
        model_name="iris",
        dataset="iris",
        dataset_version=NEWEST_VERSION,
        trigger="drift",
        cause_event_id=cause or uuid.uuid4(),
        started_at=NOW - timedelta(seconds=seconds_ago),
    )


def decide(**overrides: object) -> RetrainingDecision:
    args: dict[str, object] = {
        "trigger": "drift",
        "policy": POLICY,
        "now": NOW,
        "cause_event_id": uuid.uuid4(),
        "last": None,
        "newest_version": NEWEST_VERSION,
        "newest_rows": 500,
        "newest_already_trained": False,
        "production_version": PRODUCTION_VERSION,
        "production_rows": 300,
    }
    args.update(overrides)
    return decide_retraining(**args)  # type: ignore[arg-type]


def test_retrains_on_a_newer_untrained_version_with_enough_rows() -> None:
    decision = decide()
    assert decision.retrain and "adds 200 row(s)" in decision.reason


def test_policy_can_ignore_drift() -> None:
    decision = decide(policy=RetrainingPolicy(on_drift=False))
    assert not decision.retrain and "on_drift=false" in decision.reason
    assert decide(policy=RetrainingPolicy(on_drift=False), trigger="degradation").retrain


def test_policy_can_ignore_degradation() -> None:
    off = RetrainingPolicy(on_degradation=False)
    decision = decide(policy=off, trigger="degradation")
    assert not decision.retrain and "on_degradation=false" in decision.reason
    assert decide(policy=off, trigger="drift").retrain


def test_no_known_version_no_retraining() -> None:
    decision = decide(newest_version=None, newest_rows=0)
    assert not decision.retrain and "no validated dataset version" in decision.reason


def test_the_production_models_own_version_has_nothing_new() -> None:
    decision = decide(newest_version=PRODUCTION_VERSION, newest_rows=300)
    assert not decision.retrain and "nothing new to learn" in decision.reason


def test_an_already_trained_newest_version_was_decided_by_the_registry() -> None:
    decision = decide(newest_already_trained=True)
    assert not decision.retrain and "already trained, registry decided" in decision.reason


def test_min_new_rows_against_the_production_models_data() -> None:
    decision = decide(newest_rows=399, production_rows=300)
    assert not decision.retrain and "adds 99 row(s)" in decision.reason
    assert "min_new_rows=100" in decision.reason
    assert decide(newest_rows=400, production_rows=300).retrain


def test_unknown_production_rows_count_as_zero() -> None:
    decision = decide(newest_rows=99, production_rows=None)
    assert not decision.retrain and "min_new_rows" in decision.reason
    assert decide(newest_rows=100, production_rows=None).retrain
    assert decide(newest_rows=100, production_version=None, production_rows=None).retrain


def test_same_sized_shifted_data_retrains_only_with_min_new_rows_zero() -> None:
    assert not decide(newest_rows=300, production_rows=300).retrain
    zero = RetrainingPolicy(min_new_rows=0)
    assert decide(newest_rows=300, production_rows=300, policy=zero).retrain


def test_cooldown_blocks_a_second_retraining() -> None:
    decision = decide(last=record(seconds_ago=60))
    assert not decision.retrain and "cooldown" in decision.reason
    assert decide(last=record(seconds_ago=301)).retrain


def test_redelivery_of_the_signal_that_started_a_retraining_carries_on() -> None:
    cause = uuid.uuid4()
    decision = decide(cause_event_id=cause, last=record(seconds_ago=5, cause=cause))
    assert decision.retrain and "redelivery" in decision.reason


def test_a_redelivery_whose_run_finished_is_not_trained_again() -> None:
    cause = uuid.uuid4()
    decision = decide(
        cause_event_id=cause, last=record(seconds_ago=5, cause=cause), newest_already_trained=True
    )
    assert not decision.retrain and "already trained" in decision.reason


def test_a_storm_of_signals_leads_to_one_retraining() -> None:
    # Signals handled one after another, the record persisted before each fit (as the runner
    # does) and the fit not finished yet: only the first retrains, the cooldown stops the rest.
    last: RetrainingRecord | None = None
    decisions = []
    for second in range(5):
        cause = uuid.uuid4()
        now = NOW + timedelta(seconds=second)
        decision = decide(now=now, cause_event_id=cause, last=last)
        decisions.append(decision.retrain)
        if decision.retrain:
            last = RetrainingRecord(
                model_name="iris",
                dataset="iris",
                dataset_version=NEWEST_VERSION,
                trigger="drift",
                cause_event_id=cause,
                started_at=now,
            )
    assert decisions == [True, False, False, False, False]


def test_the_first_model_of_a_name_always_trains() -> None:
    for on_new_data in (True, False):
        policy = RetrainingPolicy(on_new_data=on_new_data)
        assert decide_on_new_data(policy, has_production=False).retrain


@pytest.mark.parametrize("on_new_data", [True, False])
def test_new_data_with_a_production_model_follows_on_new_data(on_new_data: bool) -> None:
    decision = decide_on_new_data(RetrainingPolicy(on_new_data=on_new_data), has_production=True)
    assert decision.retrain is on_new_data
    assert f"on_new_data={str(on_new_data).lower()}" in decision.reason
    if not on_new_data:
        assert "waiting for drift/degradation/request" in decision.reason
