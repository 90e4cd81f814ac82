"""``millrace lineage`` of a real prediction resolves every link, after the deployment and
monitoring processes that served and archived it were restarted."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from millrace_cli.main import app
from millrace_contracts import (
    DatasetDeclaration,
    DatasetValidated,
    EstimatorSpec,
    ModelDeployed,
    ModelPromoted,
    ModelTrained,
    TrainingSpec,
)
from typer.testing import CliRunner

from .flows import Flow, arrive, classification_frame, eventually, upload_csv

pytestmark = pytest.mark.e2e
SUBMITTER = "e2e-data-team"


def lineage_cli(env: dict[str, str], prediction_id: str) -> tuple[int, dict[str, Any], str]:
    """``millrace lineage ID --json`` as a user runs it (in a thread: it runs its own loop)."""
    result = CliRunner().invoke(app, ["lineage", prediction_id, "--json"], env=env)
    body = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, body, result.stderr


async def test_the_lineage_of_a_served_prediction_resolves_every_link_after_restarts(
    flow: Flow, local_stack: Any
) -> None:
    platform = flow.platform
    await flow.declare(
        DatasetDeclaration(
            dataset=flow.dataset,
            training=TrainingSpec(
                task="classification",
                target="label",
                estimator=EstimatorSpec(name="logistic_regression", params={"max_iter": 300}),
            ),
        )
    )
    frame = classification_frame(300, seed=5)
    uri = upload_csv(flow.store, flow.settings, flow.dataset, "lineage.csv", frame)
    arrival = await arrive(flow.producer, flow.dataset, uri, submitted_by=SUBMITTER)
    validated = await flow.first(DatasetValidated, arrival)
    trained = await flow.first(ModelTrained, arrival)
    promoted = await flow.first(ModelPromoted, arrival)
    await flow.watcher.wait_for(
        ModelDeployed,
        lambda e: e.correlation_id == arrival.event_id and e.replica_id == "deployment",
        within=flow.within,
    )

    row = {k: (float(v) if k.startswith("x") else v) for k, v in frame.iloc[0].items()}
    del row["label"]
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{platform['deployment'].url}/models/{flow.dataset}/predict", json=row
        )
        response.raise_for_status()
        served = response.json()
        prediction_id = served["prediction_id"]

        async def archived() -> bool:
            url = f"{platform['monitoring'].url}/predictions/{prediction_id}"
            return (await client.get(url)).status_code == 200

        # Logged within the deployment's flush interval, archived at monitoring's next
        # checkpoint (every 5 s by default).
        await eventually(archived, within=60)

    # Both processes restarted: the answer comes from durable state, not their memory.
    platform["deployment"].stop()
    platform.start_deployment("deployment").wait_ready("/health/ready")
    platform["monitoring"].stop()
    platform.start("monitoring").wait_ready()

    env = {
        "MILLRACE_MONITORING_URL": platform["monitoring"].url,
        "MILLRACE_REGISTRY_URL": platform["registry"].url,
        "MILLRACE_TRAINING_URL": platform["training"].url,
        "MILLRACE_INGESTION_URL": platform["ingestion"].url,
        "MILLRACE_ZIPKIN_URL": local_stack.zipkin_url,
    }
    body: dict[str, Any] = {}
    stderr = ""

    async def resolved() -> bool:
        # The trace link waits for the services' spans to reach Zipkin (exported in batches).
        nonlocal body, stderr
        code, body, stderr = await asyncio.to_thread(lineage_cli, env, prediction_id)
        return code == 0

    try:
        await eventually(resolved, within=60)
    except TimeoutError:
        pytest.fail(f"lineage never resolved: {stderr} {body.get('unresolved')}")

    assert body["unresolved"] == []
    prediction = body["prediction"]
    assert prediction["replica_id"] == "deployment"
    assert prediction["output"] == served["prediction"]
    assert prediction["features"] == row
    assert (prediction["model_name"], prediction["model_version"]) == (flow.dataset, 1)

    version = body["model_version"]
    assert (version["version"], version["run_id"]) == (1, trained.run_id)
    assert version["artifact"]["sha256"] == promoted.model.artifact.sha256

    run = body["training_run"]
    assert run["estimator"] == "logistic_regression" and run["params"] == trained.params
    assert run["training_spec"]["estimator"]["name"] == "logistic_regression"
    assert run["holdout"]["id"] == trained.metrics.holdout_id
    assert run["code_version"]["package"] == "millrace-training"

    dataset = body["dataset"]
    assert dataset["version"] == validated.dataset_version  # the ingested content's sha256
    assert dataset["source_uri"] == uri and dataset["submitted_by"] == SUBMITTER
    assert dataset["validation"]["passed"] and dataset["rows"] == 300

    promotion = body["promotion"]
    assert (promotion["actor"], promotion["kind"], promotion["version"]) == (
        "registry-policy",
        "promoted",
        1,
    )
    assert promotion["event_id"] == str(promoted.event_id)

    trace = body["trace"]
    assert trace["correlation_id"] == str(arrival.event_id)
    assert trace["url"] == f"{local_stack.zipkin_url}/zipkin/traces/{trace['trace_ids'][0]}"
