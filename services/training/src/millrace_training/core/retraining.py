"""When a model is trained again: pure decisions, each with the reason it is logged with."""

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


def decide_on_new_data(policy: RetrainingPolicy, *, has_production: bool) -> RetrainingDecision:
    """Whether a newly validated dataset version is trained right away."""
    if not has_production:
        # Nothing is served yet: there is no drift or degradation to wait for.
        return RetrainingDecision(True, "no production model of this name yet")
    if policy.on_new_data:
        return RetrainingDecision(True, "on_new_data=true")
    return RetrainingDecision(
        False, "new version recorded; waiting for drift/degradation/request (on_new_data=false)"
    )


def decide_retraining(
    *,
    trigger: RetrainingTrigger,
    policy: RetrainingPolicy,
    now: datetime,
    cause_event_id: uuid.UUID,
    last: RetrainingRecord | None,
    newest_version: str | None,
    newest_rows: int,
    newest_already_trained: bool,
    production_version: str | None,
    production_rows: int | None,
) -> RetrainingDecision:
    """Whether a drift or degradation signal retrains on the newest dataset version.

    ``newest_version``/``newest_rows``: the validated version first seen last (None if none).
    ``newest_already_trained``: its run with the current spec is done (``run_id`` exists).
    ``production_version``/``production_rows``: the version the production model was trained
    on (None if no production model) and its rows (None if unknown: counted as 0).
    """
    if trigger == "drift" and not policy.on_drift:
        return RetrainingDecision(False, "the retraining policy ignores drift (on_drift=false)")
    if trigger == "degradation" and not policy.on_degradation:
        return RetrainingDecision(
            False, "the retraining policy ignores degradation (on_degradation=false)"
        )
    if newest_version is None:
        return RetrainingDecision(False, "no validated dataset version is known")
    if newest_version == production_version:
        return RetrainingDecision(
            False,
            f"the newest version {newest_version[:12]} is the production model's own data: "
            "nothing new to learn",
        )
    if newest_already_trained:
        # Trained on arrival (on_new_data=true) and not promoted: the same run again would
        # give the same model, which the registry has already judged.
        return RetrainingDecision(
            False,
            f"the newest version {newest_version[:12]} with the current spec was already "
            "trained, registry decided",
        )
    added = newest_rows - (production_rows or 0)
    if added < policy.min_new_rows:
        return RetrainingDecision(
            False,
            f"the newest version adds {added} row(s) over the production model's data "
            f"(min_new_rows={policy.min_new_rows})",
        )
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
    return RetrainingDecision(
        True, f"{trigger}: the newest version {newest_version[:12]} adds {added} row(s)"
    )
