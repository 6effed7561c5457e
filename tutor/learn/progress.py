"""A learner's progress over the handbook's roadmap: each section's status from what they did there.

    not started   nothing yet
    asked         they asked about it (an answer's best passage sits in the section)
    quizzed       they answered a quiz question or reviewed a card from it
    remembered    its learned cards are still likely recalled (mean FSRS retrievability >= REMEMBERED; a card
                  counts once it has left FSRS's learning steps)

A section that was remembered and has slipped below REMEMBERED is "quizzed" again: the map shows what holds today.
"What next" follows the roadmap: the weakest reviewed sections to refresh, then the next unstarted stop after the
furthest one reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from tutor.teach.outline import Section

STATUSES = ("not started", "asked", "quizzed", "remembered")
REMEMBERED = 0.8  # mean predicted recall of a section's reviewed cards to count it as remembered
WEAK = 0.7  # below this a reviewed section is worth refreshing before going on


@dataclass(frozen=True, slots=True)
class SectionProgress:
    """One stop of the roadmap and where the learner stands on it."""

    part: str
    name: str  # "" for a part's own introduction
    part_en: str
    name_en: str
    status: str  # one of STATUSES
    asked: int = 0  # questions asked whose best passage is here
    cards: int = 0
    due: int = 0  # cards due now
    recall: float | None = None  # mean retrievability of the reviewed cards, None before any review
    last: str = ""  # when the learner last did something here (ISO time), "" never


@dataclass(frozen=True, slots=True)
class Activity:
    """What a learner did in one section, as the learner store counts it."""

    asked: int = 0
    quizzed: int = 0
    cards: int = 0
    due: int = 0
    recall: float | None = None
    last: str = ""  # the latest activity's ISO time


def progress(outline: Sequence[Section], activity: Mapping[tuple[str, str], Activity]) -> tuple[SectionProgress, ...]:
    """Every roadmap section with its status; `activity` is keyed by (part, section) as passages carry them.

    A passage placed on a part but no section (a part's introduction) counts for the part's first stop.
    """
    rows = []
    for s in outline:
        a = activity.get((s.part, s.name)) or Activity()
        if a.recall is not None and a.recall >= REMEMBERED:
            status = "remembered"
        elif a.quizzed or a.recall is not None:
            status = "quizzed"
        elif a.asked:
            status = "asked"
        else:
            status = "not started"
        rows.append(SectionProgress(s.part, s.name, s.part_en, s.name_en, status, a.asked, a.cards, a.due, a.recall,
                                    a.last))
    return tuple(rows)


def what_next(rows: Sequence[SectionProgress], limit: int = 3) -> tuple[SectionProgress, ...]:
    """Up to `limit` stops: the weakest reviewed sections first (recall below WEAK), then the roadmap's unstarted
    sections from where the learner was last (the section of their latest activity) on, then those before it."""
    weak = sorted((r for r in rows if r.recall is not None and r.recall < WEAK), key=lambda r: r.recall)
    here = max(range(len(rows)), key=lambda i: rows[i].last, default=-1) if any(r.last for r in rows) else -1
    ahead = [r for r in (*rows[here + 1:], *rows[:here + 1]) if r.status == "not started"]
    return tuple((weak + ahead)[:limit])
