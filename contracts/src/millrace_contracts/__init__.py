"""Millrace event contracts.

Application teams can depend on this package alone: it needs nothing but pydantic.
"""

from .cloudevents import cloudevents_headers, envelope_from_headers
from .common import (
    ArtifactRef,
    DecisionCode,
    FeatureSignature,
    Metrics,
    Reason,
    RejectionCode,
)
from .data_events import DataArrived, DatasetDeclared, DatasetRejected, DatasetValidated
from .envelope import Contract, Envelope, Event, caused_by, derived_event_id, first_of_flow
from .model_events import (
    CandidateScore,
    DeploymentFailed,
    ModelDeployed,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
    ModelVersionInfo,
    TrainingRequested,
)
from .policies import (
    ESTIMATORS,
    AutoMLSpec,
    ColumnSpec,
    DatasetDeclaration,
    DatasetSpec,
    EstimatorSpec,
    MonitoringPolicy,
    Preprocessing,
    PromotionPolicy,
    RetrainingPolicy,
    TrainingSpec,
)
from .profile import CategoricalProfile, ColumnProfile, DatasetProfile, NumericProfile
from .serving_events import (
    DriftDetected,
    DriftWindow,
    FeatureDrift,
    LabelsObserved,
    ObservedLabel,
    PerformanceDegraded,
    PredictionRecord,
    PredictionsLogged,
)
from .topics import BY_TOPIC, DLQ_SUFFIX, EVENT_TYPES, TOPICS, TopicSpec, topic_for

__all__ = [
    "BY_TOPIC",
    "DLQ_SUFFIX",
    "ESTIMATORS",
    "EVENT_TYPES",
    "TOPICS",
    "ArtifactRef",
    "AutoMLSpec",
    "CandidateScore",
    "CategoricalProfile",
    "ColumnProfile",
    "ColumnSpec",
    "Contract",
    "DataArrived",
    "DatasetDeclaration",
    "DatasetDeclared",
    "DatasetProfile",
    "DatasetRejected",
    "DatasetSpec",
    "DatasetValidated",
    "DecisionCode",
    "DeploymentFailed",
    "DriftDetected",
    "DriftWindow",
    "Envelope",
    "EstimatorSpec",
    "Event",
    "FeatureDrift",
    "FeatureSignature",
    "LabelsObserved",
    "Metrics",
    "ModelDeployed",
    "ModelPromoted",
    "ModelRejected",
    "ModelTrained",
    "ModelVersionInfo",
    "MonitoringPolicy",
    "NumericProfile",
    "ObservedLabel",
    "PerformanceDegraded",
    "PredictionRecord",
    "PredictionsLogged",
    "Preprocessing",
    "PromotionPolicy",
    "Reason",
    "RejectionCode",
    "RetrainingPolicy",
    "TopicSpec",
    "TrainingRequested",
    "TrainingSpec",
    "caused_by",
    "cloudevents_headers",
    "derived_event_id",
    "envelope_from_headers",
    "first_of_flow",
    "topic_for",
]
