"""The chat's Review mode and card saving, without a browser (tests/test_browser_learning.py drives the page)."""

from __future__ import annotations

from datetime import datetime, timezone

from core.types import Answer, Evidence, Hit
from tests.conftest import make_chunks
from tutor.citations.cite import SupportScorer
from tutor.learn.learner import Learner
from tutor.learn.store import LearnerStore
from ui.review import next_card, progress_panel, rate_card, review_turn, save_answer

AT = datetime(2026, 12, 1, tzinfo=timezone.utc)
LORA = make_chunks()[0]
QUOTE = "LoRA freezes the pretrained weights and trains two small low-rank matrices A and B."
ANSWER = Answer("What does LoRA freeze?", "…", hits=(Hit(LORA, 1.0, 1),),
                evidence=(Evidence(1, LORA.id, LORA.doc_url, LORA.title, QUOTE, 0),))


def _learner(tmp_path) -> Learner:
    return Learner(LearnerStore(tmp_path / "learners.sqlite"), "ana", clock=lambda: AT)


def test_saving_says_what_happened(tmp_path):
    learner = _learner(tmp_path)
    assert "Ask a question first" in save_answer(learner, None)
    assert "cites no source sentence" in save_answer(learner, Answer("q?", "I cannot say.", refused=True))
    assert "Saved as a card" in save_answer(learner, ANSWER) and len(learner.cards()) == 1


def test_a_review_in_the_chat_asks_grades_takes_a_typed_rating_and_moves_on(tmp_path):
    learner = _learner(tmp_path)
    text, pending = next_card(learner)
    assert pending is None and "No cards yet" in text
    save_answer(learner, ANSWER)
    text, pending = review_turn(learner, None, "start", SupportScorer)
    assert "**Review** (1 due)" in text and pending.proposal is None
    assert "Answer the card first" in rate_card(learner, pending, "good")[0]
    text, pending = review_turn(learner, pending, "the pretrained weights are frozen; A and B are trained", SupportScorer)
    assert "Proposed:" in text and pending.proposal is not None
    text, pending = review_turn(learner, pending, "h", SupportScorer)  # typed: the learner's own rating
    assert text.startswith("**Hard**: next review") and "Nothing is due now" in text and pending is None
    assert [r for _, r, _ in learner.store.reviews("ana")] == ["hard"]
    assert 'id="progress-map"' in progress_panel(learner)


def test_the_deck_is_exported_from_the_chat_once_there_are_cards(tmp_path):
    import zipfile

    from ui.review import export_cards

    learner = _learner(tmp_path)
    note, path = export_cards(learner, tmp_path)
    assert path is None and "No cards to export yet" in note
    save_answer(learner, ANSWER)
    note, path = export_cards(learner, tmp_path)
    assert note.startswith("1 card in the Anki deck") and zipfile.is_zipfile(path)
