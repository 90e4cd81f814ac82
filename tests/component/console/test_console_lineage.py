"""The lineage pages over the real registry app and canned answers of the other services:
the links resolved are shown, the others listed with their reasons."""

from __future__ import annotations

import httpx
from console_support import PREDICTION_ID


async def test_the_nav_and_the_form_lead_to_a_predictions_lineage(
    console: httpx.AsyncClient,
) -> None:
    assert 'href="/lineage"' in (await console.get("/models")).text
    form = await console.get("/lineage")
    assert form.status_code == 200 and 'data-testid="lineage-form"' in form.text
    sent = await console.get("/lineage", params={"prediction_id": f" {PREDICTION_ID} "})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/lineage/{PREDICTION_ID}"


async def test_a_lineage_shows_the_links_resolved_and_why_the_others_are_not(
    console: httpx.AsyncClient,
) -> None:
    page = await console.get(f"/lineage/{PREDICTION_ID}")
    assert page.status_code == 200
    # The prediction (monitoring's canned archive) and its model version (the real registry).
    assert 'data-testid="lineage-prediction"' in page.text
    assert "replica-a" in page.text and "setosa" in page.text
    assert 'data-testid="lineage-version">iris v1' in page.text
    # Training and ingestion hold no such run or version here: named, with the reason.
    unresolved = page.text.split('data-testid="lineage-unresolved"')[1].split("</ul>")[0]
    assert 'data-link="training_run"' in unresolved
    assert "run-a" in unresolved
    assert 'data-link="dataset"' in unresolved


async def test_an_unknown_prediction_says_it_is_not_archived(console: httpx.AsyncClient) -> None:
    page = await console.get("/lineage/nope")
    assert page.status_code == 404
    assert 'data-link="prediction"' in page.text
    assert "not in monitoring&#39;s archive" in page.text
    assert 'data-testid="lineage-model-version"' not in page.text
