"""What both the scale bench (``b_scale`` s2) and the replicas e2e test
(``tests/e2e/test_replicas.py``) check of a wave of arrivals over replicas: the dataset names
that spread over every partition, and that every flow was decided exactly once, read from the
topics. Here in ``bench/`` because the tests may import the bench, never the other way."""

from __future__ import annotations

from collections.abc import Callable

from aiokafka.partitioner import DefaultPartitioner
from millrace_contracts import (
    DataArrived,
    DatasetValidated,
    Event,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
)
from millrace_shared.watch import EventWatcher


def names_over_partitions(prefix: str, count: int, partitions: int) -> list[str]:
    """``count`` dataset names whose records land on partitions 0, 1, ... partitions-1, 0, ...
    in turn (the producers' murmur2 partitioner): the wave spreads over every partition, so
    every replica owns some of them, however the group's partitions are assigned."""
    ids = list(range(partitions))
    names: list[str] = []
    suffix = 0
    while len(names) < count:
        name = f"{prefix}x{suffix}"
        suffix += 1
        if DefaultPartitioner()(name.encode(), ids, ids) == len(names) % partitions:
            names.append(name)
    return names


def _of_flow(arrival: DataArrived) -> Callable[[Event], bool]:
    """Whether an event belongs to the flow ``arrival`` started."""
    return lambda event: event.correlation_id == arrival.event_id


def decisions(watcher: EventWatcher, arrival: DataArrived) -> set[str]:
    """Distinct decisions (promoted or rejected) of the flow ``arrival`` started."""
    found: list[Event] = [
        *watcher.of_type(ModelPromoted, _of_flow(arrival)),
        *watcher.of_type(ModelRejected, _of_flow(arrival)),
    ]
    return {str(e.event_id) for e in found}


def exactly_once_problems(watcher: EventWatcher, arrivals: list[DataArrived]) -> list[str]:
    """Each flow's breaches of exactly once, from the topics (empty: none): one validation,
    one training (one artifact sha256) and one decision per flow. Redelivered work republishes
    the same event (its id derives from the cause): a repeat is one event, not a second
    decision."""
    problems: list[str] = []
    for arrival in arrivals:
        validated = watcher.of_type(DatasetValidated, _of_flow(arrival))
        trained = watcher.of_type(ModelTrained, _of_flow(arrival))
        if len({str(e.event_id) for e in validated}) != 1:
            problems.append(f"{arrival.dataset}: {len(validated)} validations")
        if len({str(e.event_id) for e in trained}) != 1:
            problems.append(f"{arrival.dataset}: {len(trained)} trainings")
        if len({e.artifact.sha256 for e in trained}) != 1:
            problems.append(f"{arrival.dataset}: several artifacts")
        if len(decided := decisions(watcher, arrival)) != 1:
            problems.append(f"{arrival.dataset}: {len(decided)} decisions")
    return problems
