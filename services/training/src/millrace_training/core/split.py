"""The deterministic holdout: the same dataset version, seed and fraction give the same rows.

Candidate and champion are scored on these rows, and ``holdout_id`` names them so the
registry only compares metrics measured on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from millrace_contracts.common import Task
from sklearn.model_selection import train_test_split

from .errors import CannotTrain


@dataclass(frozen=True)
class Holdout:
    train: np.ndarray
    """Row positions used for fitting, ascending."""
    test: np.ndarray
    """Row positions held out for evaluation, ascending."""
    holdout_id: str
    stratified: bool


def holdout_id(dataset_version: str, seed: int, fraction: float) -> str:
    return f"{dataset_version[:16]}:seed={seed}:frac={fraction}"


def _can_stratify(classes: np.ndarray, test_rows: int) -> bool:
    """``classes``: each row's class as an integer."""
    counts = np.bincount(classes)
    # train_test_split needs two members per class and room for every class on both sides.
    return bool(counts.min() >= 2) and len(counts) <= test_rows <= len(classes) - len(counts)


def split_holdout(
    target: np.ndarray, task: Task, fraction: float, seed: int, dataset_version: str
) -> Holdout:
    rows = len(target)
    test_rows = int(np.ceil(rows * fraction))
    if test_rows < 1 or rows - test_rows < 2:
        raise CannotTrain(f"{rows} rows cannot be split with holdout_fraction={fraction}")
    classes = None
    if task == "classification":
        # The classes numbered in the order of their string forms: stratifying on these picks
        # the very rows stratifying on the strings does, without sorting strings again.
        _, classes = np.unique(target.astype(str), return_inverse=True)
    stratify = classes is not None and _can_stratify(classes, test_rows)
    train, test = train_test_split(
        np.arange(rows),
        test_size=test_rows,
        random_state=seed,
        stratify=classes if stratify else None,
    )
    return Holdout(
        train=np.sort(train),
        test=np.sort(test),
        holdout_id=holdout_id(dataset_version, seed, fraction),
        stratified=stratify,
    )


def cap_rows(positions: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """At most ``cap`` of ``positions``, chosen with the seed; the holdout is never capped, so
    its identity stays (dataset version, seed, fraction)."""
    if cap is None or len(positions) <= cap:
        return positions
    chosen = np.random.default_rng(seed).choice(positions, size=cap, replace=False)
    return np.sort(chosen)
