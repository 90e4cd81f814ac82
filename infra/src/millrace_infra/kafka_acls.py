"""Kafka ACLs derived from the topic catalogue, so that who may write and read a topic cannot
drift from who the catalogue says produces and consumes it.

Pure: the bindings are data; kafka_provision applies them to a broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from millrace_contracts.topics import (
    ALL_TOPICS,
    CONSOLE,
    DEPLOYMENT,
    OPERATIONS,
    PRINCIPALS,
    AnyTopic,
    Party,
    Service,
)

ADMIN_USER = "millrace-admin"
"""The stack's super user: creates topics and ACLs, and is the broker's own inter-broker
identity. `millrace-stack env` does not hand out its password."""


GROUP_PREFIX = "millrace-"
"""Every Millrace consumer group's name starts so (``millrace-<principal>...``)."""


class Resource(StrEnum):
    TOPIC = "TOPIC"
    GROUP = "GROUP"


class Pattern(StrEnum):
    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


class Operation(StrEnum):
    READ = "READ"
    WRITE = "WRITE"
    DESCRIBE = "DESCRIBE"


@dataclass(frozen=True, order=True)
class AclBinding:
    """ALLOW `operation` on a resource to `principal`, from any host."""

    principal: str
    resource: Resource
    pattern: Pattern
    name: str
    operation: Operation


def username(party: Party, principals: Mapping[Party, str] = PRINCIPALS) -> str:
    """The SCRAM user name of a party: its principal without the ``User:`` prefix."""
    return principals[party].removeprefix("User:")


# Deployment replicas each consume every promotion, so each has a group of its own,
# ``millrace-deployment-<replica id>`` (see the deployment's settings).
_PER_REPLICA_GROUPS: frozenset[Party] = frozenset({DEPLOYMENT})


def consumer_group(
    party: Party, principals: Mapping[Party, str] = PRINCIPALS
) -> tuple[str, Pattern]:
    """The consumer group(s) a party may use.

    A service's group is ``millrace-<service>`` (ServiceRuntime.group_id), or per replica
    under the prefix ``millrace-<service>-``. People's tools read without a group (the
    CLI), but their own applications may commit offsets under groups named after their
    principal: ``millrace-application-teams-<anything>``.
    """
    name = username(party, principals)
    if party in _PER_REPLICA_GROUPS:
        return f"{name}-", Pattern.PREFIXED
    if isinstance(party, Service):
        return name, Pattern.LITERAL
    return name, Pattern.PREFIXED


def _topic(principal: str, topic: str, *operations: Operation) -> list[AclBinding]:
    return [
        AclBinding(principal, Resource.TOPIC, Pattern.LITERAL, topic, op)
        for op in (*operations, Operation.DESCRIBE)
    ]


def acl_bindings(
    topics: Iterable[AnyTopic] = ALL_TOPICS, principals: Mapping[Party, str] = PRINCIPALS
) -> list[AclBinding]:
    """Every ALLOW binding the catalogue implies, sorted and without duplicates.

    - a producer WRITEs the topic; a consumer READs it and its own consumer group;
    - a service that consumes a topic WRITEs the topic's ``.dlq`` (its dead letters);
    - operations READ every topic and every ``.dlq`` (``events tail``, ``status``, ``dlq``)
      and WRITE each topic a dead letter can be replayed to (``dlq replay``);
    - every grant on a topic comes with DESCRIBE, which clients need for its metadata and
      offsets;
    - the console READs every ``.dlq`` and WRITEs each topic a dead letter can be replayed
      to, like operations, and nothing else (it reads without a consumer group);
    - operations DESCRIBE every Millrace consumer group (prefix ``millrace-``): ``status``
      lists the groups and their committed offsets to show each one's lag. DESCRIBE lets
      them see a group, not join it or move its offsets (that takes READ).

    Topic WRITE alone lets an idempotent producer start (Kafka 3.x+), so no cluster-level
    IDEMPOTENT_WRITE is granted.
    """
    specs = list(topics)
    ops = principals[OPERATIONS]
    console = principals.get(CONSOLE)
    found: set[AclBinding] = set()
    consuming: set[Party] = set()
    for spec in specs:
        for party in spec.producers:
            found.update(_topic(principals[party], spec.name, Operation.WRITE))
        for party in spec.consumers:
            found.update(_topic(principals[party], spec.name, Operation.READ))
            consuming.add(party)
        for service in spec.dead_letter_producers:
            found.update(_topic(principals[service], spec.dlq, Operation.WRITE))
        found.update(_topic(ops, spec.name, Operation.READ))
        found.update(_topic(ops, spec.dlq, Operation.READ))
        consuming.add(OPERATIONS)
        if spec.replayable:
            found.update(_topic(ops, spec.name, Operation.WRITE))
        if console is not None:
            found.update(_topic(console, spec.dlq, Operation.READ))
            if spec.replayable:
                found.update(_topic(console, spec.name, Operation.WRITE))
    for party in consuming:
        group, pattern = consumer_group(party, principals)
        found.add(AclBinding(principals[party], Resource.GROUP, pattern, group, Operation.READ))
    found.add(AclBinding(ops, Resource.GROUP, Pattern.PREFIXED, GROUP_PREFIX, Operation.DESCRIBE))
    return sorted(found)


def topic_names(topics: Iterable[AnyTopic] = ALL_TOPICS) -> list[str]:
    """Every catalogue topic (raw ones too) and its dead-letter topic, which the stack
    creates."""
    return [name for spec in topics for name in (spec.name, spec.dlq)]
