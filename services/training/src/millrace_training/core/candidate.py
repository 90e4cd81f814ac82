"""Fit the model a spec asks for: its one estimator, or the AutoML search's winner."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from millrace_contracts import CandidateScore, TrainingSpec

from .automl import SearchResult, search
from .compute import Compute, ComputeSession, LocalCompute
from .errors import CannotTrain
from .estimators import build_estimator, effective_params
from .limits import TrainingLimits
from .metrics import Scorer
from .pipeline_builder import build_pipeline


@dataclass(frozen=True)
class FittedCandidate:
    pipeline: Any
    estimator: str
    params: dict[str, Any]
    leaderboard: list[CandidateScore] = field(default_factory=list)
    search: SearchResult | None = None
    """The AutoML search that chose it, if any."""


def fit_candidate(
    spec: TrainingSpec,
    features: pd.DataFrame,
    target: np.ndarray,
    numeric: Sequence[str],
    categorical: Sequence[str],
    scorer: Scorer,
    clock: Callable[[], float] = time.monotonic,
    *,
    limits: TrainingLimits | None = None,
    compute: Compute | None = None,
) -> FittedCandidate:
    """``compute`` runs the search's folds and the final fit (default: in this process)."""
    limits = limits or TrainingLimits()
    compute = compute or LocalCompute()
    with compute.session(features, target) as session:
        return _fit_candidate(
            spec, numeric, categorical, scorer, clock, limits, session, features, target
        )


def _fit_candidate(
    spec: TrainingSpec,
    numeric: Sequence[str],
    categorical: Sequence[str],
    scorer: Scorer,
    clock: Callable[[], float],
    limits: TrainingLimits,
    session: ComputeSession,
    features: pd.DataFrame,
    target: np.ndarray,
) -> FittedCandidate:
    leaderboard: list[CandidateScore] = []
    result: SearchResult | None = None
    if spec.estimator is not None:
        name = spec.estimator.name
        params = effective_params(name, spec.task, spec.estimator.params, spec.seed)
        limits.check_params(name, params)
    else:
        assert spec.automl is not None  # TrainingSpec demands exactly one of the two
        result = search(
            spec.automl,
            spec.task,
            spec.preprocessing,
            features,
            target,
            numeric,
            categorical,
            scorer,
            spec.seed,
            clock,
            limits=limits,
            session=session,
        )
        name, params, leaderboard = result.estimator, result.params, result.leaderboard
    pipeline = build_pipeline(
        build_estimator(name, spec.task, params, spec.seed),
        spec.preprocessing,
        numeric,
        categorical,
    )
    try:
        pipeline = session.fit(pipeline)
    except (ValueError, TypeError) as error:
        # sklearn's parameter and data checks: the same inputs would fail the same way again.
        raise CannotTrain(f"fitting {name} failed: {error}") from error
    return FittedCandidate(pipeline, name, params, leaderboard, result)
