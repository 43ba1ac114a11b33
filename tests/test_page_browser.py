"""The service's page in real Chromium (Debian's package, driven by Playwright): type, click
Translate, read the translation, see the heatmap; a screenshot is kept in test-artifacts/."""

from __future__ import annotations

import os
import shutil

import httpx2
import pytest
from conftest import REPO
from servers import running_server

CHROMIUM = os.environ.get("SEQ2SEQ_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SENTENCES = ["Ein Hund läuft über die Wiese.", "Zwei Männer spielen Fußball."]


@pytest.fixture(scope="module")
def browser():
    if not os.path.isfile(CHROMIUM):
        message = f"{CHROMIUM}: no Chromium (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.mark.slow
@pytest.mark.parametrize("width, height, name", [(1280, 900, "laptop"), (390, 844, "phone")])
def test_the_page_translates_and_draws_the_heatmap(browser, trained_run, width, height, name):
    with running_server(trained_run) as (_, url):
        expected = httpx2.post(f"{url}/v1/translate", timeout=60,
                              json={"text": SENTENCES, "attention": True}).json()["translations"]
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url + "/")
        page.wait_for_function("document.getElementById('title').textContent.includes('→')")
        assert page.inner_text("#title") == "German → English"
        page.fill("#source", "\n".join(SENTENCES))
        page.click("#translate")
        page.wait_for_selector("#translations li >> nth=1")
        items = page.locator("#translations li > div:first-child")
        shown = [items.nth(i).evaluate("e => e.firstChild.textContent") for i in range(2)]
        assert shown == [t["text"] for t in expected]
        first = expected[0]
        cells = len(first["n_best"][0]["tokens"]) * len(first["source_tokens"])
        page.wait_for_selector("#heatmap rect")
        assert page.locator("#heatmap rect").count() == cells
        assert "2 sentences in" in page.inner_text("#timing")
        page.locator("#translations li").nth(1).click()
        second = expected[1]
        assert page.locator("#heatmap rect").count() == (
            len(second["n_best"][0]["tokens"]) * len(second["source_tokens"]))
        # nothing but the heatmap's own box scrolls sideways, even at phone width
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        (REPO / "test-artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO / "test-artifacts" / f"serve-page-{name}.png"),
                        full_page=True)
        page.close()
