"""The events the registry emits, built from stored records so a replay gives the same bytes."""

from __future__ import annotations

import uuid
from datetime import datetime

from millrace_contracts import (
    DecisionCode,
    ModelPromoted,
    ModelRejected,
    ModelVersionInfo,
    Reason,
    first_of_flow,
)
from millrace_shared.registry.models import VersionRecord
from millrace_shared.signing import SigningKey

from .records import PRODUCTION

PRODUCER = "registry"
POLICY_ACTOR = "registry-policy"


def decision_event(
    record: VersionRecord, sequence: int | None = None
) -> ModelPromoted | ModelRejected:
    """The event of a version's policy decision: same record, same event (id, time, content).

    ``sequence``: the audit entry of the promotion, for a promoted version.
    """
    decision, lineage = record.decision, record.lineage
    if decision.promote:
        return ModelPromoted(
            event_id=decision.event_id,
            occurred_at=decision.decided_at,
            producer=PRODUCER,
            correlation_id=lineage.correlation_id,
            causation_id=lineage.trained_event_id,
            model=record.info,
            alias=PRODUCTION,
            previous_version=decision.production_version,
            kind="policy",
            actor=POLICY_ACTOR,
            reasons=decision.reasons,
            sequence=sequence,
        )
    return ModelRejected(
        event_id=decision.event_id,
        occurred_at=decision.decided_at,
        producer=PRODUCER,
        correlation_id=lineage.correlation_id,
        causation_id=lineage.trained_event_id,
        model_name=record.info.model_name,
        version=record.version,
        production_version=decision.production_version,
        metrics=record.info.metrics,
        reasons=decision.reasons,
    )


def operator_reasons(*, rollback: bool, reason: str, previous: int | None) -> list[Reason]:
    code = DecisionCode.ROLLBACK if rollback else DecisionCode.MANUAL_PROMOTION
    return [Reason(code=str(code), message=reason, details={"from_version": previous})]


def operator_event(
    info: ModelVersionInfo,
    *,
    alias: str,
    previous: int | None,
    rollback: bool,
    actor: str,
    reasons: list[Reason],
    at: datetime,
    sequence: int,
    event_id: uuid.UUID,
) -> ModelPromoted:
    """A promotion asked for over the API: it starts a flow of its own.

    Everything in it is in its audit entry too, so the entry rebuilds the same event (a
    retried request, by its Idempotency-Key, announces exactly what was recorded)."""
    return ModelPromoted(
        **first_of_flow(producer=PRODUCER, event_id=event_id),
        model=info,
        alias=alias,
        previous_version=previous,
        kind="rollback" if rollback else "manual",
        actor=actor,
        reasons=reasons,
        occurred_at=at,
        sequence=sequence,
    )


def sealed(event: ModelPromoted, signer: SigningKey | None) -> ModelPromoted:
    """``event`` with the registry's signature over its facts (unchanged without a key)."""
    facts = event.signed_facts()
    if signer is None or facts is None:
        return event
    # Ed25519 signatures are deterministic: a re-emitted promotion carries the same bytes.
    return event.model_copy(update={"signature": signer.sign(facts)})
