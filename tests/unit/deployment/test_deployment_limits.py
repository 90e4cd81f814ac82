"""An artifact above MILLRACE_DEPLOYMENT_MAX_ARTIFACT_BYTES is refused before it is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deployment_unit_data import promotion, store_version
from millrace_contracts import DeploymentFailed, FeatureSignature, ModelDeployed, ModelVersionInfo
from millrace_deployment.core.catalog import ModelCatalog
from millrace_deployment.core.deployer import Deployer, DeployerConfig
from millrace_deployment.core.loading import fetch_model
from millrace_deployment.settings import DeploymentSettings
from millrace_shared.objectstore import InMemoryObjectStore, ObjectStore
from opentelemetry.sdk.trace import TracerProvider

Trained = tuple[Any, list[FeatureSignature]]


class CountingStore(InMemoryObjectStore):
    """Counts whole-object reads: a refused artifact must not be read at all."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def download(
        self, uri: str, dest: Path, sha256: str | None = None, max_bytes: int | None = None
    ) -> str:
        self.reads.append(uri)
        return super().download(uri, dest, sha256, max_bytes)

    def get_bytes(self, uri: str, sha256: str | None = None, max_bytes: int | None = None) -> bytes:
        self.reads.append(uri)
        return super().get_bytes(uri, sha256, max_bytes)


class Replica:
    def __init__(self, store: ObjectStore, max_artifact_bytes: int) -> None:
        self.catalog = ModelCatalog()
        self.deployer = Deployer(
            store,
            self.catalog,
            TracerProvider().get_tracer("t"),
            DeployerConfig(
                producer="deployment",
                replica_id="r1",
                endpoint_base="http://h:1",
                max_artifact_bytes=max_artifact_bytes,
            ),
            fetch=fetch_model,
        )

    def serving(self) -> int | None:
        served = self.catalog.get("churn")
        return served.version if served else None


def _store(trained: Trained) -> tuple[CountingStore, list[ModelVersionInfo]]:
    store = CountingStore()
    store.ensure_buckets(["millrace-models"])
    model, signature = trained
    return store, [store_version(store, model, signature, version=v) for v in (1, 2)]


async def test_an_artifact_above_the_limit_is_refused_unread_and_the_current_model_serves(
    trained: Trained,
) -> None:
    store, (v1, v2) = _store(trained)
    replica = Replica(store, max_artifact_bytes=v1.artifact.size_bytes)
    assert isinstance(await replica.deployer.on_promoted(promotion(v1)), ModelDeployed)
    # v2 is one byte larger than the limit as stored; its promotion says the truth.
    big = v2.artifact.uri
    store.put_bytes(big, b"\0" * (v1.artifact.size_bytes + 1))
    reads = len(store.reads)
    outcome = await replica.deployer.on_promoted(promotion(v2))
    assert isinstance(outcome, DeploymentFailed)
    assert (outcome.reason.code, outcome.serving_version) == ("artifact_too_large", 1)
    assert "MILLRACE_DEPLOYMENT_MAX_ARTIFACT_BYTES" in outcome.reason.message
    assert len(store.reads) == reads and replica.serving() == 1


async def test_a_promotion_declaring_a_size_above_the_limit_is_refused(trained: Trained) -> None:
    store, (v1, _) = _store(trained)
    replica = Replica(store, max_artifact_bytes=v1.artifact.size_bytes - 1)
    outcome = await replica.deployer.on_promoted(promotion(v1))
    assert isinstance(outcome, DeploymentFailed)
    assert outcome.reason.code == "artifact_too_large" and outcome.serving_version is None
    assert store.reads == [] and replica.serving() is None


async def test_an_artifact_within_the_limit_is_served(trained: Trained) -> None:
    store, (v1, _) = _store(trained)
    replica = Replica(store, max_artifact_bytes=v1.artifact.size_bytes)
    assert isinstance(await replica.deployer.on_promoted(promotion(v1)), ModelDeployed)
    assert store.reads == [v1.artifact.uri] and replica.serving() == 1


def test_the_limit_is_a_setting(monkeypatch: Any) -> None:
    monkeypatch.setenv("MILLRACE_DEPLOYMENT_MAX_ARTIFACT_BYTES", "1234")
    assert DeploymentSettings(environment="dev").max_artifact_bytes == 1234
    assert DeploymentSettings.model_fields["max_artifact_bytes"].default == 512 * 1024 * 1024
