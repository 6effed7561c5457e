"""A review: the learner answers a due card in free text; the tutor grades the reply against the card's passage
(as a quiz reply is graded) and proposes Again / Hard / Good / Easy, which the learner may change.

The proposal only reads the grade: a wrong or empty reply is Again, a partly right one Hard, a right one Good,
and Easy only when every key word of the passage's sentence was given (or, for a fill-in-the-blank card, the
blank and a close paraphrase). The learner knows how hard it felt; the buttons are theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.types import Chunk, Hit
from tutor.citations.cite import SupportScorer
from tutor.learn.cards import Card
from tutor.teach import quiz

RATING_NAMES = {"again": ("Again", "重来"), "hard": ("Hard", "困难"), "good": ("Good", "良好"), "easy": ("Easy", "简单")}
EASY_SCORE = 0.8  # a right reply this close to the passage's sentence (judge similarity or key words) may be Easy


@dataclass(frozen=True, slots=True)
class Proposal:
    """The grade of a review reply and the rating the tutor proposes for it."""

    rating: str  # "again" | "hard" | "good" | "easy"
    verdict: str  # the quiz grade: "correct" | "partly" | "wrong"
    got: tuple[str, ...]
    missed: tuple[str, ...]


def passage(card: Card) -> Hit:
    """What the card's question is graded against, as one passage: its quote, and its answer when that says more
    (a saved answer's other evidence sentences, a rendering in the learner's language)."""
    text = card.quote if card.answer in (card.quote, "") or quiz.BLANK in card.question else \
        f"{card.quote} {card.answer}"
    chunk = Chunk(card.url, card.title, "", text, 0, len(text), card.part, card.section)
    return Hit(chunk, 1.0, 1, stage="review")


def propose(card: Card, reply: str, scorer: SupportScorer) -> Proposal:
    """Grade `reply` to `card` and propose a rating."""
    if not reply.strip():
        return Proposal("again", "wrong", (), ())
    hit = passage(card)
    if quiz.BLANK in card.question:  # fill-in-the-blank: the blanked term decides
        g = quiz.grade(card.question, reply, hit, scorer)
    else:  # the card's sentence nearest what was asked and answered: a long quote is graded on its point
        g = quiz.grade_against(card.question, quiz.target_sentence(f"{card.question} {reply}", hit, scorer), reply,
                               scorer)
    if g.verdict == "correct":
        rating = "easy" if g.score >= EASY_SCORE and not g.missed else "good"
    else:
        rating = "hard" if g.verdict == "partly" else "again"
    return Proposal(rating, g.verdict, g.got, g.missed)


def feedback(card: Card, proposal: Proposal, lang: str) -> str:
    """What the learner reads after answering: the grade, the card's answer with its source, the proposal."""
    name = RATING_NAMES[proposal.rating][1 if lang == "zh" else 0]
    source = f"[{card.title or card.url}]({card.link})"
    answer = card.answer if card.quote in card.answer else f"{card.answer}\n\n> {card.quote}"
    if lang == "zh":
        head = {"correct": "✅ 答对了。", "partly": "🟡 部分正确。", "wrong": "❌ 还不对。"}[proposal.verdict]
        terms = (f"你答到了：{', '.join(proposal.got)}。" if proposal.got else "") + \
            (f"还可以提到：{', '.join(proposal.missed)}。" if proposal.missed else "")
        return f"{head}{terms}\n\n**答案**（{source}）：{answer}\n\n建议评分：**{name}**（可以改）。"
    head = {"correct": "✅ Right.", "partly": "🟡 Partly right.", "wrong": "❌ Not quite."}[proposal.verdict]
    terms = (f" You got: {', '.join(proposal.got)}." if proposal.got else "") + \
        (f" Missing: {', '.join(proposal.missed)}." if proposal.missed else "")
    return f"{head}{terms}\n\n**Answer** ({source}): {answer}\n\nProposed: **{name}** (change it if it felt otherwise)."
