from __future__ import annotations

from datetime import timedelta

import pytest
from millrace_contracts import (
    ArtifactRef,
    DecisionCode,
    ModelPromoted,
    ModelRejected,
    derived_event_id,
)
from millrace_registry.core.errors import AliasConflict, UnknownModel, UnknownVersion
from millrace_registry.core.events import decision_event
from millrace_registry.core.policy import NON_FINITE_METRIC, STALE_COMPARISON
from millrace_registry.core.service import Registry
from millrace_registry.core.store import RegistryStore
from millrace_shared.objectstore import InMemoryObjectStore
from registry_support import BUCKET, Clock, MakeTrained


def kinds(registry: Registry) -> list[tuple[str, int]]:
    return [(e.kind, e.version) for e in registry.store.audit("iris")]


def promoted(event: object) -> ModelPromoted:
    assert isinstance(event, ModelPromoted), event
    return event


def test_first_version_is_registered_and_promoted(registry: Registry, trained: MakeTrained) -> None:
    cause = trained("run-1", 0.9)
    event = promoted(registry.register_trained(cause))
    assert event.model.version == 1
    assert event.previous_version is None
    assert (event.kind, event.actor, event.alias) == ("policy", "registry-policy", "production")
    assert event.event_id == derived_event_id(cause.event_id, "model.promoted", "")
    assert event.causation_id == cause.event_id
    assert event.correlation_id == cause.correlation_id
    assert event.model.artifact == cause.artifact
    assert event.model.metrics == cause.metrics
    assert [r.code for r in event.reasons] == [DecisionCode.ABOVE_FLOOR, DecisionCode.FIRST_VERSION]
    assert kinds(registry) == [("registered", 1), ("promoted", 1)]
    assert registry.store.alias("iris", "production") == 1


def test_better_is_promoted_worse_is_rejected(registry: Registry, trained: MakeTrained) -> None:
    registry.register_trained(trained("run-1", 0.9))
    better = promoted(
        registry.register_trained(trained("run-2", 0.95, champion_version=1, champion_accuracy=0.9))
    )
    assert (better.model.version, better.previous_version) == (2, 1)
    assert [r.code for r in better.reasons][-1] == DecisionCode.IMPROVED

    worse = registry.register_trained(
        trained("run-3", 0.85, champion_version=2, champion_accuracy=0.95)
    )
    assert isinstance(worse, ModelRejected)
    assert (worse.version, worse.production_version) == (3, 2)
    assert [r.code for r in worse.reasons][-1] == DecisionCode.NOT_IMPROVED
    assert registry.store.alias("iris", "production") == 2
    assert kinds(registry)[-2:] == [("registered", 3), ("rejected", 3)]


def test_a_redelivery_creates_nothing_and_re_emits_the_same_event(
    registry: Registry, trained: MakeTrained, objects: InMemoryObjectStore, clock: Clock
) -> None:
    cause = trained("run-1", 0.9)
    first = registry.register_trained(cause)
    keys = objects.list_keys(BUCKET)
    clock.advance()
    again = registry.register_trained(cause)
    assert again == first
    assert objects.list_keys(BUCKET) == keys


def test_an_old_decision_replayed_after_newer_facts_is_not_re_emitted(
    registry: Registry, trained: MakeTrained
) -> None:
    old = trained("run-1", 0.9)
    registry.register_trained(old)
    registry.register_trained(trained("run-2", 0.95, champion_version=1, champion_accuracy=0.9))
    before = registry.store.audit("iris")
    # Replaying v1's promotion would move consumers back from v2.
    assert registry.register_trained(old) is None
    assert registry.store.audit("iris") == before
    assert registry.store.alias("iris", "production") == 2


def test_without_champion_metrics_productions_own_metrics_on_the_same_holdout_count(
    registry: Registry, trained: MakeTrained
) -> None:
    registry.register_trained(trained("run-1", 0.9))
    rejected = registry.register_trained(trained("run-2", 0.905))
    assert isinstance(rejected, ModelRejected)
    assert rejected.reasons[-1].details["champion_version"] == 1


def test_a_champion_evaluation_of_an_older_version_is_a_stale_comparison(
    registry: Registry, trained: MakeTrained
) -> None:
    registry.register_trained(trained("run-1", 0.9))
    registry.register_trained(trained("run-2", 0.95, champion_version=1, champion_accuracy=0.9))
    # Trained against v1 on a new holdout, but v2 is production by now.
    stale = trained("run-3", 0.85, holdout="h2", champion_version=1, champion_accuracy=0.99)
    event = promoted(registry.register_trained(stale))
    assert [r.code for r in event.reasons] == [DecisionCode.ABOVE_FLOOR, STALE_COMPARISON]
    record = registry.store.get_version("iris", 3)
    assert record is not None and record.decision.compared_with is None


def test_a_crash_between_claim_and_version_record_is_completed_on_retry(
    registry: Registry, trained: MakeTrained
) -> None:
    cause = trained("run-1", 0.9)
    registry.store.claim_version("iris", "run-1")  # the attempt that died right after this
    event = promoted(registry.register_trained(cause))
    assert event.model.version == 1
    assert kinds(registry) == [("registered", 1), ("promoted", 1)]
    assert registry.store.claim_version("iris", "run-2") == (2, True)


class FailingOnce(InMemoryObjectStore):
    """Fails the n-th write whose key contains a marker, as a crash at that point would."""

    def __init__(self, marker: str, nth: int = 1) -> None:
        super().__init__()
        self.marker, self.left = marker, nth

    def put_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        if self.marker in uri:
            self.left -= 1
            if self.left == 0:
                raise ConnectionError(f"lost the connection writing {uri}")
        return super().put_bytes(uri, data, content_type)

    def create_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        if self.marker in uri:
            self.left -= 1
            if self.left == 0:
                raise ConnectionError(f"lost the connection writing {uri}")
        return super().create_bytes(uri, data, content_type)


@pytest.mark.parametrize("nth", [1, 2], ids=["before-registered", "before-decision"])
def test_a_crash_while_writing_the_audit_trail_is_completed_on_retry(
    trained: MakeTrained, clock: Clock, nth: int
) -> None:
    objects = FailingOnce("/audit/", nth)
    objects.ensure_buckets([BUCKET])
    registry = Registry(RegistryStore(objects, BUCKET), clock=clock)
    cause = trained("run-1", 0.9)
    with pytest.raises(ConnectionError):
        registry.register_trained(cause)
    assert registry.store.alias("iris", "production") is None

    event = registry.register_trained(cause)
    # The promotion's sequence is its audit entry's: 2, after the registration.
    record = registry.store.get_version("iris", 1)
    assert record is not None and event == decision_event(record, sequence=2)
    assert kinds(registry) == [("registered", 1), ("promoted", 1)]
    assert registry.store.alias("iris", "production") == 1


def test_production_at_a_time_over_a_sequence_of_moves(
    registry: Registry, trained: MakeTrained, clock: Clock
) -> None:
    start = clock.now
    registry.register_trained(trained("run-1", 0.9))  # v1 at start
    t1 = clock.advance()
    registry.register_trained(trained("run-2", 0.95, champion_version=1, champion_accuracy=0.9))
    t2 = clock.advance()
    registry.register_trained(trained("run-3", 0.5))  # rejected: production stays 2
    t3 = clock.advance()
    registry.record(registry.plan_rollback("iris", reason="v2 misbehaves", actor="ops"))
    t4 = clock.advance()
    registry.record(registry.plan_promotion("iris", 3, reason="trust me", actor="alice"))

    second = timedelta(seconds=1)
    at = registry.store.alias
    assert at("iris", "production", start - second) is None
    assert at("iris", "production", start) == 1
    assert at("iris", "production", t1 - second) == 1
    assert at("iris", "production", t1) == 2
    assert at("iris", "production", t2 + second) == 2
    assert at("iris", "production", t3) == 1
    assert at("iris", "production", t4) == 3
    assert at("iris", "production") == 3
    moves = [(e.kind, e.actor, e.alias_move) for e in registry.store.audit("iris") if e.alias_move]
    assert [(k, a, m.from_version, m.to_version) for k, a, m in moves if m] == [
        ("promoted", "registry-policy", None, 1),
        ("promoted", "registry-policy", 1, 2),
        ("rollback", "ops", 2, 1),
        ("manual_promote", "alice", 1, 3),
    ]


def test_a_restarted_registry_sees_everything(
    registry: Registry, trained: MakeTrained, objects: InMemoryObjectStore, clock: Clock
) -> None:
    registry.register_trained(trained("run-1", 0.9))
    registry.register_trained(trained("run-2", 0.95, champion_version=1, champion_accuracy=0.9))
    last = trained("run-3", 0.5)
    rejected = registry.register_trained(last)

    restarted = Registry(RegistryStore(objects, BUCKET), clock=clock)
    assert restarted.store.warm() == 1
    assert restarted.store.version_numbers("iris") == [1, 2, 3]
    assert restarted.store.get_version("iris", 2) == registry.store.get_version("iris", 2)
    assert restarted.store.aliases("iris") == {"production": 2}
    assert restarted.store.audit("iris") == registry.store.audit("iris")
    assert restarted.register_trained(last) == rejected
    assert promoted(restarted.register_trained(trained("run-4", 0.99))).model.version == 4


class TestOperatorMoves:
    @pytest.fixture(autouse=True)
    def two_versions(self, registry: Registry, trained: MakeTrained) -> None:
        registry.register_trained(trained("run-1", 0.9))
        registry.register_trained(trained("run-2", 0.95, champion_version=1, champion_accuracy=0.9))

    def test_planning_changes_nothing_until_recorded(self, registry: Registry) -> None:
        change = registry.plan_promotion("iris", 1, reason="back", actor="bob")
        assert change.event.kind == "manual"
        assert change.event.previous_version == 2
        assert [r.code for r in change.event.reasons] == [DecisionCode.MANUAL_PROMOTION]
        assert registry.store.alias("iris", "production") == 2
        entry = registry.record(change)
        assert (entry.kind, entry.actor, entry.event_id) == (
            "manual_promote",
            "bob",
            change.event.event_id,
        )
        assert registry.store.alias("iris", "production") == 1

    def test_promoting_the_current_version_is_a_conflict(self, registry: Registry) -> None:
        with pytest.raises(AliasConflict):
            registry.plan_promotion("iris", 2, reason="again", actor="bob")

    def test_unknown_versions_and_models(self, registry: Registry) -> None:
        with pytest.raises(UnknownVersion):
            registry.plan_promotion("iris", 7, reason="?", actor="bob")
        with pytest.raises(UnknownModel):
            registry.plan_promotion("wine", 1, reason="?", actor="bob")
        with pytest.raises(UnknownModel):
            registry.plan_rollback("wine", reason="?", actor="bob")

    def test_staging_is_an_alias_of_its_own(self, registry: Registry) -> None:
        registry.record(
            registry.plan_promotion("iris", 1, reason="try", actor="bob", alias="staging")
        )
        assert registry.store.aliases("iris") == {"production": 2, "staging": 1}

    def test_rollback_goes_to_where_the_last_move_came_from(self, registry: Registry) -> None:
        change = registry.plan_rollback("iris", reason="bad", actor="ops")
        assert (change.event.kind, change.event.model.version, change.event.previous_version) == (
            "rollback",
            1,
            2,
        )
        assert change.event.reasons[0].code == DecisionCode.ROLLBACK
        registry.record(change)
        # Rolling back a rollback returns to the version it replaced.
        assert registry.plan_rollback("iris", reason="undo", actor="ops").event.model.version == 2

    def test_rollback_to_a_given_version(self, registry: Registry) -> None:
        registry.record(registry.plan_rollback("iris", reason="bad", actor="ops", to_version=1))
        assert registry.store.alias("iris", "production") == 1
        with pytest.raises(AliasConflict):
            registry.plan_rollback("iris", reason="same", actor="ops", to_version=1)


def test_nothing_to_roll_back_to_after_the_first_promotion(
    registry: Registry, trained: MakeTrained
) -> None:
    registry.register_trained(trained("run-1", 0.9))
    with pytest.raises(AliasConflict):
        registry.plan_rollback("iris", reason="bad", actor="ops")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_metric_is_rejected_never_promoted(
    registry: Registry, trained: MakeTrained, bad: float
) -> None:
    event = registry.register_trained(trained("run-1", bad))
    assert isinstance(event, ModelRejected)
    assert [r.code for r in event.reasons] == [NON_FINITE_METRIC]
    assert event.reasons[0].details["metrics"] == "accuracy"
    # What is recorded and published parses back: JSON has no NaN, it would have been null.
    assert "accuracy" not in event.metrics.values
    assert ModelRejected.model_validate_json(event.model_dump_json()) == event
    assert registry.store.alias("iris", "production") is None


def test_without_a_policy_a_non_finite_metric_is_still_rejected(
    registry: Registry, trained: MakeTrained
) -> None:
    event = registry.register_trained(trained("run-1", float("nan"), policy=None))
    assert isinstance(event, ModelRejected)
    assert [r.code for r in event.reasons] == [NON_FINITE_METRIC]


def test_a_non_finite_champion_metric_cannot_be_compared_with(
    registry: Registry, trained: MakeTrained
) -> None:
    registry.register_trained(trained("run-1", 0.9))
    event = registry.register_trained(
        trained("run-2", 0.95, champion_version=1, champion_accuracy=float("nan"))
    )
    assert event is not None
    assert STALE_COMPARISON in [r.code for r in event.reasons]
    record = registry.store.get_version("iris", 2)  # read back from its JSON
    assert record is not None and record.champion_metrics is not None
    assert record.champion_metrics.values == {}
