"""One Kafka record as read by a plain aiokafka consumer, and what its dead-letter headers say.

The CLI (``events``, ``dlq``) and the console (dead-letter pages) read records the same way;
this is their one record type. Free of FastStream, which takes seconds to import, for the
CLI's sake: the dead-letter middleware takes the header prefix from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from millrace_contracts.topics import BY_TOPIC, DLQ_SUFFIX

DLQ_HEADER_PREFIX = "x-millrace-dlq-"
"""Headers the dead-letter middleware adds (reason, kind, attempts, original-topic, ...)."""


def _number(value: str | None) -> int | None:
    return int(value) if value and value.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class Record:
    """One Kafka record, as read (headers as bytes, in order).

    The dead-letter accessors (``original_topic`` ... ``replay_headers``) read the
    ``x-millrace-dlq-*`` headers of a record in a ``<topic>.dlq``, with fallbacks for a
    letter that lacks them."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def read(cls, r: ConsumerRecord[bytes, bytes]) -> Record:
        headers = tuple((k, bytes(v or b"")) for k, v in (r.headers or ()))
        return cls(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, headers)

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", errors="replace")
        return None

    @property
    def key_text(self) -> str | None:
        return None if self.key is None else self.key.decode("utf-8", errors="replace")

    @property
    def text(self) -> str:
        return (self.value or b"").decode("utf-8", errors="replace")

    # --- as a dead letter ---

    def _dlq(self, name: str) -> str | None:
        return self.header(f"{DLQ_HEADER_PREFIX}{name}")

    @property
    def original_topic(self) -> str:
        return self._dlq("original-topic") or self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def original_partition(self) -> int | None:
        return _number(self._dlq("original-partition"))

    @property
    def original_offset(self) -> int | None:
        return _number(self._dlq("original-offset"))

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
        return self._dlq("failed-at") or self.time.isoformat()

    @property
    def correlation_id(self) -> str | None:
        """The flow the letter belongs to (its event's envelope), for a trace link."""
        try:
            body = json.loads(self.value or b"")
        except ValueError:
            return None
        found = body.get("correlation_id") if isinstance(body, dict) else None
        return str(found) if found else None

    @property
    def replayable(self) -> bool:
        """Whether the catalogue lets a dead letter go back on its original topic."""
        spec = BY_TOPIC.get(self.original_topic)
        return spec is not None and spec.replayable

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original headers: everything but the ``x-millrace-dlq-*`` ones, in order."""
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX)]
