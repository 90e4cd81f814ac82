"""Events of the model side: training, registry decisions, deployment."""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal, Self

from pydantic import Field

from .common import ArtifactRef, FeatureSignature, Metrics, Name, Reason, Sha256, Task
from .envelope import Contract, Event
from .policies import MonitoringPolicy, PromotionPolicy

TrainingTrigger = Literal["data", "manual", "drift", "degradation"]


class TrainingRequested(Event):
    """Ask training to (re)train a dataset's model, e.g. from the CLI or the retraining policy."""

    event_type = "training.requested"

    dataset: Name
    dataset_version: Sha256 | None = Field(
        default=None, description="Version to train on; newest if null."
    )
    trigger: TrainingTrigger = Field(default="manual", examples=["manual"])
    requested_by: str = Field(default="cli", examples=["monitoring"])
    note: str | None = Field(
        default=None, description="Why, in words.", examples=["feature drift on x3"]
    )

    @property
    def partition_key(self) -> str:
        return self.dataset


class CandidateScore(Contract):
    estimator: str = Field(examples=["random_forest"])
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters the candidate was fitted with.",
        examples=[{"max_iter": 200}],
    )
    cv_score: float = Field(description="Mean cross-validated primary metric.", examples=[0.95])


class ModelTrained(Event):
    """A model was fitted and evaluated; the registry decides what happens to it."""

    event_type = "model.trained"

    model_name: Name
    run_id: str = Field(
        description="Deterministic id of (dataset version, training spec): one run, one model.",
        examples=["a1b2c3d4e5f60718"],
    )
    dataset: Name
    dataset_version: Sha256
    task: Task = Field(description="classification or regression.", examples=["classification"])
    estimator: str = Field(examples=["random_forest"])
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters of the fitted estimator.",
        examples=[{"n_estimators": 100}],
    )
    artifact: ArtifactRef = Field(description="The serialized model (skops).")
    model_card: ArtifactRef = Field(description="JSON model card.")
    reference_profile: ArtifactRef = Field(description="Training-data profile used for drift.")
    signature: list[FeatureSignature] = Field(description="Input features the model accepts.")
    target: str = Field(description="Target column.", examples=["species"])
    metrics: Metrics = Field(description="Candidate's metrics on the holdout.")
    champion_version: int | None = Field(
        default=None, description="Production version at training time."
    )
    champion_metrics: Metrics | None = Field(
        default=None, description="Production model's metrics on the same holdout."
    )
    leaderboard: list[CandidateScore] = Field(
        default_factory=list, description="AutoML candidates."
    )
    trigger: TrainingTrigger = Field(
        default="data", description="What started this training run.", examples=["data"]
    )
    training_seconds: float = Field(ge=0, examples=[1.7])
    promotion: PromotionPolicy | None = Field(
        default=None, description="Policy the registry applies."
    )
    monitoring: MonitoringPolicy = Field(
        default_factory=MonitoringPolicy, description="Policy the model will be monitored with."
    )

    @property
    def partition_key(self) -> str:
        return self.model_name


class ModelVersionInfo(Contract):
    """What a consumer needs to load and judge a registered model version."""

    model_name: Name
    version: int = Field(ge=1, examples=[3])
    run_id: str = Field(
        description="Training run that produced this version.", examples=["a1b2c3d4e5f60718"]
    )
    dataset: Name
    dataset_version: Sha256
    task: Task = Field(description="classification or regression.", examples=["classification"])
    artifact: ArtifactRef = Field(description="The serialized model (skops).")
    model_card: ArtifactRef = Field(description="JSON model card.")
    reference_profile: ArtifactRef = Field(description="Training-data profile used for drift.")
    signature: list[FeatureSignature] = Field(description="Input features the model accepts.")
    metrics: Metrics = Field(description="Metrics on the holdout it was judged on.")
    monitoring: MonitoringPolicy = Field(
        default_factory=MonitoringPolicy, description="Policy the model is monitored with."
    )

    @classmethod
    def from_trained(cls, trained: ModelTrained, version: int) -> Self:
        """What the registry records of ``trained`` when it registers it as ``version``."""
        return cls(
            model_name=trained.model_name,
            version=version,
            run_id=trained.run_id,
            dataset=trained.dataset,
            dataset_version=trained.dataset_version,
            task=trained.task,
            artifact=trained.artifact,
            model_card=trained.model_card,
            reference_profile=trained.reference_profile,
            signature=trained.signature,
            metrics=trained.metrics,
            monitoring=trained.monitoring,
        )


PROMOTION_SIGNING_DOMAIN = b"millrace.model.promoted.v1\n"
"""Prefix of the signed bytes: a signature over a promotion is never valid for anything else."""


def promotion_facts(
    model: ModelVersionInfo, *, alias: str, sequence: int, event_id: uuid.UUID
) -> bytes:
    """The canonical bytes the registry signs for a promotion (and a verifier rebuilds).

    Only what decides what gets served: the model, the version, where its artifact is and its
    digest, the alias, the promotion's sequence and the event's id. Compact JSON with sorted
    keys and ASCII escapes, so any language can rebuild the same bytes.
    """
    facts = {
        "alias": alias,
        "artifact_sha256": model.artifact.sha256,
        "artifact_uri": model.artifact.uri,
        "event_id": str(event_id),
        "model": model.model_name,
        "sequence": sequence,
        "version": model.version,
    }
    canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return PROMOTION_SIGNING_DOMAIN + canonical.encode("ascii")


class PromotionSignature(Contract):
    """The registry's signature over a promotion's facts (see ``promotion_facts``)."""

    algorithm: Literal["ed25519"] = Field(default="ed25519", examples=["ed25519"])
    key_id: str = Field(
        min_length=1,
        max_length=64,
        description="Which registry key signed: hex SHA-256 prefix of its raw public key.",
        examples=["3f9a1c2b7d4e5f60"],
    )
    value: str = Field(
        min_length=1,
        max_length=200,
        description="Base64 (standard alphabet) of the 64-byte Ed25519 signature.",
        examples=["c2lnbmF0dXJl"],
    )


class ModelPromoted(Event):
    """A version became the production model of its name."""

    event_type = "model.promoted"
    minor_version = 1

    model: ModelVersionInfo = Field(description="The version the alias now points to.")
    alias: str = Field(default="production", examples=["production"])
    previous_version: int | None = Field(default=None, examples=[2])
    kind: Literal["policy", "manual", "rollback"] = Field(
        default="policy",
        description="Promoted by the policy, by an operator, or as a rollback.",
        examples=["policy"],
    )
    actor: str = Field(default="registry-policy", examples=["registry-policy"])
    reasons: list[Reason] = Field(
        default_factory=list, description="Why it was promoted; codes from DecisionCode."
    )
    sequence: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Per-model promotion sequence, increasing with every alias move (a rollback too); "
            "a promotion with a lower one than a consumer has applied is a stale replay. "
            "Null from registries before 1.1."
        ),
        examples=[7],
    )
    signature: PromotionSignature | None = Field(
        default=None,
        description="The registry's Ed25519 signature over promotion_facts; null if unsigned.",
    )

    @property
    def partition_key(self) -> str:
        return self.model.model_name

    def signed_facts(self) -> bytes | None:
        """The bytes ``signature`` must verify against; None without a sequence."""
        if self.sequence is None:
            return None
        return promotion_facts(
            self.model, alias=self.alias, sequence=self.sequence, event_id=self.event_id
        )


class ModelRejected(Event):
    """A registered version did not pass the promotion policy; production is unchanged."""

    event_type = "model.rejected"

    model_name: Name
    version: int = Field(ge=1, description="The rejected version.", examples=[4])
    production_version: int | None = Field(
        default=None, description="Version in production, unchanged; null if none.", examples=[3]
    )
    metrics: Metrics = Field(description="The rejected version's metrics on the holdout.")
    reasons: list[Reason] = Field(
        min_length=1, description="Why it was rejected; codes from DecisionCode."
    )

    @property
    def partition_key(self) -> str:
        return self.model_name


class ModelDeployed(Event):
    """A deployment replica is serving a version."""

    event_type = "model.deployed"

    model_name: Name
    version: int = Field(ge=1, description="Version now served.", examples=[3])
    replica_id: str = Field(examples=["deployment-7f3a"])
    endpoint: str = Field(examples=["http://127.0.0.1:8080"])
    artifact_sha256: Sha256
    load_seconds: float = Field(ge=0, examples=[0.12])

    @property
    def partition_key(self) -> str:
        return self.model_name


class DeploymentFailed(Event):
    """A replica refused or failed to load a version; it keeps serving what it had."""

    event_type = "deployment.failed"

    model_name: Name
    version: int = Field(ge=1, description="Version that failed to load.", examples=[4])
    replica_id: str = Field(description="Replica that failed.", examples=["deployment-7f3a"])
    reason: Reason = Field(description="What went wrong.")
    serving_version: int | None = Field(default=None, description="Version still served.")

    @property
    def partition_key(self) -> str:
        return self.model_name
