"""A replica that holds the registry's public key, through the broker: only signed promotions
are served, refusals are published as deployment.failed, the snapshot is verified too."""

from __future__ import annotations

import uuid

from deployment_component_data import ROW, Deployment, promoted
from millrace_contracts import DeploymentFailed, ModelDeployed, ModelPromoted, ModelVersionInfo
from millrace_shared.signing import SigningKey


def signed(deployment: Deployment, info: ModelVersionInfo, sequence: int) -> ModelPromoted:
    assert deployment.registry.key is not None
    event = promoted(info).model_copy(update={"sequence": sequence})
    facts = event.signed_facts()
    assert facts is not None
    return event.model_copy(update={"signature": deployment.registry.key.sign(facts)})


async def served(deployment: Deployment) -> int:
    version: int = (await deployment.http.post("/models/churn/predict", json=ROW)).json()["version"]
    return version


async def test_forged_unsigned_and_stale_promotions_are_refused_through_the_broker(
    signed_deployment: Deployment,
) -> None:
    d = signed_deployment
    one, two = d.version(1), d.version(2)
    first = signed(d, one, 3)
    await d.deliver(first)
    forged = first.model_copy(update={"event_id": uuid.uuid4(), "model": two})
    await d.deliver(forged)
    await d.deliver(promoted(two))  # unsigned
    await d.deliver(signed(d, two, 4))
    await d.deliver(first)  # replayed after a newer one

    assert [e.version for e in d.sink.of_type(ModelDeployed)] == [1, 2]
    failures = [
        (e.version, e.reason.code, e.serving_version) for e in d.sink.of_type(DeploymentFailed)
    ]
    assert failures == [
        (2, "bad_signature", 1),
        (2, "unsigned_promotion", 1),
        (1, "stale_promotion", 2),
    ]
    assert await served(d) == 2


async def test_the_start_up_snapshot_is_signed_by_the_registry_and_verified(
    signed_deployment: Deployment,
) -> None:
    d = signed_deployment
    d.registry.production["churn"] = d.version(3)
    await d.replica.start()
    assert d.replica.snapshot is not None
    await d.replica.snapshot
    [deployed] = d.sink.of_type(ModelDeployed)
    assert deployed.version == 3 and await served(d) == 3


async def test_a_snapshot_signed_by_another_key_is_not_served(
    signed_deployment: Deployment,
) -> None:
    d = signed_deployment
    d.registry.production["churn"] = d.version(3)
    d.registry.key = SigningKey.generate()  # an impostor answering in the registry's place
    await d.replica.start()
    assert d.replica.snapshot is not None
    await d.replica.snapshot
    [failed] = d.sink.of_type(DeploymentFailed)
    assert (failed.version, failed.reason.code, failed.serving_version) == (
        3,
        "unknown_signing_key",
        None,
    )
    assert d.sink.of_type(ModelDeployed) == []
