"""The statistics against hand-computed values and against scipy's reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from millrace_monitoring.core.ks_batch import ks_tests_sorted
from millrace_monitoring.core.stats import (
    PSI_EPSILON,
    benjamini_hochberg,
    bin_counts,
    chi2_test,
    ks_test,
    psi,
)
from scipy import stats


def test_psi_of_identical_distributions_is_zero() -> None:
    assert psi([10, 20, 30, 40], [10, 20, 30, 40]) == 0.0
    assert psi([10, 20, 30, 40], [1, 2, 3, 4]) == pytest.approx(0.0, abs=1e-15)


def test_psi_of_same_distribution_samples_is_near_zero() -> None:
    rng = np.random.default_rng(0)
    edges = np.quantile(rng.normal(size=100_000), np.linspace(0, 1, 11)[1:-1])
    reference = bin_counts(rng.normal(size=100_000), edges)
    window = bin_counts(rng.normal(size=100_000), edges)
    assert psi(reference, window) < 0.001


def test_psi_matches_the_hand_computed_value() -> None:
    # shares (0.5, 0.5) vs (0.8, 0.2): 0.3 ln(1.6) + (-0.3) ln(0.4) = 0.41589...
    expected = 0.3 * math.log(0.8 / 0.5) - 0.3 * math.log(0.2 / 0.5)
    assert psi([50, 50], [80, 20]) == pytest.approx(expected, rel=1e-12)


def test_psi_of_an_empty_bin_uses_the_epsilon_floor() -> None:
    expected = (0.5 - 0.5) * 0 + (1.0 - 0.5) * math.log(1.0 / 0.5)
    expected += (PSI_EPSILON - 0.5) * math.log(PSI_EPSILON / 0.5)
    assert psi([5, 5], [0, 9]) == pytest.approx(expected, rel=1e-12)
    assert math.isfinite(psi([5, 5], [0, 9]))


def test_bins_are_right_closed_like_the_profile_says() -> None:
    edges = np.array([1.0, 2.0])
    values = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 9.0])
    assert bin_counts(values, edges).tolist() == [2, 2, 2]


@pytest.mark.parametrize("discrete", [False, True])
def test_ks_statistic_is_scipys_and_the_p_value_a_slightly_conservative_asymptote(
    discrete: bool,
) -> None:
    rng = np.random.default_rng(1)
    for _ in range(60):
        n, m = int(rng.integers(20, 600)), int(rng.integers(100, 5000))
        if discrete:
            a, b = rng.poisson(3.0, n).astype(float), rng.poisson(3.2, m).astype(float)
        else:
            a, b = rng.normal(0.0, 1.0, n), rng.normal(rng.normal() * 0.2, 1.0, m)
        ours = ks_test(a, np.sort(b))
        theirs = stats.ks_2samp(a, b, method="asymp")
        assert ours.statistic == theirs.statistic
        assert theirs.pvalue <= ours.p_value + 1e-12
        assert ours.p_value <= theirs.pvalue * 1.25 + 1e-3


def test_chi2_is_scipys_contingency_test_when_no_column_is_rare() -> None:
    reference, window = [600, 300, 100], [50, 30, 20]
    ours = chi2_test(reference, window)
    statistic, p_value, _, _ = stats.chi2_contingency([reference, window], correction=False)
    assert ours.statistic == pytest.approx(statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(p_value, rel=1e-9)


def test_chi2_pools_rare_columns_before_testing() -> None:
    # "d" and "e" are expected 0.5 and 1.5 times in a window of 100: pooled with "c" (3.0).
    reference, window = [500, 450, 30, 5, 15], [50, 45, 3, 1, 1]
    ours = chi2_test(reference, window)
    pooled = [[500, 450, 50], [50, 45, 5]]
    statistic, p_value, _, _ = stats.chi2_contingency(pooled, correction=False)
    assert ours.statistic == pytest.approx(statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(p_value, rel=1e-9)


def test_an_unseen_category_is_a_column_the_reference_left_empty() -> None:
    # 40 of 100 window rows are a category the reference never saw (expected 3.6 times, so
    # pooled with the next rarest column, "b"): still overwhelming evidence.
    result = chi2_test([700, 300, 0], [40, 20, 40])
    statistic, p_value, _, _ = stats.chi2_contingency([[700, 300], [40, 60]], correction=False)
    assert result.statistic == pytest.approx(statistic, rel=1e-12)
    assert result.p_value == pytest.approx(p_value, rel=1e-9)
    assert result.p_value < 1e-8


def test_chi2_with_a_single_category_says_nothing() -> None:
    assert chi2_test([100], [10]).p_value == 1.0


def test_benjamini_hochberg_matches_a_hand_computed_example() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.2]
    # sorted: 0.005, 0.01, 0.03, 0.04, 0.2 (m = 5)
    # p*m/rank: 0.025, 0.025, 0.05, 0.05, 0.2 -> running min from the top: same here
    adjusted = benjamini_hochberg(p)
    assert adjusted.tolist() == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.2])
    # q = 0.05 rejects the four smallest; q = 0.03 only the two smallest.
    assert (adjusted <= 0.05).tolist() == [True, True, True, True, False]
    assert (adjusted <= 0.03).tolist() == [True, False, False, True, False]


def test_benjamini_hochberg_step_up_takes_the_running_minimum() -> None:
    # p*m/rank = 0.03, 0.02 -> the smallest p inherits 0.02 from the larger one.
    assert benjamini_hochberg([0.015, 0.02]).tolist() == pytest.approx([0.02, 0.02])


def test_benjamini_hochberg_caps_at_one_and_handles_no_tests() -> None:
    assert benjamini_hochberg([0.9, 0.8, 1.0]).max() <= 1.0
    assert benjamini_hochberg([]).size == 0


@pytest.mark.parametrize("discrete", [False, True])
def test_ks_of_many_features_at_once_equals_one_at_a_time(discrete: bool) -> None:
    rng = np.random.default_rng(2)
    for _ in range(20):
        n, k = int(rng.integers(1, 400)), int(rng.integers(1, 6))
        sizes = [int(rng.integers(max(1, n - 50), n + 3000)) for _ in range(k)]
        if discrete:
            windows = [np.sort(rng.poisson(3.0, n).astype(float)) for _ in range(k)]
            references = [np.sort(rng.poisson(3.2, m).astype(float)) for m in sizes]
        else:
            windows = [np.sort(rng.normal(0.0, 1.0, n)) for _ in range(k)]
            references = [np.sort(rng.normal(0.1, 1.0, m)) for m in sizes]
        together = ks_tests_sorted(windows, references)
        alone = [ks_test(w, r) for w, r in zip(windows, references, strict=True)]
        assert together == alone
