"""What one training run needs, and its deterministic id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from millrace_contracts import (
    DatasetValidated,
    Event,
    ModelVersionInfo,
    MonitoringPolicy,
    PromotionPolicy,
    TrainingSpec,
)
from millrace_contracts.model_events import TrainingTrigger


def canonical_spec(spec: TrainingSpec) -> str:
    return json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def run_id_for(dataset_version: str, spec: TrainingSpec) -> str:
    """One (dataset version, training spec), one run: a redelivery maps to the same run."""
    return hashlib.sha256((dataset_version + canonical_spec(spec)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrainingJob:
    version: DatasetValidated
    """The dataset version trained on: its data, profile and column kinds."""
    spec: TrainingSpec
    promotion: PromotionPolicy | None
    monitoring: MonitoringPolicy
    trigger: TrainingTrigger
    cause: Event
    """The event the ModelTrained is caused by."""
    champion: ModelVersionInfo | None = None
    """The production model of the same name, judged on the same holdout."""

    @property
    def model_name(self) -> str:
        return self.spec.model_name or self.version.dataset

    @property
    def run_id(self) -> str:
        return run_id_for(self.version.dataset_version, self.spec)

    @classmethod
    def from_validated(
        cls,
        version: DatasetValidated,
        *,
        policies: DatasetValidated,
        trigger: TrainingTrigger,
        cause: Event,
    ) -> TrainingJob | None:
        """A job training ``version`` with the spec and policies in force in ``policies``
        (the latest DatasetValidated of the dataset); None when no training is declared."""
        if policies.training is None:
            return None
        return cls(
            version=version,
            spec=policies.training,
            promotion=policies.promotion,
            monitoring=policies.monitoring,
            trigger=trigger,
            cause=cause,
        )
