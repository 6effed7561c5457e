"""A few cards for one handbook section, on request: questions on the sentences its own passages teach.

The section's name is searched within its part; each of the best passages (one per page) gives the sentence a
quiz would ask about, and the card asks it as a fill-in-the-blank: no model wait, and the answer is the source's
own sentence. Passages placed in another section are used only when the section's own are too few.
"""

from __future__ import annotations

from tutor.citations.cite import SupportScorer
from tutor.learn.cards import Card, make_card
from tutor.learn.progress import SectionProgress
from tutor.teach import quiz
from tutor.teach.outline import Section


def section_cards(tutor, section: Section | SectionProgress, count: int = 3) -> list[Card]:
    """Up to `count` cards on `section` (a roadmap stop, or a learner's progress on one) from the tutor's index
    (`tutor`: a `Tutor`)."""
    topic = (section.name_en or section.part_en).split(" > ")[-1]
    retrieval = tutor.retrieve(topic, part=section.part)
    hits = sorted(retrieval.hits, key=lambda h: (h.chunk.section != section.name, h.rank))  # its own passages first
    scorer, cards, pages = SupportScorer(tutor.judge), [], set()
    for hit in hits:
        if len(cards) >= count:
            break
        if hit.chunk.doc_url in pages or not quiz.worth_asking(hit):
            continue
        sentence = quiz.target_sentence(topic, hit, scorer)
        question, blank = quiz.cloze(sentence)
        if not blank:
            continue
        pages.add(hit.chunk.doc_url)
        cards.append(make_card(question, sentence, hit.chunk, url=hit.chunk.doc_url, title=hit.chunk.title,
                               answer=blank, origin="section"))
    return cards
