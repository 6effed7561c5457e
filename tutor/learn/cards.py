"""Cards: a question, its answer, and the cited passage it comes from, so a review can be checked like a quiz.

A card is made from a cited source sentence, never from the model's own words: from a quiz question the learner
answered (`from_quiz`), from any answer the learner saves (`from_answer`: its evidence sentences, or its first
supported citation), and on request for a handbook section (tutor/learn/section_cards.py). Its `answer` is in the
learner's language where the tutor had a checked rendering, with the English terms kept; `quote` is always a
source's own words (the first evidence sentence), and `link` opens the page scrolled to them.

A card's id is a hash of its content (question, quote and page), so saving the same thing twice keeps one card and
a re-ingest that keeps the passage keeps the card; one whose quote left its page is flagged (`stale`), not deleted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.language import zh_or_en
from core.markers import strip_markers
from core.types import Answer, Chunk, Citation
from tutor.citations.fragment import fragment_link

ORIGINS = ("quiz", "answer", "section")


@dataclass(frozen=True, slots=True)
class Card:
    """One thing to remember, with the passage that says it."""

    id: str
    question: str
    answer: str  # in the learner's language when a checked rendering exists, else the quote
    quote: str  # verbatim from the passage
    url: str
    title: str
    link: str  # the page scrolled to the quote
    part: str  # where the passage sits in the handbook ("" for a page outside the roadmap)
    section: str
    language: str  # "zh" or "en": the learner's language when the card was made
    origin: str  # one of ORIGINS


def card_id(question: str, quote: str, url: str) -> str:
    """The content hash that names a card: the same question on the same quote of the same page is one card."""
    text = "\x1f".join((" ".join(question.split()), " ".join(quote.split()), url))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def make_card(question: str, quote: str, chunk: Chunk | None, *, url: str, title: str, answer: str = "",
              origin: str) -> Card:
    """A card on `quote` (verbatim from `chunk`, the passage at `url`); `answer` defaults to the quote itself."""
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}, got {origin!r}")
    question, quote = strip_markers(question).strip(), " ".join(quote.split())
    part, section = (chunk.part, chunk.section) if chunk is not None else ("", "")
    return Card(card_id(question, quote, url), question, (answer or quote).strip(), quote, url, title,
                fragment_link(url, quote), part, section, zh_or_en(question), origin)


def from_answer(answer: Answer) -> Card | None:
    """The card for a saved answer: its first evidence sentence (with its checked rendering), or else its first
    supported citation's quote; None when the answer cites nothing (a refusal, a learning path)."""
    if answer.refused:
        return None
    chunks = {hit.chunk.id: hit.chunk for hit in answer.hits}
    if answer.evidence:
        # The card's answer is the answer as the learner read it: every evidence sentence (its checked rendering
        # where there is one); its quote and link are the first one's. A review is graded on the sentence of them
        # nearest the reply (tutor/learn/review.py). Other sources' related quotes (`aside`) are not the answer.
        first = answer.evidence[0]
        said = " ".join(" ".join((e.rendering or e.sentence).split()) for e in answer.evidence if not e.aside)
        return make_card(answer.question, first.sentence, chunks.get(first.chunk_id), url=first.url,
                         title=first.title, answer=said, origin="answer")
    cited = next((c for c in answer.citations if c.supported and c.quote.strip()), None)
    if cited is None:
        return None
    return make_card(answer.question, cited.quote, chunks.get(cited.chunk_id), url=cited.url, title=cited.title,
                     origin="answer")


def from_quiz(question: str, reference: str, citation: Citation, chunk: Chunk | None) -> Card:
    """The card for a quiz question the learner answered: its answer is the passage sentence it was graded on."""
    return make_card(question, reference, chunk, url=citation.url, title=citation.title, origin="quiz")
