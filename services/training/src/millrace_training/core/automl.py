"""AutoML: a small search over allow-listed estimators, ranked by cross-validation.

Each candidate has a built-in parameter space of a few points. The search goes round-robin
(every candidate's first point, then every second point, ...) so a short budget still tries
every estimator once, and it stops *starting* candidates when the budget is spent: one
already running is allowed to finish. At least one candidate is always tried. The budget is
the spec's, clamped to the service's limits (``TrainingLimits``): seconds and candidates.
The folds run where the ``ComputeSession`` says: here, or on a cluster (``compute``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from millrace_contracts import AutoMLSpec, CandidateScore, Preprocessing
from millrace_contracts.common import Task
from sklearn.model_selection import KFold, StratifiedKFold

from .compute import ComputeSession, FoldTask, LocalSession
from .errors import CannotTrain
from .estimators import build_estimator, effective_params, supports
from .limits import TrainingLimits
from .metrics import Scorer
from .pipeline_builder import build_pipeline

logger = logging.getLogger("millrace.training.automl")

PARAM_SPACES: dict[str, list[dict[str, Any]]] = {
    "logistic_regression": [
        {"C": 1.0, "max_iter": 1000},
        {"C": 0.1, "max_iter": 1000},
        {"C": 10.0, "max_iter": 1000},
    ],
    "linear_regression": [{}],
    "ridge": [{"alpha": 1.0}, {"alpha": 0.1}, {"alpha": 10.0}],
    "random_forest": [{"n_estimators": 100}, {"n_estimators": 200, "max_depth": 8}],
    "hist_gradient_boosting": [{"learning_rate": 0.1}, {"learning_rate": 0.05, "max_iter": 200}],
}


@dataclass(frozen=True)
class SearchResult:
    estimator: str
    params: dict[str, Any]
    """Effective parameters of the winner (seed included)."""
    leaderboard: list[CandidateScore]
    """Every candidate scored, best first."""
    planned: int = 0
    """Points the plan had."""
    tried: int = 0
    """Points cross-validated before the search ended."""
    stopped_by: Literal["time_budget", "max_candidates"] | None = None
    """Which limit cut the search short; None when every point was tried."""


def plan(candidates: Sequence[str], task: Task) -> list[tuple[str, dict[str, Any]]]:
    """The (estimator, params) points to try, in the order they are tried."""
    usable = [c for c in dict.fromkeys(candidates) if supports(c, task)]
    skipped = [c for c in candidates if not supports(c, task)]
    if skipped:
        logger.info("automl: skipping candidate(s) unusable for %s: %s", task, ", ".join(skipped))
    if not usable:
        raise CannotTrain(f"no AutoML candidate can be used for {task}: {list(candidates)}")
    rounds = max(len(PARAM_SPACES[c]) for c in usable)
    return [
        (name, PARAM_SPACES[name][i])
        for i in range(rounds)
        for name in usable
        if i < len(PARAM_SPACES[name])
    ]


def _folds(task: Task, target: np.ndarray, folds: int, seed: int) -> KFold | StratifiedKFold:
    if task == "classification":
        _, counts = np.unique(target.astype(str), return_counts=True)
        if counts.min() >= folds:
            return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)


def search(
    spec: AutoMLSpec,
    task: Task,
    preprocessing: Preprocessing,
    features: pd.DataFrame,
    target: np.ndarray,
    numeric: Sequence[str],
    categorical: Sequence[str],
    scorer: Scorer,
    seed: int,
    clock: Callable[[], float] = time.monotonic,
    *,
    limits: TrainingLimits | None = None,
    session: ComputeSession | None = None,
) -> SearchResult:
    """Cross-validate the plan's points in order, within the budget; the best one wins.

    ``session`` runs the folds (default: in this process, one after the other). A session
    with parallelism runs the points in waves, every fold of a wave's points at once, and
    checks the time budget between waves: with a count budget the points tried, and so the
    scores, are the same wherever they run; a time budget may let a cluster try more.
    """
    if len(target) < spec.cv_folds:
        raise CannotTrain(f"{len(target)} training rows are too few for {spec.cv_folds} folds")
    limits = limits or TrainingLimits()
    session = session or LocalSession(features, target)
    budget = limits.automl_seconds(spec)
    splits = list(_folds(task, target, spec.cv_folds, seed).split(features, target))
    points = plan(spec.candidates, task)
    allowed = points[: limits.automl_max_candidates]
    # Enough points per wave to keep every worker busy with one fold each.
    wave = max(1, session.parallelism // len(splits))
    started = clock()
    scored: list[CandidateScore] = []
    tried = 0
    stopped_by: Literal["time_budget", "max_candidates"] | None = None
    while tried < len(allowed):
        if tried and clock() - started >= budget:
            stopped_by = "time_budget"
            break
        batch = [(name, limits.clamp_params(built_in)) for name, built_in in allowed[tried:][:wave]]
        pipelines = [
            build_pipeline(
                build_estimator(name, task, params, seed), preprocessing, numeric, categorical
            )
            for name, params in batch
        ]
        scores = session.score_folds(
            [FoldTask(pipeline, train, test) for pipeline in pipelines for train, test in splits],
            scorer.scoring,
        )
        tried += len(batch)
        for i, (name, params) in enumerate(batch):
            mean = float(np.mean(scores[i * len(splits) : (i + 1) * len(splits)]))
            if not math.isfinite(mean):
                # Failed on some fold or cannot produce the score: left off the leaderboard,
                # whose scores must be finite to survive JSON.
                logger.warning("automl: %s %s failed cross-validation; not ranked", name, params)
                continue
            scored.append(
                CandidateScore(
                    estimator=name,
                    params=effective_params(name, task, params, seed),
                    cv_score=scorer.report(mean),
                )
            )
    if stopped_by is None and tried < len(points):
        stopped_by = "max_candidates"
    if stopped_by is not None:
        # The best so far wins: a cut search still trains a model.
        logger.info(
            "automl: stopped by %s (%.1fs, at most %d candidate(s)) after %d of %d",
            stopped_by,
            budget,
            limits.automl_max_candidates,
            tried,
            len(points),
        )
    if not scored:
        raise CannotTrain("every AutoML candidate failed cross-validation")
    ranked = sorted(scored, key=lambda c: -c.cv_score if scorer.higher_is_better else c.cv_score)
    best = ranked[0]
    return SearchResult(
        estimator=best.estimator,
        params=best.params,
        leaderboard=ranked,
        planned=len(points),
        tried=tried,
        stopped_by=stopped_by,
    )
