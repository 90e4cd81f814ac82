"""When drift or degradation of a production model leads to retraining: a pure decision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from millrace_contracts import RetrainingPolicy
from millrace_contracts.envelope import Contract
from pydantic import AwareDatetime

RetrainingTrigger = Literal["drift", "degradation"]


class RetrainingRecord(Contract):
    """The last retraining started for a model, persisted *before* its fit begins so that a
    storm of signals arriving together leads to one retraining."""

    model_name: str
    dataset: str
    dataset_version: str
    trigger: RetrainingTrigger
    cause_event_id: uuid.UUID
    started_at: AwareDatetime


@dataclass(frozen=True)
class RetrainingDecision:
    retrain: bool
    reason: str


def decide_retraining(
    *,
    trigger: RetrainingTrigger,
    policy: RetrainingPolicy,
    now: datetime,
    cause_event_id: uuid.UUID,
    last: RetrainingRecord | None,
    newest_rows: int | None,
    baseline_rows: int | None,
) -> RetrainingDecision:
    """Whether to retrain on the newest dataset version.

    ``newest_rows``: rows of the newest known version (None if none is known).
    ``baseline_rows``: rows of the version the production model was trained on (None if
    there is no production model or its version is unknown: then nothing to compare with).
    """
    if trigger == "drift" and not policy.on_drift:
        return RetrainingDecision(False, "the retraining policy ignores drift (on_drift=false)")
    if trigger == "degradation" and not policy.on_degradation:
        return RetrainingDecision(
            False, "the retraining policy ignores degradation (on_degradation=false)"
        )
    if newest_rows is None:
        return RetrainingDecision(False, "no validated dataset version is known")
    if last is not None and last.cause_event_id == cause_event_id:
        # Our own redelivery after a crash mid-fit: the cooldown it started must not stop it.
        return RetrainingDecision(True, "redelivery of the signal that started the last retraining")
    if last is not None:
        elapsed = (now - last.started_at).total_seconds()
        if elapsed < policy.cooldown_seconds:
            return RetrainingDecision(
                False,
                f"cooldown: last retraining started {elapsed:.0f}s ago "
                f"(cooldown_seconds={policy.cooldown_seconds:g})",
            )
    if baseline_rows is not None:
        added = newest_rows - baseline_rows
        if added < policy.min_new_rows:
            return RetrainingDecision(
                False,
                f"the newest version adds {added} row(s) over the production model's data "
                f"(min_new_rows={policy.min_new_rows})",
            )
        return RetrainingDecision(True, f"{trigger}: the newest version adds {added} row(s)")
    return RetrainingDecision(True, f"{trigger}: no production baseline to compare rows with")
