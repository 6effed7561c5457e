"""The small frozen records that flow between stages.

Every stage takes and returns these; nothing else crosses a module boundary.
Ids are content hashes, so the same text always gets the same id and a
re-ingest of unchanged sources is a no-op. This module imports only the
standard library so that every other package can depend on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]


def content_id(*parts: str, length: int = 16) -> str:
    """Return a short, stable sha256 hex id of the joined parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched or archived source before extraction: raw bytes and their type."""

    url: str
    content_type: str
    body: bytes
    date: str = ""
    origin: str = ""  # where it came from: "warc:<file>", "http", "notes:<dir>"


@dataclass(frozen=True, slots=True)
class Document:
    """One source page, as extracted text.

    `text` keeps its headings as markdown `#` lines so the chunker can follow
    them. `part` and `section` are the handbook's own place for this source.
    """

    url: str
    title: str
    text: str
    content_type: str = "text/plain"
    lang: str = "en"
    date: str = ""
    part: str = ""
    section: str = ""

    @property
    def id(self) -> str:
        return content_id(self.url, self.text)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a document: what is embedded, retrieved and quoted.

    `start`/`end` are character offsets into the document text, so a quote
    can be located in the original. `heading` is the section path
    ("Section > Subsection", without the document title) that the chunk sits under.
    """

    doc_url: str
    title: str
    heading: str
    text: str
    start: int
    end: int
    part: str = ""
    section: str = ""
    lang: str = "en"

    @property
    def id(self) -> str:
        return content_id(self.doc_url, str(self.start), self.text)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its score (higher is better) and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int
    stage: str = "hybrid"


@dataclass(frozen=True, slots=True)
class Citation:
    """A resolved `[n]` marker: which passage it points at and what it quotes.

    `quote` is always a verbatim substring of the cited chunk's text;
    `supported` says whether the verifier found the cited sentence backed by it.
    """

    n: int
    chunk_id: str
    url: str
    title: str
    quote: str
    supported: bool = True
    link: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A source sentence picked to answer a question (tutor/quotes/evidence.py), shown verbatim and cited.

    `n` numbers its passage in the answer's hits (the `[n]` it carries); `sentence` is
    `chunk.text[start:start + len(sentence)]`, the quote; `key` is the sentence (or two) of it that was
    picked, when the quote reads on around it (tutor/quotes/quote_extent.py), else ""; `rendering` is
    the key (or the whole quote) in the learner's language, set only when it passed the rendering
    check (tutor/answer/render_check.py); `block` is the code or display formula the quote announces
    (or, for a question asking for code, the code its passage shows it with), verbatim, else "".
    `aside` marks a quote from another document than the answer's that answers no part of the question on
    its own: shown apart, as related reading, and not rendered. `columns` is the header row of the table a
    quoted row belongs to, when its passage holds it (tutor/citations/entries.py shows the row with it), else "".
    `section` is the heading the quote stands under in its document ("Triplet Loss"), "" at its top.
    """

    n: int
    chunk_id: str
    url: str
    title: str
    sentence: str
    start: int
    score: float = 0.0
    rendering: str = ""
    key: str = ""
    block: str = ""
    aside: bool = False
    columns: str = ""
    section: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message. An assistant message may carry the ids of the passages it
    showed (`chunk_ids`) and its tutoring `mode`, so a later turn (grading a quiz
    answer, the next Socratic hint) can find them again."""

    role: Role
    content: str
    chunk_ids: tuple[str, ...] = ()
    mode: str = ""


# How the citation check left a model's answer: its supported sentences "kept", the sources' own sentences
# "quoted" instead (nothing passed), or those "restated" in the learner's language.
KEPT, QUOTED, RESTATED = "kept", "quoted", "restated"


@dataclass(frozen=True, slots=True)
class Checked:
    """An answer after its citation check: the text, one Citation per marker, the sentences taken out (no
    passage supports them), and how it came to be what the learner sees (`KEPT`, `QUOTED`, `RESTATED`)."""

    text: str
    citations: tuple[Citation, ...] = ()
    dropped: tuple[str, ...] = ()
    how: str = KEPT


@dataclass(frozen=True, slots=True)
class Answer:
    """The tutor's reply to one question, with everything needed to check it."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    refused: bool = False
    mode: str = "explain"
    ttft_ms: float = 0.0
    total_ms: float = 0.0
    model: str = ""
    notes: tuple[str, ...] = field(default=())
    # How the citation check left the model's answer (`Checked.how`); "" when no model wrote it.
    checked: str = ""
    # The source sentences the answer opens with, and when they were ready (ms after the question).
    evidence: tuple[Evidence, ...] = ()
    evidence_ms: float = 0.0
    quiz: str = ""  # for a graded quiz reply (mode "quiz-feedback"), the question it answered


@dataclass(frozen=True, slots=True)
class Turn:
    """What a generator is asked to answer: the question, its passages, the chat so far."""

    question: str
    hits: tuple[Hit, ...]
    history: tuple[Message, ...] = ()
    mode: str = "explain"
    level: str = "beginner"


@dataclass(frozen=True, slots=True)
class Step:
    """One event of a streamed answer.

    A stream yields `sources` once (as soon as retrieval is done), then
    `token` deltas, then exactly one `answer` carrying the verified Answer.
    A `status` step (text) says where the turn stands while it waits for the
    model; it is no part of the answer and the next status replaces it.
    """

    kind: Literal["sources", "token", "status", "answer"]
    hits: tuple[Hit, ...] = ()
    text: str = ""
    answer: Answer | None = None


@dataclass(frozen=True)
class Retrieval:
    """Hits for a question, plus how well the best of them match it.

    `relevance` is the best cosine between the question and the returned hits
    under the judge embedder (multilingual, so it means the same in any
    language); `keyword_coverage` is the share of the question's terms found
    in the top passages.
    """

    hits: list[Hit]
    relevance: float
    keyword_coverage: float
    query: str = ""  # what was searched (a follow-up carries its subject)
    english: str = ""  # the query in English, when it was asked in another language (tutor/retrieval/translate.py)
