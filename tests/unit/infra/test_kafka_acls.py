"""The ACLs the secured stack grants follow from the topic catalogue, exactly."""

from __future__ import annotations

from millrace_contracts import DatasetRejected, ModelPromoted
from millrace_contracts.topics import (
    ALL_TOPICS,
    APPLICATION_TEAMS,
    CONSOLE,
    DATA_TEAMS,
    DEPLOYMENT,
    INGESTION,
    LANDING_NOTIFICATIONS,
    OPERATIONS,
    PRINCIPALS,
    REGISTRY,
    TopicSpec,
)
from millrace_infra.kafka_acls import (
    AclBinding,
    Operation,
    Pattern,
    Resource,
    acl_bindings,
    topic_names,
)

PROMOTED = "millrace.model.promoted.v1"
REJECTED = "millrace.dataset.rejected.v1"
R, W, D = Operation.READ, Operation.WRITE, Operation.DESCRIBE


def _topic(user: str, topic: str, op: Operation) -> AclBinding:
    return AclBinding(f"User:millrace-{user}", Resource.TOPIC, Pattern.LITERAL, topic, op)


def _group(user: str, name: str, pattern: Pattern) -> AclBinding:
    return AclBinding(f"User:millrace-{user}", Resource.GROUP, pattern, name, R)


def test_a_small_catalogue_gives_exactly_these_bindings() -> None:
    catalogue = (
        TopicSpec(ModelPromoted, "model name", (REGISTRY,), (DEPLOYMENT, APPLICATION_TEAMS)),
        TopicSpec(DatasetRejected, "dataset", (INGESTION,), (DATA_TEAMS,)),
    )
    expected = {
        # producers write
        _topic("registry", PROMOTED, W),
        _topic("registry", PROMOTED, D),
        _topic("ingestion", REJECTED, W),
        _topic("ingestion", REJECTED, D),
        # consumers read, each in its own group(s)
        _topic("deployment", PROMOTED, R),
        _topic("deployment", PROMOTED, D),
        _topic("application-teams", PROMOTED, R),
        _topic("application-teams", PROMOTED, D),
        _topic("data-teams", REJECTED, R),
        _topic("data-teams", REJECTED, D),
        _group("deployment", "millrace-deployment-", Pattern.PREFIXED),
        _group("application-teams", "millrace-application-teams", Pattern.PREFIXED),
        _group("data-teams", "millrace-data-teams", Pattern.PREFIXED),
        # the consuming service dead-letters; nobody consumes rejections as a service
        _topic("deployment", f"{PROMOTED}.dlq", W),
        _topic("deployment", f"{PROMOTED}.dlq", D),
        # operations read everything and replay to the topic that has dead letters
        _topic("operators", PROMOTED, R),
        _topic("operators", PROMOTED, W),
        _topic("operators", PROMOTED, D),
        _topic("operators", f"{PROMOTED}.dlq", R),
        _topic("operators", f"{PROMOTED}.dlq", D),
        _topic("operators", REJECTED, R),
        _topic("operators", REJECTED, D),
        _topic("operators", f"{REJECTED}.dlq", R),
        _topic("operators", f"{REJECTED}.dlq", D),
        _group("operators", "millrace-operators", Pattern.PREFIXED),
        # the console reads every dead letter (no group) and replays like operations
        _topic("console", f"{PROMOTED}.dlq", R),
        _topic("console", f"{PROMOTED}.dlq", D),
        _topic("console", PROMOTED, W),
        _topic("console", PROMOTED, D),
        _topic("console", f"{REJECTED}.dlq", R),
        _topic("console", f"{REJECTED}.dlq", D),
        # and see every Millrace group's offsets, for the lag `status` shows
        AclBinding("User:millrace-operators", Resource.GROUP, Pattern.PREFIXED, "millrace-", D),
    }
    got = acl_bindings(catalogue)
    assert got == sorted(expected)


def test_a_service_group_is_literal_and_named_after_the_service() -> None:
    groups = {
        b.principal: (b.name, b.pattern) for b in acl_bindings() if b.resource is Resource.GROUP
    }
    assert groups["User:millrace-ingestion"] == ("millrace-ingestion", Pattern.LITERAL)
    assert groups["User:millrace-deployment"] == ("millrace-deployment-", Pattern.PREFIXED)


def test_the_real_catalogue_grants_only_what_it_lists() -> None:
    bindings = acl_bindings()
    assert len(bindings) == len(set(bindings))
    assert {b.principal for b in bindings} <= set(PRINCIPALS.values())
    writers = {b.principal for b in bindings if b.name == PROMOTED and b.operation is W}
    assert writers == {PRINCIPALS[REGISTRY], PRINCIPALS[OPERATIONS], PRINCIPALS[CONSOLE]}
    dlq_readers = {b.principal for b in bindings if b.name.endswith(".dlq") and b.operation is R}
    assert dlq_readers == {PRINCIPALS[OPERATIONS], PRINCIPALS[CONSOLE]}
    console = [b for b in bindings if b.principal == PRINCIPALS[CONSOLE]]
    assert not [b for b in console if b.resource is Resource.GROUP]
    assert {b.name for b in console if b.operation is R} == {f"{t.name}.dlq" for t in ALL_TOPICS}
    assert {b.name for b in console if b.operation is W} == {
        t.name for t in ALL_TOPICS if t.replayable
    }
    for spec in ALL_TOPICS:
        for party in spec.producers:
            assert _binding_for(PRINCIPALS[party], spec.name, W) in bindings
        for party in spec.consumers:
            assert _binding_for(PRINCIPALS[party], spec.name, R) in bindings


def _binding_for(principal: str, topic: str, op: Operation) -> AclBinding:
    return AclBinding(principal, Resource.TOPIC, Pattern.LITERAL, topic, op)


def test_every_topic_comes_with_its_dead_letter_topic() -> None:
    names = topic_names()
    assert len(names) == 2 * len(ALL_TOPICS)
    assert {n for n in names if not n.endswith(".dlq")} == {t.name for t in ALL_TOPICS}


def test_the_object_store_writes_its_notifications_and_nothing_else() -> None:
    """The store's principal may only write the raw topic; the watcher reads it in its group
    and dead-letters what it cannot read."""
    bindings = acl_bindings()
    store = [b for b in bindings if b.principal == "User:millrace-object-store"]
    assert store == [
        _topic("object-store", LANDING_NOTIFICATIONS, D),
        _topic("object-store", LANDING_NOTIFICATIONS, W),
    ]
    watcher = {b for b in bindings if b.principal == "User:millrace-watcher"}
    assert {
        _topic("watcher", LANDING_NOTIFICATIONS, R),
        _topic("watcher", LANDING_NOTIFICATIONS + ".dlq", W),
        _group("watcher", "millrace-watcher", Pattern.LITERAL),
    } <= watcher
