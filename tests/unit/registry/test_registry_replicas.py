"""Two registry replicas writing one model through one object store (the in-memory fake, which
honours create-only puts as the S3 server does: tests/integration/test_objectstore.py).

First the races forced at the exact point where they hurt, then many racing at once."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from millrace_contracts import ModelPromoted
from millrace_registry.commands import RegistryCommands
from millrace_registry.core.errors import AliasConflict
from millrace_registry.core.records import latest_at, trail_problems
from millrace_registry.core.service import Registry
from millrace_registry.core.store import RegistryStore
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from opentelemetry import trace
from registry_support import BUCKET, Clock, MakeTrained


class Interrupted(InMemoryObjectStore):
    """A view of ``shared`` that runs ``meanwhile`` just before its first create-only put
    whose key contains ``marker``: another replica acting between this one's read and write."""

    def __init__(self, shared: InMemoryObjectStore, marker: str) -> None:
        super().__init__()
        self.buckets, self._lock = shared.buckets, shared._lock
        self.marker = marker
        self.meanwhile: Callable[[], object] | None = None

    def create_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        if self.marker in uri and self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return super().create_bytes(uri, data, content_type)


def replica(objects: InMemoryObjectStore, clock: Clock) -> Registry:
    return Registry(RegistryStore(objects, BUCKET), clock=clock)


def test_a_replica_that_loses_a_number_takes_the_next(
    objects: InMemoryObjectStore, trained: MakeTrained, clock: Clock
) -> None:
    view = Interrupted(objects, "/numbers/")
    a, b = replica(view, clock), replica(objects, clock)
    view.meanwhile = lambda: b.register_trained(trained("run-b", 0.9))
    event = a.register_trained(trained("run-a", 0.95, champion_version=1, champion_accuracy=0.9))
    assert isinstance(event, ModelPromoted)
    assert event.model.version == 2, "v1 went to the replica that claimed it first"
    assert b.store.claimed("iris", "run-b") == 1
    assert a.store.claimed("iris", "run-a") == 2
    audit = a.store.audit("iris")
    assert trail_problems(audit) == []
    assert latest_at(audit, "production") == 2


def test_one_model_trained_on_two_replicas_is_one_version_and_one_decision(
    objects: InMemoryObjectStore, trained: MakeTrained, clock: Clock
) -> None:
    """Redelivered to another replica while the first still works on it (a rebalance)."""
    cause = trained("run-1", 0.9)
    view = Interrupted(objects, "/numbers/")
    a, b = replica(view, clock), replica(objects, clock)
    seen_by_b: list[object] = []
    view.meanwhile = lambda: seen_by_b.append(b.register_trained(cause))
    seen_by_a = a.register_trained(cause)
    assert seen_by_b == [seen_by_a], "both publish the one decision, same id and sequence"
    assert a.store.version_numbers("iris") == [1]
    assert [(e.kind, e.version) for e in a.store.audit("iris")] == [
        ("registered", 1),
        ("promoted", 1),
    ]


def test_a_decision_lost_to_another_replicas_entry_is_appended_after_it(
    objects: InMemoryObjectStore, trained: MakeTrained, clock: Clock
) -> None:
    """The promotion's alias move is planned again on the trail that won: its from_version
    is where production is then, not where it was when this replica first read."""
    a_view = Interrupted(objects, "/audit/")
    a, b = replica(a_view, clock), replica(objects, clock)
    b.register_trained(trained("run-1", 0.9))
    b.register_trained(trained("run-2", 0.95, champion_version=1, champion_accuracy=0.9))
    # Between a's read of the trail and its write, b rolls production back to v1.
    a_view.meanwhile = lambda: b.record(b.plan_rollback("iris", reason="bad", actor="ops"))
    event = a.register_trained(trained("run-3", 0.99, champion_version=2, champion_accuracy=0.95))
    assert isinstance(event, ModelPromoted)
    audit = a.store.audit("iris")
    assert trail_problems(audit) == []
    assert [(e.kind, e.version) for e in audit][-3:] == [
        ("rollback", 1),
        ("registered", 3),
        ("promoted", 3),
    ]
    assert audit[-1].alias_move is not None and audit[-1].alias_move.from_version == 1
    assert event.sequence == audit[-1].seq


def test_a_move_planned_on_a_stale_trail_is_planned_again(
    objects: InMemoryObjectStore, trained: MakeTrained, clock: Clock
) -> None:
    """Two operators roll back at once through two replicas: one rolls back; the other's
    rollback is planned again on the new trail, where it is a rollback of the rollback."""
    a_view = Interrupted(objects, "/audit/")
    a, b = replica(a_view, clock), replica(objects, clock)
    b.register_trained(trained("run-1", 0.9))
    b.register_trained(trained("run-2", 0.95, champion_version=1, champion_accuracy=0.9))
    b.register_trained(trained("run-3", 0.99, champion_version=2, champion_accuracy=0.95))
    a.store.audit("iris")  # a's memo is up to date before the race
    tracer = trace.get_tracer("test")
    sink_a, sink_b = RecordingEventSink(), RecordingEventSink()
    commands_a = RegistryCommands(a, sink_a, tracer)
    commands_b = RegistryCommands(b, sink_b, tracer)

    def b_rolls_back_to_1() -> None:
        asyncio.run(commands_b.rollback("iris", reason="b", actor="bob", to_version=1))

    a_view.meanwhile = b_rolls_back_to_1
    moved = asyncio.run(commands_a.rollback("iris", reason="a", actor="ann", to_version=2))
    (b_moved,) = sink_b.of_type(ModelPromoted)
    assert (b_moved.previous_version, b_moved.model.version) == (3, 1)
    assert (moved.previous_version, moved.model.version) == (1, 2), "planned on the new trail"
    assert b_moved.sequence is not None and moved.sequence == b_moved.sequence + 1
    assert trail_problems(a.store.audit("iris")) == []


async def test_two_replicas_racing_on_one_model_keep_the_registry_consistent(
    objects: InMemoryObjectStore, trained: MakeTrained, clock: Clock
) -> None:
    """Every ModelTrained delivered to both replicas, operator moves sent to both, all at once
    (each replica's store work runs in threads, so the two really interleave)."""
    tracer = trace.get_tracer("test")
    replicas = [replica(objects, clock) for _ in range(2)]
    sinks = [RecordingEventSink(), RecordingEventSink()]
    commands = [RegistryCommands(r, s, tracer) for r, s in zip(replicas, sinks, strict=True)]
    await asyncio.gather(*(c.on_trained(trained("seed", 0.9)) for c in commands))
    runs = [f"run-{n}" for n in range(12)]
    accuracy = itertools.cycle([0.91, 0.97, 0.85, 0.99])

    async def move(n: int) -> None:
        where = commands[n % 2]
        try:
            if n % 3 == 0:
                await where.rollback("iris", reason=f"r{n}", actor="ops")
            else:
                await where.promote("iris", 1, reason=f"p{n}", actor="ops")
        except AliasConflict:
            pass  # already there, or nothing to roll back to: refused, nothing recorded

    work = [c.on_trained(trained(run, next(accuracy))) for run in runs for c in commands]
    work += [move(n) for n in range(12)]
    await asyncio.gather(*work)

    store = replicas[0].store
    claims = {run: store.claimed("iris", run) for run in ["seed", *runs]}
    assert sorted(v for v in claims.values() if v is not None) == list(range(1, 14))
    assert store.version_numbers("iris") == list(range(1, 14))
    audit = store.audit("iris")
    assert trail_problems(audit) == []
    assert [e.kind for e in audit].count("registered") == 13
    assert replicas[1].store.audit("iris") == audit, "both replicas read one trail"
    # No two different promotions were announced with one sequence.
    announced = [e for s in sinks for e in s.of_type(ModelPromoted)]
    by_sequence: dict[int | None, set[object]] = {}
    for event in announced:
        by_sequence.setdefault(event.sequence, set()).add(event.event_id)
    assert all(len(ids) == 1 for ids in by_sequence.values())
    moves = {e.seq: e for e in audit if e.alias_move is not None}
    assert set(by_sequence) <= set(moves)
    assert store.aliases("iris")["production"] == latest_at(audit, "production")
