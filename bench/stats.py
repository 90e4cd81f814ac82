"""Medians, percentiles and ratios over interleaved rounds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def median(values: Sequence[float]) -> float:
    """Median of the values that are numbers (NaN marks a failed run); NaN if none."""
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return float(statistics.median(kept)) if kept else math.nan


@dataclass(frozen=True)
class Ratio:
    """Per-round ratios (Millrace / baseline, or the other way when lower is better)."""

    per_round: list[float]

    @property
    def median(self) -> float:
        return median(self.per_round)

    @property
    def low(self) -> float:
        return min(self.per_round) if self.per_round else math.nan

    @property
    def high(self) -> float:
        return max(self.per_round) if self.per_round else math.nan

    @property
    def iqr(self) -> tuple[float, float]:
        return percentile(self.per_round, 25), percentile(self.per_round, 75)

    def as_json(self) -> dict[str, Any]:
        q1, q3 = self.iqr
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "q1": q1,
            "q3": q3,
            "rounds": self.per_round,
        }

    def spread(self) -> str:
        if not self.per_round:
            return "-"
        q1, q3 = self.iqr
        return f"{fmt(self.low)}-{fmt(self.high)} (IQR {fmt(q1)}-{fmt(q3)})"


def ratios(millrace: Sequence[float], baseline: Sequence[float]) -> Ratio:
    """Round-by-round ratio millrace[i] / baseline[i] (the rounds were interleaved)."""
    return Ratio(
        [m / b for m, b in zip(millrace, baseline, strict=False) if b and not math.isnan(b)]
    )


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def at_least(value: Ratio | Sequence[float] | float, goal: float) -> bool | None:
    """Whether EVERY round reaches ``goal`` (its worst round, the lowest; a single value is
    one round); None when nothing was measured."""
    number = worst(value, higher_is_better=True)
    return None if math.isnan(number) else number >= goal


def at_most(value: Ratio | Sequence[float] | float, goal: float) -> bool | None:
    """Whether every round stays at or under ``goal`` (its worst round, the highest)."""
    number = worst(value, higher_is_better=False)
    return None if math.isnan(number) else number <= goal


def worst(value: Ratio | Sequence[float] | float, *, higher_is_better: bool) -> float:
    """The worst round: the lowest when higher is better, else the highest; NaN if none."""
    rounds = value.per_round if isinstance(value, Ratio) else value
    if isinstance(rounds, int | float):
        return float(rounds)
    kept = [float(v) for v in rounds if v is not None and not math.isnan(v)]
    if not kept:
        return math.nan
    return min(kept) if higher_is_better else max(kept)
