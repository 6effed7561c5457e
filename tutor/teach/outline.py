"""The handbook's own structure: its parts and sections in reading order, with their resources.

Built from the curated source list (`ingest/sources.jsonl`, in the handbook's
order, with the part and section each link sits under, named as in the
manifest) and `core/handbook_en.json`, which gives each part and section its
English heading in the handbook page. The learning-path mode walks this
outline: what to read before a topic, the topic's own section, what comes next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

from core.handbook import part_names
from core.language import HAN_CHAR
from core.types import Hit
from index.bm25 import tokenize
from ingest.sources import load_sources
from tutor.citations.fragment import fragment_link

HANDBOOK_URL = "https://genai-handbook.github.io/"
NAME_VOTE = 1.5  # a topic term naming a section outweighs the passages' votes (which sum to 1)
# Parts of the source list that are not chapters of the roadmap.
_NOT_CHAPTERS = ("", "生成式人工智能手册", "中文学习笔记")


@dataclass(frozen=True)
class Resource:
    url: str
    title: str
    captured: bool  # in the snapshot, so the tutor can quote it


@dataclass(frozen=True)
class Section:
    """One stop of the roadmap. `name` is "" for a part's own introduction."""

    part: str
    name: str
    part_en: str
    name_en: str
    resources: tuple[Resource, ...]

    def label(self, lang: str = "en") -> str:
        if lang == "zh":
            return " › ".join(x for x in (self.part, self.name) if x)
        return " › ".join(x for x in (self.part_en, self.name_en) if x)

    @property
    def link(self) -> str:
        """The handbook page, scrolled to this section's heading."""
        heading = (self.name_en or self.part_en).split(" > ")[-1]
        return fragment_link(HANDBOOK_URL, heading) if heading else HANDBOOK_URL



def english_place(part: str, section: str = "") -> str:
    """The handbook place in the English of the handbook page ("Section IV: … › Low-Rank Adapters (LoRA)").

    The source list names parts and sections as the manifest does (in
    Chinese); a name without an English heading is kept as it is.
    """
    entry = part_names().get(part, {})
    names = [entry.get("en", part), entry.get("sections", {}).get(section, section) if section else ""]
    return " › ".join(n for n in names if n)


@lru_cache(maxsize=1)
def load_outline() -> tuple[Section, ...]:
    """Every chapter section of the handbook, in reading order."""
    names = part_names()
    order: dict[tuple[str, str], list[Resource]] = {}
    for s in load_sources():
        if s.part in _NOT_CHAPTERS:
            continue
        order.setdefault((s.part, s.section), []).append(Resource(s.url, s.title, s.warc_uri is not None))
    sections = []
    for (part, name), resources in order.items():
        entry = names.get(part, {})
        sections.append(Section(part, name, entry.get("en", part), entry.get("sections", {}).get(name, name),
                                tuple(resources)))
    return tuple(sections)


def locate(hits: Sequence[Hit], outline: Sequence[Section], term_weights: Mapping[str, float] | None = None,
           topic: str = "") -> Section | None:
    """The section a topic belongs to, voted by its passages and by the section names.

    A passage of a linked resource votes for the section that links it; a
    passage of the handbook page itself votes, twice as strongly, for the
    section it is under. Votes fall with rank and sum to 1. A topic term
    that names a section ("LoRA" in "Low-Rank Adapters (LoRA)") adds up to
    `NAME_VOTE`, scaled by the term's weight (its rarity in the corpus) and
    split among the sections sharing it, so a term like "attention" that
    five section names contain decides little.

    Args:
        hits: the retrieved passages, best first.
        outline: `load_outline()`.
        term_weights: the topic's terms (as `index.bm25.tokenize` makes them) and their IDF.
        topic: the topic as asked; a Chinese section name written in it ("位置编码") counts fully.
    """
    by_names = {(s.part, s.name): s for s in outline}
    by_heading = {" > ".join(x for x in (s.part_en, s.name_en) if x): s for s in outline}
    votes: dict[Section, float] = {}
    for rank, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        weight = 1.0 / rank
        if chunk.doc_url.rstrip("/") == HANDBOOK_URL.rstrip("/"):
            weight *= 2  # the handbook's own words on a section outweigh one linked resource
            heading = chunk.heading
            while heading and heading not in by_heading:
                heading = heading.rpartition(" > ")[0]
            section = by_heading.get(heading)
        else:
            section = by_names.get((chunk.part, chunk.section))
        if section is not None:
            votes[section] = votes.get(section, 0.0) + weight
    total = sum(votes.values()) or 1.0
    votes = {s: v / total for s, v in votes.items()}
    if term_weights:
        top = max(term_weights.values()) or 1.0
        for term, weight in term_weights.items():
            if HAN_CHAR.match(term) and len(term) < 3:
                continue  # two-character Chinese words (机制, 模型, 方法) are too generic to name a section
            named = [s for s in outline if s.name and term in _name_terms(s)]
            for s in named:
                votes[s] = votes.get(s, 0.0) + NAME_VOTE * weight / top / len(named)
    for s in outline:
        short = re.split(r"[（(]", s.name)[0].strip()
        if topic and len(short) >= 2 and HAN_CHAR.search(short) and short in topic:
            votes[s] = votes.get(s, 0.0) + NAME_VOTE
    return max(votes, key=votes.get) if votes else None


@lru_cache(maxsize=256)
def _name_terms(section: Section) -> frozenset[str]:
    return frozenset(tokenize(f"{section.name_en} {section.name}"))


def neighbours(section: Section, outline: Sequence[Section], before: int = 2,
               after: int = 2) -> tuple[list[Section], list[Section]]:
    """The sections to read before and after `section`, crossing part boundaries."""
    i = outline.index(section)
    return list(outline[max(0, i - before):i]), list(outline[i + 1:i + 1 + after])
