"""The prediction API over ASGI: one row, a batch, and every refusal."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from deployment_component_data import ROW, Deployment, promoted
from millrace_contracts import PredictionsLogged
from openapi_spec_validator import validate as validate_openapi


@pytest.fixture
async def serving(deployment: Deployment) -> Deployment:
    await deployment.deliver(promoted(deployment.version(1)))
    return deployment


async def test_one_row(serving: Deployment) -> None:
    response = await serving.http.post("/models/churn/predict", json=ROW)
    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["version"]) == ("churn", 1)
    assert len(body["prediction_id"]) == 32 and body["prediction"] in ("yes", "no")
    assert set(body["probabilities"]) == {"no", "yes"}
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-9


async def test_a_batch(serving: Deployment) -> None:
    rows = [ROW, {**ROW, "x1": -3.0, "x2": -3.0}, {**ROW, "x1": 3.0, "x2": 3.0}]
    response = await serving.http.post("/models/churn/predict", json={"rows": rows})
    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["version"]) == ("churn", 1)
    assert [p["prediction"] for p in body["predictions"][1:]] == ["no", "yes"]
    assert len({p["prediction_id"] for p in body["predictions"]}) == 3


async def test_input_errors_name_row_and_field(serving: Deployment) -> None:
    rows: list[Any] = [ROW, {"colour": 1, "x2": None, "extra": True}]
    response = await serving.http.post("/models/churn/predict", json={"rows": rows})
    assert response.status_code == 422
    assert [(e["row"], e["field"], e["code"]) for e in response.json()["detail"]] == [
        (1, "x1", "missing_feature"),  # in signature order: numeric features first
        (1, "colour", "wrong_type"),
        (1, "extra", "unexpected_feature"),
    ]


async def test_a_body_that_is_not_json(serving: Deployment) -> None:
    response = await serving.http.post("/models/churn/predict", content=b"{nope")
    assert response.status_code == 422
    assert response.json()["detail"][0]["code"] == "invalid_json"


async def test_too_large(serving: Deployment) -> None:
    big = {**ROW, "padding": "x" * 5000}
    response = await serving.http.post("/models/churn/predict", json=big)
    assert response.status_code == 413
    response = await serving.http.post("/models/churn/predict", json={"rows": [ROW] * 6})
    assert response.status_code == 413 and "6 rows" in response.json()["detail"]


async def test_a_body_without_a_length_is_still_limited(serving: Deployment) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b" " * 1000

    response = await serving.http.post("/models/churn/predict", content=chunks())
    assert response.status_code == 413


async def test_an_unknown_model(serving: Deployment) -> None:
    response = await serving.http.post("/models/nope/predict", json=ROW)
    assert response.status_code == 404


async def test_predictions_are_logged_in_batches_and_counted(serving: Deployment) -> None:
    one = (await serving.http.post("/models/churn/predict", json=ROW)).json()
    batch = (await serving.http.post("/models/churn/predict", json={"rows": [ROW, ROW]})).json()
    stats = (await serving.http.get("/stats")).json()
    assert (stats["served"], stats["buffer_depth"], stats["logged"], stats["dropped"]) == (
        3,
        3,
        0,
        0,
    )
    assert stats["replica_id"] == "r1" and stats["models"] == 1
    assert stats["fast_path_fallbacks"] == 0

    assert await serving.replica.publisher.flush() == 3
    [logged] = serving.sink.of_type(PredictionsLogged)
    ids = [one["prediction_id"]] + [p["prediction_id"] for p in batch["predictions"]]
    assert [p.prediction_id for p in logged.predictions] == ids
    assert logged.predictions[0].features == ROW
    assert logged.predictions[0].output == one["prediction"]
    assert (logged.model_name, logged.model_version, logged.replica_id) == ("churn", 1, "r1")
    stats = (await serving.http.get("/stats")).json()
    assert (stats["logged"], stats["buffer_depth"]) == (3, 0)


async def test_the_predict_route_is_in_the_openapi_document(serving: Deployment) -> None:
    response = await serving.http.get("/openapi.json")
    operation = response.json()["paths"]["/models/{name}/predict"]["post"]
    assert set(operation["responses"]) == {"200", "404", "413", "422"}
    assert operation["parameters"][0]["name"] == "name"


async def test_a_batch_span_joins_the_callers_trace(serving: Deployment) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = await serving.http.post(
        "/models/churn/predict",
        json={"rows": [ROW]},
        headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    )
    assert response.status_code == 200
    [span] = [s for s in serving.spans() if s.name == "predict_batch"]
    assert span.context is not None and f"{span.context.trace_id:032x}" == trace_id


async def test_a_served_models_schema(serving: Deployment) -> None:
    response = await serving.http.get("/models/churn/schema")
    assert response.status_code == 200
    schema = response.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    row, _ = schema["anyOf"]
    features = [f.name for f in serving.trained[1]]
    assert row["required"] == features and set(row["properties"]) == set(features)
    valid = jsonschema.Draft202012Validator(schema)
    assert valid.is_valid(ROW) and valid.is_valid({"rows": [ROW, ROW]})
    assert not valid.is_valid({}) and not valid.is_valid({**ROW, "extra": 1})
    # What the schema takes, the service predicts; what it refuses, the service refuses.
    assert (await serving.http.post("/models/churn/predict", json=ROW)).status_code == 200
    assert (await serving.http.post("/models/nope/schema")).status_code == 405
    assert (await serving.http.get("/models/nope/schema")).status_code == 404


async def test_an_empty_row_is_refused_naming_every_missing_feature(serving: Deployment) -> None:
    response = await serving.http.post("/models/churn/predict", json={})
    assert response.status_code == 422
    missing = [(e["field"], e["code"]) for e in response.json()["detail"]]
    assert missing == [(f.name, "missing_feature") for f in serving.trained[1]]


async def test_the_openapi_document_has_each_served_models_request_schema(
    serving: Deployment,
) -> None:
    document = (await serving.http.get("/openapi.json")).json()
    validate_openapi(document)  # still valid OpenAPI with a model's operation in it
    paths = document["paths"]
    schema = paths["/models/churn/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert schema["schema"]["title"] == "churn v1 predict request"
    assert schema["schema"] == {
        k: v
        for k, v in (await serving.http.get("/models/churn/schema")).json().items()
        if k != "$schema"
    }
    assert "/models/{name}/schema" in paths and "/models/{name}/predict" in paths
    # A swap rebuilds the document with the new version.
    await serving.deliver(promoted(serving.version(2)))
    paths = (await serving.http.get("/openapi.json")).json()["paths"]
    body = paths["/models/churn/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["title"] == "churn v2 predict request"
