"""Declarations a data team makes about a dataset: its schema, how to train, promote, monitor."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from .common import Name, Task
from .envelope import Contract

ColumnType = Literal["int", "float", "bool", "string", "category", "datetime"]
ESTIMATORS = (
    "logistic_regression",
    "linear_regression",
    "ridge",
    "random_forest",
    "hist_gradient_boosting",
)
"""The allow-list of estimators training will fit (classifier or regressor chosen by task)."""


class ColumnSpec(Contract):
    name: str = Field(description="Column name.", examples=["sepal_length"])
    dtype: ColumnType = Field(description="Logical type of the column.", examples=["float"])
    nullable: bool = Field(
        default=False, description="Whether nulls are allowed at all.", examples=[False]
    )
    max_null_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Highest share of nulls accepted when nullable.",
        examples=[0.05],
    )
    min: float | None = Field(
        default=None, description="Smallest accepted value (numeric).", examples=[0.0]
    )
    max: float | None = Field(
        default=None, description="Largest accepted value (numeric).", examples=[10.0]
    )
    allowed: list[str] | None = Field(
        default=None,
        description="Accepted categories (category/string/bool).",
        examples=[["setosa", "virginica"]],
    )


class DatasetSpec(Contract):
    """The data contract of a dataset: arrivals that break it are rejected."""

    columns: list[ColumnSpec] = Field(description="Expected columns, in any order.")
    target: str | None = Field(
        default=None, description="Target column, if supervised.", examples=["species"]
    )
    allow_extra_columns: bool = Field(
        default=False,
        description="Accept columns not declared (they are dropped).",
        examples=[False],
    )
    min_rows: int = Field(default=1, ge=1, description="Fewest rows accepted.", examples=[50])


class EstimatorSpec(Contract):
    name: str = Field(description=f"One of {', '.join(ESTIMATORS)}.", examples=["random_forest"])
    params: dict[str, Any] = Field(
        default_factory=dict, description="Estimator parameters.", examples=[{"n_estimators": 100}]
    )

    @model_validator(mode="after")
    def _allowed(self) -> EstimatorSpec:
        if self.name not in ESTIMATORS:
            raise ValueError(f"estimator {self.name!r} is not in the allow-list {list(ESTIMATORS)}")
        return self


class AutoMLSpec(Contract):
    candidates: list[str] = Field(
        default_factory=lambda: ["logistic_regression", "random_forest", "hist_gradient_boosting"],
        description="Estimators to search.",
        examples=[["random_forest", "hist_gradient_boosting"]],
    )
    time_budget_seconds: float = Field(
        default=60, gt=0, description="Wall-clock budget.", examples=[60]
    )
    cv_folds: int = Field(
        default=3, ge=2, le=10, description="Cross-validation folds.", examples=[3]
    )


class Preprocessing(Contract):
    impute: Literal["mean", "median", "most_frequent"] = Field(
        default="median", examples=["median"]
    )
    scale: bool = Field(default=True, description="Standardise numeric features.", examples=[True])
    one_hot: bool = Field(default=True, description="One-hot encode categoricals.", examples=[True])


class RetrainingPolicy(Contract):
    """When training runs again for a dataset whose model already exists."""

    on_new_data: bool = Field(
        default=True,
        description="Train as soon as a new dataset version is validated. When false, new "
        "versions wait for drift, degradation or a training request (added in 1.1).",
        examples=[False],
    )
    on_drift: bool = Field(
        default=True, description="Retrain when drift is detected.", examples=[True]
    )
    on_degradation: bool = Field(
        default=True, description="Retrain on live performance loss.", examples=[True]
    )
    cooldown_seconds: float = Field(
        default=300, ge=0, description="Least time between retrainings.", examples=[300]
    )
    min_new_rows: int = Field(
        default=1,
        ge=0,
        description="Rows a newer dataset version must add to be worth retraining.",
        examples=[100],
    )


class TrainingSpec(Contract):
    model_name: Name | None = Field(
        default=None, description="Model name; the dataset name if null."
    )
    task: Task = Field(description="classification or regression.", examples=["classification"])
    target: str = Field(description="Target column.", examples=["species"])
    features: list[str] | None = Field(
        default=None, description="Features; all but the target if null."
    )
    estimator: EstimatorSpec | None = Field(default=None, description="A single estimator to fit.")
    automl: AutoMLSpec | None = Field(default=None, description="Or a search over candidates.")
    preprocessing: Preprocessing = Field(
        default_factory=Preprocessing, description="How features are prepared for the estimator."
    )
    holdout_fraction: float = Field(default=0.2, gt=0, lt=1, examples=[0.2])
    seed: int = Field(default=42, examples=[42])
    retraining: RetrainingPolicy = Field(
        default_factory=RetrainingPolicy, description="When to retrain automatically."
    )

    @model_validator(mode="after")
    def _one_strategy(self) -> TrainingSpec:
        if (self.estimator is None) == (self.automl is None):
            raise ValueError("set exactly one of 'estimator' or 'automl'")
        return self


class PromotionPolicy(Contract):
    primary_metric: str = Field(description="Metric that decides.", examples=["accuracy"])
    higher_is_better: bool = Field(default=True, examples=[True])
    floor: float | None = Field(
        default=None, description="Absolute bar a candidate must pass.", examples=[0.8]
    )
    min_improvement: float = Field(
        default=0.0,
        ge=0,
        description="Least gain over production on the same holdout.",
        examples=[0.01],
    )


class MonitoringPolicy(Contract):
    window_size: int = Field(
        default=500, ge=20, description="Predictions per drift window.", examples=[500]
    )
    significance: float = Field(
        default=0.01,
        gt=0,
        lt=1,
        description="False-discovery rate across features per window.",
        examples=[0.01],
    )
    psi_floor: float = Field(
        default=0.1,
        ge=0,
        description="Effect-size floor: a significant feature must also reach this PSI.",
        examples=[0.1],
    )
    ks_floor: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Or this KS statistic (numeric features).",
        examples=[0.1],
    )
    performance_floor: float | None = Field(
        default=None, description="Live metric below which degradation is reported.", examples=[0.8]
    )
    min_labels: int = Field(
        default=50, ge=1, description="Labels needed before judging performance.", examples=[50]
    )


class DatasetDeclaration(Contract):
    """Everything declared about one dataset; the unit a data team writes as YAML."""

    dataset: Name
    spec: DatasetSpec | None = Field(
        default=None, description="Data contract; inferred from the first accepted arrival if null."
    )
    training: TrainingSpec | None = Field(
        default=None, description="How to train; no training if null."
    )
    promotion: PromotionPolicy | None = Field(
        default=None, description="Registry gate; promote-all if null."
    )
    monitoring: MonitoringPolicy = Field(
        default_factory=MonitoringPolicy,
        description="How the dataset's production models are watched for drift and decay.",
    )
