"""Seeded data for the drift benchmark (#7): numpy and pandas only, so the Evidently env
generates exactly the same frames as the project's env (both pin the same numpy).

20 numeric columns of assorted shapes and 5 categorical ones; ``window(..., drifted=True)``
injects drift into ``INJECTED`` and nowhere else.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

NUMERIC = [f"n{i:02d}" for i in range(20)]
CATEGORICAL = [f"c{j}" for j in range(5)]
CATEGORIES = [
    (["a", "b", "c", "d"], [0.4, 0.3, 0.2, 0.1]),
    (["x", "y", "z"], [0.5, 0.3, 0.2]),
    (["p", "q", "r", "s", "t", "u"], [0.25, 0.2, 0.2, 0.15, 0.1, 0.1]),
    (
        ["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"],
        [0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05],
    ),
    (["yes", "no"], [0.7, 0.3]),
]
INJECTED = {
    "n00": "mean shift of +0.3 sd",
    "n05": "spread x1.6",
    "n10": "lognormal, values x1.4",
    "c0": "15 points of share moved from 'a' to 'd'",
    "c3": "new category 'k9' at 8%",
}


def frame(rows: int, seed: int, *, drifted: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i, name in enumerate(NUMERIC):
        shape = i % 5
        if shape == 0:
            values = rng.normal(loc=i, scale=1.0 + i / 10, size=rows)
            if drifted and name == "n00":
                values = values + 0.3 * (1.0 + i / 10)
        elif shape == 1:
            values = rng.exponential(scale=2.0, size=rows)
        elif shape == 2:
            values = rng.uniform(-5, 5, size=rows)
        elif shape == 3:
            values = rng.gamma(shape=2.0, scale=1.5, size=rows)
        else:
            values = rng.standard_t(df=5, size=rows) * 3
        if drifted and name == "n05":
            values = rng.normal(loc=0.0, scale=1.6, size=rows)
        elif name == "n05":
            values = rng.normal(loc=0.0, scale=1.0, size=rows)
        if name == "n10":
            values = rng.lognormal(mean=0.0, sigma=1.0, size=rows) * (1.4 if drifted else 1.0)
        data[name] = np.round(values, 6)
    for j, name in enumerate(CATEGORICAL):
        labels, probabilities = CATEGORIES[j]
        labels, probabilities = list(labels), list(probabilities)
        if drifted and name == "c0":
            probabilities = [0.25, 0.3, 0.2, 0.25]
        if drifted and name == "c3":
            labels = [*labels, "k9"]
            probabilities = [p * 0.92 for p in probabilities] + [0.08]
        data[name] = rng.choice(np.array(labels, dtype=object), size=rows, p=probabilities)
    return pd.DataFrame(data)


def digest(df: pd.DataFrame) -> str:
    """A fingerprint of the values, to show both envs drew the very same data."""
    h = hashlib.sha256()
    for name in df.columns:
        column = df[name].to_numpy()
        if column.dtype == object:
            h.update("\x00".join(map(str, column)).encode())
        else:
            h.update(np.ascontiguousarray(column, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


REFERENCE_ROWS = 100_000
REFERENCE_SEED = 1


def window_seed(rows: int, index: int, drifted: bool) -> int:
    return 1_000_000 * (2 if drifted else 3) + rows + index


def reference() -> pd.DataFrame:
    return frame(REFERENCE_ROWS, REFERENCE_SEED)


def window(job: dict[str, Any]) -> pd.DataFrame:
    """The window a timing job names, drawn the same way in both envs."""
    rows, drifted = job["rows"], job["drifted"]
    return frame(rows, window_seed(rows, job["index"], drifted), drifted=drifted)
