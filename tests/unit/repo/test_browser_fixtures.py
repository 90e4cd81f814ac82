"""The browser fixtures themselves (tests/millrace_browser.py): the system Chromium starts
headless, renders a page, and ``screenshot`` writes a PNG where the test output is kept."""

from __future__ import annotations

from millrace_browser import AsyncScreenshot
from playwright.async_api import Page

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def test_the_system_chromium_renders_a_page_and_saves_its_screenshot(
    browser_page: Page, screenshot: AsyncScreenshot
) -> None:
    await browser_page.set_content("<main><h1>Millrace</h1><p>five services</p></main>")
    assert await browser_page.inner_text("h1") == "Millrace"
    path = await screenshot("browser-fixture-smoke")
    assert path.parts[-4:] == ("tests", "output", "screenshots", "browser-fixture-smoke.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)
