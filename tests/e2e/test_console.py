"""The console as a real process over the real services: a model's versions and audit, a
dataset's versions, the replica serving it, a drift chart that names a feature (the traffic is
shifted on x1, so monitoring flags it; also checked in a real browser), a login with a real
registry token."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from millrace_browser import AsyncScreenshot
from millrace_cli.demo import SHIFT, Traffic, sensors_declaration, sensors_frame
from millrace_contracts import DatasetRejected, ModelDeployed, ModelPromoted
from millrace_infra.launcher import Process, launch_service
from playwright.async_api import Page, expect

from .conftest import Platform
from .flows import Flow, eventually

pytestmark = pytest.mark.e2e
SUBMITTER = "e2e-sensor-team"


@pytest.fixture(scope="module")
def console(platform: Platform, local_stack: Any, service_logs: Path) -> Iterator[Process]:
    # The stack's own variables (Zipkin's URL, dev), Kafka as millrace-console (dead letters)
    # and no S3 credential: the console uses none.
    env = {k: v for k, v in local_stack.env().items() if not k.startswith("MILLRACE_S3_")}
    env |= local_stack.kafka_env("console")
    env |= {
        f"MILLRACE_CONSOLE_{name.upper()}_URL": platform[name].url
        for name in ("registry", "ingestion", "training", "monitoring")
    }
    env["MILLRACE_CONSOLE_DEPLOYMENT_URLS"] = json.dumps([platform["deployment"].url])
    process = launch_service("console", env, service_logs)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


async def history_has_drift_on(monitoring: str, model: str, feature: str) -> bool:
    """A checked window in the model's history flagged ``feature`` as drifted."""
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.get(f"{monitoring}/models/{model}/history")
    return answer.status_code == 200 and any(
        point["drifted"] and feature in point["drifted_features"]
        for version in answer.json()["versions"]
        for point in version["drift"]
    )


async def served_and_archived(flow: Flow, row: dict[str, float]) -> str:
    """A prediction served by the deployment, once monitoring's archive finds it by id."""
    async with httpx.AsyncClient(timeout=10) as client:
        url = f"{flow.platform['deployment'].url}/models/{flow.dataset}/predict"
        response = await client.post(url, json=row)
        response.raise_for_status()
        prediction_id = str(response.json()["prediction_id"])
        archived = f"{flow.platform['monitoring'].url}/predictions/{prediction_id}"

        async def found() -> bool:
            return (await client.get(archived)).status_code == 200

        await eventually(found, within=flow.within)
    return prediction_id


async def lineage_resolved(console: str, prediction_id: str) -> bool:
    """The console's lineage page lists no gap (the trace waits for Zipkin's batches)."""
    async with httpx.AsyncClient(timeout=30) as web:
        answer = await web.get(f"{console}/lineage/{prediction_id}")
    return answer.status_code == 200 and 'data-testid="lineage-unresolved"' not in answer.text


async def test_the_console_shows_the_real_platform(
    flow: Flow,
    console: Process,
    registry_token: str,
    registry_actor: str,
    browser_page: Page,
    screenshot: AsyncScreenshot,
    local_stack: Any,
) -> None:
    dataset = flow.dataset
    await flow.declare(sensors_declaration(dataset))
    arrival = await flow.arrive("v1.csv", sensors_frame(800, seed=1), submitted_by=SUBMITTER)
    promoted = await flow.first(ModelPromoted, arrival)
    await flow.watcher.wait_for(
        ModelDeployed,
        lambda e: e.model_name == dataset and e.version == 1 and e.replica_id == "deployment",
        within=flow.within,
    )
    # A file without x1 is turned away; the dataset page lists it with its reason.
    invalid = sensors_frame(50, seed=2).drop(columns=["x1"])
    bad = await flow.arrive("no-x1.csv", invalid, submitted_by=SUBMITTER)
    rejected = await flow.first(DatasetRejected, bad)
    assert "missing_column" in {r.code for r in rejected.reasons}

    # Traffic shifted on x1 as the demo shifts it (x1 drawn around SHIFT, the reference
    # around 0): a monitoring window (200 predictions) checked against the reference flags
    # x1. No retraining follows: the newest dataset version is production's own.
    traffic = Traffic(f"{flow.platform['deployment'].url}/models/{dataset}/predict", shift=SHIFT)
    client = asyncio.create_task(traffic.run())
    try:
        monitoring = flow.platform["monitoring"].url
        await eventually(
            lambda: history_has_drift_on(monitoring, dataset, "x1"), within=flow.within
        )
    finally:
        traffic.stop.set()
        await client

    # One prediction after the traffic, alone: monitoring archives it within its checkpoint
    # interval though no batch follows it (its idle checkpoint), so its lineage resolves.
    prediction_id = await served_and_archived(flow, {"x1": 0.5, "x2": -0.25, "x3": 1.0})

    async with httpx.AsyncClient(base_url=console.url, timeout=30) as web:
        listing = (await web.get("/models")).text
        assert f'data-model="{dataset}"' in listing

        page = (await web.get(f"/models/{dataset}")).text
        assert re.search(r'<tr data-alias="production">.*?version 1', page, re.S)
        version_row = re.search(r'<tr data-version="1">.*?</tr>', page, re.S)
        assert version_row and "promoted" in version_row.group(0)
        audit = re.search(r'<table id="audit-table".*?</table>', page, re.S)
        assert audit is not None and "promoted" in audit.group(0)

        card = (await web.get(f"/models/{dataset}/versions/1")).text
        assert promoted.model.model_card.uri in card
        trace = re.search(r'href="(/trace/[0-9a-f-]{36})"', card)
        assert trace is not None
        followed = await web.get(trace.group(1))
        assert followed.status_code == 303
        assert "/zipkin/" in followed.headers["location"]

        data = (await web.get(f"/datasets/{dataset}")).text
        assert promoted.model.dataset_version[:16] in data
        assert '<td class="rows">800</td>' in data
        rejection = re.search(rf'<tr data-arrival="{bad.event_id}">.*?</tr>', data, re.S)
        assert rejection is not None, "the rejected arrival is not listed"
        assert "no-x1.csv" in rejection.group(0) and SUBMITTER in rejection.group(0)
        assert "missing_column" in rejection.group(0)

        serving = (await web.get("/serving")).text
        assert f"{dataset} v1" in serving

        charts = (await web.get(f"/monitoring/{dataset}")).text
        assert "drift of x1 over time" in charts  # the chart's title, as SVG text
        assert "x1: reference vs current" in charts
        drifted = re.search(r'<td class="drifted">([^<]*)</td>', charts)
        assert drifted is not None and "x1" in drifted.group(1).split(", ")

        dead = (await web.get("/dead-letters")).text
        assert 'data-topic="millrace.labels.observed.v1.dlq"' in dead
        assert 'data-testid="backend-error"' not in dead

        form = await web.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        logged = await web.post(
            "/login", data={"token": registry_token, "csrf": csrf.group(1), "next": "/models"}
        )
        assert logged.status_code == 303
        assert registry_actor in (await web.get("/models")).text

    # What an operator sees: the model's monitoring page in a real browser, x1's drift chart
    # drawn (its SVG title is text) and x1 listed among a drift event's drifted features.
    page = browser_page
    await page.goto(f"{console.url}/monitoring/{dataset}")
    x1 = page.locator('.feature[data-feature="x1"]')
    chart = x1.get_by_test_id("drift-chart")
    await expect(chart.locator("svg")).to_be_visible()
    await expect(chart).to_contain_text("drift of x1 over time")
    events = page.get_by_test_id("drift-events-table")
    await expect(events).to_be_visible()
    await expect(events.locator("td.drifted").first).to_contain_text("x1")
    await screenshot("console-model")

    # The lineage of the prediction, as a person opens it: every link, with real values.
    await eventually(lambda: lineage_resolved(console.url, prediction_id), within=flow.within)
    await page.goto(f"{console.url}/lineage/{prediction_id}")
    await expect(page.locator("#prediction-id")).to_have_text(prediction_id)
    await expect(page.get_by_test_id("lineage-unresolved")).to_have_count(0)
    served = page.get_by_test_id("lineage-prediction")
    await expect(served).to_contain_text(f"{dataset} v1")
    await expect(served).to_contain_text("replica deployment")
    await expect(page.get_by_test_id("lineage-version")).to_have_text(f"{dataset} v1")
    model = promoted.model
    await expect(page.get_by_test_id("lineage-model-version")).to_contain_text(
        model.artifact.sha256
    )
    await expect(page.get_by_test_id("lineage-training-run")).to_contain_text(model.run_id)
    await expect(page.get_by_test_id("lineage-dataset-sha256")).to_have_text(model.dataset_version)
    data_link = page.get_by_test_id("lineage-dataset")
    await expect(data_link).to_contain_text(SUBMITTER)
    await expect(data_link).to_contain_text("800 rows")
    promotion = page.get_by_test_id("lineage-promotion")
    await expect(promotion).to_contain_text("promoted: alias production → version 1")
    await expect(promotion).to_contain_text("registry-policy")
    trace_link = page.get_by_test_id("lineage-trace-link")
    await expect(trace_link).to_be_visible()
    href = await trace_link.get_attribute("href")
    zipkin = local_stack.zipkin_url
    assert href is not None and re.fullmatch(
        rf"{re.escape(zipkin)}/zipkin/traces/[0-9a-f]{{16,32}}", href
    )
    async with httpx.AsyncClient(timeout=10) as client:  # the link leads to a real trace
        trace = await client.get(f"{zipkin}/api/v2/trace/{href.rsplit('/', 1)[1]}")
    assert trace.status_code == 200 and trace.json()
    await screenshot("console-lineage", full_page=True)  # every link, below the fold too
