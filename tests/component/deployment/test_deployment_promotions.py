"""model.promoted -> load from the object store -> model.deployed, or deployment.failed."""

from __future__ import annotations

from deployment_component_data import ROW, Deployment, promoted
from millrace_contracts import DeploymentFailed, ModelDeployed


async def test_a_promotion_is_loaded_and_reported(deployment: Deployment) -> None:
    info = deployment.version(1)
    event = promoted(info)
    await deployment.deliver(event)

    [deployed] = deployment.sink.of_type(ModelDeployed)
    assert deployed.causation_id == event.event_id
    assert (deployed.model_name, deployed.version, deployed.replica_id) == ("churn", 1, "r1")
    assert deployed.endpoint == "http://deploy-r1:8104/models/churn/predict"
    assert deployed.artifact_sha256 == info.artifact.sha256 and deployed.load_seconds > 0

    [listed] = (await deployment.http.get("/models")).json()
    assert (listed["name"], listed["version"], listed["sha256"]) == (
        "churn",
        1,
        info.artifact.sha256,
    )
    assert listed["loaded_at"]


async def test_a_tampered_artifact_is_refused_and_the_old_version_keeps_serving(
    deployment: Deployment,
) -> None:
    await deployment.deliver(promoted(deployment.version(1)))
    tampered = deployment.version(2)
    deployment.store.corrupt(tampered.artifact.uri, b"PK\x03\x04 not the model")
    await deployment.deliver(promoted(tampered))

    [failed] = deployment.sink.of_type(DeploymentFailed)
    assert failed.reason.code == "checksum_mismatch"
    assert (failed.version, failed.serving_version, failed.replica_id) == (2, 1, "r1")
    response = await deployment.http.post("/models/churn/predict", json=ROW)
    assert response.status_code == 200 and response.json()["version"] == 1


async def test_a_staging_promotion_changes_nothing(deployment: Deployment) -> None:
    await deployment.deliver(promoted(deployment.version(1), alias="staging"))
    assert deployment.sink.events == []
    assert (await deployment.http.get("/models")).json() == []


async def test_a_rollback_serves_the_older_version(deployment: Deployment) -> None:
    one, two = deployment.version(1), deployment.version(2)
    for info in (one, two, one):
        await deployment.deliver(promoted(info))
    assert [e.version for e in deployment.sink.of_type(ModelDeployed)] == [1, 2, 1]
    response = await deployment.http.post("/models/churn/predict", json=ROW)
    assert response.json()["version"] == 1
