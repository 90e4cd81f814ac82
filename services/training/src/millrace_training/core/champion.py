"""The production model of the same name, scored on the candidate's holdout rows."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from millrace_contracts import Metrics, ModelVersionInfo
from millrace_contracts.common import Task
from millrace_shared.modelio import UntrustedArtifact, takes_feature_names
from millrace_shared.objectstore import ChecksumMismatch, ObjectNotFound

from .data import PreparedData, coerce_features, positional
from .metrics import evaluate

logger = logging.getLogger("millrace.training.champion")


@dataclass(frozen=True)
class ChampionResult:
    version: int
    metrics: Metrics | None
    note: str | None = None
    """Why there are no metrics, when there are none."""


def evaluate_champion(
    champion: ModelVersionInfo,
    load: Callable[[ModelVersionInfo], Any],
    data: PreparedData,
    test_rows: np.ndarray,
    holdout_id: str,
    task: Task,
) -> ChampionResult:
    """Champion metrics on the same rows, or none with a note saying why.

    Only failures a retry cannot fix are absorbed here; a flaky object store propagates and
    the whole run is retried, rather than emitting a comparison that silently lacks a side.
    """

    def without(note: str) -> ChampionResult:
        logger.warning(
            "champion %s v%d not evaluated: %s", champion.model_name, champion.version, note
        )
        return ChampionResult(champion.version, None, note)

    if champion.task != task:
        return without(f"its task is {champion.task}, the candidate's is {task}")
    missing = [f.name for f in champion.signature if f.name not in data.raw.columns]
    if missing:
        return without(f"its feature(s) {', '.join(missing)} are missing from the new data")
    try:
        model = load(champion)
    except (ObjectNotFound, ChecksumMismatch, UntrustedArtifact, zipfile.BadZipFile) as error:
        return without(f"its artifact could not be loaded: {error}")
    try:
        features = coerce_features(data.raw.iloc[test_rows], champion.signature)
        if not takes_feature_names(model):  # champions fitted on named DataFrames still work
            features = positional(features)
        values = evaluate(model, features, data.target[test_rows], task)
    except (ValueError, TypeError, KeyError) as error:  # CannotTrain is a ValueError
        return without(f"it failed on the holdout rows: {error}")
    return ChampionResult(
        champion.version, Metrics(values=values, holdout_id=holdout_id, holdout_rows=len(test_rows))
    )
