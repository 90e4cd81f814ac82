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
