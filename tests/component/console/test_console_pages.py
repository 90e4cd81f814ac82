"""The console's pages over the real registry app and canned answers of the other services."""

from __future__ import annotations

import re

import httpx
from console_support import FakeDeadLetters
from registry_component_support import TOKEN

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def row(page: str, attribute: str, value: str) -> str:
    """The <tr> with ``attribute``=``value`` (as the browser tests find it)."""
    found = re.search(rf'<tr {attribute}="{re.escape(value)}".*?</tr>', page, re.S)
    assert found is not None, f"no row {attribute}={value}"
    return found.group(0)


async def login(console: httpx.AsyncClient) -> None:
    form = await console.get("/login")
    done = await console.post("/login", data={"token": TOKEN, "csrf": csrf_of(form), "next": "/"})
    assert done.status_code == 303


async def test_the_models_page_lists_every_model(console: httpx.AsyncClient) -> None:
    page = await console.get("/models")
    assert page.status_code == 200
    assert 'data-testid="models-table"' in page.text
    iris = row(page.text, "data-model", "iris")
    assert "<td>2</td><td>3</td>" in iris  # production 2, latest 3


async def test_a_model_shows_versions_aliases_duel_audit_and_failed_runs(
    console: httpx.AsyncClient,
) -> None:
    page = (await console.get("/models/iris")).text
    assert "version 2" in row(page, "data-alias", "production")
    assert "rejected" in row(page, "data-version", "3")
    assert "accuracy=0.85" in row(page, "data-version", "3")
    # Champion vs challenger: latest (3) against the champion it was compared with, same holdout.
    assert "accuracy=0.85" in row(page, "data-role", "challenger")
    assert "accuracy=0.95" in row(page, "data-role", "champion")
    assert 'data-testid="same-holdout"' in page
    audit = re.search(r'<table id="audit-table".*?</table>', page, re.S)
    assert audit is not None and "promoted" in audit.group(0)
    assert "cannot_train" in page  # the failed run's reason
    assert "accuracy by version of iris" in page  # the chart's title, as SVG text
    assert "<svg" in page and "<script" not in page


async def test_a_version_shows_its_card_and_links_its_trace(console: httpx.AsyncClient) -> None:
    page = (await console.get("/models/iris/versions/2")).text
    assert 'data-testid="model-card"' in page
    assert "s3://millrace-models/iris/run-b/card.json" in page
    assert "random_forest" in page
    link = re.search(r'href="/trace/([0-9a-f-]{36})"', page)
    assert link is not None
    followed = await console.get(f"/trace/{link.group(1)}")
    # Zipkin is not there: the page says so instead of failing.
    assert followed.status_code == 502


async def test_monitoring_draws_distributions_drift_and_live_metric(
    console: httpx.AsyncClient,
) -> None:
    listing = (await console.get("/monitoring")).text
    assert "612" in row(listing, "data-model", "iris")
    page = await console.get("/monitoring/iris")
    assert page.status_code == 200
    text = page.text
    assert "petal_width: reference vs current" in text
    assert "drift of petal_width over time" in text
    assert "live accuracy (floor 0.8)" in text
    events = re.search(r'data-testid="drift-events-table".*?</table>', text, re.S)
    assert events is not None and "petal_width" in events.group(0)


async def test_a_wide_model_charts_its_most_drifted_features_first(
    console: httpx.AsyncClient,
) -> None:
    page = (await console.get("/monitoring/wide")).text
    shown = re.findall(r'data-feature="(f\d)"', page)
    assert shown == ["f5", "f4", "f3", "f2"]  # drifted first, then by PSI
    assert 'data-testid="all-features"' in page
    every = (await console.get("/monitoring/wide?features=all")).text
    assert len(re.findall(r'data-feature="f\d"', every)) == 6


async def test_datasets_show_versions_rows_and_hash(console: httpx.AsyncClient) -> None:
    assert "iris" in row((await console.get("/datasets")).text, "data-dataset", "iris")
    page = (await console.get("/datasets/iris")).text
    assert "150" in page and "9f86d081884c7d65" in page
    listed = re.search(r'<tr data-arrival=".*?</tr>', page, re.S)
    assert listed is not None, "no rejected arrival listed"
    rejected = listed.group(0)
    assert "s3://millrace-landing/iris/bad.csv" in rejected and "data-team-a" in rejected
    assert 'data-codes="missing_column too_few_rows"' in rejected
    assert "column &#39;species&#39; is missing" in rejected


async def test_serving_shows_replicas_versions_rate_and_dropped_logs(
    console: httpx.AsyncClient, served: list[int]
) -> None:
    first = (await console.get("/serving")).text
    replica = row(first, "data-replica", "http://replica-1")
    assert "replica-a" in replica and "iris v2" in replica
    assert '<td class="dropped">3</td>' in replica
    served[0] += 50
    second = row((await console.get("/serving")).text, "data-replica", "http://replica-1")
    rate = re.search(r"<td>(\d+\.\d\d)</td>", second)
    assert rate is not None and float(rate.group(1)) > 0


async def test_read_only_without_login(console: httpx.AsyncClient) -> None:
    page = (await console.get("/models/iris")).text
    assert "promote…" not in page and "log in" in page
    confirm = await console.get("/models/iris/promote?version=3")
    assert confirm.status_code == 303 and confirm.headers["location"].startswith("/login")
    form = await console.get("/login")
    refused = await console.post(
        "/models/iris/promote", data={"version": "3", "reason": "x", "csrf": csrf_of(form)}
    )
    assert refused.status_code == 401


async def test_a_wrong_token_does_not_log_in(console: httpx.AsyncClient) -> None:
    form = await console.get("/login")
    answer = await console.post("/login", data={"token": "nope", "csrf": csrf_of(form)})
    assert answer.status_code == 401
    assert "does not know this token" in answer.text


async def test_promote_and_rollback_act_as_the_person_after_confirmation(
    console: httpx.AsyncClient,
) -> None:
    await login(console)
    confirm = await console.get("/models/iris/promote?version=3")
    assert confirm.status_code == 200 and "This acts as <strong>alice</strong>" in confirm.text
    # A form without the session's token is refused (another site cannot post one).
    forged = await console.post(
        "/models/iris/promote", data={"version": "3", "reason": "x", "csrf": "forged"}
    )
    assert forged.status_code == 403
    done = await console.post(
        "/models/iris/promote",
        data={"version": "3", "reason": "canary looked fine", "csrf": csrf_of(confirm)},
    )
    assert done.status_code == 303 and done.headers["location"] == "/models/iris?moved=3"
    page = (await console.get("/models/iris")).text
    assert "version 3" in row(page, "data-alias", "production")
    top = re.search(r'<table id="audit-table".*?<tbody>\s*(<tr.*?</tr>)', page, re.S)
    assert top is not None
    assert '<td class="actor">alice</td>' in top.group(1) and "manual_promote" in top.group(1)

    back = await console.get("/models/iris/rollback")
    done = await console.post(
        "/models/iris/rollback", data={"reason": "errors up", "csrf": csrf_of(back)}
    )
    assert done.status_code == 303
    page = (await console.get("/models/iris")).text
    assert "version 2" in row(page, "data-alias", "production")
    assert "errors up" in page or "rollback" in page


async def test_health(console: httpx.AsyncClient) -> None:
    assert (await console.get("/health/live")).status_code == 200


async def test_dead_letters_by_topic_with_reasons_and_replay_after_confirmation(
    console: httpx.AsyncClient, dead_letters: FakeDeadLetters
) -> None:
    dlq = "millrace.labels.observed.v1.dlq"
    topics = (await console.get("/dead-letters")).text
    assert '<td class="count">2</td>' in row(topics, "data-topic", dlq)
    listed = (await console.get(f"/dead-letters/{dlq}")).text
    assert "ValidationError: bad label 1" in row(listed, "data-offset", "0/1")
    assert 'href="/trace/6f1c0f3e-8d5e-4a53-9a52-0c7c4d7f9b11"' in listed
    assert "replay…" not in listed  # read-only until logged in
    assert (await console.get(f"/dead-letters/{dlq}/0/1/replay")).status_code == 303

    await login(console)
    confirm = await console.get(f"/dead-letters/{dlq}/0/1/replay")
    assert confirm.status_code == 200 and "millrace.labels.observed.v1" in confirm.text
    forged = await console.post(f"/dead-letters/{dlq}/0/1/replay", data={"csrf": "forged"})
    assert forged.status_code == 403 and dead_letters.replayed == []
    done = await console.post(f"/dead-letters/{dlq}/0/1/replay", data={"csrf": csrf_of(confirm)})
    assert done.status_code == 303
    assert done.headers["location"].endswith("replayed=millrace.labels.observed.v1:0:41")
    [(letter, actor)] = dead_letters.replayed
    assert (letter.offset, actor) == (1, "alice")
    assert (await console.get("/dead-letters/not-a-topic")).status_code == 404
