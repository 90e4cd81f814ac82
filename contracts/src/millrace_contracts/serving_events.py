"""Events of serving and monitoring: prediction logs, labels, drift, degradation."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from .common import Name, ScalarValue
from .envelope import Contract, Event


class PredictionRecord(Contract):
    prediction_id: str = Field(examples=["4f0c1c7e2b5a4d8e9f00112233445566"])
    features: dict[str, ScalarValue] = Field(examples=[{"sepal_length": 5.1, "color": "red"}])
    output: ScalarValue = Field(examples=["setosa"])
    timestamp: AwareDatetime = Field(
        description="When the prediction was served.", examples=["2026-11-26T10:05:00Z"]
    )


class PredictionsLogged(Event):
    """A batch of served predictions, published off the request path."""

    event_type = "predictions.logged"

    model_name: Name
    model_version: int = Field(ge=1, description="Version that served them.", examples=[3])
    replica_id: str = Field(description="Replica that served them.", examples=["deployment-7f3a"])
    predictions: list[PredictionRecord] = Field(
        min_length=1, description="The served predictions in this batch."
    )
    dropped_before: int = Field(
        default=0, ge=0, description="Logs this replica dropped (buffer full) since its start."
    )

    @property
    def partition_key(self) -> str:
        return self.model_name


class ObservedLabel(Contract):
    prediction_id: str = Field(
        description="prediction_id of the prediction this is the truth for.",
        examples=["4f0c1c7e2b5a4d8e9f00112233445566"],
    )
    label: ScalarValue = Field(examples=["setosa"])
    observed_at: AwareDatetime = Field(
        description="When the true outcome became known.", examples=["2026-11-27T08:00:00Z"]
    )


class LabelsObserved(Event):
    """Ground truth for earlier predictions, arriving later."""

    event_type = "labels.observed"

    model_name: Name
    labels: list[ObservedLabel] = Field(
        min_length=1, description="True outcomes, each for one earlier prediction."
    )

    @property
    def partition_key(self) -> str:
        return self.model_name


class DriftWindow(Contract):
    first_at: AwareDatetime = Field(
        description="Timestamp of the window's first prediction.", examples=["2026-11-26T10:00:00Z"]
    )
    last_at: AwareDatetime = Field(
        description="Timestamp of the window's last prediction.", examples=["2026-11-26T11:00:00Z"]
    )
    size: int = Field(ge=1, examples=[500])


class FeatureDrift(Contract):
    feature: str = Field(examples=["sepal_length"])
    kind: str = Field(examples=["numeric"])
    psi: float = Field(ge=0, examples=[0.31])
    ks_statistic: float | None = Field(default=None, examples=[0.22])
    test: str = Field(description="Two-sample test used.", examples=["chi2_contingency"])
    p_value: float = Field(ge=0, le=1, examples=[1e-6])
    p_adjusted: float = Field(ge=0, le=1, description="After multiple-testing control (BH).")
    drifted: bool = Field(
        description="Judged drifted: significant after correction and above the effect-size floor.",
        examples=[True],
    )


class DriftDetected(Event):
    """A window of live inputs differs from the training reference."""

    event_type = "drift.detected"

    model_name: Name
    model_version: int = Field(ge=1, description="Version whose inputs were checked.", examples=[3])
    dataset: Name
    window: DriftWindow = Field(description="The live inputs compared with the reference.")
    features: list[FeatureDrift] = Field(description="The result for every feature checked.")
    drifted_features: list[str] = Field(
        min_length=1, description="Names of the drifted features.", examples=[["sepal_length"]]
    )
    significance: float = Field(gt=0, lt=1, examples=[0.01])

    @property
    def partition_key(self) -> str:
        return self.model_name


class PerformanceDegraded(Event):
    """Live performance, from labels joined to predictions, fell below the policy's floor."""

    event_type = "performance.degraded"

    model_name: Name
    model_version: int = Field(ge=1, description="Version whose performance fell.", examples=[3])
    dataset: Name
    metric: str = Field(examples=["accuracy"])
    value: float = Field(examples=[0.71])
    floor: float = Field(examples=[0.8])
    labelled: int = Field(ge=1, examples=[200])

    @property
    def partition_key(self) -> str:
        return self.model_name
