"""Dead letters: what ``<topic>.dlq`` holds, and putting a letter back on its topic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from millrace_shared.messaging import DLQ_HEADER_PREFIX

from . import kafka
from .endpoints import Endpoints
from .errors import CliError
from .records import Record
from .topics import original_of


@dataclass(frozen=True)
class DeadLetter:
    record: Record
    """The record in the dead-letter topic."""

    def _dlq(self, name: str) -> str | None:
        return self.record.header(f"{DLQ_HEADER_PREFIX}{name}")

    @property
    def original_topic(self) -> str:
        return self._dlq("original-topic") or original_of(self.record.topic)

    @property
    def original_partition(self) -> int | None:
        value = self._dlq("original-partition")
        return int(value) if value and value.lstrip("-").isdigit() else None

    @property
    def original_offset(self) -> int | None:
        value = self._dlq("original-offset")
        return int(value) if value and value.lstrip("-").isdigit() else None

    @property
    def kind(self) -> str:
        return self._dlq("kind") or "?"

    @property
    def attempts(self) -> str:
        return self._dlq("attempts") or "?"

    @property
    def reason(self) -> str:
        return self._dlq("reason") or ""

    @property
    def service(self) -> str:
        return self._dlq("service") or "?"

    @property
    def failed_at(self) -> str:
        return self._dlq("failed-at") or self.record.time.isoformat()

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original headers: everything but the ``x-millrace-dlq-*`` ones, in order."""
        return [(k, v) for k, v in self.record.headers if not k.startswith(DLQ_HEADER_PREFIX)]

    def as_dict(self) -> dict[str, object]:
        value = self.record.value or b""
        return {
            "dlq_topic": self.record.topic,
            "dlq_partition": self.record.partition,
            "dlq_offset": self.record.offset,
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": self.original_offset,
            "key": self.record.key_text,
            "kind": self.kind,
            "attempts": self.attempts,
            "reason": self.reason,
            "service": self.service,
            "failed_at": self.failed_at,
            "value": value.decode("utf-8", errors="replace"),
        }


def select(
    letters: Sequence[DeadLetter], *, offset: int | None, partition: int | None
) -> list[DeadLetter]:
    """The letters at a dead-letter offset (and partition, when several partitions have it)."""
    if offset is None:
        return list(letters)
    chosen = [
        letter
        for letter in letters
        if letter.record.offset == offset
        and (partition is None or letter.record.partition == partition)
    ]
    if not chosen:
        where = f"partition {partition} " if partition is not None else ""
        raise CliError(f"no dead letter at {where}offset {offset} (see `millrace dlq list`)")
    if len(chosen) > 1:
        partitions = ", ".join(str(letter.record.partition) for letter in chosen)
        raise CliError(
            f"offset {offset} exists in partitions {partitions} of the dead-letter topic; "
            "choose one with --partition"
        )
    return chosen


@dataclass(frozen=True)
class Replayed:
    letter: DeadLetter
    topic: str
    partition: int
    offset: int


async def replay(endpoints: Endpoints, letters: Sequence[DeadLetter]) -> list[Replayed]:
    """Publish each letter's value, key and original headers to its original topic."""
    done: list[Replayed] = []
    async with kafka.producer(endpoints) as producer:
        for letter in letters:
            metadata = await producer.send_and_wait(
                letter.original_topic,
                value=letter.record.value,
                key=letter.record.key,
                headers=letter.replay_headers(),
            )
            done.append(Replayed(letter, metadata.topic, metadata.partition, metadata.offset))
    return done
