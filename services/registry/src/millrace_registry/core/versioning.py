"""A new version's record, from the ModelTrained that announced it and the policy's verdict."""

from __future__ import annotations

from datetime import datetime

from millrace_contracts import (
    ModelPromoted,
    ModelRejected,
    ModelTrained,
    ModelVersionInfo,
    caused_by,
)
from millrace_shared.registry.models import Decision, Lineage, VersionRecord

from .events import PRODUCER
from .policy import Verdict


def version_record(
    trained: ModelTrained, version: int, verdict: Verdict, production: int | None, now: datetime
) -> VersionRecord:
    emitted = ModelPromoted if verdict.promote else ModelRejected
    return VersionRecord(
        info=ModelVersionInfo.from_trained(trained, version),
        registered_at=now,
        lineage=Lineage(
            dataset=trained.dataset,
            dataset_version=trained.dataset_version,
            run_id=trained.run_id,
            trained_event_id=trained.event_id,
            correlation_id=trained.correlation_id,
            estimator=trained.estimator,
            params=trained.params,
            target=trained.target,
            trigger=trained.trigger,
            training_seconds=trained.training_seconds,
            leaderboard=trained.leaderboard,
        ),
        champion_version=trained.champion_version,
        champion_metrics=trained.champion_metrics,
        decision=Decision(
            promote=verdict.promote,
            reasons=list(verdict.reasons),
            event_id=caused_by(emitted, trained, producer=PRODUCER)["event_id"],
            decided_at=now,
            production_version=production,
            compared_with=verdict.compared_with,
            primary_metric=verdict.primary_metric,
            policy=trained.promotion,
        ),
    )
