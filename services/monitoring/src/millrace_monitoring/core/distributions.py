"""A feature's reference and current distribution over the same bins, for the console's
charts: the profile's own bins for numeric features, categories for the others."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .drift import WindowValues
from .reference import CategoricalReference, NumericReference, Reference
from .stats import bin_counts_sorted
from .views import Distribution


def _shares(counts: Sequence[float]) -> list[float]:
    total = float(sum(counts))
    return [float(c) / total if total > 0 else 0.0 for c in counts]


def numeric_bins(edges: Sequence[float]) -> list[str]:
    """Labels of the bins ``bin_counts_sorted`` counts into: (-inf, e0], (e0, e1], ..."""
    if not len(edges):
        return ["all"]
    inner = [f"({lo:.3g}, {hi:.3g}]" for lo, hi in itertools.pairwise(edges)]
    return [f"≤ {edges[0]:.3g}", *inner, f"> {edges[-1]:.3g}"]


def distributions(reference: Reference, window: WindowValues) -> list[Distribution]:
    out: list[Distribution] = []
    for feature in reference.features:
        if isinstance(feature, NumericReference):
            values = window.numeric.get(feature.name)
            if values is None:
                continue
            ordered = np.sort(values)
            present = ordered[: int(np.searchsorted(ordered, np.nan))]  # NaN sorts last
            current = bin_counts_sorted(present, feature.edges)
            out.append(
                Distribution(
                    feature=feature.name,
                    kind="numeric",
                    bins=numeric_bins([float(e) for e in feature.edges]),
                    reference=_shares(feature.counts.tolist()),
                    current=_shares(current.tolist()),
                )
            )
        elif isinstance(feature, CategoricalReference):
            labels = window.categorical.get(feature.name)
            if labels is None:
                continue
            seen = Counter(v for v in labels if v is not None)
            categories = list(feature.counts) + sorted(c for c in seen if c not in feature.counts)
            out.append(
                Distribution(
                    feature=feature.name,
                    kind="categorical",
                    bins=categories,
                    reference=_shares([feature.counts.get(c, 0) for c in categories]),
                    current=_shares([seen.get(c, 0) for c in categories]),
                )
            )
    return out
