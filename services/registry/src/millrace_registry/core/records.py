"""The registry's own stored documents and alias names; the documents its API also shows
(``VersionRecord``, ``AuditEntry``, ...) are in ``millrace_shared.registry.models``."""

from __future__ import annotations

from datetime import datetime

from millrace_shared.registry.models import AuditEntry, Record
from pydantic import Field

PRODUCTION = "production"
STAGING = "staging"
ALIASES = (PRODUCTION, STAGING)

MOVE_KINDS: frozenset[str] = frozenset({"promoted", "manual_promote", "rollback"})


class VersionClaim(Record):
    """``numbers/<n>.json`` (with ``run_id``: the claim, put create-only) and
    ``runs/<run_id>.json`` (without: the index): which number a training run got, written
    before its version."""

    version: int = Field(ge=1)
    run_id: str | None = None


def latest_at(entries: list[AuditEntry], alias: str, at: datetime | None = None) -> int | None:
    """Version the alias pointed to at ``at`` (now if None), from the ordered audit entries."""
    current: int | None = None
    for entry in entries:
        # Filtered rather than cut off: clocks of successive processes need not be monotonic.
        if at is not None and entry.at > at:
            continue
        if entry.alias_move is not None and entry.alias_move.alias == alias:
            current = entry.alias_move.to_version
    return current


def trail_problems(entries: list[AuditEntry]) -> list[str]:
    """What is wrong with a model's audit trail, as several writers could get it wrong.

    Sequence numbers are 1..n without a gap; every alias move starts from where the trail
    before it left that alias (no move was planned on a stale state); a training run's
    ModelTrained left one registration and one decision at most. Empty: nothing wrong.
    """
    problems: list[str] = []
    seqs = [e.seq for e in entries]
    if seqs != list(range(1, len(entries) + 1)):
        problems.append(f"sequence numbers are not 1..{len(entries)}: {seqs}")
    current: dict[str, int | None] = {}
    seen: set[tuple[str, object]] = set()
    for entry in entries:
        move = entry.alias_move
        if move is not None:
            before = current.get(move.alias)
            if move.from_version != before:
                problems.append(
                    f"entry {entry.seq} moves {move.alias} from {move.from_version}, "
                    f"but it was {before}"
                )
            current[move.alias] = move.to_version
        if entry.cause_event_id is not None:
            fact = (entry.kind, entry.cause_event_id)
            if fact in seen:
                problems.append(f"entry {entry.seq} repeats a {entry.kind} of one ModelTrained")
            seen.add(fact)
    return problems
