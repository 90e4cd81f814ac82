"""Drift judgements on simulated data: calibrated under the null, powerful under real shifts.

The null bound. Under the complete null (no feature drifted) Benjamini-Hochberg at level q
keeps the chance that a window flags anything at most q (for independent features), and the
effect-size floor only lowers it. So with q = 0.01 over 200 windows the count of flagged
windows is at most Binomial(200, 0.01): mean 2, and P(X >= 8) is about 0.001. We allow
7 / 200 = 0.035, i.e. the significance plus a binomial slack of 0.025.
"""

from __future__ import annotations

import numpy as np
import pytest
from millrace_contracts import MonitoringPolicy
from millrace_monitoring.core.drift import WindowValues, check_window
from millrace_monitoring.core.reference import build_reference
from monitoring_support import (
    Feature,
    profile_of,
    signature_of,
    simulation_features,
    window_of,
)

POLICY = MonitoringPolicy()  # window 500, significance 0.01, psi_floor 0.1, ks_floor 0.1
NULL_WINDOWS = 200
NULL_BOUND = 7  # flagged windows of 200: see the module docstring


@pytest.fixture(scope="module")
def simulation() -> tuple[list[Feature], object]:
    features = simulation_features()
    rng = np.random.default_rng(2024)
    reference = build_reference(profile_of(features, 100_000, rng), signature_of(features))
    return features, reference


def test_null_simulation_false_alarm_rate_is_within_significance_plus_binomial_slack(
    simulation: tuple[list[Feature], object],
) -> None:
    features, reference = simulation
    rng = np.random.default_rng(7)
    flagged = significant = raw_rejections = 0
    for _ in range(NULL_WINDOWS):
        results = check_window(reference, window_of(features, 500, rng), POLICY)  # type: ignore[arg-type]
        assert len(results) == 25
        flagged += any(r.drifted for r in results)
        significant += any(r.p_adjusted <= POLICY.significance for r in results)
        raw_rejections += sum(r.p_value <= 0.01 for r in results)
    assert flagged <= NULL_BOUND
    # At 500 rows the effect floor alone removes most false alarms; BH must hold without it
    # too (uncorrected, about 1 - 0.99**25 = 22% of windows would have a p <= 0.01).
    assert significant <= NULL_BOUND
    # The per-feature tests themselves are calibrated (two-sample, rare categories pooled):
    # 5000 tests at 0.01 reject about 50; 70 is about three binomial standard deviations up.
    assert raw_rejections <= 70


def test_a_shift_in_three_columns_flags_those_and_extras_stay_at_the_null_rate(
    simulation: tuple[list[Feature], object],
) -> None:
    features, reference = simulation
    shifted = {
        "x00": Feature("x00", "numeric", lambda rng, n: rng.normal(0.5, 1.0, n)),
        "x02": Feature("x02", "numeric", lambda rng, n: 1.5 * rng.lognormal(0.0, 1.0, n)),
        "c1": Feature(
            "c1",
            "categorical",
            lambda rng, n: rng.choice(np.array(["red", "green", "blue"]), n, p=[0.4, 0.4, 0.2]),
        ),
    }
    live = [shifted.get(f.name, f) for f in features]
    rng = np.random.default_rng(8)
    windows_with_extras = 0
    for _ in range(50):
        results = check_window(reference, window_of(live, 500, rng), POLICY)  # type: ignore[arg-type]
        drifted = {r.feature for r in results if r.drifted}
        assert set(shifted) <= drifted
        windows_with_extras += bool(drifted - set(shifted))
    assert windows_with_extras <= 3  # Binomial(50, 0.01): P(X >= 4) is about 0.002


def test_a_third_of_a_standard_deviation_shift_is_flagged_by_ks_while_psi_stays_under_0_2() -> None:
    feature = [Feature("x", "numeric", lambda rng, n: rng.normal(0.0, 1.0, n))]
    rng = np.random.default_rng(11)
    reference = build_reference(profile_of(feature, 100_000, rng), signature_of(feature))
    assert reference.features[0].sample_sorted.size == 5000  # type: ignore[union-attr]

    def window() -> WindowValues:
        return WindowValues(numeric={"x": rng.normal(0.3, 1.0, 500)}, categorical={})

    [one] = check_window(reference, window(), POLICY)
    assert one.drifted
    assert one.ks_statistic is not None and one.ks_statistic >= POLICY.ks_floor
    assert one.psi < 0.2  # "PSI > 0.2" alone would have missed it
    many = [check_window(reference, window(), POLICY)[0] for _ in range(100)]
    assert sum(r.drifted for r in many) >= 90
    assert max(r.psi for r in many) < 0.2


def test_a_significant_but_trivial_difference_in_a_huge_window_is_not_drift() -> None:
    feature = [
        Feature("c", "categorical", lambda rng, n: rng.choice(np.array(["a", "b"]), n)),
    ]
    rng = np.random.default_rng(12)
    reference = build_reference(profile_of(feature, 100_000, rng), signature_of(feature))
    labels = rng.choice(np.array(["a", "b"]), 100_000, p=[0.52, 0.48])
    [result] = check_window(
        reference, WindowValues(numeric={}, categorical={"c": [str(v) for v in labels]}), POLICY
    )
    assert result.p_adjusted <= POLICY.significance
    assert result.psi < POLICY.psi_floor
    assert not result.drifted


def test_an_unseen_category_is_counted_and_flagged_when_it_is_large() -> None:
    feature = [Feature("c", "categorical", lambda rng, n: rng.choice(np.array(["a", "b"]), n))]
    rng = np.random.default_rng(13)
    reference = build_reference(profile_of(feature, 100_000, rng), signature_of(feature))
    labels: list[str | None] = ["a"] * 200 + ["b"] * 200 + ["new"] * 100
    [result] = check_window(reference, WindowValues(numeric={}, categorical={"c": labels}), POLICY)
    assert result.test == "chi2_contingency"
    assert result.drifted
    assert result.psi > 1.0  # the unseen level costs ~0.2 ln(0.2 / epsilon)


def test_features_without_data_in_the_window_are_not_checked_or_counted_in_bh() -> None:
    features = [
        Feature("x", "numeric", lambda rng, n: rng.normal(0.0, 1.0, n)),
        Feature("c", "categorical", lambda rng, n: rng.choice(np.array(["a", "b"]), n)),
    ]
    rng = np.random.default_rng(14)
    reference = build_reference(profile_of(features, 10_000, rng), signature_of(features))
    window = WindowValues(numeric={"x": np.full(50, np.nan)}, categorical={"c": ["a", None] * 25})
    [result] = check_window(reference, window, POLICY)
    assert result.feature == "c"
    assert result.p_adjusted == result.p_value  # one test: BH leaves it alone
