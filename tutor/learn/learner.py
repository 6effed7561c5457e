"""One learner's side of the tutor: the cards they keep, their reviews, and where they stand on the roadmap.

`Learner` is what the chat and the terminal call; it binds a `LearnerStore`, a learner's name and a clock (injected,
so a month of reviews can be replayed in a test). The learner is the logged-in user when the chat asks for a login
(`TUTOR_AUTH`), otherwise `LOCAL`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Sequence

from core.types import Answer, Chunk, Citation
from index.store import current_build, read_chunks, store_path
from tutor.citations.cite import SupportScorer
from tutor.learn import cards as make
from tutor.learn.cards import Card
from tutor.learn.progress import Activity, SectionProgress, progress, what_next
from tutor.learn.review import Proposal, propose
from tutor.learn.schedule import now, optimised
from tutor.learn.store import LOCAL, LearnerStore
from tutor.teach.outline import Section, load_outline
from tutor.teach.quiz import FEEDBACK


@dataclass(frozen=True, slots=True)
class Due:
    """A card to review now, and how many reviews it had when shown (a review must find it unchanged)."""

    card: Card
    seen: int
    left: int  # cards due now, this one included
    stale: bool = False  # its quote is no longer on its page (the sources changed since)


class Learner:
    """A learner's cards, reviews and progress; cheap to make (the store opens on first use)."""

    def __init__(self, store: LearnerStore, name: str = LOCAL, *, clock: Callable[[], datetime] = now,
                 retention: float = 0.9) -> None:
        self.store, self.name, self.clock, self.retention = store, name or LOCAL, clock, retention

    # --- cards ------------------------------------------------------------------------------------------------
    def save_answer(self, answer: Answer) -> Card | None:
        """Keep the answer as a card (its first cited source sentence); None when it cites nothing."""
        card = make.from_answer(answer)
        if card is not None:
            self.store.add(self.name, card, self.clock())
        return card

    def save_quiz(self, question: str, reference: str, citation: Citation, chunk: Chunk | None) -> Card:
        """Keep a quiz question the learner answered, and count the section as quizzed."""
        card = make.from_quiz(question, reference, citation, chunk)
        at = self.clock()
        self.store.add(self.name, card, at)
        self.store.note(self.name, "quizzed", card.part, card.section, at, card.id)
        return card

    def record(self, answer: Answer) -> Card | None:
        """After a turn: a graded quiz reply keeps its question as a card (the section counts as quizzed); any
        other answer that found sources counts as a question asked there. Returns the card kept, if any."""
        if answer.mode == FEEDBACK:
            if answer.quiz and answer.citations and answer.hits:
                cited = answer.citations[0]
                return self.save_quiz(answer.quiz, cited.quote, cited, answer.hits[0].chunk)
            return None
        if answer.mode != "path":
            self.asked(answer)
        return None

    def save(self, card: Card) -> bool:
        """Keep a card made elsewhere (a section's cards); False when the learner had it already."""
        return self.store.add(self.name, card, self.clock())

    def asked(self, answer: Answer) -> None:
        """Count a question towards the section of the answer's best passage (a refusal counts for none)."""
        if answer.refused or not answer.hits:
            return
        chunk = answer.hits[0].chunk
        if chunk.part:
            self.store.note(self.name, "asked", chunk.part, chunk.section, self.clock(), chunk.id)

    def cards(self) -> list[Card]:
        return [card for card, *_ in self.store.cards(self.name)]

    # --- reviews ----------------------------------------------------------------------------------------------
    def next_due(self) -> Due | None:
        at = self.clock()
        due = self.store.due(self.name, at, limit=1)
        return Due(*due[0][:2], self.store.count_due(self.name, at), due[0][2]) if due else None

    def next_due_at(self) -> datetime | None:
        """When the next card falls due (None without cards)."""
        states = [self.store.schedule(self.name).due(state) for _, state, _, _ in self.store.cards(self.name)]
        return min(states) if states else None

    def grade(self, card: Card, reply: str, scorer: SupportScorer) -> Proposal:
        return propose(card, reply, scorer)

    def review(self, due: Due, rating: str, *, reply: str = "", proposed: str = "") -> datetime:
        """Record the learner's rating of a due card; returns when it is due next (ReviewConflict if another tab
        reviewed it meanwhile)."""
        at = self.clock()
        schedule = self.store.schedule(self.name, self.retention)
        due_next = self.store.review(self.name, due.card.id, rating, at, due.seen, schedule, proposed=proposed,
                                     reply=reply)
        self.store.note(self.name, "quizzed", due.card.part, due.card.section, at, f"{due.card.id}@{due.seen}")
        return due_next

    def optimise(self) -> list[float] | None:
        """Fit FSRS's parameters to this learner's reviews and use them from now on; None (defaults kept) when
        there are fewer than MIN_REVIEWS_TO_OPTIMISE."""
        numbers: dict[str, int] = {}
        reviews = [(numbers.setdefault(card, len(numbers) + 1), rating, at) for card, rating, at in
                   self.store.reviews(self.name)]
        parameters = optimised(reviews)
        if parameters is not None:
            self.store.set_parameters(self.name, parameters)
        return parameters

    # --- progress ---------------------------------------------------------------------------------------------
    def activity(self) -> dict[tuple[str, str], Activity]:
        """What the learner did in each (part, section): questions, quizzes, cards, due cards, mean recall."""
        at, schedule = self.clock(), self.store.schedule(self.name, self.retention)
        counts: dict[tuple[str, str], dict] = {}
        for kind, part, section, when in self.store.events(self.name):
            c = counts.setdefault((part, section), {"asked": 0, "quizzed": 0, "cards": 0, "due": 0, "recall": [], "last": ""})
            c[kind] += 1
            c["last"] = max(c["last"], when)
        for card, state, reviews, _ in self.store.cards(self.name):
            c = counts.setdefault((card.part, card.section), {"asked": 0, "quizzed": 0, "cards": 0, "due": 0, "recall": [],
                                                             "last": ""})
            c["cards"] += 1
            c["quizzed"] = max(c["quizzed"], reviews > 0)  # a reviewed card, even from before activity was kept
            c["due"] += schedule.due(state) <= at
            recall = schedule.recall(state, at)
            if recall is not None:
                c["recall"].append(recall)
        return {key: Activity(c["asked"], c["quizzed"], c["cards"], c["due"],
                              sum(c["recall"]) / len(c["recall"]) if c["recall"] else None, c["last"])
                for key, c in counts.items()}

    def progress(self, outline: Sequence[Section] | None = None) -> tuple[SectionProgress, ...]:
        return progress(load_outline() if outline is None else outline, _placed(self.activity(), outline))

    def what_next(self, rows: Sequence[SectionProgress] | None = None, limit: int = 3) -> tuple[SectionProgress, ...]:
        return what_next(self.progress() if rows is None else rows, limit)


def recheck_cards(store: LearnerStore, chunks: Iterable[Chunk]) -> int:
    """After a re-ingest: flag every learner's cards whose quote is no longer on its page (and unflag those that came
    back); nothing is deleted. Returns how many cards are stale."""
    pages: dict[str, list[str]] = {}
    for chunk in chunks:
        pages.setdefault(chunk.doc_url, []).append(" ".join(chunk.text.split()))

    def still_quoted(card: Card) -> bool:
        return any(card.quote in text for text in pages.get(card.url, ()))
    return sum(store.flag_stale(name, still_quoted) for name in store.learners())


def recheck_after_ingest(settings) -> int:
    """`recheck_cards` against the live index, if any learner has cards (the learner file is not created)."""
    store = LearnerStore.for_settings(settings)
    if not store.path.exists():
        return 0
    chunks, _ = read_chunks(store_path(current_build(settings.index_dir)))
    return recheck_cards(store, chunks)


def _placed(activity: dict[tuple[str, str], Activity], outline: Sequence[Section] | None) -> dict:
    """Activity on a part's own introduction (no section) counts for the part's first stop on the roadmap."""
    stops = load_outline() if outline is None else outline
    first = {}
    for s in stops:
        first.setdefault(s.part, s.name)
    placed: dict[tuple[str, str], Activity] = {}
    for (part, section), a in activity.items():
        key = (part, section if section or part not in first else first[part])
        b = placed.get(key)
        placed[key] = a if b is None else Activity(a.asked + b.asked, a.quizzed + b.quizzed, a.cards + b.cards,
                                                   a.due + b.due, _mean(a, b), max(a.last, b.last))
    return placed


def _mean(a: Activity, b: Activity) -> float | None:
    both = [(x.recall, x.cards) for x in (a, b) if x.recall is not None]
    return sum(r * max(n, 1) for r, n in both) / sum(max(n, 1) for _, n in both) if both else None
