"""A model version's training reference, prepared once as arrays the drift checks can use."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from millrace_contracts import DatasetProfile, FeatureSignature

from .stats import FloatArray, IntArray


@dataclass(frozen=True)
class NumericReference:
    name: str
    dtype: str
    edges: FloatArray
    """The profile's inner bin edges, fixed at data time; windows are never re-binned."""
    counts: IntArray
    sample_sorted: FloatArray
    """The profile's seeded sample, sorted once: the other side of every KS test."""


@dataclass(frozen=True)
class CategoricalReference:
    name: str
    counts: dict[str, int]


FeatureReference = NumericReference | CategoricalReference


@dataclass(frozen=True)
class Reference:
    features: list[FeatureReference]
    skipped: dict[str, str] = field(default_factory=dict)
    """Signature features that cannot be checked, with why (no profile column, no sample...)."""

    @property
    def numeric_names(self) -> list[str]:
        return [f.name for f in self.features if isinstance(f, NumericReference)]

    @property
    def categorical_names(self) -> list[str]:
        return [f.name for f in self.features if isinstance(f, CategoricalReference)]


def build_reference(profile: DatasetProfile, signature: list[FeatureSignature]) -> Reference:
    """The checkable features of ``signature``; the kind comes from the signature."""
    features: list[FeatureReference] = []
    skipped: dict[str, str] = {}
    for feature in signature:
        try:
            column = profile.column(feature.name)
        except KeyError:
            skipped[feature.name] = "not in the reference profile"
            continue
        if feature.kind == "numeric":
            numeric = column.numeric
            if numeric is None or not numeric.sample or sum(numeric.bin_counts) == 0:
                skipped[feature.name] = "no numeric reference (sample or bins empty)"
                continue
            features.append(
                NumericReference(
                    name=feature.name,
                    dtype=feature.dtype,
                    edges=np.asarray(numeric.bin_edges, dtype=np.float64),
                    counts=np.asarray(numeric.bin_counts, dtype=np.int64),
                    sample_sorted=np.sort(np.asarray(numeric.sample, dtype=np.float64)),
                )
            )
        else:
            categorical = column.categorical
            if categorical is None or sum(categorical.counts.values()) == 0:
                skipped[feature.name] = "no categorical reference (no counts)"
                continue
            features.append(CategoricalReference(name=feature.name, counts=categorical.counts))
    return Reference(features=features, skipped=skipped)
