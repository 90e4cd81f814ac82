"""The KS test of many features of one window at once, for windows no larger than the samples.

A window of a few hundred rows costs little per feature in the searches themselves; the numpy
calls around them dominate, so the arithmetic runs once over a features x rows matrix. Each
element is computed exactly as ``stats.ks_test_sorted`` computes it, so the results are equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special

from .stats import FloatArray, IntArray, TestResult, ks_test_sorted


def ks_tests_sorted(
    windows_sorted: Sequence[FloatArray], references_sorted: Sequence[FloatArray]
) -> list[TestResult]:
    """``ks_test_sorted`` of each window against its reference, pairwise."""
    sizes = {w.size for w in windows_sorted}
    n = next(iter(sizes), 0)
    m = np.array([r.size for r in references_sorted], dtype=np.int64)
    if len(sizes) != 1 or n == 0 or len(windows_sorted) < 2 or bool((m < n).any()):
        # Another shape: evaluated at the smaller sample's points, one feature at a time.
        return [
            ks_test_sorted(w, r) for w, r in zip(windows_sorted, references_sorted, strict=True)
        ]
    windows = np.vstack(windows_sorted)
    right_w, left_w = _own_ranks(windows)
    right_r = np.vstack(
        [
            np.searchsorted(r, w, side="right")
            for w, r in zip(windows, references_sorted, strict=True)
        ]
    )
    left_r = np.vstack(
        [
            np.searchsorted(r, w, side="left")
            for w, r in zip(windows, references_sorted, strict=True)
        ]
    )
    per_row = m[:, np.newaxis]
    statistic = np.maximum(
        np.abs(right_w / n - right_r / per_row).max(axis=1),
        np.abs(left_w / n - left_r / per_row).max(axis=1),
    )
    p_values = special.kolmogorov(np.sqrt(n * m / (n + m)) * statistic)
    return [
        TestResult(float(s), min(max(float(p), 0.0), 1.0))
        for s, p in zip(statistic, p_values, strict=True)
    ]


def _own_ranks(windows: FloatArray) -> tuple[IntArray, IntArray]:
    """Each point's count of points <= it and < it in its own (sorted) row, ties included.

    In a sorted row those are one past the last index of its value and the first index of it.
    """
    k, n = windows.shape
    index = np.arange(n, dtype=np.int64)
    starts = np.ones((k, n), dtype=bool)
    np.not_equal(windows[:, 1:], windows[:, :-1], out=starts[:, 1:])
    first = np.maximum.accumulate(np.where(starts, index, 0), axis=1)
    ends = np.ones((k, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    last = np.minimum.accumulate(np.where(ends, index, n - 1)[:, ::-1], axis=1)[:, ::-1]
    return last + 1, first
