"""The registry's use cases: register a trained model, promote by hand, roll back.

Blocking (object-store) code, called one model at a time by ``commands.RegistryCommands``.
"""

from __future__ import annotations

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
from .events import POLICY_ACTOR, PRODUCER, decision_event, operator_event, sealed
from .policy import (
    Champion,
    comparable_champion,
    decide,
    finite_only,
    non_finite,
    refuse_non_finite,
)
from .records import MOVE_KINDS, PRODUCTION
from .store import RegistryStore
from .versioning import version_record

METRIC_VALUE = "millrace.metric.value"
"""Span attribute: value of the policy's primary metric (``Attr.METRIC`` holds its name)."""


@dataclass(frozen=True)
class AliasChange:
    """A move asked for over the API: announced first, recorded once the event is out."""

    event: ModelPromoted
    entry: NewAuditEntry


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
            if self._policy_entry(record, "registered") is None:
                self.store.append_audit(model, self._registered_entry(record))
            decided = self._policy_entry(
                record, "promoted" if record.decision.promote else "rejected"
            )
            if decided is None:
                decided = self._record_decision(record)
            elif self.store.audit(model)[-1].seq != decided.seq:
                return None
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
        decision, cause = record.decision, record.lineage.trained_event_id
        model, version = record.info.model_name, record.version
        if not decision.promote:
            rejected = NewAuditEntry(
                at=self._clock(),
                kind="rejected",
                actor=POLICY_ACTOR,
                version=version,
                reasons=decision.reasons,
                event_id=decision.event_id,
                cause_event_id=cause,
            )
            return self.store.append_audit(model, rejected)
        attrs: Attributes = {
            Attr.MODEL: model,
            Attr.MODEL_VERSION: version,
            Attr.DECISION: "policy",
        }
        with self._tracer.start_as_current_span("promote", attributes=attrs):
            promoted = NewAuditEntry(
                at=self._clock(),
                kind="promoted",
                actor=POLICY_ACTOR,
                version=version,
                reasons=decision.reasons,
                # From where production is now: the decision's production version unless an
                # operator moved it between an interrupted attempt and this one.
                alias_move=AliasMove(
                    alias=PRODUCTION,
                    from_version=self.store.alias(model, PRODUCTION),
                    to_version=version,
                ),
                event_id=decision.event_id,
                cause_event_id=cause,
            )
            return self.store.append_audit(model, promoted)

    def _policy_entry(self, record: VersionRecord, kind: str) -> AuditEntry | None:
        """The entry of this kind that this version's ModelTrained already left, if any."""
        cause, version = record.lineage.trained_event_id, record.version
        for entry in self.store.audit(record.info.model_name):
            if entry.kind == kind and entry.version == version and entry.cause_event_id == cause:
                return entry
        return None

    # -- operator path ----------------------------------------------------------------------

    def plan_promotion(
        self, model: str, version: int, *, reason: str, actor: str, alias: str = PRODUCTION
    ) -> AliasChange:
        record = self._existing(model, version)
        current = self.store.alias(model, alias)
        if current == version:
            raise AliasConflict(f"version {version} of {model!r} is already {alias}")
        return self._change(
            record, alias=alias, previous=current, rollback=False, actor=actor, reason=reason
        )

    def plan_rollback(
        self, model: str, *, reason: str, actor: str, to_version: int | None = None
    ) -> AliasChange:
        self._known(model)
        current = self.store.alias(model, PRODUCTION)
        if to_version is None:
            to_version = self._before_current(model)
        record = self._existing(model, to_version)
        if current == to_version:
            raise AliasConflict(f"version {to_version} of {model!r} is already production")
        return self._change(
            record, alias=PRODUCTION, previous=current, rollback=True, actor=actor, reason=reason
        )

    def record(self, change: AliasChange) -> AuditEntry:
        # At the sequence the event announced: the move's number must be the one signed.
        return self.store.append_audit(
            change.event.model.model_name, change.entry, seq=change.event.sequence
        )

    def _change(
        self,
        record: VersionRecord,
        *,
        alias: str,
        previous: int | None,
        rollback: bool,
        actor: str,
        reason: str,
    ) -> AliasChange:
        event = operator_event(
            record.info,
            alias=alias,
            previous=previous,
            rollback=rollback,
            actor=actor,
            reason=reason,
            at=self._clock(),
            # Announced before it is recorded (see commands): the audit entry it will be.
            sequence=self.store.next_seq(record.info.model_name),
        )
        event = sealed(event, self.signer)
        entry = NewAuditEntry(
            at=event.occurred_at,
            kind="rollback" if rollback else "manual_promote",
            actor=actor,
            version=record.version,
            reasons=event.reasons,
            alias_move=AliasMove(alias=alias, from_version=previous, to_version=record.version),
            event_id=event.event_id,
        )
        return AliasChange(event, entry)

    def _before_current(self, model: str) -> int:
        """The production version before the current one: where the last move came from."""
        for entry in reversed(self.store.audit(model)):
            move = entry.alias_move
            if entry.kind in MOVE_KINDS and move is not None and move.alias == PRODUCTION:
                if move.from_version is None:
                    break
                return move.from_version
        raise AliasConflict(f"{model!r} had no production version before the current one")

    def _known(self, model: str) -> None:
        if not self.store.version_numbers(model):
            raise UnknownModel(model)

    def _existing(self, model: str, version: int) -> VersionRecord:
        self._known(model)
        record = self.store.get_version(model, version)
        if record is None:
            raise UnknownVersion(model, version)
        return record
