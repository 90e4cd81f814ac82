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
from millrace_contracts import ModelDeployed, ModelPromoted
from millrace_infra.launcher import Process, launch_service
from playwright.async_api import Page, expect

from .conftest import Platform
from .flows import Flow, eventually

pytestmark = pytest.mark.e2e


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


async def test_the_console_shows_the_real_platform(
    flow: Flow,
    console: Process,
    registry_token: str,
    registry_actor: str,
    browser_page: Page,
    screenshot: AsyncScreenshot,
) -> None:
    dataset = flow.dataset
    await flow.declare(sensors_declaration(dataset))
    promoted = await flow.first(
        ModelPromoted, await flow.arrive("v1.csv", sensors_frame(800, seed=1))
    )
    await flow.watcher.wait_for(
        ModelDeployed,
        lambda e: e.model_name == dataset and e.version == 1 and e.replica_id == "deployment",
        within=flow.within,
    )
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
