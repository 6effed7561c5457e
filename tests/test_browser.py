"""The chat in headless Chromium: streaming, sources, citation links, inert HTML.

Uses the system Chromium (`/usr/bin/chromium`) through Playwright, since
Playwright's own browser download needs the internet. Set TUTOR_SCREENSHOTS=1
to refresh docs/screenshot-chat.png.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.fakes import ADAPTER_URL, LORA_URL, ScriptedTutor, make_hit
from tutor.config import Settings
from tutor.types import Citation
from ui.app import build_app, launch

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot-chat.png"
QUESTION = "How does LoRA cut the cost of fine-tuning a large model?"
XSS = '<img src=x onerror="window.__xss=1">'
LINK = "#chat a[href*='#:~:text=']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium context with its own profile directory."""
    if not CHROMIUM.exists():
        pytest.skip("install chromium: apt-get install -y chromium chromium-driver")
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the test extra: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        # Playwright refuses --user-data-dir in `launch` args; a persistent context is the same thing.
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
        )
        yield context
        context.close()


@pytest.fixture
def open_app(browser) -> Iterator[Callable]:
    """Serve `build_app(tutor)` on a free loopback port and open it in a new page."""
    apps, pages = [], []

    def start(tutor):
        settings = Settings(host="127.0.0.1", port=free_port())
        apps.append(build_app(tutor, settings))
        page = browser.new_page()
        pages.append(page)
        page.goto(launch(apps[-1], settings, block=False))
        return page

    yield start
    for page in pages:
        page.close()
    for app in apps:
        app.close()


def ask(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def test_answer_streams_with_sources_first_and_fragment_links(open_app):
    page = open_app(ScriptedTutor(delay=0.4))
    ask(page, QUESTION)
    page.locator("#sources").get_by_text("Parameter-efficient fine-tuning").wait_for(timeout=15_000)
    assert page.locator(LINK).count() == 0  # sources are shown before the answer is done
    page.locator("#chat").get_by_text("LoRA freezes", exact=False).first.wait_for(timeout=15_000)
    page.locator(LINK).first.wait_for(timeout=15_000)

    marker = page.locator(LINK).first
    assert marker.inner_text() == "[1]"
    assert marker.get_attribute("href").startswith(f"{LORA_URL}#:~:text=We%20propose%20Low%2DRank")
    assert marker.get_attribute("target") == "_blank"
    assert marker.get_attribute("title").startswith("We propose Low-Rank Adaptation")
    assert page.locator(f"#chat a[href^='{ADAPTER_URL}#:~:text=']").count() == 2  # marker and sources list
    assert "⚠ not verified" in page.locator("#chat").inner_text()
    assert page.locator("#question textarea").input_value() == ""
    if os.environ.get("TUTOR_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_html_from_sources_and_model_stays_inert(open_app):
    hits = (make_hit(1, LORA_URL, f"LoRA {XSS}", f"Passage text {XSS} about low-rank updates.", "Part III", XSS),)
    citation = Citation(1, hits[0].chunk.id, LORA_URL, hits[0].chunk.title, f"Passage text {XSS}", True)
    tutor = ScriptedTutor(hits, tokens=("Streamed ", XSS, " text [1]."), text=f"Final {XSS} answer [1].", citations=(citation,), delay=0.1)
    page = open_app(tutor)
    ask(page, QUESTION)
    page.locator(LINK).first.wait_for(timeout=15_000)
    page.wait_for_timeout(500)  # give any injected onerror handler time to fire

    assert page.evaluate("window.__xss") is None
    assert page.locator("img[onerror], #chat img, #sources img").count() == 0
    assert f"Final {XSS} answer" in page.locator("#chat").inner_text()  # shown as text
    assert f"Passage text {XSS}" in page.locator("#sources").inner_text()


def test_unknown_mode_is_explained_in_the_chat(open_app):
    page = open_app(ScriptedTutor())
    page.get_by_label("Quiz").check()
    ask(page, "Quiz me on attention")
    page.locator("#chat").get_by_text("mode 'quiz' is not available yet").wait_for(timeout=15_000)
