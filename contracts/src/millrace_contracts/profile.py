"""The reference profile of a dataset version: the artifact drift detection compares against.

Written once by ingestion when a version is accepted; training points its models at it and
monitoring reads it. Bins are fixed here, at data time, and never recomputed per window.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from .common import FeatureKind, Sha256
from .envelope import Contract


class NumericProfile(Contract):
    mean: float | None = Field(description="Mean of non-null values.", examples=[5.84])
    std: float | None = Field(description="Standard deviation of non-null values.", examples=[0.83])
    min: float | None = Field(description="Smallest value.", examples=[4.3])
    max: float | None = Field(description="Largest value.", examples=[7.9])
    bin_edges: list[float] = Field(
        description="Inner edges of quantile bins; bins are (-inf, e0], (e0, e1], ..., (ek, +inf).",
        examples=[[5.0, 5.6, 6.1, 6.5]],
    )
    bin_counts: list[int] = Field(
        description="Rows per bin; one more entry than bin_edges.", examples=[[32, 28, 30, 31, 29]]
    )
    sample: list[float] = Field(
        description="A seeded random sample of values, for two-sample tests (KS).",
        examples=[[5.1, 4.9, 6.3]],
    )


class CategoricalProfile(Contract):
    counts: dict[str, int] = Field(
        description="Rows per category (values as strings).",
        examples=[{"setosa": 50, "virginica": 50}],
    )


class ColumnProfile(Contract):
    name: str = Field(examples=["sepal_length"])
    kind: FeatureKind = Field(examples=["numeric"])
    dtype: str = Field(description="Logical type: int, float, bool, string.", examples=["float"])
    count: int = Field(ge=0, description="Non-null rows.", examples=[150])
    nulls: int = Field(ge=0, description="Null rows.", examples=[0])
    numeric: NumericProfile | None = Field(default=None, description="For numeric columns.")
    categorical: CategoricalProfile | None = Field(
        default=None, description="For categorical columns."
    )


class DatasetProfile(Contract):
    dataset: str = Field(examples=["iris"])
    dataset_version: Sha256
    rows: int = Field(ge=0, examples=[150])
    columns: list[ColumnProfile]
    created_at: AwareDatetime

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)
