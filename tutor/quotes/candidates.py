"""What an answer may quote: the passages the evidence is picked from, and their sentences, lists and entries.

The selector (tutor/quotes/evidence.py) weighs these against the question; what counts as a quotable sentence,
list or table row is tutor/citations/quotable.py and tutor/citations/entries.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from core.types import Hit
from tutor.citations.cite import sentence_spans
from tutor.citations.entries import entry_spans, in_short_list, shown, table_header, table_spans
from tutor.citations.quotable import (
    LEAD_IN_REACH,
    clean,
    in_item,
    leans_back,
    list_lead_in,
    list_spans,
    numbered_point,
    prose_spans,
    recommends,
    says_nothing,
)
from tutor.retrieval.retrieve import home_document

PASSAGES = 6  # top passages the sentences are picked from
FURTHER = 3  # and after them, at most this many more passages of the best passage's document
# The words a sentence opens with, past its article, say what it is about: "The *forget gate* determines ...".
OPENING = re.compile(r"^[\s*_\"“(]*(?:The|A|An)\s+", re.IGNORECASE)
SAME_SAYING, SAME_SAYING_TRANSLATED = 0.8, 0.65  # similarity of two sentences saying the same thing
SAME_ENTRY = 0.95  # ... of two table rows or list items (the same entry, in the handbook and its translation)


@dataclass(frozen=True)
class Candidate:
    """A sentence, list or entry of a passage the evidence may quote."""

    n: int  # 1-based passage number
    hit: Hit
    start: int
    end: int
    text: str
    leans_back: bool
    previous: tuple[int, int] | None  # the prose sentence right before it, if any
    listing: bool = False  # a whole list (`list_spans`), not a sentence
    entry: bool = False  # one table row or list item (tutor/citations/entries.py), quoted as it is
    columns: str = ""  # an entry's table header, when its passage holds it
    named_only: bool = False  # an item of a short list: an answer only to a part of the question naming it

    @property
    def display(self) -> str:
        return shown(self.text, self.columns) if self.entry else clean(self.text)



def passage_texts(text: str) -> list[str]:
    """Every text of a passage the selector may weigh against a question (its prose sentences, lists, tables and
    their entries, as `EvidenceSelector.select` embeds them): embedded ahead of time, a first question finds them
    ready."""
    return [clean(text[a:b]) for a, b in prose_spans(text) + list_spans(text)] \
        + [shown(text[a:b], table_header(text, a)) for a, b in entry_spans(text) + table_spans(text)]


def read(hits: Sequence[Hit], named: frozenset[str] = frozenset()) -> list[Hit | None]:
    """The passages the evidence is picked from: the top `PASSAGES`, then the best one's document's further ones.

    An answer quotes one document, the best passage's (`set_apart`); the retrieval's cap of two passages per
    document (tutor/retrieval/retrieve.py) would hold its answering passage back. Later passages of other
    documents read `None`, so that each keeps its number.
    """
    home = home_document([h.chunk.doc_url for h in hits[:PASSAGES]], named)
    further = {id(h) for h in [h for h in hits[PASSAGES:] if h.chunk.doc_url == home][:FURTHER]}
    return list(hits[:PASSAGES]) + [h if id(h) in further else None for h in hits[PASSAGES:]]


def candidates(hits: Sequence[Hit | None], lists: bool = False, entries: bool = False, reading: bool = False,
                only: frozenset[str] = frozenset()) -> list[Candidate]:
    """The prose sentences of the passages; when `lists`, their lists as whole units; when `entries`, their short
    tables as whole units and each item and table row (an entry: "which lessons are about X?" is answered by rows).

    A sentence recommending a resource is one only when the question asks what to read (`reading`). With
    `only`, the passages of other documents keep their number but give no sentence.
    """
    out = []
    for n, hit in enumerate(hits, start=1):
        if hit is None:
            continue
        text = hit.chunk.text
        if says_nothing(hit.chunk.heading) or (only and hit.chunk.doc_url not in only):
            continue
        spans = prose_spans(text)
        all_spans = sentence_spans(text)
        for a, b in spans:
            if not reading and recommends(text[a:b]):
                continue
            before = [s for s in all_spans if s[1] <= a]
            previous = before[-1] if before and before[-1] in spans else None
            if previous and not reading and recommends(text[slice(*previous)]):
                previous = None  # "然而，请注意……" leans on what a pointer to a video said: it is shown without it
            leaning = leans_back(text[a:b])
            if numbered_point(text, a):  # quoted from its list's lead-in when the passage has it
                lead = list_lead_in(text, a)
                if lead and b - lead[0] <= LEAD_IN_REACH:
                    previous, leaning = lead, True
                elif lead or in_item(text, a):
                    continue  # the lead-in too far up to quote with it, or a step of a step
            out.append(Candidate(n, hit, a, b, text[a:b], leaning, previous))
        if lists:
            out.extend(Candidate(n, hit, a, b, text[a:b], False, None, True) for a, b in list_spans(text))
        if entries:
            out.extend(Candidate(n, hit, a, b, text[a:b], False, None, True, True, table_header(text, a))
                       for a, b in table_spans(text))
            out.extend(Candidate(n, hit, a, b, text[a:b], False, None, entry=True, columns=table_header(text, a),
                                  named_only=in_short_list(text, a)) for a, b in entry_spans(text))
    return out

