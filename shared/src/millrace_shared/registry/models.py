"""What the registry's REST API answers and accepts: one set of classes for the registry's
routes (their ``response_model``) and for every client that reads them.

``VersionRecord`` and ``AuditEntry`` are also the documents the registry stores, each written
once and never rewritten: ``GET /models/{name}/versions/{n}`` and ``/audit`` show them as
stored.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from millrace_contracts import (
    CandidateScore,
    Metrics,
    ModelVersionInfo,
    PromotionPolicy,
    PromotionSignature,
    Reason,
    promotion_facts,
)
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

AuditKind = Literal["registered", "promoted", "rejected", "manual_promote", "rollback"]
AliasName = Literal["production", "staging"]


class Record(BaseModel):
    # Unknown fields are ignored so that documents written (or answers given) by a newer
    # registry still load.
    model_config = ConfigDict(frozen=True, extra="ignore")


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
    idempotency_key: str | None = None
    """An operator move's ``Idempotency-Key``: the request sent again gets this entry's event
    back instead of moving the alias a second time."""


class AuditEntry(NewAuditEntry):
    """``audit/<seq>.json``: an appended fact; never rewritten."""

    seq: int = Field(ge=1)


class ModelSummary(BaseModel):
    name: str
    production_version: int | None
    latest_version: int


class VersionSummary(BaseModel):
    version: int
    run_id: str
    dataset: str
    dataset_version: str
    registered_at: AwareDatetime
    policy_decision: Literal["promoted", "rejected"]
    reason_codes: list[str]
    metrics: dict[str, float]
    holdout_id: str
    aliases: list[str]


class ModelDetail(BaseModel):
    name: str
    aliases: dict[str, int]
    latest_version: int
    versions: list[VersionSummary]


class VersionDetail(VersionRecord):
    """The stored record plus the aliases that point at it now."""

    aliases: list[str]


class SignedPromotion(Record):
    """``GET /models/{name}/production/promotion``: the production version with the facts of
    the promotion that put it there, signed as its ``model.promoted`` was, so that a replica
    starting from this snapshot verifies it exactly as it verifies an event."""

    model: ModelVersionInfo
    alias: str = "production"
    sequence: int = Field(ge=1, description="The promotion's per-model sequence.")
    event_id: uuid.UUID = Field(description="Id of the model.promoted that announced it.")
    signature: PromotionSignature | None = Field(
        default=None, description="The registry's signature; null if it signs nothing (dev)."
    )

    def signed_facts(self) -> bytes:
        return promotion_facts(
            self.model, alias=self.alias, sequence=self.sequence, event_id=self.event_id
        )


class PromoteRequest(BaseModel):
    version: int = Field(ge=1, description="Version to promote.")
    reason: str = Field(min_length=1, max_length=2000, description="Why, for the audit trail.")
    actor: str | None = Field(default=None, max_length=200, description="Who; 'api' if unset.")
    alias: AliasName = Field(default="production")


class RollbackRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why, for the audit trail.")
    to_version: int | None = Field(
        default=None, ge=1, description="Target; the production version before the current one."
    )
    actor: str | None = Field(default=None, max_length=200, description="Who; 'api' if unset.")


class Actor(BaseModel):
    """``GET /whoami``: the actor a bearer token names."""

    actor: str
