"""Only the registry's promotions are served: signature, models bucket, sequence (ADR 0007)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from deployment_unit_data import store_version
from millrace_contracts import (
    DeploymentFailed,
    FeatureSignature,
    ModelDeployed,
    ModelPromoted,
    ModelVersionInfo,
    first_of_flow,
)
from millrace_deployment.core.catalog import ModelCatalog
from millrace_deployment.core.deployer import Deployer, DeployerConfig
from millrace_deployment.core.loading import fetch_model
from millrace_deployment.core.trust import PromotionTrust
from millrace_deployment.settings import DeploymentSettings
from millrace_shared.objectstore import InMemoryObjectStore, ObjectStore
from millrace_shared.registry.models import SignedPromotion
from millrace_shared.signing import SigningKey
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr, ValidationError

Trained = tuple[Any, list[FeatureSignature]]
REGISTRY = SigningKey.generate()
OUTSIDER = SigningKey.generate()


class Replica:
    def __init__(self, store: InMemoryObjectStore) -> None:
        self.catalog = ModelCatalog()
        self.fetched: list[str] = []

        def fetch(s: ObjectStore, info: ModelVersionInfo, work: Path | None) -> Any:
            self.fetched.append(info.artifact.uri)
            return fetch_model(s, info, work)

        self.deployer = Deployer(
            store,
            self.catalog,
            TracerProvider().get_tracer("t"),
            DeployerConfig(producer="deployment", replica_id="r1", endpoint_base="http://h:1"),
            fetch=fetch,
            trust=PromotionTrust(key=REGISTRY.public, models_bucket="millrace-models"),
        )

    def serving(self) -> int | None:
        served = self.catalog.get("churn")
        return served.version if served else None


def promoted(info: ModelVersionInfo, sequence: int, key: SigningKey = REGISTRY) -> ModelPromoted:
    event = ModelPromoted(**first_of_flow(producer="registry"), model=info, sequence=sequence)
    facts = event.signed_facts()
    assert facts is not None
    return event.model_copy(update={"signature": key.sign(facts)})


@pytest.fixture
def versions(store: InMemoryObjectStore, trained: Trained) -> list[ModelVersionInfo]:
    model, signature = trained
    return [store_version(store, model, signature, version=v) for v in (1, 2, 3)]


def refused(outcome: object, code: str, serving: int | None) -> DeploymentFailed:
    assert isinstance(outcome, DeploymentFailed), outcome
    assert (outcome.reason.code, outcome.serving_version) == (code, serving)
    return outcome


async def test_a_signed_promotion_is_served(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    replica = Replica(store)
    assert isinstance(await replica.deployer.on_promoted(promoted(versions[0], 2)), ModelDeployed)
    assert replica.serving() == 1


async def test_forged_and_unsigned_promotions_keep_the_current_model(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    replica = Replica(store)
    real = promoted(versions[0], 2)
    await replica.deployer.on_promoted(real)
    forged = real.model_copy(update={"event_id": uuid.uuid4(), "model": versions[1]})
    refused(await replica.deployer.on_promoted(forged), "bad_signature", 1)
    outsider = promoted(versions[1], 9, key=OUTSIDER)
    refused(await replica.deployer.on_promoted(outsider), "unknown_signing_key", 1)
    unsigned = ModelPromoted(**first_of_flow(producer="registry"), model=versions[1])
    failed = refused(await replica.deployer.on_promoted(unsigned), "unsigned_promotion", 1)
    assert failed.version == 2 and failed.causation_id == unsigned.event_id
    assert replica.serving() == 1 and len(replica.fetched) == 1


async def test_an_artifact_outside_the_models_bucket_is_refused_unread(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    replica = Replica(store)
    foreign = versions[0].artifact.model_copy(update={"uri": "s3://attacker/churn/model.skops"})
    info = versions[0].model_copy(update={"artifact": foreign})
    # Signed by the registry's key and still refused: the bucket is checked on its own.
    refused(
        await replica.deployer.on_promoted(promoted(info, 2)), "foreign_artifact_location", None
    )
    assert replica.fetched == [] and replica.serving() is None


async def test_a_replayed_older_promotion_is_stale_a_rollback_is_not(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    replica = Replica(store)
    old, new = promoted(versions[0], 2), promoted(versions[1], 5)
    await replica.deployer.on_promoted(old)
    await replica.deployer.on_promoted(new)
    failed = refused(await replica.deployer.on_promoted(old), "stale_promotion", 2)
    assert failed.version == 1
    # Same sequence, other version: a replay too. Same sequence and version: a redelivery.
    refused(await replica.deployer.on_promoted(promoted(versions[2], 5)), "stale_promotion", 2)
    assert isinstance(await replica.deployer.on_promoted(new), ModelDeployed)
    # A rollback promotes the older version with a newer sequence.
    assert isinstance(await replica.deployer.on_promoted(promoted(versions[0], 6)), ModelDeployed)
    assert replica.serving() == 1


async def test_the_snapshot_is_verified_and_a_forgery_does_not_make_it_yield(
    store: InMemoryObjectStore, versions: list[ModelVersionInfo]
) -> None:
    replica = Replica(store)
    forged = promoted(versions[1], 9, key=OUTSIDER)
    refused(await replica.deployer.on_promoted(forged), "unknown_signing_key", None)
    unsigned = SignedPromotion(model=versions[2], sequence=3, event_id=uuid.uuid4())
    signed = SignedPromotion(model=versions[0], sequence=4, event_id=uuid.uuid4())
    signed = signed.model_copy(update={"signature": REGISTRY.sign(signed.signed_facts())})
    [deployed] = await replica.deployer.apply_snapshot([signed])
    assert isinstance(deployed, ModelDeployed) and replica.serving() == 1
    [failed] = await replica.deployer.apply_snapshot([unsigned])
    refused(failed, "unsigned_promotion", 1)
    # What the snapshot served sets the bar for events.
    refused(await replica.deployer.on_promoted(promoted(versions[1], 3)), "stale_promotion", 1)


def test_outside_dev_the_registry_public_key_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("MILLRACE_ENVIRONMENT", raising=False)
    prod: dict[str, Any] = {
        "environment": "prod",
        "s3_access_key": "key",
        "s3_secret_key": SecretStr("x"),
    }
    with pytest.raises(ValidationError, match="REGISTRY_PUBLIC_KEY must be set"):
        DeploymentSettings(**prod)
    monkeypatch.setenv("MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY", "garbage")
    with pytest.raises(ValidationError, match="REGISTRY_PUBLIC_KEY"):
        DeploymentSettings(**prod)
    monkeypatch.setenv("MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY", REGISTRY.public.to_base64())
    key = DeploymentSettings(**prod).verify_key()
    assert key is not None and key.key_id == REGISTRY.public.key_id
    monkeypatch.delenv("MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY")
    assert DeploymentSettings(environment="dev").verify_key() is None
