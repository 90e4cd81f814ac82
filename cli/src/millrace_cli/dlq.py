"""Dead letters (records of a ``<topic>.dlq``): as JSON, choosing them, putting them back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from millrace_shared.records import Record

from . import kafka
from .endpoints import Endpoints
from .errors import CliError


def as_dict(letter: Record) -> dict[str, object]:
    """A dead letter for ``dlq list --json``: where it is, where it came from, why, its value."""
    return {
        "dlq_topic": letter.topic,
        "dlq_partition": letter.partition,
        "dlq_offset": letter.offset,
        "original_topic": letter.original_topic,
        "original_partition": letter.original_partition,
        "original_offset": letter.original_offset,
        "key": letter.key_text,
        "kind": letter.kind,
        "attempts": letter.attempts,
        "reason": letter.reason,
        "service": letter.service,
        "failed_at": letter.failed_at,
        "value": letter.text,
    }


def select(letters: Sequence[Record], *, offset: int | None, partition: int | None) -> list[Record]:
    """The letters at a dead-letter offset (and partition, when several partitions have it)."""
    if offset is None:
        return list(letters)
    chosen = [
        letter
        for letter in letters
        if letter.offset == offset and (partition is None or letter.partition == partition)
    ]
    if not chosen:
        where = f"partition {partition} " if partition is not None else ""
        raise CliError(f"no dead letter at {where}offset {offset} (see `millrace dlq list`)")
    if len(chosen) > 1:
        partitions = ", ".join(str(letter.partition) for letter in chosen)
        raise CliError(
            f"offset {offset} exists in partitions {partitions} of the dead-letter topic; "
            "choose one with --partition"
        )
    return chosen


@dataclass(frozen=True)
class Replayed:
    letter: Record
    topic: str
    partition: int
    offset: int


async def replay(endpoints: Endpoints, letters: Sequence[Record]) -> list[Replayed]:
    """Publish each letter's value, key and original headers to its original topic."""
    done: list[Replayed] = []
    async with kafka.producer(endpoints) as producer:
        for letter in letters:
            metadata = await producer.send_and_wait(
                letter.original_topic,
                value=letter.value,
                key=letter.key,
                headers=letter.replay_headers(),
            )
            done.append(Replayed(letter, metadata.topic, metadata.partition, metadata.offset))
    return done
