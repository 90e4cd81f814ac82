from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from millrace_contracts import RetrainingPolicy
from millrace_training.core.retraining import (
    RetrainingDecision,
    RetrainingRecord,
    decide_retraining,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = RetrainingPolicy(cooldown_seconds=300, min_new_rows=100)


def record(seconds_ago: float, cause: uuid.UUID | None = None) -> RetrainingRecord:
    return RetrainingRecord(
        model_name="iris",
        dataset="iris",
        dataset_version="ab" * 32,
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
        "newest_rows": 500,
        "baseline_rows": 300,
    }
    args.update(overrides)
    return decide_retraining(**args)  # type: ignore[arg-type]


def test_retrains_with_enough_new_rows_and_no_cooldown() -> None:
    assert decide().retrain


def test_policy_can_ignore_drift_or_degradation() -> None:
    assert not decide(policy=RetrainingPolicy(on_drift=False)).retrain
    assert decide(policy=RetrainingPolicy(on_drift=False), trigger="degradation").retrain
    off = RetrainingPolicy(on_degradation=False)
    assert not decide(policy=off, trigger="degradation").retrain


def test_cooldown_blocks_a_second_retraining() -> None:
    decision = decide(last=record(seconds_ago=60))
    assert not decision.retrain and "cooldown" in decision.reason
    assert decide(last=record(seconds_ago=301)).retrain


def test_min_new_rows_against_the_production_models_data() -> None:
    decision = decide(newest_rows=399, baseline_rows=300)
    assert not decision.retrain and "min_new_rows" in decision.reason
    assert decide(newest_rows=400, baseline_rows=300).retrain


def test_without_a_baseline_rows_are_not_compared() -> None:
    assert decide(newest_rows=1, baseline_rows=None).retrain


def test_no_known_version_no_retraining() -> None:
    assert not decide(newest_rows=None).retrain


def test_a_storm_of_signals_leads_to_one_retraining() -> None:
    # Signals handled one after another, the record persisted before each fit (as the runner
    # does): only the first retrains.
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
                dataset_version="cd" * 32,
                trigger="drift",
                cause_event_id=cause,
                started_at=now,
            )
    assert decisions == [True, False, False, False, False]


def test_redelivery_of_the_signal_that_started_a_retraining_carries_on() -> None:
    cause = uuid.uuid4()
    decision = decide(cause_event_id=cause, last=record(seconds_ago=5, cause=cause))
    assert decision.retrain and "redelivery" in decision.reason
