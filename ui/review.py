"""The chat's side of learning: Review mode's turns, saving an answer as a card, and the learner's progress map.

No Gradio here: each function takes the learner and what the page sent, and returns what to show, so the chat's
wiring (ui/app.py) stays a shell and these are tested directly. A review goes: the next due card's question; the
learner's reply, graded against the card's passage with a proposed rating; the learner's rating (the proposal or
their own), which FSRS schedules; then the next due card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from core.config import Settings
from core.errors import ReviewConflict
from core.types import Answer
from tutor.citations.cite import SupportScorer
from tutor.learn.export import export
from tutor.learn.learner import Due, Learner
from tutor.learn.progress_text import place
from tutor.learn.review import RATING_NAMES, Proposal, feedback
from tutor.learn.schedule import now
from tutor.learn.section_cards import section_cards
from tutor.learn.store import LOCAL, LearnerStore
from ui.progress_map import progress_map
from ui.render import partial_to_markdown

DECK_NAME = "handbook-tutor-cards.apkg"
_TYPED = {"a": "again", "h": "hard", "g": "good", "e": "easy", "重来": "again", "困难": "hard", "良好": "good",
          "简单": "easy", **{name: name for name in RATING_NAMES}}


@dataclass(frozen=True)
class Pending:
    """The card on screen: asked (`proposal` None) or answered and waiting for the learner's rating."""

    due: Due
    proposal: Proposal | None = None
    reply: str = ""


def learner_for(settings: Settings, username: str | None, clock: Callable[[], datetime] = now) -> Learner:
    """The logged-in user's learner, or the one local learner when the chat asks for no login."""
    return Learner(LearnerStore.for_settings(settings), username or LOCAL, clock=clock,
                   retention=settings.review_retention)


def next_card(learner: Learner) -> tuple[str, Pending | None]:
    """The next due card's question, or what to do when none is due."""
    due = learner.next_due()
    if due is None:
        upcoming = learner.next_due_at()
        if upcoming is None:
            return ("No cards yet. Save an answer with **★ Save as card**, or answer a quiz question: both become "
                    "cards to review here."), None
        return f"Nothing is due now. Your next card is due **{upcoming:%Y-%m-%d %H:%M} UTC**.", None
    zh = due.card.language == "zh"
    head = f"**复习**（还有 {due.left} 张到期）" if zh else f"**Review** ({due.left} due)"
    ask = "请回答，我会对照原文评分。" if zh else "Answer in your own words; I will check it against the source."
    if due.stale:
        ask += (" ⚠ 这张卡片的原文已不在来源中（来源已更新），请点链接核对。" if zh else
                " ⚠ Its passage is no longer in the sources (they were re-ingested): check the link before you trust it.")
    return f"{head}: {partial_to_markdown(due.card.question)}\n\n{ask}", Pending(due)


def review_turn(learner: Learner, pending: Pending | None, message: str,
                scorer: Callable[[], SupportScorer]) -> tuple[str, Pending | None]:
    """One message in Review mode: an answer to the card on screen, a rating for it, or a request for the next."""
    if pending is not None and pending.proposal is not None and message.strip().lower() in _TYPED:
        return rate_card(learner, pending, _TYPED[message.strip().lower()])
    if pending is None or pending.proposal is not None:
        return next_card(learner)
    proposal = learner.grade(pending.due.card, message, scorer())
    text = feedback(pending.due.card, proposal, pending.due.card.language)
    return text, Pending(pending.due, proposal, message)


def rate_card(learner: Learner, pending: Pending | None, rating: str) -> tuple[str, Pending | None]:
    """Record the learner's rating of the answered card, then show the next due card."""
    if pending is None or pending.proposal is None:
        return "Answer the card first, then rate it.", pending
    try:
        when = learner.review(pending.due, rating, reply=pending.reply, proposed=pending.proposal.rating)
        zh = pending.due.card.language == "zh"
        done = (f"**{RATING_NAMES[rating][1]}**：下次复习 {when:%Y-%m-%d %H:%M} UTC。" if zh else
                f"**{RATING_NAMES[rating][0]}**: next review {when:%Y-%m-%d %H:%M} UTC.")
    except ReviewConflict as e:
        done = f"⚠ {e}"
    text, upcoming = next_card(learner)
    return f"{done}\n\n{text}", upcoming


def save_answer(learner: Learner, answer: Answer | None) -> str:
    """Keep the chat's latest answer as a card; what to tell the learner."""
    card = learner.save_answer(answer) if answer is not None else None
    if card is None:
        return "Nothing to save: this reply cites no source sentence." if answer is not None else \
            "Ask a question first; then save its answer as a card."
    return f"★ Saved as a card: “{partial_to_markdown(card.question)}”. Review it in **Review** mode."


def cards_for_next(learner: Learner, tutor) -> str:
    """A few cards for the learner's next stop on the roadmap (the weakest section, else the next unstarted one)."""
    upcoming = learner.what_next(limit=1)
    if not upcoming:
        return "Every section of the handbook is started: ask, quiz or review to go on."
    made = section_cards(tutor, upcoming[0], 3)
    if not made:
        return f"No passage of {place(upcoming[0])} teaches a sentence to ask about; try a question there instead."
    new = sum(learner.save(card) for card in made)
    return (f"★ {new} new card{'s' * (new != 1)} for {place(upcoming[0])}"
            + (f" ({len(made) - new} you had already)" if new < len(made) else "") + ": review them in **Review** mode.")


def export_cards(learner: Learner, folder: Path) -> tuple[str, Path | None]:
    """The learner's cards as an Anki deck in `folder`; what to tell them, and the file (None when there is none)."""
    cards = learner.cards()
    if not cards:
        return "No cards to export yet: save an answer as a card or answer a quiz question first.", None
    path = export(cards, folder / DECK_NAME)
    return f"{len(cards)} card{'s' * (len(cards) != 1)} in the Anki deck below (import it in Anki: File › Import).", path


def progress_panel(learner: Learner) -> str:
    """The learner's map of the handbook, as HTML for the side panel."""
    rows = learner.progress()
    return progress_map(rows, learner.what_next(rows))
