"""Learning that lasts, in a real browser: ask, save the answer as a card, answer a quiz, let time pass, review the
due cards with the proposed and one's own ratings, and watch the roadmap map change. The tutor is the real one
(evidence, quiz grading, FSRS, the learner database) over a small index placed on real stops of the handbook."""

from __future__ import annotations

import dataclasses
import io
import sqlite3
import tempfile
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.types import Document
from index.build import build_index
from index.search import Index
from tests.conftest import DOCS, make_chunks
from tests.test_browser import WAIT, ask, browser, free_port  # noqa: F401 - fixtures
from tutor.learn.learner import Learner
from tutor.learn.store import LearnerStore
from tutor.pipeline import Tutor
from tutor.teach.outline import load_outline
from ui.app import build_app, launch

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")]


class Clock:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.at


def _placed_docs() -> list[Document]:
    """The test corpus, each page on a real roadmap stop (LoRA under fine-tuning, attention under Transformers)."""
    stops = {s.name_en: s for s in load_outline()}
    lora, decoder = stops["Low-Rank Adapters (LoRA)"], stops["Decoder-Only Transformers"]
    return [dataclasses.replace(DOCS[0], part=lora.part, section=lora.name),
            dataclasses.replace(DOCS[1], part=decoder.part, section=decoder.name), DOCS[2]]


def _tiles(page, status: str) -> int:
    return page.locator(f"#progress-panel .tile[data-status='{status}']").count()


def _wait_tiles(page, status: str, count: int) -> None:
    page.wait_for_function(f"document.querySelectorAll(\"#progress-panel .tile[data-status='{status}']\").length == {count}",
                           timeout=WAIT)


def _mode(page, label: str) -> None:
    page.locator("#mode label").get_by_text(label, exact=True).click()


def test_ask_save_quiz_review_and_the_map_moves(browser, evidence_settings, embedder):  # noqa: F811
    docs = _placed_docs()
    build_index(evidence_settings.index_dir, docs, make_chunks(docs), embedder)
    settings = evidence_settings.replace(llm="extractive", host="127.0.0.1", port=free_port(), min_relevance=0.05)
    tutor = Tutor(settings, index=Index.load(settings.index_dir, embedder.model_id), embedders=embedder,
                  judge=embedder)
    clock = Clock()
    app = build_app(tutor, settings, clock=clock)
    page = browser.new_page()
    try:
        page.goto(launch(app, settings, block=False))
        page.locator("#progress-panel #progress-map").wait_for(timeout=WAIT)
        assert _tiles(page, "not started") == len(load_outline()) and _tiles(page, "asked") == 0

        # Ask: the LoRA stop becomes "asked"; save the answer as a card.
        ask(page, "What does LoRA freeze?")
        page.locator("#chat a[href*='#:~:text=']").first.wait_for(timeout=WAIT)
        _wait_tiles(page, "asked", 1)
        page.locator("#save-card").click()
        page.locator("#card-note").get_by_text("Saved as a card", exact=False).wait_for(timeout=WAIT)

        # A quiz on attention: the question is asked, the reply graded, and the question kept as a card.
        _mode(page, "Quiz")
        ask(page, "quiz me on self-attention")
        page.locator("#chat").get_by_text("Quiz question", exact=False).wait_for(timeout=WAIT)
        ask(page, "every token looks at every other token")
        page.locator("#chat").get_by_text("Here is what the passage says", exact=False).wait_for(timeout=WAIT)
        learner = Learner(LearnerStore.for_settings(settings), clock=clock)
        assert {c.origin for c in learner.cards()} == {"answer", "quiz"}
        _wait_tiles(page, "quizzed", 1)

        # Later that day: review both due cards, one with the proposed rating, one with the learner's own.
        clock.at += timedelta(hours=3)
        _mode(page, "Review")
        page.locator("#chat").get_by_text("Review (2 due)", exact=False).wait_for(timeout=WAIT)
        ask(page, "the pretrained weights")
        page.locator("#chat").get_by_text("Proposed:", exact=False).wait_for(timeout=WAIT)
        page.locator("#rate-row").wait_for(state="visible", timeout=WAIT)
        page.locator("#rate-good").click()
        page.locator("#chat").get_by_text("Good: next review", exact=False).wait_for(timeout=WAIT)
        page.locator("#chat").get_by_text("Review (1 due)", exact=False).wait_for(timeout=WAIT)
        ask(page, "I do not remember")
        page.locator("#chat").get_by_text("Proposed:", exact=False).nth(1).wait_for(timeout=WAIT)
        page.locator("#rate-easy").click()
        page.locator("#chat").get_by_text("Nothing is due now", exact=False).wait_for(timeout=WAIT)
        assert sorted(r for _, r, _ in learner.store.reviews("local")) == ["easy", "good"]
        _wait_tiles(page, "remembered", 1)  # Easy: learned, and recalled today
        _wait_tiles(page, "quizzed", 1)  # Good on a new card: still in FSRS's learning steps

        # A year on, nothing is fresh: the map says so, and both cards are due again.
        clock.at += timedelta(days=365)
        page.reload()
        page.locator("#progress-panel #progress-map").wait_for(timeout=WAIT)
        _wait_tiles(page, "remembered", 0)
        _mode(page, "Review")
        page.locator("#chat").get_by_text("Review (2 due)", exact=False).wait_for(timeout=WAIT)

        # More cards for the next stop (the weakest section first): fill-in-the-blanks on its own passages.
        before, stop = learner.cards(), learner.what_next(limit=1)[0]
        page.locator("#next-cards").click()
        page.locator("#card-note").get_by_text("new card", exact=False).wait_for(timeout=WAIT)
        note = page.locator("#card-note").inner_text()
        assert (stop.name_en or stop.part_en).split(" > ")[-1] in note
        made = [c for c in learner.cards() if c not in before]
        assert note.startswith(f"★ {len(made)} new card")  # a card the learner had already is not made twice
        assert all(c.origin == "section" and "_____" in c.question for c in made)

        # The learner's cards as an Anki deck, from the chat.
        page.locator("#export-cards").click()
        page.locator("#card-note").get_by_text("in the Anki deck below", exact=False).wait_for(timeout=WAIT)
        page.locator("#cards-file a").first.wait_for(timeout=WAIT)
        href = page.locator("#cards-file a[href*='handbook-tutor-cards.apkg']").first.get_attribute("href")
        deck = page.request.get(href).body()  # what the learner downloads: Anki's zip, one note per card
        with zipfile.ZipFile(io.BytesIO(deck)) as apkg, tempfile.TemporaryDirectory() as folder:
            apkg.extract("collection.anki2", folder)
            with sqlite3.connect(Path(folder) / "collection.anki2") as con:
                assert con.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == len(learner.cards())
    finally:
        page.close()
        app.close()


def _login(page, url: str, user: str, password: str) -> None:
    page.goto(url)
    page.locator("input[type='text'], input:not([type])").first.fill(user)
    page.locator("input[type='password']").first.fill(password)
    page.get_by_role("button", name="Login").click()
    page.locator("#progress-panel #progress-map").wait_for(timeout=WAIT)


def test_each_login_has_its_own_cards_and_two_tabs_count_one_review(browser, evidence_settings, embedder,  # noqa: F811
                                                                     monkeypatch):
    docs = _placed_docs()
    build_index(evidence_settings.index_dir, docs, make_chunks(docs), embedder)
    settings = evidence_settings.replace(llm="extractive", host="127.0.0.1", port=free_port(), min_relevance=0.05)
    tutor = Tutor(settings, index=Index.load(settings.index_dir, embedder.model_id), embedders=embedder,
                  judge=embedder)
    monkeypatch.setenv("TUTOR_AUTH", "ana:first-pass,bo:second-pass")
    clock = Clock()
    app = build_app(tutor, settings, clock=clock)
    url = launch(app, settings, block=False)
    page = browser.new_page()
    try:
        _login(page, url, "ana", "first-pass")
        ask(page, "What does LoRA freeze?")
        page.locator("#chat a[href*='#:~:text=']").first.wait_for(timeout=WAIT)
        page.locator("#save-card").click()
        page.locator("#card-note").get_by_text("Saved as a card", exact=False).wait_for(timeout=WAIT)
        store = LearnerStore.for_settings(settings)
        assert store.learners() == ["ana"] and len(Learner(store, "ana").cards()) == 1

        page.goto(url + "logout")
        _login(page, url, "bo", "second-pass")
        _mode(page, "Review")
        page.locator("#chat").get_by_text("No cards yet", exact=False).wait_for(timeout=WAIT)  # ana's card is hers
        _mode(page, "Explain")
        ask(page, "What does LoRA freeze?")
        page.locator("#chat a[href*='#:~:text=']").first.wait_for(timeout=WAIT)
        page.locator("#save-card").click()
        page.locator("#card-note").get_by_text("Saved as a card", exact=False).wait_for(timeout=WAIT)

        # The same learner in two tabs answers the same card: one review counts, the other tab is told.
        other = browser.new_page()
        other.goto(url)
        other.locator("#progress-panel #progress-map").wait_for(timeout=WAIT)
        for tab in (page, other):
            _mode(tab, "Review")
            tab.locator("#chat").get_by_text("Review (1 due)", exact=False).last.wait_for(timeout=WAIT)
            ask(tab, "the pretrained weights")
            tab.locator("#rate-row").wait_for(state="visible", timeout=WAIT)
        page.locator("#rate-good").click()
        page.locator("#chat").get_by_text("Good: next review", exact=False).wait_for(timeout=WAIT)
        other.locator("#rate-again").click()
        other.locator("#chat").get_by_text("just reviewed", exact=False).wait_for(timeout=WAIT)
        assert [r for _, r, _ in store.reviews("bo")] == ["good"] and store.reviews("ana") == []
        other.close()
    finally:
        page.close()
        app.close()
