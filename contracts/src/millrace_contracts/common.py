"""Value objects shared by several events."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .envelope import Contract

Name = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$"),
    Field(description="Lower-case name: letters, digits, '.', '_' or '-'.", examples=["iris"]),
]
Sha256 = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{64}$"),
    Field(
        description="Hex SHA-256 digest.",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    ),
]
S3Uri = Annotated[
    str,
    StringConstraints(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,62}/.+$"),
    Field(
        description="s3://bucket/key of an object.",
        examples=["s3://millrace-landing/iris/2026-11-26.csv"],
    ),
]
ScalarValue = float | int | str | bool | None
Task = Literal["classification", "regression"]
FeatureKind = Literal["numeric", "categorical"]


class ArtifactRef(Contract):
    """A reference to bytes in object storage; events never carry the bytes themselves."""

    uri: S3Uri = Field(description="Where the object is.")
    sha256: Sha256 = Field(description="Digest of the object's bytes; readers verify it.")
    size_bytes: int = Field(ge=0, description="Size of the object.", examples=[48213])


class Reason(Contract):
    """A machine-readable code plus a human message.

    ``code`` is a plain string rather than an enum so that adding a code in a minor version does
    not break consumers built against an older one. Known codes are in ``RejectionCode`` and
    ``DecisionCode``.
    """

    code: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", description="Stable code.", examples=["missing_column"]
    )
    message: str = Field(
        description="Human-readable explanation.", examples=["column 'petal_width' is missing"]
    )
    column: str | None = Field(
        default=None, description="The column concerned, if any.", examples=["petal_width"]
    )
    details: dict[str, ScalarValue] = Field(
        default_factory=dict,
        description="Extra machine-readable facts (observed value, limit, ...).",
        examples=[{"observed": 0.31, "limit": 0.05}],
    )


class RejectionCode(StrEnum):
    UNREADABLE = "unreadable"
    UNSUPPORTED_FORMAT = "unsupported_format"
    EMPTY = "empty"
    TOO_FEW_ROWS = "too_few_rows"
    TOO_LARGE = "too_large"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    NOT_FOUND = "not_found"
    MISSING_COLUMN = "missing_column"
    UNEXPECTED_COLUMN = "unexpected_column"
    WRONG_TYPE = "wrong_type"
    NULL_RATE_EXCEEDED = "null_rate_exceeded"
    OUT_OF_RANGE = "out_of_range"
    UNSEEN_CATEGORY = "unseen_category"
    MISSING_TARGET = "missing_target"
    # Since dataset.rejected 1.1: the input limits and the landing prefix.
    OUTSIDE_LANDING = "outside_landing"
    TOO_LARGE_DECODED = "too_large_decoded"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_MANY_COLUMNS = "too_many_columns"
    COLUMN_NAME_TOO_LONG = "column_name_too_long"
    CELL_TOO_LONG = "cell_too_long"


class DecisionCode(StrEnum):
    FIRST_VERSION = "first_version"
    ABOVE_FLOOR = "above_floor"
    BELOW_FLOOR = "below_floor"
    IMPROVED = "improved"
    NOT_IMPROVED = "not_improved"
    MANUAL_PROMOTION = "manual_promotion"
    ROLLBACK = "rollback"
    NO_POLICY = "no_policy"
    STALE_COMPARISON = "stale_comparison"
    MISSING_METRIC = "missing_metric"


class FeatureSignature(Contract):
    """One input feature of a model: what the serving endpoint accepts."""

    name: str = Field(description="Column name.", examples=["sepal_length"])
    kind: FeatureKind = Field(description="numeric or categorical.", examples=["numeric"])
    dtype: str = Field(description="Logical type: int, float, bool, string.", examples=["float"])
    nullable: bool = Field(default=False, description="Whether null is accepted.", examples=[False])
    categories: list[str] | None = Field(
        default=None,
        description="Known categories, for categorical features.",
        examples=[["a", "b"]],
    )


class Metrics(Contract):
    """Evaluation metrics of a model on a named holdout."""

    values: dict[str, float] = Field(
        description="Metric name to value.", examples=[{"accuracy": 0.96, "f1_macro": 0.959}]
    )
    holdout_id: str = Field(
        description="Identity of the holdout rows (dataset version + split seed), so that metrics "
        "of two models are only compared on the same rows.",
        examples=["9f86d081884c:seed=42:frac=0.2"],
    )
    holdout_rows: int = Field(ge=0, description="Rows in the holdout.", examples=[30])
