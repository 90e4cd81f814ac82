"""The read side: what the REST API shows, assembled from the store (no writes here)."""

from __future__ import annotations

from datetime import datetime

from millrace_contracts import ModelVersionInfo
from millrace_shared.registry.models import (
    AuditEntry,
    ModelDetail,
    ModelSummary,
    SignedPromotion,
    VersionDetail,
    VersionRecord,
    VersionSummary,
)
from millrace_shared.signing import SigningKey

from .errors import UnknownModel, UnknownVersion
from .records import PRODUCTION
from .store import RegistryStore


class RegistryViews:
    def __init__(self, store: RegistryStore, signer: SigningKey | None = None) -> None:
        self._store = store
        self._signer = signer

    def models(self) -> list[ModelSummary]:
        return [
            ModelSummary(
                name=name,
                production_version=self._store.alias(name, PRODUCTION),
                latest_version=numbers[-1],
            )
            for name in self._store.models()
            if (numbers := self._store.version_numbers(name))
        ]

    def model(self, name: str) -> ModelDetail:
        aliases = self._store.aliases(name)
        versions = [self._summary(self._record(name, n), aliases) for n in self._numbers(name)]
        return ModelDetail(
            name=name, aliases=aliases, latest_version=versions[-1].version, versions=versions
        )

    def version(self, name: str, version: int) -> VersionDetail:
        record = self._record(name, version)
        aliases = self._store.aliases(name)
        pointing = sorted(a for a, v in aliases.items() if v == version)
        return VersionDetail(**record.model_dump(), aliases=pointing)

    def aliases(self, name: str) -> dict[str, int]:
        self._numbers(name)
        return self._store.aliases(name)

    def audit(self, name: str) -> list[AuditEntry]:
        self._numbers(name)
        return self._store.audit(name)

    def production(self, name: str, at: datetime | None = None) -> ModelVersionInfo | None:
        """Production at ``at`` (now if None), answered from the audit trail."""
        self._numbers(name)
        version = self._store.alias(name, PRODUCTION, at)
        return None if version is None else self._record(name, version).info

    def production_promotion(self, name: str) -> SignedPromotion | None:
        """The move that made the current production version, signed as its event was.

        Its sequence and event id are the audit entry's, the same numbers the event carried,
        so a replica starting from this answer and one that saw the event agree.
        """
        self._numbers(name)
        last = None
        for entry in self._store.audit(name):
            if entry.alias_move is not None and entry.alias_move.alias == PRODUCTION:
                last = entry
        if last is None or last.alias_move is None or last.event_id is None:
            return None
        promotion = SignedPromotion(
            model=self._record(name, last.alias_move.to_version).info,
            alias=PRODUCTION,
            sequence=last.seq,
            event_id=last.event_id,
        )
        if self._signer is None:
            return promotion
        return promotion.model_copy(
            update={"signature": self._signer.sign(promotion.signed_facts())}
        )

    def _numbers(self, name: str) -> list[int]:
        numbers = self._store.version_numbers(name)
        if not numbers:
            raise UnknownModel(name)
        return numbers

    def _record(self, name: str, version: int) -> VersionRecord:
        record = self._store.get_version(name, version)
        if record is None:
            self._numbers(name)
            raise UnknownVersion(name, version)
        return record

    @staticmethod
    def _summary(record: VersionRecord, aliases: dict[str, int]) -> VersionSummary:
        decision = record.decision
        return VersionSummary(
            version=record.version,
            run_id=record.lineage.run_id,
            dataset=record.lineage.dataset,
            dataset_version=record.lineage.dataset_version,
            registered_at=record.registered_at,
            policy_decision="promoted" if decision.promote else "rejected",
            reason_codes=[r.code for r in decision.reasons],
            metrics=record.info.metrics.values,
            holdout_id=record.info.metrics.holdout_id,
            aliases=sorted(a for a, v in aliases.items() if v == record.version),
        )
