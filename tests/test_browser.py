"""A real browser on the site with no internet: Debian's Chromium, driven by Playwright for Python, runs a query in
the YASGUI page and opens an author page whose charts and co-author network render.

Every request to a host other than 127.0.0.1 is aborted and counted: the site must make none. Console errors
(a Content-Security-Policy violation is one) fail the test. Screenshots go to /tmp for a look by eye.
Skipped only when /usr/bin/chromium is missing outside CI (scripts/setup-test installs it); in CI it must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    if os.environ.get("CI", "").lower() in ("true", "1"):
        raise RuntimeError(f"{CHROMIUM} is missing in CI: scripts/setup-test installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium chromium-driver, or scripts/setup-test)",
                allow_module_level=True)

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = Path("/tmp")
# Counts the pixels a canvas has drawn (alpha above zero): a chart or network that rendered has many.
DRAWN_PIXELS = """canvas => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { drawn += 1; } }
  return drawn;
}"""


@dataclass
class Browser:
    """A Chromium context with a fresh profile; `external` lists the aborted non-loopback requests."""

    context: BrowserContext
    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def route(self, route: Route) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=ARGS, headless=True,
            viewport={"width": 1280, "height": 900})
        driven = Browser(context)
        context.route("**/*", driven.route)
        yield driven
        context.close()


def test_a_query_runs_in_the_yasgui_page_offline(browser: Browser, server: LiveServer) -> None:
    page = browser.page()
    page.goto(server.url)
    page.wait_for_selector(".yasqe_queryButton")
    tabs = page.locator(".tabPanel, .tab").all_inner_texts()
    assert any("An author's papers" in tab for tab in tabs) or "An author's papers" in page.content()
    page.click(".yasqe_queryButton")
    page.wait_for_selector(".yasr table tbody tr td", timeout=20_000)
    rows = page.locator(".yasr table tbody tr").count()
    assert rows == 15, rows
    assert "15 results" in page.inner_text(".yasr_response_chip")
    assert "Gemini 2.5: Pushing the Frontier" in page.inner_text(".yasr table")
    page.screenshot(path=str(SHOTS / "kg-browser-query.png"), full_page=True)
    assert browser.external == []
    assert browser.errors == []
    page.close()


def test_an_author_page_draws_its_charts_and_network_offline(browser: Browser, server: LiveServer) -> None:
    page = browser.page()
    page.goto(server.url + "person/shariq-iqbal")
    assert page.url == server.url + "doc/person/shariq-iqbal.html"
    assert page.inner_text("h1") == "Shariq Iqbal"
    page.wait_for_function("""() => window.Chart && Array.from(document.querySelectorAll("canvas[data-chart]"))
                                   .every(canvas => window.Chart.getChart(canvas))""")
    charts = page.locator("canvas[data-chart]")
    assert charts.count() == 2
    for index in range(2):
        assert charts.nth(index).evaluate(DRAWN_PIXELS) > 500
    network = page.locator(".network canvas")
    network.wait_for()
    page.wait_for_function(f"() => ({DRAWN_PIXELS})(document.querySelector('.network canvas')) > 2000",
                           timeout=20_000)
    page.screenshot(path=str(SHOTS / "kg-browser-author.png"), full_page=True)
    page.click("text=ALMA: Hierarchical Learning for Composite Multi-Agent Tasks")
    page.wait_for_url("**/doc/paper/*.html")
    assert [slot.strip(", ") for slot in page.locator(".byline .slot").all_inner_texts()] == [
        "Shariq Iqbal", "Robby Costales", "Fei Sha"]
    assert browser.external == []
    assert browser.errors == []
    page.close()
