"""The promotion policy as a pure function: candidate, champion and policy in, a verdict out.

Rules, in order (with a policy):

1. The candidate must report the primary metric (else ``missing_metric``, rejected).
2. It must pass the floor, if one is set (``below_floor`` rejects, ``above_floor`` notes it).
3. With no production version it is promoted (``first_version``).
4. It is compared with production only on the same holdout (``improved`` / ``not_improved``
   against ``min_improvement``). When no production metrics on the candidate's holdout are
   known, the comparison is impossible: it is decided on the floor alone and says so
   (``stale_comparison``).

Without a policy every version is promoted (``no_policy``): that is what the contract promises
data teams ("promote-all if null"), and "not worse" cannot be judged without knowing which
metric matters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from millrace_contracts import DecisionCode, Metrics, PromotionPolicy, Reason

Detail = float | int | str | bool | None  # the value type of Reason.details

STALE_COMPARISON = "stale_comparison"
"""Not in ``DecisionCode`` (yet): production's metrics on the candidate's holdout are unknown."""
MISSING_METRIC = "missing_metric"
"""Not in ``DecisionCode`` (yet): the candidate lacks the policy's primary metric."""
NON_FINITE_METRIC = "non_finite_metric"
"""Not in ``DecisionCode`` (yet): a metric is NaN or infinite, so nothing can be judged by it."""

# Metrics are floats computed on the same rows; a gain of exactly min_improvement must pass
# even when subtraction leaves a rounding crumb.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Champion:
    version: int
    metrics: Metrics | None
    """Production's metrics on the candidate's holdout; None when none are known."""


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reasons: tuple[Reason, ...]
    primary_metric: str | None
    compared_with: int | None


def comparable_champion(
    production: int | None,
    production_metrics: Metrics | None,
    reported_version: int | None,
    reported_metrics: Metrics | None,
    holdout_id: str,
) -> Champion | None:
    """Production as a champion, with metrics only where they are on the candidate's holdout.

    Training's re-evaluation of the champion counts only if it was of today's production
    version; production's own registered metrics count if they happen to be on the same rows.
    """
    if production is None:
        return None
    for version, metrics in (
        (reported_version, reported_metrics),
        (production, production_metrics),
    ):
        if version == production and metrics is not None and metrics.holdout_id == holdout_id:
            return Champion(production, metrics)
    return Champion(production, None)


def decide(
    candidate: Metrics, policy: PromotionPolicy | None, champion: Champion | None
) -> Verdict:
    if policy is None:
        reasons = [
            _reason(DecisionCode.NO_POLICY, "no promotion policy: every version is promoted")
        ]
        if champion is None:
            reasons.append(_reason(DecisionCode.FIRST_VERSION, "no production version yet"))
        return Verdict(True, tuple(reasons), None, None)
    return _judge(candidate, policy, champion)


def non_finite(metrics: Metrics | None) -> dict[str, float]:
    """The metrics that are NaN or infinite (JSON has no such numbers: they would be null)."""
    if metrics is None:
        return {}
    return {k: v for k, v in metrics.values.items() if not math.isfinite(v)}


def finite_only(metrics: Metrics) -> Metrics:
    """``metrics`` without its NaN or infinite values, so the records and events stay valid."""
    bad = non_finite(metrics)
    if not bad:
        return metrics
    return metrics.model_copy(
        update={"values": {k: v for k, v in metrics.values.items() if k not in bad}}
    )


def refuse_non_finite(candidate: Metrics, policy: PromotionPolicy | None) -> Verdict | None:
    """A rejection when the candidate reports a NaN or infinite metric, whatever the policy.

    Never a promotion: NaN compares false with everything, so a floor or a comparison would
    let it through or stop it by accident, and a model whose evaluation produced one is broken.
    """
    bad = non_finite(candidate)
    if not bad:
        return None
    names = sorted(bad)
    refused = _reason(
        NON_FINITE_METRIC,
        f"the candidate reports non-finite metric(s) {', '.join(map(repr, names))}",
        metrics=",".join(names),
        values=",".join(str(bad[n]) for n in names),
    )
    return Verdict(False, (refused,), policy.primary_metric if policy else None, None)


def _judge(candidate: Metrics, policy: PromotionPolicy, champion: Champion | None) -> Verdict:
    name = policy.primary_metric
    value = candidate.values.get(name)
    if value is None:
        missing = _reason(MISSING_METRIC, f"the candidate reports no {name!r}", metric=name)
        return Verdict(False, (missing,), name, None)

    def verdict(promote: bool, *reasons: Reason, compared_with: int | None = None) -> Verdict:
        return Verdict(promote, reasons, name, compared_with)

    floor_reasons: tuple[Reason, ...] = ()
    if policy.floor is not None:
        facts: dict[str, Detail] = {"metric": name, "value": value, "floor": policy.floor}
        if _gain(value, policy.floor, policy.higher_is_better) < 0:
            worse = "below" if policy.higher_is_better else "above"
            msg = f"{name} {value:.6g} is {worse} the floor {policy.floor:.6g}"
            return verdict(False, _reason(DecisionCode.BELOW_FLOOR, msg, **facts))
        msg = f"{name} {value:.6g} passes the floor {policy.floor:.6g}"
        floor_reasons = (_reason(DecisionCode.ABOVE_FLOOR, msg, **facts),)

    if champion is None:
        first = _reason(DecisionCode.FIRST_VERSION, "no production version yet")
        return verdict(True, *floor_reasons, first)

    previous = champion.metrics.values.get(name) if champion.metrics is not None else None
    if champion.metrics is None or previous is None:
        msg = (
            f"no {name} of production v{champion.version} on holdout {candidate.holdout_id!r}; "
            "decided on the floor alone"
        )
        stale = _reason(STALE_COMPARISON, msg, metric=name, champion_version=champion.version)
        return verdict(True, *floor_reasons, stale)

    gain = _gain(value, previous, policy.higher_is_better)
    compared: dict[str, Detail] = {
        "metric": name,
        "value": value,
        "champion": previous,
        "champion_version": champion.version,
        "gain": gain,
        "min_improvement": policy.min_improvement,
    }
    if gain + TOLERANCE >= policy.min_improvement:
        msg = f"{name} {value:.6g} vs {previous:.6g} of v{champion.version}: gain {gain:.6g}"
        improved = _reason(DecisionCode.IMPROVED, msg, **compared)
        return verdict(True, *floor_reasons, improved, compared_with=champion.version)
    msg = (
        f"{name} {value:.6g} vs {previous:.6g} of v{champion.version}: gain {gain:.6g} is "
        f"less than the required {policy.min_improvement:.6g}"
    )
    not_improved = _reason(DecisionCode.NOT_IMPROVED, msg, **compared)
    return verdict(False, *floor_reasons, not_improved, compared_with=champion.version)


def _gain(value: float, reference: float, higher_is_better: bool) -> float:
    return value - reference if higher_is_better else reference - value


def _reason(code: str, message: str, **details: Detail) -> Reason:
    # Two finite metrics far apart can differ by more than a float holds (1e308 - -1e308):
    # the gain is then infinite, which JSON would publish as null; its text says what it was.
    written = {
        k: str(v) if isinstance(v, float) and not math.isfinite(v) else v
        for k, v in details.items()
    }
    return Reason(code=str(code), message=message, details=written)
