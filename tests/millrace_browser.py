"""Browser fixtures: a real Chromium (Debian's, from apt) driven by Playwright's async API.

Loaded by tests/conftest.py (``pytest_plugins``), so any test can ask for them:

- ``browser``: one headless Chromium per session, started on first use, stopped at the end
  of the session (also when tests fail);
- ``browser_page``: a fresh context and page per test (its own cookies and storage), closed
  after the test;
- ``screenshot``: ``await screenshot("name")`` saves the page as ``tests/output/screenshots/name.png``
  (ignored by git, kept with the test output) and returns the path; a failing test's page
  is saved there as ``failed-<test>.png``.

The browser is the system one (``scripts/setup --test`` installs it with apt): Playwright's
own browser download (``playwright install``) is not used, so its CDN is never needed. A
different binary can be given with ``MILLRACE_CHROMIUM``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

SCREENSHOTS = Path("tests") / "output" / "screenshots"
"""Under the rootdir: where ``screenshot`` writes (CI keeps it with the test output)."""

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}

# Playwright waits 5 s by default for an element or an expectation: a page of a service on a
# busy shared 2-core machine may take longer. These are limits, not waits.
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)

# Headless, and nothing the test did not ask for: without the background-networking flags,
# Chromium's own calls to Google (updates, sync, field trials) fail noisily on a machine
# that reaches only the package registries. --no-sandbox: CI runs the suite as root, where
# Chromium's sandbox refuses to start.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
)


def chromium_executable() -> str:
    """The system Chromium, or a clear failure saying how to install it."""
    configured = os.environ.get("MILLRACE_CHROMIUM")
    found = configured or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).is_file():
        pytest.fail(
            "Chromium is needed for the browser tests and was not found"
            + (f" at MILLRACE_CHROMIUM={configured}" if configured else " on PATH")
            + ": `scripts/setup --test` installs it (apt-get install chromium)",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_executable()
    async with async_playwright() as playwright:
        # Playwright gives each launch a fresh temporary profile (--user-data-dir) and
        # removes it on close.
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield launched
        finally:
            await launched.close()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True


@pytest.fixture
async def browser_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        yield page
        if request.node.stash.get(_FAILED, False):  # what the page showed when the test failed
            await AsyncScreenshot(page, request.config.rootpath / SCREENSHOTS)(
                f"failed-{request.node.name}", full_page=True
            )
    finally:
        await context.close()


class AsyncScreenshot:
    """``await screenshot("name")``: the page as ``<rootdir>/tests/output/screenshots/name.png``."""

    def __init__(self, page: Page, directory: Path) -> None:
        self.page = page
        self.directory = directory

    async def __call__(self, name: str, *, full_page: bool = False) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def screenshot(browser_page: Page, request: pytest.FixtureRequest) -> AsyncScreenshot:
    return AsyncScreenshot(browser_page, request.config.rootpath / SCREENSHOTS)
