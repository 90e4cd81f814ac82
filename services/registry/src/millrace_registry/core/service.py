"""The registry's use cases: register a trained model, promote by hand, roll back.

Blocking (object-store) code, called one model at a time by ``commands.RegistryCommands``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from millrace_contracts import ModelPromoted, ModelRejected, ModelTrained
from millrace_contracts.envelope import utc_now
from millrace_shared.registry.models import AliasMove, AuditEntry, NewAuditEntry, VersionRecord
from millrace_shared.signing import SigningKey
from millrace_shared.telemetry import Attr
from opentelemetry import trace
from opentelemetry.util.types import Attributes

from .errors import AliasConflict, UnknownModel, UnknownVersion
from .events import (
    POLICY_ACTOR,
    PRODUCER,
    decision_event,
    operator_event,
    operator_reasons,
    sealed,
)
from .policy import (
    Champion,
    comparable_champion,
    decide,
    finite_only,
    non_finite,
    refuse_non_finite,
)
from .records import MOVE_KINDS, PRODUCTION, latest_at
from .store import RegistryStore
from .versioning import version_record

METRIC_VALUE = "millrace.metric.value"
"""Span attribute: value of the policy's primary metric (``Attr.METRIC`` holds its name)."""


@dataclass(frozen=True)
class AliasChange:
    """A move asked for over the API: recorded first (claiming its sequence), then announced.

    ``recorded``: the entry is in the trail already (the same Idempotency-Key came before),
    so there is nothing to record, only the event to announce again."""

    event: ModelPromoted
    entry: NewAuditEntry
    recorded: AuditEntry | None = None


class Registry:
    def __init__(
        self,
        store: RegistryStore,
        *,
        tracer: trace.Tracer | None = None,
        clock: Callable[[], datetime] = utc_now,
        signer: SigningKey | None = None,
    ) -> None:
        self.store = store
        self.signer = signer
        """Signs every promotion (ADR 0007); None only in dev without a key: unsigned."""
        self._tracer = tracer or trace.get_tracer("millrace.registry")
        self._clock = clock

    # -- policy path ------------------------------------------------------------------------

    def register_trained(self, trained: ModelTrained) -> ModelPromoted | ModelRejected | None:
        """Register the run's version (once), decide (once), record it; return what to publish.

        Every step checks what an earlier, interrupted attempt left, so a redelivery completes
        the work and re-emits the same event. None when the decision is history already (a
        later fact follows it): replaying an old promotion would move consumers backwards.
        """
        model = trained.model_name
        attrs: Attributes = {
            Attr.MODEL: model,
            Attr.RUN_ID: trained.run_id,
            Attr.EVENT_ID: str(trained.event_id),
        }
        with self._tracer.start_as_current_span("register", attributes=attrs) as span:
            version, _ = self.store.claim_version(model, trained.run_id)
            span.set_attribute(Attr.MODEL_VERSION, version)
            record = self.store.get_version(model, version) or self.store.put_version(
                self._new_version(trained, version)
            )
            self.store.append(
                model,
                lambda entries: (
                    _policy_entry(entries, record, "registered") or self._registered_entry(record)
                ),
            )
            kind = "promoted" if record.decision.promote else "rejected"
            earlier = _policy_entry(self.store.audit(model), record, kind)
            if earlier is not None:
                if _superseded(self.store.audit(model), earlier):
                    return None
                decided = earlier
            else:
                decided = self._record_decision(record)
            event = decision_event(record, decided.seq if record.decision.promote else None)
            # The promotion's sequence is its audit entry's: the trail is append-only, so a
            # later move (a rollback too) always has a higher one.
            return sealed(event, self.signer) if isinstance(event, ModelPromoted) else event

    def _new_version(self, trained: ModelTrained, version: int) -> VersionRecord:
        model = trained.model_name
        attrs: Attributes = {Attr.MODEL: model, Attr.MODEL_VERSION: version}
        with self._tracer.start_as_current_span("decide", attributes=attrs) as span:
            production = self.store.alias(model, PRODUCTION)
            current = self.store.get_version(model, production) if production else None
            champion = comparable_champion(
                production,
                current.info.metrics if current else None,
                trained.champion_version,
                trained.champion_metrics,
                trained.metrics.holdout_id,
            )
            refused = refuse_non_finite(trained.metrics, trained.promotion)
            if refused is not None or non_finite(trained.champion_metrics):
                # Recorded without the non-finite values: JSON would write them as null, which
                # no reader of the record or the event could parse back.
                trained = trained.model_copy(
                    update={
                        "metrics": finite_only(trained.metrics),
                        "champion_metrics": (
                            finite_only(trained.champion_metrics)
                            if trained.champion_metrics is not None
                            else None
                        ),
                    }
                )
            verdict = refused or decide(
                trained.metrics,
                trained.promotion,
                champion
                if champion is None or champion.metrics is None
                else Champion(champion.version, finite_only(champion.metrics)),
            )
            span.set_attribute(Attr.DECISION, "promote" if verdict.promote else "reject")
            span.set_attribute(Attr.REASON_CODES, [r.code for r in verdict.reasons])
            if verdict.primary_metric is not None:
                span.set_attribute(Attr.METRIC, verdict.primary_metric)
                value = trained.metrics.values.get(verdict.primary_metric)
                if value is not None:
                    span.set_attribute(METRIC_VALUE, value)
        return version_record(trained, version, verdict, production, self._clock())

    def _registered_entry(self, record: VersionRecord) -> NewAuditEntry:
        return NewAuditEntry(
            at=self._clock(),
            kind="registered",
            actor=PRODUCER,
            version=record.version,
            cause_event_id=record.lineage.trained_event_id,
        )

    def _record_decision(self, record: VersionRecord) -> AuditEntry:
        """Append the decision's entry, unless another writer (a replica handling the same
        ModelTrained) appended it first: then that one is the decision's entry."""
        decision, cause = record.decision, record.lineage.trained_event_id
        model, version = record.info.model_name, record.version
        kind = "promoted" if decision.promote else "rejected"

        def plan(entries: list[AuditEntry]) -> NewAuditEntry | AuditEntry:
            done = _policy_entry(entries, record, kind)
            if done is not None:
                return done
            if not decision.promote:
                return NewAuditEntry(
                    at=self._clock(),
                    kind="rejected",
                    actor=POLICY_ACTOR,
                    version=version,
                    reasons=decision.reasons,
                    event_id=decision.event_id,
                    cause_event_id=cause,
                )
            return NewAuditEntry(
                at=self._clock(),
                kind="promoted",
                actor=POLICY_ACTOR,
                version=version,
                reasons=decision.reasons,
                # From where production is in the trail this entry follows: the decision's
                # production version unless an operator (or another replica) moved it since.
                alias_move=AliasMove(
                    alias=PRODUCTION,
                    from_version=latest_at(entries, PRODUCTION),
                    to_version=version,
                ),
                event_id=decision.event_id,
                cause_event_id=cause,
            )

        if not decision.promote:
            return self.store.append(model, plan)
        attrs: Attributes = {
            Attr.MODEL: model,
            Attr.MODEL_VERSION: version,
            Attr.DECISION: "policy",
        }
        with self._tracer.start_as_current_span("promote", attributes=attrs):
            return self.store.append(model, plan)

    # -- operator path ----------------------------------------------------------------------

    def plan_promotion(
        self,
        model: str,
        version: int,
        *,
        reason: str,
        actor: str,
        alias: str = PRODUCTION,
        idempotency_key: str | None = None,
    ) -> AliasChange:
        """The move, planned on the trail as read now: it is recorded only if nothing was
        appended since (``record`` raises ``SequenceTaken`` otherwise: plan again)."""
        record = self._existing(model, version)
        entries = self.store.audit(model)
        again = self._repeated(model, entries, idempotency_key, "manual_promote")
        if again is not None:
            return again
        current = latest_at(entries, alias)
        if current == version:
            raise AliasConflict(f"version {version} of {model!r} is already {alias}")
        return self._change(
            record,
            entries,
            alias=alias,
            previous=current,
            rollback=False,
            actor=actor,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def plan_rollback(
        self,
        model: str,
        *,
        reason: str,
        actor: str,
        to_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> AliasChange:
        self._known(model)
        entries = self.store.audit(model)
        again = self._repeated(model, entries, idempotency_key, "rollback")
        if again is not None:
            return again
        current = latest_at(entries, PRODUCTION)
        if to_version is None:
            to_version = _before_current(model, entries)
        record = self._existing(model, to_version)
        if current == to_version:
            raise AliasConflict(f"version {to_version} of {model!r} is already production")
        return self._change(
            record,
            entries,
            alias=PRODUCTION,
            previous=current,
            rollback=True,
            actor=actor,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def record(self, change: AliasChange) -> AuditEntry:
        """Record the move at the sequence it was planned for (the one its event carries and
        its signature covers). ``SequenceTaken`` if another writer got there first."""
        if change.recorded is not None:
            return change.recorded
        return self.store.append_audit(
            change.event.model.model_name, change.entry, seq=change.event.sequence
        )

    def announcement(self, model: str, entry: AuditEntry) -> ModelPromoted:
        """The event of a recorded operator move, rebuilt from its entry: same id, same
        sequence, same signature as when it was first announced."""
        move = entry.alias_move
        if move is None or entry.event_id is None:
            raise ValueError(f"audit entry {entry.seq} is not an announced alias move")
        record = self.store.get_version(model, move.to_version)
        if record is None:  # pragma: no cover - a move's version always exists
            raise ValueError(f"audit entry {entry.seq} moves to a missing version")
        event = operator_event(
            record.info,
            alias=move.alias,
            previous=move.from_version,
            rollback=entry.kind == "rollback",
            actor=entry.actor,
            reasons=entry.reasons,
            at=entry.at,
            sequence=entry.seq,
            event_id=entry.event_id,
        )
        return sealed(event, self.signer)

    def _repeated(
        self, model: str, entries: list[AuditEntry], idempotency_key: str | None, kind: str
    ) -> AliasChange | None:
        """The change a request with this Idempotency-Key already recorded, if any."""
        if idempotency_key is None:
            return None
        for entry in entries:
            if entry.idempotency_key == idempotency_key:
                if entry.kind != kind:
                    raise AliasConflict(
                        f"Idempotency-Key {idempotency_key!r} was used for a {entry.kind}"
                    )
                plain = NewAuditEntry.model_validate(entry.model_dump(exclude={"seq"}))
                return AliasChange(self.announcement(model, entry), plain, recorded=entry)
        return None

    def _change(
        self,
        record: VersionRecord,
        entries: list[AuditEntry],
        *,
        alias: str,
        previous: int | None,
        rollback: bool,
        actor: str,
        reason: str,
        idempotency_key: str | None,
    ) -> AliasChange:
        entry = NewAuditEntry(
            at=self._clock(),
            kind="rollback" if rollback else "manual_promote",
            actor=actor,
            version=record.version,
            reasons=operator_reasons(rollback=rollback, reason=reason, previous=previous),
            alias_move=AliasMove(alias=alias, from_version=previous, to_version=record.version),
            event_id=uuid.uuid4(),
            idempotency_key=idempotency_key,
        )
        # The entry it will be: right after the trail it was planned on.
        sequence = (entries[-1].seq if entries else 0) + 1
        planned = AuditEntry(seq=sequence, **entry.model_dump())
        event = self.announcement(record.info.model_name, planned)
        return AliasChange(event, entry)

    def _known(self, model: str) -> None:
        if not self.store.version_numbers(model):
            raise UnknownModel(model)

    def _existing(self, model: str, version: int) -> VersionRecord:
        self._known(model)
        record = self.store.get_version(model, version)
        if record is None:
            raise UnknownVersion(model, version)
        return record


def _policy_entry(entries: list[AuditEntry], record: VersionRecord, kind: str) -> AuditEntry | None:
    """The entry of this kind that this version's ModelTrained already left, if any."""
    cause, version = record.lineage.trained_event_id, record.version
    for entry in entries:
        if entry.kind == kind and entry.version == version and entry.cause_event_id == cause:
            return entry
    return None


def _superseded(entries: list[AuditEntry], decided: AuditEntry) -> bool:
    """Whether a decision is history: replaying it would move consumers backwards.

    A promotion is, once production moved again after it; a rejection, once anything followed.
    """
    later = [e for e in entries if e.seq > decided.seq]
    if decided.alias_move is None:
        return bool(later)
    alias = decided.alias_move.alias
    return any(e.alias_move is not None and e.alias_move.alias == alias for e in later)


def _before_current(model: str, entries: list[AuditEntry]) -> int:
    """The production version before the current one: where the last move came from."""
    for entry in reversed(entries):
        move = entry.alias_move
        if entry.kind in MOVE_KINDS and move is not None and move.alias == PRODUCTION:
            if move.from_version is None:
                break
            return move.from_version
    raise AliasConflict(f"{model!r} had no production version before the current one")
