"""The chat in headless Chromium: streaming, sources, citation links, modes, feedback, themes, phone width.

Uses the system Chromium (`/usr/bin/chromium`) through Playwright, since
Playwright's own browser download needs the internet. Source pages are served
by Playwright's router, so clicking a citation needs no network either. Set
TUTOR_SCREENSHOTS=1 to refresh docs/screenshot-chat-light.png and
docs/screenshot-chat-dark.png.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from core.config import Settings
from core.types import Citation
from tests.fakes import ADAPTER_URL, LORA_QUOTE, LORA_URL, ScriptedTutor, make_hit
from ui.app import build_app, launch

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DOCS = Path(__file__).resolve().parent.parent / "docs"
QUESTION = "How does LoRA cut the cost of fine-tuning a large model?"
XSS = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"
LINK = "#chat a[href*='#:~:text=']"
WAIT = 15_000

# Computed text/background contrast of an element (WCAG formula); the background is the first opaque ancestor's.
CONTRAST = """(el) => {
  const rgb = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
                       return p.length === 3 ? [...p, 1] : p; };
  let node = el, bg = [255, 255, 255, 1];
  while (node && node.nodeType === 1) { const c = rgb(getComputedStyle(node).backgroundColor);
                                        if (c[3] > 0.5) { bg = c; break; } node = node.parentElement; }
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                                      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [hi, lo] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def showcase_tutor(delay: float = 0.0) -> ScriptedTutor:
    """A LoRA answer that looks like a real one: two handbook sources, both citations verified."""
    part, section = "第四部分：LLM 的微调方法", "低秩适配器（LoRA）"
    first = ("LoRA keeps the pretrained weights frozen and learns the weight update as the product of two much smaller "
             "matrices, A and B. With a rank of 8, a 4,096 × 4,096 weight update that would need about 16.8 million "
             "parameters needs only 65,536 trainable parameters.")
    second = ("Because only the small LoRA matrices receive gradients, the optimizer states shrink too, and a 7B model can "
              "be finetuned on a single GPU. After training, the LoRA weights can be merged into the original weights, so "
              "inference is as fast as with the base model.")
    hits = (
        make_hit(1, "https://sebastianraschka.com/blog/2023/llm-finetuning-lora.html",
                 "Parameter-Efficient LLM Finetuning With Low-Rank Adaptation (LoRA)", first, part, section),
        make_hit(2, "https://magazine.sebastianraschka.com/p/practical-tips-for-finetuning-llms",
                 "Practical Tips for Finetuning LLMs Using LoRA", second, part, section),
    )
    text = ("LoRA (low-rank adaptation) makes fine-tuning cheaper in three ways:\n\n"
            "- **It trains far fewer parameters.** The pretrained weights stay frozen; only the weight update is learned, "
            "as the product of two small matrices A and B [1].\n"
            "- **The savings are large.** With rank 8, a 4,096 × 4,096 update needs 65,536 trainable parameters instead "
            "of about 16.8 million [1].\n"
            "- **Memory and speed stay low.** Only the small matrices get gradients and optimizer states, so a 7B model "
            "fits on one GPU, and they can be merged into the weights afterwards, so answering is as fast as before [2].")
    citations = (
        Citation(1, hits[0].chunk.id, hits[0].chunk.doc_url, hits[0].chunk.title, first[:first.index(" With")], True),
        Citation(2, hits[1].chunk.id, hits[1].chunk.doc_url, hits[1].chunk.title, second[second.index("After"):], True),
    )
    words = text.split(" ")
    tokens = [w + " " for w in words[:-1]] + [words[-1]]
    return ScriptedTutor(hits, tokens, text, citations, delay=delay)


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
def open_app(browser, tmp_path) -> Iterator[Callable]:
    """Serve `build_app(tutor)` on a free loopback port and open it in a new page.

    Returns a function `(tutor, scheme="light", width=1280, height=860) -> (page, settings)`.
    """
    apps, pages = [], []

    def start(tutor, scheme: str = "light", width: int = 1280, height: int = 860):
        settings = Settings(host="127.0.0.1", port=free_port(), home=tmp_path / "data")
        apps.append(build_app(tutor, settings))
        page = browser.new_page()
        pages.append(page)
        page.set_viewport_size({"width": width, "height": height})
        page.emulate_media(color_scheme=scheme)
        url = launch(apps[-1], settings, block=False)
        page.goto(url)  # a new port is a new origin: no theme remembered from another test
        return page, settings

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
    first_token = threading.Event()  # held until the sources-first state has been seen
    page, _ = open_app(ScriptedTutor(delay=0.1, gate=first_token))
    ask(page, QUESTION)
    page.locator("#chat").get_by_text("Found 2 passages").wait_for(timeout=WAIT)  # progress before the first token
    page.locator("#sources").get_by_text("Parameter-efficient fine-tuning").wait_for(timeout=WAIT)
    assert page.locator(LINK).count() == 0  # sources are shown before the answer is done
    first_token.set()
    page.locator("#chat").get_by_text("LoRA freezes", exact=False).first.wait_for(timeout=WAIT)
    page.locator(LINK).first.wait_for(timeout=WAIT)

    marker = page.locator(LINK).first
    assert marker.inner_text() == "[1]"
    assert marker.get_attribute("href").startswith(f"{LORA_URL}#:~:text=We%20propose%20Low%2DRank")
    assert marker.get_attribute("target") == "_blank"
    assert marker.get_attribute("title").startswith("We propose Low-Rank Adaptation")
    assert page.locator(f"#chat a[href^='{ADAPTER_URL}#:~:text=']").count() == 2  # marker and sources list
    assert "⚠ not verified" in page.locator("#chat").inner_text()
    assert page.locator("#question textarea").input_value() == ""


def test_clicking_a_citation_opens_the_source_at_the_quote(open_app, browser):
    requested = []

    def source_page(route):
        requested.append(route.request.url)
        filler = "<p>Earlier text about fine-tuning.</p>" * 200
        route.fulfill(status=200, content_type="text/html",
                      body=f"<html><body>{filler}<p id='quote'>{LORA_QUOTE}. It injects trainable matrices.</p></body></html>")

    browser.route("https://arxiv.org/**", source_page)
    try:
        page, _ = open_app(ScriptedTutor())
        ask(page, QUESTION)
        page.locator(LINK).first.wait_for(timeout=WAIT)
        with browser.expect_page() as opened:
            page.locator(LINK).first.click()
        source = opened.value
        source.wait_for_load_state()
        assert source.url.startswith(f"{LORA_URL}#:~:text=We%20propose%20Low%2DRank%20Adaptation")
        assert requested == [LORA_URL]  # the fragment stays in the browser
        source.wait_for_function("window.scrollY > 0", timeout=WAIT)  # Chromium scrolled to the quoted text
        source.close()
    finally:
        browser.unroute("https://arxiv.org/**")


def test_html_from_sources_and_model_stays_inert(open_app):
    hits = (make_hit(1, LORA_URL, f"LoRA {XSS}", f"Passage text {XSS} {SCRIPT} about low-rank updates.", "Part III", XSS),)
    citation = Citation(1, hits[0].chunk.id, LORA_URL, hits[0].chunk.title, f"Passage text {XSS}", True)
    tutor = ScriptedTutor(hits, tokens=("Streamed ", XSS, SCRIPT, " text [1]."), text=f"Final {XSS} {SCRIPT} answer [1].",
                          citations=(citation,), delay=0.1)
    page, _ = open_app(tutor)
    ask(page, f"What is {SCRIPT}?")
    page.locator(LINK).first.wait_for(timeout=WAIT)
    page.wait_for_timeout(500)  # give any injected onerror handler time to fire

    assert page.evaluate("window.__xss") is None
    assert page.locator("img[onerror], #chat img, #sources img, #chat script, #sources script").count() == 0
    assert f"Final {XSS} {SCRIPT} answer" in page.locator("#chat").inner_text()  # shown as text
    assert f"Passage text {XSS}" in page.locator("#sources").inner_text()
    assert f"What is {SCRIPT}?" in page.locator("#chat").inner_text()


def test_a_quotes_code_shows_as_code_under_it_verbatim_and_inert(open_app):
    hits = (make_hit(1, LORA_URL, "LoRA", "Merge the adapters into the base model with merge_and_unload:"),)
    citation = Citation(1, hits[0].chunk.id, LORA_URL, "LoRA", "Merge the adapters into the base model", True)
    code = f'  ```python\n  model = peft_model.merge_and_unload()  # "merged" {SCRIPT}\n  print(model.layers[1])\n  ```'
    text = f"**From the sources**\n- “Merge the adapters into the base model with merge_and_unload:” [1]\n{code}"
    page, _ = open_app(ScriptedTutor(hits, tokens=(text,), text=text, citations=(citation,)))
    ask(page, "How do I merge a LoRA adapter in code?")
    page.locator(LINK).first.wait_for(timeout=WAIT)
    block = page.locator("#chat li pre code")  # under its quote's list item
    assert block.count() == 1
    assert block.inner_text() == f'model = peft_model.merge_and_unload()  # "merged" {SCRIPT}\nprint(model.layers[1])'
    assert block.locator("a, script").count() == 0 and page.evaluate("window.__xss") is None


def test_switching_mode_level_and_part_reaches_the_tutor(open_app):
    tutor = ScriptedTutor()
    page, _ = open_app(tutor)
    page.locator("#mode").get_by_label("Socratic").check()
    page.locator("#level").get_by_label("Practitioner").check()
    page.locator("#part input").click()
    page.get_by_role("option", name="Part III").click()  # listed once the page has loaded the tutor's parts
    ask(page, "Help me understand attention")
    page.locator(LINK).first.wait_for(timeout=WAIT)
    assert tutor.calls[-1][2:] == ("socratic", "practitioner", "Part III")
    assert [label for label in page.locator("#mode label").all_inner_texts()] == ["Explain", "Socratic", "Quiz", "Learning path",
                                                                                 "Review"]


def test_a_thumbs_down_with_a_comment_is_stored_in_sqlite(open_app):
    page, settings = open_app(ScriptedTutor())
    page.locator("#mode").get_by_label("Quiz").check()
    ask(page, QUESTION)
    page.locator(LINK).first.wait_for(timeout=WAIT)
    page.locator("#chat button[aria-label='Dislike']").last.click()
    page.locator("#feedback").get_by_text("Thanks, your rating is saved").wait_for(timeout=WAIT)
    page.locator("#feedback-comment textarea").fill("The second source does not say that.")
    page.locator("#feedback-send").click()
    page.locator("#feedback").get_by_text("your comment is saved").wait_for(timeout=WAIT)

    with sqlite3.connect(settings.home / "feedback.sqlite") as con:
        rows = con.execute("SELECT rating, comment, question, mode, level, model, citations FROM feedback").fetchall()
    assert len(rows) == 1
    rating, comment, question, mode, level, model, citations = rows[0]
    assert (rating, comment, question, mode, level, model) == (
        "down", "The second source does not say that.", QUESTION, "quiz", "beginner", "scripted")
    assert LORA_URL in citations


def test_copy_answer_and_clear_chat(open_app, browser):
    page, _ = open_app(ScriptedTutor())
    browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=page.url.rstrip("/"))
    ask(page, QUESTION)
    page.locator(LINK).first.wait_for(timeout=WAIT)
    page.locator("#copy-answer").click()
    page.locator("#copy-answer").get_by_text("Copied").wait_for(timeout=WAIT)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("LoRA freezes the model's weights [1]") and f"{LORA_URL}#:~:text=" in copied
    page.locator("#clear").click()
    page.locator("#sources").get_by_text("Sources appear here").wait_for(timeout=WAIT)
    assert page.locator("#chat .message").count() == 0


def test_status_tab_shows_the_index_and_models(open_app):
    page, _ = open_app(ScriptedTutor())
    page.get_by_role("tab", name="Status").click()
    status = page.locator("#status")
    status.get_by_text("no index in").wait_for(timeout=WAIT)  # a fresh data directory: it says to run ingest
    shown = status.inner_text()
    assert "google/universal-sentence-encoder-multilingual-3" in shown and "google/embeddinggemma-300m" in shown
    assert "No ingest report yet" in status.inner_text()


def test_phone_width_layout(open_app):
    page, _ = open_app(ScriptedTutor(), width=390, height=844)
    ask(page, QUESTION)
    page.locator(LINK).first.wait_for(timeout=WAIT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing scrolls sideways
    chat, box, sources = (page.locator(s).bounding_box() for s in ("#chat", "#question", "#sources"))
    for part in (chat, box, sources):
        assert part["x"] >= 0 and part["x"] + part["width"] <= 390
    assert chat["width"] > 300 and chat["height"] < 844  # the chat uses the width and fits the screen
    assert sources["y"] > box["y"]  # the side panel stacks below the chat
    marker = page.locator(LINK).first.bounding_box()
    assert marker["x"] + marker["width"] <= 390


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_both_themes_are_legible_and_screenshots(open_app, scheme):
    page, _ = open_app(showcase_tutor(), scheme=scheme)
    ask(page, QUESTION)
    page.locator(LINK).first.wait_for(timeout=WAIT)
    assert page.evaluate("document.body.classList.contains('dark')") == (scheme == "dark")  # follows the system
    for selector in ("#chat .bot p", "#chat .user p", LINK, "#sources li", "#sources a", "#mode label"):
        ratio = page.locator(selector).first.evaluate(CONTRAST)
        assert ratio >= 4.5, f"{selector} has contrast {ratio:.2f} in {scheme} mode"
    if os.environ.get("TUTOR_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        page.mouse.move(0, 0)
        page.screenshot(path=str(DOCS / f"screenshot-chat-{scheme}.png"), full_page=True)


def test_the_theme_toggle_overrides_the_system_and_is_remembered(open_app):
    page, _ = open_app(ScriptedTutor(), scheme="light")
    page.locator("#theme-toggle").click()
    assert page.evaluate("document.body.classList.contains('dark')")
    page.reload()
    page.locator("#question textarea").wait_for(timeout=WAIT)
    page.wait_for_function("document.body.classList.contains('dark')", timeout=WAIT)
    page.locator("#theme-toggle").click()
    assert not page.evaluate("document.body.classList.contains('dark')")


def test_eval_report_opens_with_its_plots(browser, settings, built_index, tmp_path):
    from tests.fake_backends import ScriptedGenerator
    from tests.test_evals import run_fake

    script = "LoRA freezes the pretrained weights [1]. It trains two small low-rank matrices [1]."
    out, summary, _ = run_fake(settings, tmp_path, ["default", "langchain-naive"], "all", ScriptedGenerator(script))
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto((out / "report.html").as_uri())
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth])")
    assert {src for src, _ in images} == {"retrieval_by_pair.png", "answers_by_config.png", "latency.png"}
    assert all(width > 100 for _, width in images), images  # every plot decoded, none a broken icon
    header = page.locator("table").first.locator("th").all_inner_texts()
    assert header == ["metric", "default", "langchain-naive"]
    hit5 = page.locator("table").first.locator("tr", has_text="hit@5").first.locator("td").all_inner_texts()
    assert hit5[1] == f"{summary['configs']['default']['overall']['hit@5']:.3f}"
    assert "<script>alert(1)</script>" in page.inner_text("body") and not dialogs  # a case's text is shown, not run
    page.close()
