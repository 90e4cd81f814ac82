from __future__ import annotations

import pytest
from millrace_contracts import DecisionCode, Metrics, PromotionPolicy, Reason
from millrace_registry.core.policy import (
    MISSING_METRIC,
    STALE_COMPARISON,
    Champion,
    comparable_champion,
    decide,
)

ACCURACY = PromotionPolicy(primary_metric="accuracy", floor=0.8, min_improvement=0.01)
RMSE = PromotionPolicy(
    primary_metric="rmse", higher_is_better=False, floor=1.0, min_improvement=0.05
)


def metrics(holdout: str = "h1", **values: float) -> Metrics:
    return Metrics(values=values, holdout_id=holdout, holdout_rows=30)


def codes(verdict: object) -> list[str]:
    return [r.code for r in verdict.reasons]  # type: ignore[attr-defined]


def test_first_version_above_the_floor_is_promoted() -> None:
    verdict = decide(metrics(accuracy=0.9), ACCURACY, None)
    assert verdict.promote
    assert codes(verdict) == [DecisionCode.ABOVE_FLOOR, DecisionCode.FIRST_VERSION]
    assert verdict.reasons[0].details == {"metric": "accuracy", "value": 0.9, "floor": 0.8}


def test_first_version_below_the_floor_is_rejected() -> None:
    verdict = decide(metrics(accuracy=0.7), ACCURACY, None)
    assert not verdict.promote
    assert codes(verdict) == [DecisionCode.BELOW_FLOOR]


def test_exactly_at_the_floor_passes() -> None:
    assert decide(metrics(accuracy=0.8), ACCURACY, None).promote


def test_improvement_below_the_minimum_is_rejected() -> None:
    champion = Champion(2, metrics(accuracy=0.9))
    verdict = decide(metrics(accuracy=0.905), ACCURACY, champion)
    assert not verdict.promote
    assert codes(verdict) == [DecisionCode.ABOVE_FLOOR, DecisionCode.NOT_IMPROVED]
    assert verdict.compared_with == 2
    assert verdict.reasons[-1].details["gain"] == pytest.approx(0.005)


@pytest.mark.parametrize(("candidate", "champion"), [(0.82, 0.81), (0.94, 0.93), (0.81, 0.80)])
def test_a_gain_of_exactly_the_minimum_passes_despite_rounding(
    candidate: float, champion: float
) -> None:
    # 0.82 - 0.81 == 0.009999999999999898 in binary floating point.
    verdict = decide(metrics(accuracy=candidate), ACCURACY, Champion(1, metrics(accuracy=champion)))
    assert verdict.promote
    assert codes(verdict)[-1] == DecisionCode.IMPROVED


def test_a_worse_candidate_is_rejected() -> None:
    verdict = decide(metrics(accuracy=0.85), ACCURACY, Champion(1, metrics(accuracy=0.9)))
    assert not verdict.promote
    assert codes(verdict)[-1] == DecisionCode.NOT_IMPROVED


def test_lower_is_better_metrics_invert_floor_and_gain() -> None:
    champion = Champion(1, metrics(rmse=0.6))
    better = decide(metrics(rmse=0.5), RMSE, champion)
    assert better.promote
    assert codes(better) == [DecisionCode.ABOVE_FLOOR, DecisionCode.IMPROVED]
    assert better.reasons[-1].details["gain"] == pytest.approx(0.1)

    slightly_better = decide(metrics(rmse=0.58), RMSE, champion)
    assert not slightly_better.promote
    assert codes(slightly_better)[-1] == DecisionCode.NOT_IMPROVED

    above_floor = decide(metrics(rmse=1.2), RMSE, None)
    assert not above_floor.promote
    assert codes(above_floor) == [DecisionCode.BELOW_FLOOR]
    assert "above the floor" in above_floor.reasons[0].message


def test_without_comparable_metrics_it_is_decided_on_the_floor_alone() -> None:
    passes = decide(metrics(accuracy=0.85), ACCURACY, Champion(3, None))
    assert passes.promote
    assert codes(passes) == [DecisionCode.ABOVE_FLOOR, STALE_COMPARISON]
    assert passes.compared_with is None
    assert "floor alone" in passes.reasons[-1].message

    fails = decide(metrics(accuracy=0.7), ACCURACY, Champion(3, None))
    assert not fails.promote
    assert codes(fails) == [DecisionCode.BELOW_FLOOR]


def test_a_champion_without_the_primary_metric_is_a_stale_comparison() -> None:
    verdict = decide(metrics(accuracy=0.85), ACCURACY, Champion(3, metrics(f1=0.99)))
    assert codes(verdict)[-1] == STALE_COMPARISON


def test_a_candidate_without_the_primary_metric_is_rejected() -> None:
    verdict = decide(metrics(f1=0.99), ACCURACY, None)
    assert not verdict.promote
    assert codes(verdict) == [MISSING_METRIC]


def test_no_policy_promotes_everything_and_says_so() -> None:
    first = decide(metrics(accuracy=0.1), None, None)
    assert first.promote
    assert codes(first) == [DecisionCode.NO_POLICY, DecisionCode.FIRST_VERSION]
    later = decide(metrics(accuracy=0.1), None, Champion(1, metrics(accuracy=0.99)))
    assert later.promote
    assert codes(later) == [DecisionCode.NO_POLICY]


class TestComparableChampion:
    def test_none_without_production(self) -> None:
        assert comparable_champion(None, None, None, None, "h1") is None

    def test_trainings_re_evaluation_counts_for_the_current_production_version(self) -> None:
        reported = metrics(accuracy=0.91)
        champion = comparable_champion(2, metrics("h0", accuracy=0.95), 2, reported, "h1")
        assert champion == Champion(2, reported)

    def test_a_re_evaluation_of_an_older_version_is_stale(self) -> None:
        champion = comparable_champion(
            3, metrics("h0", accuracy=0.95), 2, metrics(accuracy=0.9), "h1"
        )
        assert champion == Champion(3, None)

    def test_a_re_evaluation_on_another_holdout_is_stale(self) -> None:
        champion = comparable_champion(2, None, 2, metrics("h0", accuracy=0.9), "h1")
        assert champion == Champion(2, None)

    def test_productions_own_metrics_count_on_the_same_holdout(self) -> None:
        own = metrics("h1", accuracy=0.93)
        assert comparable_champion(2, own, None, None, "h1") == Champion(2, own)


def test_a_gain_too_large_for_a_float_is_published_as_text_not_null() -> None:
    """Found by test_registry_properties.py: 1e308 against -1e308 gains inf, which JSON
    writes as null; the published reason said the gain was unknown."""
    huge = PromotionPolicy(primary_metric="accuracy")
    verdict = decide(metrics(accuracy=1e308), huge, Champion(1, metrics(accuracy=-1e308)))
    assert verdict.promote
    improved = verdict.reasons[-1]
    assert improved.details["gain"] == "inf"
    assert Reason.model_validate_json(improved.model_dump_json()) == improved
    worse = decide(metrics(accuracy=-1e308), huge, Champion(1, metrics(accuracy=1e308)))
    assert not worse.promote
    assert worse.reasons[-1].details["gain"] == "-inf"
