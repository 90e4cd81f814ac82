"""The documents the registry stores. Each is written once and never rewritten."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from millrace_contracts import (
    ArtifactRef,
    CandidateScore,
    Metrics,
    ModelVersionInfo,
    PromotionPolicy,
    Reason,
)
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

PRODUCTION = "production"
STAGING = "staging"
ALIASES = (PRODUCTION, STAGING)

AuditKind = Literal["registered", "promoted", "rejected", "manual_promote", "rollback"]
DECISION_KINDS: frozenset[str] = frozenset({"promoted", "rejected"})
MOVE_KINDS: frozenset[str] = frozenset({"promoted", "manual_promote", "rollback"})


class Record(BaseModel):
    # Unknown fields are ignored so that documents written by a newer registry still load.
    model_config = ConfigDict(frozen=True, extra="ignore")


class VersionClaim(Record):
    """``runs/<run_id>.json``: which number a training run got, written before its version."""

    version: int = Field(ge=1)


class Decision(Record):
    """What the promotion policy said when the version was registered."""

    promote: bool
    reasons: list[Reason]
    event_id: uuid.UUID
    """Id of the ModelPromoted / ModelRejected it emitted (derived from the ModelTrained)."""
    decided_at: AwareDatetime
    production_version: int | None
    """Production version when decided: the previous version if promoted, else unchanged."""
    compared_with: int | None
    """Version whose metrics the candidate was compared with; None when judged on the floor."""
    primary_metric: str | None
    policy: PromotionPolicy | None


class Lineage(Record):
    dataset: str
    dataset_version: str
    run_id: str
    trained_event_id: uuid.UUID
    correlation_id: uuid.UUID
    estimator: str
    params: dict[str, Any]
    target: str
    trigger: str
    training_seconds: float
    leaderboard: list[CandidateScore] = Field(default_factory=list)


class VersionRecord(Record):
    """``versions/<n>.json``: one immutable model version and the decision made on it."""

    info: ModelVersionInfo
    registered_at: AwareDatetime
    lineage: Lineage
    champion_version: int | None
    """Production version training compared against, as the ModelTrained said."""
    champion_metrics: Metrics | None
    decision: Decision

    @property
    def version(self) -> int:
        return self.info.version

    @property
    def model_card(self) -> ArtifactRef:
        return self.info.model_card


class AliasMove(Record):
    alias: str
    from_version: int | None
    to_version: int


class NewAuditEntry(Record):
    """One fact for the audit trail, before the store gives it its sequence number.

    A decision and the alias move it caused are one entry, so the trail can never show one
    without the other.
    """

    at: AwareDatetime
    kind: AuditKind
    actor: str
    version: int = Field(ge=1)
    reasons: list[Reason] = Field(default_factory=list)
    alias_move: AliasMove | None = None
    event_id: uuid.UUID | None = None
    """The event this fact was announced with, if any."""
    cause_event_id: uuid.UUID | None = None
    """The ModelTrained it came from, for policy entries."""


class AuditEntry(NewAuditEntry):
    """``audit/<seq>.json``: an appended fact; never rewritten."""

    seq: int = Field(ge=1)


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
